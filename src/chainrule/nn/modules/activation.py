"""Activation modules (one per ``nn.functional`` activation), ``PReLU``, ``Softmax`` and friends,
and ``MultiheadAttention``."""

from __future__ import annotations

import math

import numpy as np


from ..._device import check as _check_device
from ... import _creation, _ns
from ..._tensor import Tensor
from .. import functional as F, init
from ..parameter import Parameter
from ._factory import _NO_DEFAULT as REQ, functional, make
from .module import Module

_IP = ("inplace", False)

ReLU = make("ReLU", "relu", (_IP,), doc="max(0, x) elementwise.\n\nExample:\n"
            "    >>> chainrule.nn.ReLU()(chainrule.tensor([-1.0, 2.0]))\n    tensor([0., 2.])")
ReLU6 = make("ReLU6", "relu6", (_IP,))
LeakyReLU = make("LeakyReLU", "leaky_relu", (("negative_slope", 0.01), _IP),
                 drop_default=("negative_slope", "inplace"))
ELU = make("ELU", "elu", (("alpha", 1.0), _IP), drop_default=("alpha", "inplace"))
CELU = make("CELU", "celu", (("alpha", 1.0), _IP), drop_default=("alpha", "inplace"))
SELU = make("SELU", "selu", (_IP,))
GELU = make("GELU", "gelu", (("approximate", "none"),), drop_default=("approximate",))
SiLU = make("SiLU", "silu", (_IP,))
Mish = make("Mish", "mish", (_IP,))
Sigmoid = make("Sigmoid", "sigmoid")
Tanh = make("Tanh", "tanh")
Softplus = make("Softplus", "softplus", (("beta", 1.0), ("threshold", 20.0)),
                drop_default=("beta", "threshold"))
Softsign = make("Softsign", "softsign")
Softshrink = make("Softshrink", "softshrink", (("lambd", 0.5),), drop_default=("lambd",),
                  repr_fn=lambda self: str(self.lambd))
Hardshrink = make("Hardshrink", "hardshrink", (("lambd", 0.5),), drop_default=("lambd",),
                  repr_fn=lambda self: str(self.lambd))
Tanhshrink = make("Tanhshrink", "tanhshrink")
Hardtanh = make("Hardtanh", "hardtanh", (("min_val", -1.0), ("max_val", 1.0), _IP),
                drop_default=("min_val", "max_val", "inplace"))
Hardsigmoid = make("Hardsigmoid", "hardsigmoid", (_IP,))
Hardswish = make("Hardswish", "hardswish", (_IP,))
LogSigmoid = make("LogSigmoid", "logsigmoid")
Threshold = make("Threshold", "threshold", (("threshold", REQ), ("value", REQ), _IP))
GLU = make("GLU", "glu", (("dim", -1),), drop_default=("dim",))


class RReLU(Module):
    """Randomized leaky ReLU: in training each negative input is scaled by a slope drawn from
    U(lower, upper); in eval by the mean slope (lower + upper) / 2."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input):
        if hasattr(F, "rrelu"):
            return F.rrelu(input, self.lower, self.upper, self.training)
        if not self.training:
            return F.leaky_relu(input, (self.lower + self.upper) / 2)
        slope = _creation.rand(*input.shape, dtype=input.dtype) * (self.upper - self.lower) \
            + self.lower
        return _ns.where(input >= 0, input, input * slope)

    def extra_repr(self) -> str:
        s = f"lower={self.lower}, upper={self.upper}"
        return s + (", inplace=True" if self.inplace else "")


def _softmax_dim(ndim: int) -> int:
    # torch's legacy implicit choice when dim=None
    return 0 if ndim in (0, 1, 3) else 1


class _SoftmaxBase(Module):
    _fname = "softmax"

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = _softmax_dim(input.ndim) if self.dim is None else self.dim
        return functional(self._fname)(input, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    """softmax along ``dim``: exp(x_i) / Σ_j exp(x_j)."""

    _fname = "softmax"


class LogSoftmax(_SoftmaxBase):
    """log(softmax(x)) along ``dim``, computed stably."""

    _fname = "log_softmax"


class Softmin(_SoftmaxBase):
    """softmax(−x) along ``dim``."""

    _fname = "softmin"

    def forward(self, input):
        dim = _softmax_dim(input.ndim) if self.dim is None else self.dim
        if hasattr(F, "softmin"):
            return F.softmin(input, dim)
        return F.softmax(-input, dim)


class Softmax2d(Module):
    """softmax over the channel dim of (N, C, H, W) or (C, H, W) input."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
        return F.softmax(input, -3)


class PReLU(Module):
    """max(0, x) + a·min(0, x) with a learnable slope per channel (or one shared)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        _check_device(device, f"nn.{type(self).__name__}")
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(_creation.full((num_parameters,), float(init), dtype=dtype))

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input):
        if hasattr(F, "prelu"):
            return F.prelu(input, self.weight)
        w = self.weight
        if input.ndim >= 2 and self.num_parameters > 1:
            w = w.reshape((-1,) + (1,) * (input.ndim - 2))
        return input.relu() - w * (-input).relu()

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al.) with torch's parameters, names and initialization.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` → ``(output, weights or None)``.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, device=None, dtype=None) -> None:
        _check_device(device, f"nn.{type(self).__name__}")
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                f"num_heads={num_heads} instead"
            )
        if add_bias_kv or add_zero_attn or (kdim not in (None, embed_dim)) \
                or (vdim not in (None, embed_dim)):
            raise NotImplementedError(
                "MultiheadAttention: add_bias_kv, add_zero_attn and kdim/vdim != embed_dim are not "
                "supported"
            )
        self.embed_dim = embed_dim
        self.kdim = self.vdim = embed_dim
        self._qkv_same_embed_dim = True
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        self.in_proj_weight = Parameter(_creation.empty(3 * embed_dim, embed_dim, dtype=dtype))
        if bias:
            self.in_proj_bias = Parameter(_creation.empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        from .linear import Linear

        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        batched = query.ndim == 3
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        tgt, bsz, e = query.shape
        src = key.shape[0]
        h, hd = self.num_heads, self.head_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        bq = bk = bv = None
        if b is not None:
            bq, bk, bv = b[:e], b[e:2 * e], b[2 * e:]
        q = F.linear(query, w[:e], bq)
        k = F.linear(key, w[e:2 * e], bk)
        v = F.linear(value, w[2 * e:], bv)
        # (L, N, E) -> (N, h, L, hd)
        q = q.reshape((tgt, bsz, h, hd)).permute(1, 2, 0, 3)
        k = k.reshape((src, bsz, h, hd)).permute(1, 2, 0, 3)
        v = v.reshape((src, bsz, h, hd)).permute(1, 2, 0, 3)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        mask = None
        if is_causal and attn_mask is None:
            attn_mask = _creation.tensor(np.triu(np.ones((tgt, src), bool), 1))
        if attn_mask is not None:
            mask = _additive(attn_mask, scores)
            if mask.ndim == 3:  # (N*h, L, S)
                mask = mask.reshape((bsz, h, tgt, src))
        if key_padding_mask is not None:
            kpm = _additive(key_padding_mask, scores).reshape((bsz, 1, 1, src))
            mask = kpm if mask is None else mask + kpm
        if mask is not None:
            scores = scores + mask
        attn = F.softmax(scores, -1)
        if self.dropout > 0.0 and self.training:
            attn = F.dropout(attn, self.dropout, True)
        out = (attn @ v).permute(2, 0, 1, 3).reshape((tgt, bsz, e))
        out = self.out_proj(out)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1)
        weights = None
        if need_weights:
            weights = attn.mean(1) if average_attn_weights else attn
            if not batched:
                weights = weights.squeeze(0)
        return out, weights


def _additive(mask, like):
    """A boolean mask (True = masked out) as −inf; a float mask is added as is."""
    m = mask._array if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype == np.bool_:
        m = np.where(m, -np.inf, 0.0)
    return _creation.tensor(m.astype(like._array.dtype))
