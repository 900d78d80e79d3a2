"""Normalization functions (``chainrule.nn.functional``): layer, batch, group, instance and RMS norm.

Layer, batch, group and instance norm share one fused row, ``standardize``: ``(x − mean) · rstd``
over some axes, then ``· weight + bias``, with the closed-form backward on raw arrays and the
same formulas on Tensors (recomputed with graph) under ``create_graph``. Running statistics are
updated in place without a graph, as torch. RMS norm is a composition of rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _ns as _ns_module
from .._tensor import Tensor, _make
from ._public import public
from ._table import A, defop, sum_to_shape

_ns: Any = _ns_module  # the rule namespace on Tensors, filled from the rule table at import


# ---- the fused row ---------------------------------------------------------------------------------
def _trailing(x, dims) -> int:
    """Size of the normalized block when ``dims`` are the trailing axes of ``x`` (rows), else 0."""
    k = len(dims)
    if k and tuple(d % x.ndim for d in dims) == tuple(range(x.ndim - k, x.ndim)):
        return math.prod(x.shape[x.ndim - k:])
    return 0


def _rowdot(a, b, d: int, shape):
    """Mean over each row of a·b (rows of length ``d``), without an a·b temporary."""
    return (np.einsum("ni,ni->n", a.reshape(-1, d), b.reshape(-1, d)) / d).reshape(shape)


def _standardize_fwd(x, weight, bias, dims, eps):
    mu = x.mean(dims, keepdims=True)
    y = x - mu
    d = _trailing(x, dims)
    var = _rowdot(y, y, d, mu.shape) if d else np.mean(np.square(y), dims, keepdims=True)
    y *= 1.0 / np.sqrt(var + eps)  # every step in place: large temporaries cost page faults
    if weight is not None:
        y *= weight
    if bias is not None:
        y += bias
    return y, mu, var


def _std_graph(m, x, dims, eps):
    """(y, rstd) rebuilt from ``x`` with graph (for create_graph)."""
    xc = x - m.mean(x, dims, True)
    rstd = 1.0 / m.sqrt(m.mean(xc * xc, dims, True) + eps)
    return xc * rstd, rstd


def _standardize_vjp(m, gs, out, x, weight, bias, needs, dims, eps):
    g = gs[0]
    if m is A:
        mu, rstd = out[1], 1.0 / np.sqrt(out[2] + eps)
        y = x - mu
        y *= rstd
        d = _trailing(x, dims)
        rows = d and (weight is None or weight.size == d)  # layer norm: weight over the row
        dw = None
        if weight is not None and needs[1]:
            if rows:
                gb = np.broadcast_to(g, x.shape).reshape(-1, d)
                dw = np.einsum("ni,ni->i", gb, y.reshape(-1, d)).reshape(weight.shape)
            else:
                dw = sum_to_shape(g * y, weight.shape)
        dx = None
        if needs[0]:
            gw = g * weight if weight is not None else np.broadcast_to(g, x.shape)
            if rows:
                gy = _rowdot(gw, y, d, rstd.shape)
                dx = gw - gw.mean(dims, keepdims=True)
            else:
                dx = gw * y
                gy = dx.mean(dims, keepdims=True)
                np.subtract(gw, gw.mean(dims, keepdims=True), out=dx)
            y *= gy
            dx -= y
            dx *= rstd
        return dx, dw, (g if bias is not None and needs[2] else None)
    y, rstd = _std_graph(m, x, dims, eps)
    gw = g * weight if weight is not None else g
    dx = rstd * (gw - m.mean(gw, dims, True) - y * m.mean(gw * y, dims, True))
    return dx, (g * y if weight is not None else None), (g if bias is not None else None)


def _standardize_jvp(m, ts, out, x, weight, bias, dims, eps):
    tx, tw, tb = ts
    y, rstd = _std_graph(m, x, dims, eps)
    r = None
    if tx is not None:
        r = rstd * (tx - m.mean(tx, dims, True) - y * m.mean(tx * y, dims, True))
        if weight is not None:
            r = r * weight
    if tw is not None:
        r = tw * y if r is None else r + tw * y
    if tb is not None:
        r = tb if r is None else r + tb
    return r, None, None


defop("standardize", _standardize_fwd, vjp_all=_standardize_vjp, jvp_all=_standardize_jvp, nin=3, nout=3,
      nondiff_out=(1, 2), cls="NativeNorm", public=False, method=False,
      formula="y = (u − μ)·r (outputs y, μ, σ²), r = (σ² + ε)^(−1/2); dx = r·(g′ − mean(g′) − y·mean(g′y)), g′ = g·w",
      dtype="floating")


def _affine(y: Tensor, weight, bias, shape) -> Tensor:
    if weight is not None:
        y = y * (weight if shape is None else _ns.reshape(weight, shape))
    if bias is not None:
        y = y + (bias if shape is None else _ns.reshape(bias, shape))
    return y


def _norm_shape(name, input, normalized_shape) -> tuple:
    ns = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if not ns or tuple(input.shape[input.ndim - len(ns):]) != ns or len(ns) > input.ndim:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(map(str, ns))}], but got input of size{list(input.shape)}")
    return ns


@public("layer_norm", method=False, ns="nn.functional")
def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` dims, then scale and shift.

    Example: ``layer_norm(x, (64,), w, b)`` for x of shape (N, T, 64).
    """
    ns = _norm_shape("layer_norm", input, normalized_shape)
    dims = tuple(range(input.ndim - len(ns), input.ndim))
    return _ns.standardize(input, weight, bias, dims, eps)[0]


@public("rms_norm", method=False, ns="nn.functional")
def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x²) + eps) · weight`` over the last dims (eps: the dtype's machine epsilon)."""
    ns = _norm_shape("rms_norm", input, normalized_shape)
    dims = tuple(range(-len(ns), 0))
    if eps is None:
        eps = float(np.finfo(input._array.dtype).eps)
    y = input / _ns.sqrt(_ns.mean(input * input, dims, True) + eps)
    return _affine(y, weight, None, None)


def _channel_shape(input) -> tuple:
    return (1, input.shape[1]) + (1,) * (input.ndim - 2)


def _update(running: Tensor | None, new: np.ndarray, momentum: float) -> None:
    if running is None:
        return
    running._array[...] = (1 - momentum) * running._array + momentum * new.astype(running._array.dtype)
    running._bump()


@public("batch_norm", function=False, method=False, ns="nn.functional")  # torch.batch_norm: other order
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Per-channel normalization of (N, C, …): batch statistics when ``training`` (updating the
    running mean and unbiased variance in place with ``momentum``), running statistics otherwise."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm(): expected 2D or more input (N, C, ...), got {input.ndim}D")
    c = input.shape[1]
    shape = _channel_shape(input)
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"batch_norm(): {name} should contain {c} elements not {t.numel()}")
    dims = (0,) + tuple(range(2, input.ndim))
    if training:
        n = input.numel() // c
        if n <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got input size "
                             f"{list(input.shape)}")
        w = None if weight is None else _ns.reshape(weight, shape)
        b = None if bias is None else _ns.reshape(bias, shape)
        y, mu, var = _ns.standardize(input, w, b, dims, eps)
        var = var._array
        m = 0.0 if momentum is None else momentum
        _update(running_mean, mu._array.reshape(c), m)
        _update(running_var, var.reshape(c) * (n / (n - 1)), m)
        return y
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm(): running_mean and running_var must be defined in evaluation mode")
        y = (input - _ns.reshape(running_mean, shape)) / _ns.sqrt(_ns.reshape(running_var, shape) + eps)
    return _affine(y, weight, bias, shape)


@public("instance_norm", function=False, method=False, ns="nn.functional")  # torch.instance_norm: other order
def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each (sample, channel) over its spatial dims; running stats averaged over the batch."""
    if input.ndim < 3:
        raise ValueError(f"instance_norm(): expected 3D or more input (N, C, ...), got {input.ndim}D")
    shape = _channel_shape(input)
    dims = tuple(range(2, input.ndim))
    if use_input_stats:
        n = int(np.prod(input.shape[2:]))
        if n <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                             f"{list(input.shape)}")
        w = None if weight is None else _ns.reshape(weight, shape)
        b = None if bias is None else _ns.reshape(bias, shape)
        y, mu, var = _ns.standardize(input, w, b, dims, eps)
        var = var._array
        c = input.shape[1]
        _update(running_mean, mu._array.reshape(-1, c).mean(0), momentum)
        _update(running_var, (var.reshape(-1, c) * (n / (n - 1))).mean(0), momentum)
        return y
    else:
        y = (input - _ns.reshape(running_mean, shape)) / _ns.sqrt(_ns.reshape(running_var, shape) + eps)
    return _affine(y, weight, bias, shape)


@public("group_norm", method=False, ns="nn.functional")
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over each group of ``C // num_groups`` channels (and all spatial positions)."""
    if input.ndim < 2:
        raise RuntimeError(f"group_norm(): expected at least 2D input, got {input.ndim}D")
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got "
                           f"input of shape {list(input.shape)} and num_groups={num_groups}")
    x = _ns.reshape(input, (n, num_groups, -1))
    y = _ns.reshape(_ns.standardize(x, None, None, (2,), eps)[0], tuple(input.shape))
    return _affine(y, weight, bias, _channel_shape(input))


@public("local_response_norm", function=False, method=False, ns="nn.functional")
def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """``x / (k + alpha · mean of x² over `size` neighbouring channels)^beta`` (zero padded), as torch."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    n, c = input.shape[:2]
    band = np.zeros((c, c))
    for i in range(c):
        band[i, max(i - size // 2, 0): min(i + (size - 1) // 2 + 1, c)] = 1.0 / size
    sq = _ns.reshape(input * input, (n, c, -1))
    div = _ns.reshape(_ns.matmul(_make(band.astype(input._array.dtype)), sq), tuple(input.shape))
    return input / (div * alpha + k) ** beta
