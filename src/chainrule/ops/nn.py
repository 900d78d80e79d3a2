"""Rule-table rows: fused, numerically stable neural-network functions."""

from __future__ import annotations

import numpy as np

from .._tensor import _wrap_dim
from ._table import defop


def _softmax(x, dim, dtype=None):
    if dtype is not None:
        from .. import _dtype

        x = x.astype(_dtype.to_np(dtype))
    if x.ndim == 0:
        return np.ones_like(x)
    d = _wrap_dim(dim, x.ndim, "softmax")
    e = np.exp(x - np.amax(x, axis=d, keepdims=True))
    return e / np.sum(e, axis=d, keepdims=True)


def _log_softmax(x, dim, dtype=None):
    if dtype is not None:
        from .. import _dtype

        x = x.astype(_dtype.to_np(dtype))
    if x.ndim == 0:
        return np.zeros_like(x)
    d = _wrap_dim(dim, x.ndim, "log_softmax")
    s = x - np.amax(x, axis=d, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=d, keepdims=True))


# softmax's Jacobian is symmetric, so the same formula serves both modes
def _softmax_rule(m, g, out, x, dim, dtype=None):
    if x.ndim == 0:
        return g * 0
    return out * (g - m.sum(g * out, dim=dim, keepdim=True))


def _log_softmax_dx(m, g, out, x, dim, dtype=None):
    if x.ndim == 0:
        return g * 0
    return g - m.exp(out) * m.sum(g, dim=dim, keepdim=True)


def _log_softmax_t(m, t, out, x, dim, dtype=None):
    if x.ndim == 0:
        return t * 0
    return t - m.sum(m.exp(out) * t, dim=dim, keepdim=True)


defop("softmax", _softmax, _softmax_rule, _softmax_rule, dtype="float",
      formula="d softmax(u)_i/du_j = s_i(δ_ij − s_j)")
defop("log_softmax", _log_softmax, _log_softmax_dx, _log_softmax_t, dtype="float",
      formula="d log_softmax(u)_i/du_j = δ_ij − softmax(u)_j")
