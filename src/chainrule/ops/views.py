"""Strided views of torch's: ``Tensor.unfold`` (sliding windows) and
``Tensor.view(dtype)`` (the same bytes read as another dtype)."""

from __future__ import annotations

import numpy as np

from .. import _dtype
from .._dispatch import apply
from .._tensor import _wrap_dim
from ._public import public
from ._table import LINEAR, TABLE, defop
from ._index_checks import check_int64


def _unfold(x, dimension, size, step):
    if x.ndim == 0:
        return x.reshape(1)[:size]
    d = dimension % x.ndim
    w = np.lib.stride_tricks.sliding_window_view(x, size, axis=d, writeable=x.flags.writeable)
    return w[(slice(None),) * d + (slice(None, None, step),)]


def _unfold_back(g, shape, dimension, size, step):
    z = np.zeros(shape, g.dtype)
    if not z.ndim:
        z[...] = g.sum()
        return z
    d = dimension % z.ndim
    nwin = g.shape[d]
    for k in range(size):  # window offset k: positions k, k + step, ... (none repeats)
        sl = (slice(None),) * d + (slice(k, k + step * (nwin - 1) + 1, step),)
        z[sl] += g[..., k]
    return z


defop(
    "unfold",
    _unfold,
    lambda m, g, out, x, dimension, size, step: m.unfold_backward(
        g, tuple(x.shape), dimension, size, step
    ),
    LINEAR,
    dtype="keep",
    view=True,
    saves=(),
    method=False,
    public=False,
    formula="unfold: each window's gradient is added back to the positions it covers",
)
defop(
    "unfold_backward",
    _unfold_back,
    lambda m, g, out, x, shape, dimension, size, step: m.unfold(g, dimension, size, step),
    LINEAR,
    dtype="keep",
    method=False,
    public=False,
    formula="the gradient's windows",
)


@public("unfold", function=False)
def unfold(input, dimension: int, size: int, step: int):
    """``Tensor.unfold``: the slices of ``size`` along ``dimension``, ``step`` apart, as a new
    last dim; a view, as torch's (overlapping windows add up in the gradient)."""
    check_int64("unfold", "size, step", (size, step))
    n = input.ndim
    d = _wrap_dim(dimension, n, "unfold")
    length = input.shape[d] if n else 1
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0 (unfold of dimension {d})")
    if size > length:
        raise RuntimeError(
            f"maximum size for tensor at dimension {d} is {length} but size is {size} (unfold)"
        )
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0 (unfold)")
    return apply(TABLE["unfold"], input, d, int(size), int(step))


_TORCH_NAME = {
    "float32": "Float",
    "float64": "Double",
    "float16": "Half",
    "int64": "Long",
    "int32": "Int",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
}


def view_dtype(input, dt):
    """``Tensor.view(dtype)``: the same memory read as ``dt`` (torch's rules; no gradient). A
    view: it shares the input's version counter, so autograd sees writes through it."""
    return apply(TABLE["view_dtype"], input, dt)


def _view_dtype(a, dt):
    old, new = a.dtype.itemsize, dt.itemsize
    if old != new:
        what = (
            f"to view {_TORCH_NAME[_dtype.from_np(a.dtype).name]} as {_TORCH_NAME[dt.name]} "
            "(different element sizes)"
        )
        if a.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {what}")
        if a.shape[-1] != 1 and a.strides[-1] != old:
            raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {a.strides[-1] // old}")
        if new > old and a.shape[-1] % (new // old):
            raise RuntimeError(
                f"self.size(-1) must be divisible by {new // old} {what}, but got {a.shape[-1]}"
            )
        if a.shape[-1] == 1 and a.strides[-1] != old:
            a = np.lib.stride_tricks.as_strided(a, a.shape, a.strides[:-1] + (old,))
    return a.view(dt.np)


defop("view_dtype", _view_dtype, dtype="keep", view=True, method=False, public=False)
