"""chainrule.nn vs torch.nn: the Module API, default initializations, and every module's forward
and gradients given the same weights (float64)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
tnn = torch.nn


def needs(*names):
    missing = [n for n in names if not hasattr(F, n)]
    return pytest.mark.skipif(bool(missing), reason=f"nn.functional lacks {missing} in this build")


def t2c(t):
    return cr.tensor(t.detach().numpy())


def copy_weights(tm, cm):
    """torch module's state into the chainrule module, through NumPy arrays."""
    sd = {k: cr.tensor(v.detach().numpy().copy()) for k, v in tm.state_dict().items()}
    cm.load_state_dict(sd)


def check_module(tm, cm, *inputs, train=True, atol=1e-10, grad_inputs=True, out_index=None):
    """Same weights → same outputs, input grads and parameter grads (float64)."""
    tm = tm.double()
    cm = cm.double()
    copy_weights(tm, cm)
    tm.train(train)
    cm.train(train)
    rng = np.random.default_rng(0)
    t_in, c_in = [], []
    for x in inputs:
        if isinstance(x, np.ndarray) and x.dtype.kind == "f":
            t_in.append(torch.tensor(x, requires_grad=grad_inputs))
            c_in.append(cr.tensor(x, requires_grad=grad_inputs))
        elif isinstance(x, NoGrad) or isinstance(x, np.ndarray):
            x = x.a if isinstance(x, NoGrad) else x
            t_in.append(torch.tensor(x))
            c_in.append(cr.tensor(x))
        else:
            t_in.append(x)
            c_in.append(x)
    to, co = tm(*t_in), cm(*c_in)
    if out_index is not None:
        to, co = to[out_index], co[out_index]
    if isinstance(to, tuple):
        to, co = to[0], co[0]
    np.testing.assert_allclose(co.detach().numpy(), to.detach().numpy(), atol=atol, rtol=1e-9)
    if not to.requires_grad:
        return
    w = rng.standard_normal(tuple(to.shape))
    (to * torch.tensor(w)).sum().backward()
    (co * cr.tensor(w)).sum().backward()
    for (n, tp), (n2, cp) in zip(tm.named_parameters(), cm.named_parameters()):
        assert n == n2
        if tp.grad is None:
            assert cp.grad is None or not np.any(cp.grad.numpy()), n
            continue
        np.testing.assert_allclose(cp.grad.numpy(), tp.grad.numpy(), atol=atol, rtol=1e-8,
                                   err_msg=n)
    for ti, ci in zip(t_in, c_in):
        if isinstance(ti, torch.Tensor) and ti.requires_grad:
            np.testing.assert_allclose(ci.grad.numpy(), ti.grad.numpy(), atol=atol, rtol=1e-8)
    for (n, tb), (_, cb) in zip(tm.named_buffers(), cm.named_buffers()):
        np.testing.assert_allclose(cb.numpy(), tb.numpy(), atol=atol, err_msg=n)


class NoGrad:
    """An input array that must not require grad."""

    def __init__(self, a):
        self.a = a


def R(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- the Module API ---------------------------------------------------------------------------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.block = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
        self.register_buffer("scale", cr.ones(3))
        self.register_buffer("tmp", cr.zeros(1), persistent=False)

    def forward(self, x):
        return self.block(self.act(self.fc1(x))) * self.scale


def test_parameters_buffers_children_modules():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "block.0.weight", "block.0.bias"]
    assert [tuple(p.shape) for p in net.parameters()] == [(3, 4), (3,), (3, 3), (3,)]
    assert [n for n, _ in net.named_buffers()] == ["scale", "tmp"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "block"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "block", "block.0",
                                                   "block.1"]
    assert list(net.state_dict()) == ["scale", "fc1.weight", "fc1.bias", "block.0.weight",
                                      "block.0.bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    # a shared parameter is listed once
    shared = nn.Sequential(net.fc1, net.fc1)
    assert len(list(shared.parameters())) == 2


def test_state_dict_order_matches_torch():
    class TNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = tnn.Linear(4, 3)
            self.act = tnn.ReLU()
            self.block = tnn.Sequential(tnn.Linear(3, 3), tnn.Tanh())
            self.register_buffer("scale", torch.ones(3))
            self.register_buffer("tmp", torch.zeros(1), persistent=False)

    assert list(TNet().state_dict()) == list(Net().state_dict())


def test_train_eval_and_zero_grad():
    net = Net()
    assert net.training and net.block[1].training
    net.eval()
    assert not net.training and not net.block[1].training
    net.train()
    assert net.block[0].training
    net(cr.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_load_state_dict_strict_errors():
    net = Net()
    sd = net.state_dict()
    other = Net()
    other.load_state_dict(sd)
    for k in sd:
        np.testing.assert_array_equal(other.state_dict()[k].numpy(), sd[k].numpy())
    bad = dict(sd)
    del bad["fc1.bias"]
    bad["extra.weight"] = cr.zeros(1)
    with pytest.raises(RuntimeError, match=r'Error\(s\) in loading state_dict for Net') as e:
        other.load_state_dict(bad)
    assert 'Missing key(s) in state_dict: "fc1.bias"' in str(e.value)
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in str(e.value)
    res = other.load_state_dict(bad, strict=False)
    assert res.missing_keys == ["fc1.bias"] and res.unexpected_keys == ["extra.weight"]
    wrong = dict(sd)
    wrong["fc1.weight"] = cr.zeros(4, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for fc1.weight: copying a param with "
                       r"shape chainrule.Size\(\[4, 3\]\) from checkpoint, the shape in current "
                       r"model is chainrule.Size\(\[3, 4\]\)"):
        other.load_state_dict(wrong, strict=False)


def test_load_state_dict_copies_in_place():
    net = Net()
    w = net.fc1.weight
    net.load_state_dict({k: v * 0 for k, v in net.state_dict().items()})
    assert net.fc1.weight is w and not w.numpy(force=True).any()


def test_apply_and_to_dtype():
    net = Net()
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "Tanh", "Sequential", "Net"]
    w = net.fc1.weight
    net.double()
    assert net.fc1.weight is w and w.dtype == cr.float64 and net.scale.dtype == cr.float64
    out = net(cr.randn(2, 4, dtype=cr.float64))
    assert out.dtype == cr.float64
    net.to(cr.float32)
    assert w.dtype == cr.float32
    with pytest.raises(TypeError, match="floating point"):
        net.to(cr.int64)


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append(args[0].tolist()) or out + 1)
    x = cr.ones(1, 2)
    y = lin(x)
    expect = (2 * x) @ lin.weight.T + lin.bias + 1
    np.testing.assert_allclose(y.detach().numpy(), expect.detach().numpy())
    assert calls == [[[2.0, 2.0]]]
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(lin(x).detach().numpy(),
                               (x @ lin.weight.T + lin.bias).detach().numpy())
    assert len(calls) == 1


def test_setattr_rules():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        lin.weight = cr.zeros(2, 2)
    lin.weight = nn.Parameter(cr.zeros(2, 2))
    assert not lin.weight.numpy(force=True).any()
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        lin.nope
    with pytest.raises(KeyError, match="contain"):
        lin.register_buffer("a.b", cr.zeros(1))
    p = nn.Parameter(cr.ones(2))
    with pytest.raises(TypeError, match="Parameter or None required"):
        lin.register_parameter("q", (p * 2))


def test_repr_matches_torch():
    cm = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                       nn.Linear(128, 10, bias=False), nn.Dropout(0.25), nn.LayerNorm(10),
                       nn.BatchNorm1d(10), nn.LSTM(10, 20, 2, batch_first=True),
                       nn.Embedding(5, 3, padding_idx=0))
    tm = tnn.Sequential(tnn.Conv2d(1, 8, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                        tnn.Linear(128, 10, bias=False), tnn.Dropout(0.25), tnn.LayerNorm(10),
                        tnn.BatchNorm1d(10), tnn.LSTM(10, 20, 2, batch_first=True),
                        tnn.Embedding(5, 3, padding_idx=0))
    assert repr(cm) == repr(tm)


def test_containers():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.ReLU())
    assert isinstance(ml[-1], nn.ReLU)
    md = nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.Linear(3, 1)})
    assert list(md.keys()) == ["a", "b"] and [n for n, _ in md.named_parameters()][0] == "a.weight"
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    with pytest.raises(IndexError):
        seq[3]
    pl = nn.ParameterList([nn.Parameter(cr.ones(2)), cr.zeros(3)])
    assert [tuple(p.shape) for p in pl.parameters()] == [(2,), (3,)]


def test_deepcopy_is_independent():
    net = Net()
    net2 = copy.deepcopy(net)
    net2.fc1.weight._array[...] = 0
    assert net.fc1.weight.numpy(force=True).any()
    assert net2.scale is not net.scale


# ---- init -----------------------------------------------------------------------------------
@pytest.mark.parametrize("nl,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                      ("tanh", None), ("relu", None), ("leaky_relu", None),
                                      ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain(nl, param):
    assert nn.init.calculate_gain(nl, param) == pytest.approx(tnn.init.calculate_gain(nl, param))


def test_init_distributions():
    cr.manual_seed(0)
    w = cr.empty(400, 300)
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = 1 / math.sqrt(300)  # gain √(2/6) · √(3/300)
    a = w.numpy()
    assert a.max() <= bound and a.min() >= -bound and a.max() > 0.99 * bound
    assert abs(a.std() - bound / math.sqrt(3)) < 0.01 * bound
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.numpy().std() - math.sqrt(2 / 400)) < 0.02 * math.sqrt(2 / 400)
    nn.init.xavier_uniform_(w, gain=2.0)
    lim = 2.0 * math.sqrt(6 / 700)
    assert w.numpy().max() <= lim and w.numpy().max() > 0.99 * lim
    nn.init.xavier_normal_(w)
    assert abs(w.numpy().std() - math.sqrt(2 / 700)) < 0.02 * math.sqrt(2 / 700)
    nn.init.trunc_normal_(w, mean=1.0, std=2.0, a=-1.0, b=2.0)
    assert w.numpy().min() >= -1.0 and w.numpy().max() <= 2.0
    q = cr.empty(3, 5)
    nn.init.orthogonal_(q, gain=1.5)
    np.testing.assert_allclose(q.numpy() @ q.numpy().T, 2.25 * np.eye(3), atol=1e-5)
    nn.init.constant_(q, 0.5)
    assert (q.numpy() == 0.5).all()
    nn.init.zeros_(q)
    assert not q.numpy().any()
    nn.init.ones_(q)
    assert (q.numpy() == 1).all()
    nn.init.uniform_(q, 2, 3)
    assert q.numpy().min() >= 2 and q.numpy().max() < 3
    nn.init.normal_(w, 3, 0.5)
    assert abs(w.numpy().mean() - 3) < 0.01
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(cr.empty(3))


def test_init_seeded_and_no_graph():
    cr.manual_seed(1)
    a = nn.Linear(5, 4).weight.numpy(force=True).copy()
    cr.manual_seed(1)
    b = nn.Linear(5, 4).weight
    np.testing.assert_array_equal(a, b.numpy(force=True))
    assert b.is_leaf and b.grad_fn is None


@pytest.mark.parametrize("make", [
    lambda m: m.Linear(7, 5), lambda m: m.Conv2d(3, 6, 3), lambda m: m.Conv1d(4, 2, 5),
    lambda m: m.ConvTranspose2d(3, 4, 2), lambda m: m.Bilinear(3, 4, 5),
    lambda m: m.LSTM(6, 9, 2, bidirectional=True), lambda m: m.GRU(6, 9), lambda m: m.RNN(6, 9),
    lambda m: m.Embedding(20, 4, padding_idx=3), lambda m: m.BatchNorm2d(5),
    lambda m: m.LayerNorm((2, 3)), lambda m: m.GroupNorm(2, 4), lambda m: m.RMSNorm(6),
    lambda m: m.MultiheadAttention(8, 2), lambda m: m.PReLU(3),
    lambda m: m.TransformerEncoderLayer(8, 2, dim_feedforward=16),
])
def test_default_init_matches_torch(make):
    """Same state_dict keys, shapes and dtypes; values in the same distributions (same bounds,
    std within sampling error), so torch's weights load and a fresh model behaves alike."""
    torch.manual_seed(0)
    cr.manual_seed(0)
    tsd, csd = make(tnn).state_dict(), make(nn).state_dict()
    assert list(tsd) == list(csd)
    for k in tsd:
        t, c = tsd[k].numpy(), csd[k].numpy()
        assert t.shape == c.shape and str(t.dtype) == str(c.dtype), k
        if t.size > 1 and t.dtype.kind == "f":
            if np.ptp(t) == 0:
                np.testing.assert_array_equal(c, t, err_msg=k)
            elif t.size >= 30:  # smaller ones are too noisy to compare by samples
                assert np.abs(c).max() <= np.abs(t).max() * 1.3, k
                assert abs(c.std() - t.std()) < 0.35 * t.std(), k
        else:
            np.testing.assert_array_equal(c, t, err_msg=k)


# ---- modules vs torch, same weights -------------------------------------------------------------
@needs("linear")
def test_linear_bilinear():
    check_module(tnn.Linear(5, 3), nn.Linear(5, 3), R(4, 5))
    check_module(tnn.Linear(5, 3, bias=False), nn.Linear(5, 3, bias=False), R(2, 4, 5))
    check_module(tnn.Bilinear(3, 4, 2), nn.Bilinear(3, 4, 2), R(5, 3), R(5, 4, seed=1))
    check_module(tnn.Flatten(), nn.Flatten(), R(2, 3, 4))
    check_module(tnn.Unflatten(1, (2, 3)), nn.Unflatten(1, (2, 3)), R(4, 6))
    check_module(tnn.Identity(), nn.Identity(), R(3))


@needs("conv1d", "conv2d", "conv_transpose2d")
def test_conv():
    check_module(tnn.Conv2d(3, 4, 3, stride=2, padding=1), nn.Conv2d(3, 4, 3, stride=2, padding=1),
                 R(2, 3, 7, 7))
    check_module(tnn.Conv2d(4, 4, 3, groups=2, dilation=2, bias=False),
                 nn.Conv2d(4, 4, 3, groups=2, dilation=2, bias=False), R(1, 4, 8, 8))
    check_module(tnn.Conv2d(2, 3, 3, padding="same"), nn.Conv2d(2, 3, 3, padding="same"),
                 R(1, 2, 5, 5))
    check_module(tnn.Conv1d(3, 2, 3, padding=1), nn.Conv1d(3, 2, 3, padding=1), R(2, 3, 9))
    check_module(tnn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
                 nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), R(2, 3, 4, 4))


@needs("pad", "conv2d")
def test_conv_padding_modes():
    for mode in ("reflect", "replicate", "circular"):
        check_module(tnn.Conv2d(2, 3, 3, padding=1, padding_mode=mode),
                     nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode), R(1, 2, 5, 6))


@needs("max_pool1d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d")
def test_pooling():
    check_module(tnn.MaxPool2d(2), nn.MaxPool2d(2), R(2, 3, 6, 6))
    check_module(tnn.MaxPool2d(3, 2, 1), nn.MaxPool2d(3, 2, 1), R(1, 2, 7, 7))
    check_module(tnn.MaxPool1d(2), nn.MaxPool1d(2), R(2, 3, 8))
    check_module(tnn.AvgPool2d(2, 2), nn.AvgPool2d(2, 2), R(2, 3, 6, 6))
    check_module(tnn.AvgPool2d(3, 2, 1, count_include_pad=False),
                 nn.AvgPool2d(3, 2, 1, count_include_pad=False), R(1, 2, 7, 7))
    check_module(tnn.AdaptiveAvgPool2d((2, 3)), nn.AdaptiveAvgPool2d((2, 3)), R(2, 3, 7, 8))
    check_module(tnn.AdaptiveAvgPool2d(1), nn.AdaptiveAvgPool2d(1), R(2, 3, 5, 5))


@needs("batch_norm")
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm(train):
    check_module(tnn.BatchNorm2d(3), nn.BatchNorm2d(3), R(4, 3, 5, 5), train=train)
    check_module(tnn.BatchNorm1d(3, momentum=None), nn.BatchNorm1d(3, momentum=None), R(6, 3),
                 train=train)
    check_module(tnn.BatchNorm1d(3, affine=False), nn.BatchNorm1d(3, affine=False), R(6, 3, 4),
                 train=train)
    check_module(tnn.BatchNorm1d(3, bias=False), nn.BatchNorm1d(3, bias=False), R(6, 3),
                 train=train)


@needs("batch_norm")
def test_batchnorm_running_stats_over_steps():
    tm, cm = tnn.BatchNorm2d(3).double(), nn.BatchNorm2d(3).double()
    for i in range(3):
        x = R(4, 3, 2, 2, seed=i) * (i + 1) + i
        tm(torch.tensor(x))
        cm(cr.tensor(x))
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(cm.state_dict()[k].numpy(), v.numpy(), atol=1e-12, err_msg=k)
    with pytest.raises(ValueError, match="expected 4D input"):
        cm(cr.randn(2, 3))


@needs("layer_norm", "group_norm")
def test_norms():
    check_module(tnn.LayerNorm(5), nn.LayerNorm(5), R(3, 5))
    check_module(tnn.LayerNorm((3, 4), elementwise_affine=False),
                 nn.LayerNorm((3, 4), elementwise_affine=False), R(2, 3, 4))
    check_module(tnn.GroupNorm(2, 4), nn.GroupNorm(2, 4), R(3, 4, 5))
    check_module(tnn.GroupNorm(2, 4, bias=False), nn.GroupNorm(2, 4, bias=False), R(3, 4, 5))
    for tm, cm in ((tnn.GroupNorm(2, 4), nn.GroupNorm(2, 4)), (tnn.RMSNorm(3), nn.RMSNorm(3)),
                   (tnn.LayerNorm(3, bias=False), nn.LayerNorm(3, bias=False))):
        assert repr(cm) == repr(tm)
    check_module(tnn.RMSNorm(5), nn.RMSNorm(5), R(3, 5))
    check_module(tnn.RMSNorm((2, 5), eps=1e-3), nn.RMSNorm((2, 5), eps=1e-3), R(3, 2, 5))


@needs("embedding")
def test_embedding():
    idx = np.array([[0, 3, 5], [3, 3, 1]])
    check_module(tnn.Embedding(6, 4), nn.Embedding(6, 4), idx)
    check_module(tnn.Embedding(6, 4, padding_idx=3), nn.Embedding(6, 4, padding_idx=3), idx)
    emb = nn.Embedding.from_pretrained(cr.eye(3))
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(cr.tensor([2])).numpy(), [[0, 0, 1]])


@needs("dropout")
def test_dropout():
    d = nn.Dropout(0.5)
    x = cr.ones(2000)
    cr.manual_seed(0)
    y = d(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.45 < (y == 0).mean() < 0.55
    d.eval()
    assert d(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2}, {"bidirectional": True},
                                {"batch_first": True, "num_layers": 2, "bidirectional": True},
                                {"bias": False}])
def test_recurrent(cls, kw):
    x = R(5, 3, 4) if not kw.get("batch_first") else R(3, 5, 4)
    tm, cm = getattr(tnn, cls)(4, 6, **kw), getattr(nn, cls)(4, 6, **kw)
    check_module(tm, cm, x)
    # the final states, and given initial states
    L = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    h0 = R(L, 3, 6, seed=2)
    hx_t = (torch.tensor(h0), torch.tensor(h0 * 0.5)) if cls == "LSTM" else torch.tensor(h0)
    hx_c = (cr.tensor(h0), cr.tensor(h0 * 0.5)) if cls == "LSTM" else cr.tensor(h0)
    to, th = tm(torch.tensor(x), hx_t)
    co, ch = cm(cr.tensor(x), hx_c)
    np.testing.assert_allclose(co.detach().numpy(), to.detach().numpy(), atol=1e-10)
    if cls == "LSTM":
        for a, b in zip(ch, th):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-10)
    else:
        np.testing.assert_allclose(ch.detach().numpy(), th.detach().numpy(), atol=1e-10)


def test_rnn_relu_unbatched_and_cells():
    check_module(tnn.RNN(3, 4, nonlinearity="relu"), nn.RNN(3, 4, nonlinearity="relu"), R(6, 3))
    check_module(tnn.LSTMCell(3, 4), nn.LSTMCell(3, 4), R(2, 3), out_index=0)
    check_module(tnn.GRUCell(3, 4), nn.GRUCell(3, 4), R(2, 3))
    check_module(tnn.RNNCell(3, 4), nn.RNNCell(3, 4), R(2, 3))


@needs("linear", "layer_norm")
def test_attention_and_transformer():
    q, k = R(5, 2, 8), R(7, 2, 8, seed=1)
    check_module(tnn.MultiheadAttention(8, 2), nn.MultiheadAttention(8, 2), q, k, k)
    mask = np.triu(np.ones((5, 7), bool), 1)
    tm, cm = tnn.MultiheadAttention(8, 4, batch_first=True), nn.MultiheadAttention(
        8, 4, batch_first=True)
    check_module(tm, cm, R(2, 5, 8), R(2, 7, 8, seed=1), R(2, 7, 8, seed=2),
                 None, True, torch.tensor(mask), out_index=None)
    tw = tm(*(torch.tensor(a) for a in (R(2, 5, 8), R(2, 7, 8, seed=1), R(2, 7, 8, seed=2))))[1]
    cw = cm(*(cr.tensor(a) for a in (R(2, 5, 8), R(2, 7, 8, seed=1), R(2, 7, 8, seed=2))))[1]
    np.testing.assert_allclose(cw.detach().numpy(), tw.detach().numpy(), atol=1e-10)
    for nf in (False, True):
        check_module(tnn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, norm_first=nf),
                     nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, norm_first=nf), R(5, 3, 8))


def test_mha_with_masks_matches_torch():
    torch.manual_seed(0)
    tm = tnn.MultiheadAttention(8, 2).double()
    cm = nn.MultiheadAttention(8, 2).double()
    copy_weights(tm, cm)
    x = R(4, 3, 8)
    kpm = np.zeros((3, 4), bool)
    kpm[1, 2:] = True
    t = tm(torch.tensor(x), torch.tensor(x), torch.tensor(x), key_padding_mask=torch.tensor(kpm),
           attn_mask=torch.tensor(np.triu(np.ones((4, 4), bool), 1)))
    c = cm(cr.tensor(x), cr.tensor(x), cr.tensor(x), key_padding_mask=cr.tensor(kpm),
           attn_mask=cr.tensor(np.triu(np.ones((4, 4), bool), 1)))
    for a, b in zip(c, t):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-10)


ACTS = [("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", (0.2,)), ("ELU", (0.7,)), ("CELU", (1.3,)),
        ("SELU", ()), ("GELU", ()), ("SiLU", ()), ("Mish", ()), ("Sigmoid", ()), ("Tanh", ()),
        ("Softplus", (2.0, 5.0)), ("Softsign", ()), ("Softshrink", (0.3,)), ("Hardshrink", (0.3,)),
        ("Tanhshrink", ()), ("Hardtanh", (-0.5, 0.7)), ("Hardsigmoid", ()), ("Hardswish", ()),
        ("LogSigmoid", ()), ("Threshold", (0.1, -2.0)), ("GLU", ()), ("Softmax", (1,)),
        ("LogSoftmax", (1,)), ("Softmin", (0,)), ("PReLU", ()), ("Softmax2d", ())]


@pytest.mark.parametrize("name,args", ACTS, ids=[a[0] for a in ACTS])
def test_activation_modules(name, args):
    fname = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softmax": "softmax",
             "LogSoftmax": "log_softmax", "Softmax2d": "softmax"}.get(name)
    cm = getattr(nn, name)(*args)
    if fname is None:
        try:
            cm(cr.randn(2, 4))
        except NotImplementedError as e:
            pytest.skip(str(e))
    x = R(3, 4, 2, 2) + 0.01
    # torch's CELU and Hardsigmoid backward use float32 constants even in float64 (error ~1e-8;
    # chainrule's match the closed forms to 1e-16)
    atol = 5e-8 if name in ("CELU", "Hardsigmoid") else 1e-10
    check_module(getattr(tnn, name)(*args), cm, x, atol=atol)
    assert repr(cm) == repr(getattr(tnn, name)(*args))


LOSSES = [("L1Loss", (), "reg"), ("MSELoss", (), "reg"), ("HuberLoss", (), "reg"),
          ("SmoothL1Loss", (), "reg"), ("CrossEntropyLoss", (), "cls"),
          ("CrossEntropyLoss", dict(label_smoothing=0.1), "cls"), ("NLLLoss", (), "logp"),
          ("BCELoss", (), "prob"), ("BCEWithLogitsLoss", (), "bin"),
          ("KLDivLoss", dict(reduction="batchmean"), "kl"),
          ("SoftMarginLoss", (), "sign"), ("PoissonNLLLoss", (), "reg"),
          ("HingeEmbeddingLoss", (), "sign"), ("MSELoss", dict(reduction="sum"), "reg"),
          ("MSELoss", (None, False), "reg"), ("CrossEntropyLoss", (None, None, 2), "cls")]


@pytest.mark.parametrize("name,args,kind", LOSSES,
                         ids=[f"{a[0]}-{i}" for i, a in enumerate(LOSSES)])
def test_loss_modules(name, args, kind):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 4))
    if kind == "reg":
        y = rng.standard_normal((6, 4))
    elif kind == "cls":
        y = rng.integers(0, 4, 6)
    elif kind == "logp":
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
        y = rng.integers(0, 4, 6)
    elif kind == "prob":
        x = 1 / (1 + np.exp(-x))
        y = rng.random((6, 4))
    elif kind == "bin":
        y = rng.random((6, 4))
    elif kind == "kl":
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
        y = rng.dirichlet(np.ones(4), 6)
    else:
        y = np.sign(rng.standard_normal((6, 4)))
    kw = args if isinstance(args, dict) else {}
    pos = args if not isinstance(args, dict) else ()
    cm = getattr(nn, name)(*pos, **kw)
    try:
        cm(cr.tensor(x), cr.tensor(y))
    except NotImplementedError as e:
        pytest.skip(str(e))
    tm = getattr(tnn, name)(*pos, **kw)
    assert repr(cm) == repr(tm)
    # torch refuses grads w.r.t. some targets: compare the input's gradient only
    check_module(tm, cm, x, NoGrad(y))


@needs("cross_entropy")
def test_cross_entropy_weight_buffer():
    w = R(4) ** 2
    tm = tnn.CrossEntropyLoss(weight=torch.tensor(w), ignore_index=1)
    cm = nn.CrossEntropyLoss(weight=cr.tensor(w), ignore_index=1)
    assert [n for n, _ in cm.named_buffers()] == ["weight"]
    y = np.array([0, 1, 2, 3, 1, 0])
    check_module(tm, cm, R(6, 4), y)


# ---- nn.utils ----------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm(norm_type, max_norm):
    grads = [R(3, 4), R(5, seed=1), R(2, 2, seed=2)]
    tps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    cps = [cr.zeros(*g.shape, dtype=cr.float64, requires_grad=True) for g in grads]
    for g, tp, cp in zip(grads, tps, cps):
        tp.grad = torch.tensor(g)
        cp.grad = cr.tensor(g)
    tn = tnn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    cn = nn.utils.clip_grad_norm_(cps, max_norm, norm_type)
    assert float(cn) == pytest.approx(float(tn), rel=1e-12)
    for tp, cp in zip(tps, cps):
        np.testing.assert_allclose(cp.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_and_vectors():
    p = cr.zeros(5, requires_grad=True)
    p.grad = cr.tensor([-3.0, -0.5, 0.0, 0.5, 3.0])
    nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad.numpy(), [-1, -0.5, 0, 0.5, 1])
    with pytest.raises(RuntimeError, match="non-finite"):
        p.grad = cr.tensor([float("nan")] * 5)
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    lin = nn.Linear(3, 2)
    v = nn.utils.parameters_to_vector(lin.parameters())
    assert tuple(v.shape) == (8,)
    np.testing.assert_array_equal(v.detach().numpy()[:6], lin.weight.detach().numpy().ravel())
    v.sum().backward()
    assert (lin.weight.grad.numpy() == 1).all()
    nn.utils.vector_to_parameters(cr.arange(8.0), lin.parameters())
    np.testing.assert_array_equal(lin.bias.detach().numpy(), [6.0, 7.0])


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_fused_layer_grads_of_initial_state_and_double_backward(cls, bidirectional):
    """The LSTM/GRU fused layers (NumPy BPTT) vs torch: grads w.r.t. x, h0, (c0) and weights, and
    a second-order gradient through create_graph=True (the composed fallback)."""
    tm = getattr(tnn, cls)(3, 4, num_layers=2, bidirectional=bidirectional).double()
    cm = getattr(nn, cls)(3, 4, num_layers=2, bidirectional=bidirectional).double()
    copy_weights(tm, cm)
    L = 4 if bidirectional else 2
    x, h0, c0 = R(5, 2, 3), R(L, 2, 4, seed=1), R(L, 2, 4, seed=2)
    res = []
    for m, mod in ((torch, tm), (cr, cm)):
        xs = [m.tensor(a, requires_grad=True) for a in (x, h0, c0)]
        if cls == "LSTM":
            out, (h, c) = mod(xs[0], (xs[1], xs[2]))
        else:
            xs = xs[:2]
            out, h = mod(xs[0], xs[1])
            c = h
        loss = (out * out).sum() + (h * c).sum()
        params = list(mod.parameters())
        grads = m.autograd.grad(loss, xs + params, create_graph=True)
        gx = grads[0]
        second = m.autograd.grad((gx * gx).sum(), [xs[0], params[1]])
        res.append([g.detach().numpy() for g in grads] + [g.detach().numpy() for g in second])
    for t, c in zip(*res):
        np.testing.assert_allclose(c, t, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_recurrent_forward_mode_and_no_grad(cls):
    from chainrule.autograd import forward_ad as fwad

    lstm = getattr(nn, cls)(3, 4).double()
    x, v = cr.tensor(R(6, 2, 3)), cr.tensor(R(6, 2, 3, seed=1))
    with fwad.dual_level():
        out, _ = lstm(fwad.make_dual(x, v))
        jvp = fwad.unpack_dual(out).tangent.detach().numpy()
    eps = 1e-6
    with cr.no_grad():
        fd = (lstm(x + eps * v)[0] - lstm(x - eps * v)[0]).numpy() / (2 * eps)
        assert not lstm(x)[0].requires_grad
    np.testing.assert_allclose(jvp, fd, atol=1e-7)


EXTRA = [
    ("CosineSimilarity", (), [(4, 5), (4, 5)]),
    ("PairwiseDistance", (1.5,), [(4, 5), (4, 5)]),
    ("PixelShuffle", (2,), [(2, 8, 3, 3)]),
    ("PixelUnshuffle", (2,), [(2, 2, 4, 6)]),
    ("Upsample", dict(scale_factor=2), [(1, 2, 3, 3)]),
    ("Upsample", dict(size=(5, 7), mode="bilinear", align_corners=False), [(1, 2, 3, 4)]),
    ("UpsamplingBilinear2d", dict(scale_factor=2), [(1, 2, 3, 3)]),
    ("Fold", ((4, 5), (2, 2)), [(2, 12, 12)]),
    ("Unfold", ((2, 3),), [(2, 3, 4, 5)]),
    ("ZeroPad2d", ((1, 2, 0, 3),), [(1, 2, 3, 3)]),
    ("ConstantPad1d", (2, 3.5), [(2, 3, 4)]),
    ("ReflectionPad2d", (1,), [(1, 2, 3, 4)]),
    ("ReplicationPad1d", ((2, 1),), [(2, 3, 4)]),
    ("CircularPad2d", (1,), [(1, 2, 3, 4)]),
    ("MaxPool3d", (2,), [(1, 2, 4, 4, 4)]),
    ("AvgPool3d", (2, 1), [(1, 2, 3, 4, 4)]),
    ("AdaptiveAvgPool3d", ((2, 1, 3),), [(1, 2, 4, 4, 5)]),
    ("Conv3d", (2, 3, 2), [(1, 2, 4, 4, 4)]),
    ("InstanceNorm1d", (3,), [(2, 3, 6)]),
    ("InstanceNorm2d", (3,), [(3, 4, 5)]),
    ("InstanceNorm2d", (3,), [(2, 3, 4, 5)]),
]


@pytest.mark.parametrize("name,args,shapes", EXTRA,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(EXTRA)])
def test_more_modules(name, args, shapes):
    kw = args if isinstance(args, dict) else {}
    pos = () if isinstance(args, dict) else args
    tm, cm = getattr(tnn, name)(*pos, **kw), getattr(nn, name)(*pos, **kw)
    assert repr(cm) == repr(tm)
    try:
        check_module(tm, cm, *[R(*s, seed=i) for i, s in enumerate(shapes)])
    except NotImplementedError as e:
        pytest.skip(str(e))


def test_instance_norm_affine_tracked():
    for train in (True, False):
        check_module(tnn.InstanceNorm2d(3, affine=True, track_running_stats=True),
                     nn.InstanceNorm2d(3, affine=True, track_running_stats=True), R(2, 3, 4, 5),
                     train=train)


def test_dropout3d_and_rrelu():
    cr.manual_seed(0)
    d = nn.Dropout3d(0.5)
    y = d(cr.ones(4, 8, 2, 2, 2)).numpy()
    per_channel = y.reshape(4, 8, -1)
    assert all(len(set(c)) == 1 for c in per_channel.reshape(32, -1).tolist())  # whole channels
    assert set(np.unique(y)) <= {0.0, 2.0}
    m = nn.RReLU(0.1, 0.3)
    assert repr(m) == repr(tnn.RReLU(0.1, 0.3))
    x = cr.tensor(R(2000), requires_grad=True)
    out = m(x)
    out.sum().backward()
    xn, g = x.detach().numpy(), x.grad.numpy()
    assert (g[xn >= 0] == 1).all() and g[xn < 0].min() >= 0.1 and g[xn < 0].max() <= 0.3
    assert g[xn < 0].std() > 0.03  # random slopes in training
    np.testing.assert_allclose(out.detach().numpy(), g * xn)
    check_module(tnn.RReLU(0.1, 0.3), nn.RReLU(0.1, 0.3), R(3, 4), train=False)


def test_unpool_and_other_pools():
    x = R(2, 3, 6, 6)
    tp, cp = tnn.MaxPool2d(2, return_indices=True), nn.MaxPool2d(2, return_indices=True)
    (ty, ti), (cy, ci) = tp(torch.tensor(x)), cp(cr.tensor(x))
    np.testing.assert_array_equal(ci.numpy(), ti.numpy())
    tu, cu = tnn.MaxUnpool2d(2), nn.MaxUnpool2d(2)
    np.testing.assert_array_equal(cu(cy, ci).numpy(), tu(ty, ti).numpy())
    check_module(tnn.AdaptiveMaxPool2d((2, 3)), nn.AdaptiveMaxPool2d((2, 3)), R(2, 3, 7, 8))
    check_module(tnn.AvgPool1d(3, 2, 1), nn.AvgPool1d(3, 2, 1), R(2, 3, 9))
    check_module(tnn.AdaptiveAvgPool1d(4), nn.AdaptiveAvgPool1d(4), R(2, 3, 9))
    check_module(tnn.ConvTranspose1d(3, 2, 3, stride=2), nn.ConvTranspose1d(3, 2, 3, stride=2),
                 R(2, 3, 5))
    for cls in ("AvgPool1d", "AdaptiveMaxPool2d", "MaxUnpool2d", "MaxUnpool1d"):
        args = (3,) if cls != "AdaptiveMaxPool2d" else ((2, 3),)
        assert repr(getattr(nn, cls)(*args)) == repr(getattr(tnn, cls)(*args))


def test_conv_transpose_output_size():
    tm, cm = tnn.ConvTranspose2d(2, 3, 3, stride=2), nn.ConvTranspose2d(2, 3, 3, stride=2)
    copy_weights(tm, cm)
    x = R(1, 2, 4, 4).astype(np.float32)
    t = tm(torch.tensor(x), output_size=[10, 10])
    c = cm(cr.tensor(x), output_size=[10, 10])
    assert tuple(c.shape) == tuple(t.shape) == (1, 3, 10, 10)
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="requested an output size"):
        cm(cr.tensor(x), output_size=[13, 13])


def test_hook_order_prepend_and_kwargs_match_torch():
    logs = []
    for m in (torch, cr):
        log = []
        lin = m.nn.Linear(2, 2)
        lin.register_forward_pre_hook(lambda mod, a: log.append("pre1"))
        lin.register_forward_pre_hook(lambda mod, a: log.append("pre0"), prepend=True)

        def kw_pre(mod, a, kw):
            log.append(("kw", sorted(kw)))
            return (a[0] * 0,), kw

        lin.register_forward_pre_hook(kw_pre, with_kwargs=True)
        lin.register_forward_hook(lambda mod, a, kw, out: log.append(("post", sorted(kw))),
                                  with_kwargs=True)
        h = lin.register_forward_hook(lambda mod, a, out: log.append("post2"))
        y = lin(m.ones(1, 2))
        log.append(y.detach().numpy().tolist() == lin.bias.detach().numpy()[None].tolist())
        h.remove()
        lin(m.ones(1, 2))
        logs.append(log)
    assert logs[0] == logs[1]


def test_full_backward_hooks_match_torch():
    x = R(3, 4)
    res = []
    for m in (torch, cr):
        m.manual_seed(0)
        net = m.nn.Sequential(m.nn.Linear(4, 5), m.nn.Tanh(), m.nn.Linear(5, 2)).double()
        if m is cr:
            copy_weights(res[0][0], net)
        log = []

        def pre(mod, gout):
            log.append(("pre", [g.detach().numpy().copy() for g in gout]))
            return (gout[0] * 2,)

        def full(mod, gin, gout):
            log.append(("full", [None if g is None else g.detach().numpy().copy() for g in gin],
                        [g.detach().numpy().copy() for g in gout]))
            return (gin[0] * 3,)

        net[2].register_full_backward_pre_hook(pre)
        net[2].register_full_backward_hook(full)
        first = net[0].register_full_backward_hook(lambda mod, gin, gout: log.append(
            ("first", [g is None for g in gin])))
        xt = m.tensor(x, requires_grad=True)
        net(xt).sum().backward()
        first.remove()
        net(xt).sum().backward()  # removed hook: not called again
        res.append((net, log, xt.grad.detach().numpy(),
                    [p.grad.detach().numpy() for p in net.parameters()]))
    (_, tlog, tgx, tgp), (_, clog, cgx, cgp) = res
    assert [e[0] for e in clog] == [e[0] for e in tlog]
    for te, ce in zip(tlog, clog):
        for ta, ca in zip(te[1:], ce[1:]):
            if isinstance(ta, list) and ta and isinstance(ta[0], np.ndarray):
                for a, b in zip(ta, ca):
                    np.testing.assert_allclose(b, a, atol=1e-12)
            else:
                assert ta == ca
    np.testing.assert_allclose(cgx, tgx, atol=1e-12)
    for a, b in zip(tgp, cgp):
        np.testing.assert_allclose(b, a, atol=1e-12)


def test_deterministic_inits_equal_torch():
    for shape, groups in (((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((2, 2, 1, 3, 3), 1)):
        t, c = torch.empty(shape), cr.empty(*shape)
        tnn.init.dirac_(t, groups)
        nn.init.dirac_(c, groups)
        np.testing.assert_array_equal(c.numpy(), t.numpy())
    t, c = torch.empty(3, 5), cr.empty(3, 5)
    tnn.init.eye_(t)
    nn.init.eye_(c)
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    w = cr.empty(2000, 50)
    cr.manual_seed(0)
    nn.init.sparse_(w, 0.3, std=0.02)
    zeros = (w.numpy() == 0).mean(0)
    assert np.allclose(zeros, 0.3)  # exactly ceil(0.3 · rows) zeros per column


def test_load_state_dict_accepts_array_likes():
    tm, cm = tnn.Conv2d(2, 3, 3), nn.Conv2d(2, 3, 3)
    assert repr(cm.load_state_dict(tm.state_dict())) == "<All keys matched successfully>"
    np.testing.assert_array_equal(cm.weight.detach().numpy(), tm.weight.detach().numpy())
    cm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    with pytest.raises(RuntimeError, match='parameter named "bias".*received <class \'str\'>'):
        cm.load_state_dict({"weight": cm.weight.detach(), "bias": "zeros"})


def test_deepcopy_state_dict_for_early_stopping():
    """``best = copy.deepcopy(model.state_dict())`` keeps values that later training steps do not
    change, as in torch."""
    net = nn.Linear(3, 2)
    best = copy.deepcopy(net.state_dict())
    before = best["weight"].numpy().copy()
    opt = cr.optim.SGD(net.parameters(), lr=0.5)
    net(cr.ones(1, 3)).sum().backward()
    opt.step()
    np.testing.assert_array_equal(best["weight"].numpy(), before)
    assert not np.array_equal(net.weight.detach().numpy(), before)
    net.load_state_dict(best)
    np.testing.assert_array_equal(net.weight.detach().numpy(), before)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(net.weight * 2)
