"""nn.Transformer, TransformerDecoderLayer and TransformerDecoder against torch from the same
weights: outputs and gradients, post- and pre-norm, batch-first or not, with a causal mask."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _pair(bf, nf):
    torch.manual_seed(0)
    kw = dict(d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=32,
              dropout=0.0, batch_first=bf, norm_first=nf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = torch.nn.Transformer(**kw)
    cm = cr.nn.Transformer(**kw)
    assert list(tm.state_dict()) == list(cm.state_dict())
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, cm


@pytest.mark.parametrize("nf", [False, True])
@pytest.mark.parametrize("bf", [False, True])
def test_transformer_matches_torch(bf, nf):
    tm, cm = _pair(bf, nf)
    rng = np.random.default_rng(0)
    src = rng.normal(size=(2, 5, 16)).astype(np.float32)
    tgt = rng.normal(size=(2, 4, 16)).astype(np.float32)
    if not bf:
        src, tgt = src.transpose(1, 0, 2).copy(), tgt.transpose(1, 0, 2).copy()
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4)
    cmask = cr.nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(cmask.numpy(), tmask.numpy())
    to = tm(torch.tensor(src), torch.tensor(tgt), tgt_mask=tmask)
    co = cm(cr.tensor(src), cr.tensor(tgt), tgt_mask=cmask)
    np.testing.assert_allclose(co.detach().numpy(), to.detach().numpy(), atol=1e-5)
    to.square().sum().backward()
    co.square().sum().backward()
    tg = dict(tm.named_parameters())
    for name, p in cm.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tg[name].grad.numpy(), atol=1e-4, rtol=1e-4,
                                   err_msg=name)


def test_decoder_layer_init_and_errors():
    layer = cr.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    dec = cr.nn.TransformerDecoder(layer, 3, norm=cr.nn.LayerNorm(8))
    out = dec(cr.randn(2, 3, 8), cr.randn(2, 5, 8))
    assert out.shape == (2, 3, 8) and len(dec.layers) == 3
    assert dec.layers[0].linear1.weight is not dec.layers[1].linear1.weight
    with pytest.raises(RuntimeError, match="relu/gelu"):
        cr.nn.TransformerDecoderLayer(8, 2, activation="tanh")
    with pytest.raises(RuntimeError, match="d_model"):
        cr.nn.Transformer(d_model=8, nhead=2)(cr.randn(3, 2, 4), cr.randn(3, 2, 4))
