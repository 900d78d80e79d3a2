"""Rule-table rows: indexing (``x[idx]``), where, take_along_dim, and their scatter-adds."""

from __future__ import annotations

import numpy as np

from .._dispatch import apply
from .._tensor import Tensor, _wrap_dim
from . import public
from ._table import ELEMENTWISE, LINEAR, TABLE, defop


def _norm_index(index):
    """Index with Tensors/lists turned into arrays; integer arrays checked, as torch does."""
    if isinstance(index, tuple):
        return tuple(_norm_one(i) for i in index)
    return _norm_one(index)


def _norm_one(i):
    if isinstance(i, Tensor):
        i = i.data
    elif isinstance(i, list):
        i = np.asarray([v.item() if isinstance(v, Tensor) else v for v in i]) if i else np.zeros(0, np.int64)
    if isinstance(i, np.ndarray):
        if i.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if i.dtype == np.uint8:
            i = i.astype(bool)
    return i


def _advanced(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, np.ndarray) for i in items)


def _getitem(x, index):
    index = _norm_index(index)
    try:
        r = x[index]
    except IndexError as e:
        raise IndexError(f"{e} (indexing a tensor of shape {list(x.shape)})") from None
    return r if isinstance(r, np.ndarray) else np.asarray(r)


def _unindex(g, index, shape):
    index = _norm_index(index)
    z = np.zeros(shape, dtype=g.dtype)
    if _advanced(index):
        np.add.at(z, index, g)  # repeated indices accumulate
    else:
        z[index] = g
    return z


defop("getitem", _getitem, lambda m, g, out, x, index: m.index_backward(g, index, tuple(x.shape)),
      LINEAR, dtype="keep", cls="Index", method=False, public=False,
      formula="x[i]: the gradient is scattered back to the indexed positions (added where repeated)")
defop("index_backward", _unindex, lambda m, g, out, x, index, shape: m.getitem(g, index), LINEAR,
      dtype="keep", method=False, public=False,
      formula="scatter-add: the gradient is gathered from the indexed positions")


# ---- where -----------------------------------------------------------------------------------------
def _where(cond, x, y):
    if not (isinstance(cond, np.ndarray) and cond.dtype == np.bool_):
        if isinstance(cond, np.ndarray) and cond.dtype == np.uint8:
            cond = cond.astype(bool)
        else:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{getattr(cond, 'dtype', type(cond).__name__)}")
    from .. import _dtype

    rt = _dtype.result_type([x, y])
    if rt is not None:
        x = x.astype(rt) if isinstance(x, np.ndarray) else np.asarray(x, rt)
        y = y.astype(rt) if isinstance(y, np.ndarray) else np.asarray(y, rt)
    return np.where(cond, x, y)


defop("where", _where,
      (None, lambda m, g, out, c, x, y: m.where(c, g, 0.0), lambda m, g, out, c, x, y: m.where(c, 0.0, g)),
      ELEMENTWISE, nin=3, dtype="keep", saves=(0,), saves_out=False,
      formula=("", "d where(c,u,v)/du = [c]", "d where(c,u,v)/dv = [not c]"))


@public("where")
def where(condition, input=None, other=None):
    """Elementwise ``input if condition else other``; ``where(condition)`` is ``nonzero(as_tuple=True)``."""
    if input is None and other is None:
        from .._creation import tensor

        return tuple(tensor(i) for i in np.nonzero(np.asarray(condition.data)))
    return apply(TABLE["where"], condition, input, other)


# ---- gather-like ops along one dimension -----------------------------------------------------------
def _take_along(x, indices, dim):
    idx = _norm_one(indices)
    return np.take_along_axis(x, idx, axis=_wrap_dim(dim, x.ndim, "take_along_dim"))


def _put_along(g, indices, shape, dim):
    idx = _norm_one(indices)
    d = _wrap_dim(dim, len(shape), "scatter_add")
    g, idx = np.broadcast_arrays(g, idx)
    grid = list(np.indices(idx.shape, sparse=True))
    grid[d] = idx
    z = np.zeros(shape, g.dtype)
    np.add.at(z, tuple(grid), g)
    return z


defop("take_along_dim", _take_along,
      lambda m, g, out, x, indices, dim: m.put_along_dim(g, indices, tuple(x.shape), dim), LINEAR,
      dtype="keep", formula="gather: the gradient is scatter-added back")
defop("put_along_dim", _put_along,
      lambda m, g, out, x, indices, shape, dim: m.take_along_dim(g, indices, dim), LINEAR,
      dtype="keep", method=False, public=False, formula="scatter-add: the gradient is gathered")
