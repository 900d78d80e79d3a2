"""Strided views of torch's: ``Tensor.unfold`` (sliding windows; here a gather) and
``Tensor.view(dtype)`` (the same bytes read as another dtype)."""

from __future__ import annotations

import numpy as np

from .. import _dtype, _ns
from .._tensor import Tensor, _make, _wrap_dim
from . import public
from ._index_checks import check_int64


@public("unfold", function=False)
def unfold(input, dimension: int, size: int, step: int):
    """``Tensor.unfold``: the slices of ``size`` along ``dimension``, ``step`` apart, as a new
    last dim (a gather, so overlapping windows add up in the gradient; torch gives a view)."""
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
    nwin = (length - size) // step + 1
    idx = (np.arange(nwin)[:, None] * step + np.arange(size)).reshape(-1)
    if n == 0:
        return _ns.reshape(input, (size,))
    r = input.index_select(d, Tensor(idx.astype(np.int64)))
    shp = tuple(input.shape)
    return _ns.movedim(_ns.reshape(r, shp[:d] + (nwin, size) + shp[d + 1 :]), d + 1, -1)


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
    """``Tensor.view(dtype)``: the same memory read as ``dt`` (torch's rules; no gradient)."""
    a = input._array
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
    return _make(a.view(dt.np))
