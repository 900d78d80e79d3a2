"""Rule-table rows: indexing (``x[idx]`` in torch's order, index_put, put), where, masks, take,
nonzero (gather/scatter and the index_* ops are in ``scatter.py``; triangles and diagonals in
``diagonal.py``, pad and meshgrid in ``padding.py``).
Most are linear: their forward-mode rule is the op itself and their backward rule is the
matching scatter (or gather)."""

from __future__ import annotations

import numpy as np

from .. import _dtype, _ns
from .._dispatch import apply
from .._tensor import Tensor
from . import _index_checks as _ic
from ._public import public
from ._table import ELEMENTWISE, LINEAR, TABLE, A, defop


def _norm_index(index) -> tuple:
    """The index as a tuple, Tensors/lists turned into arrays, checked as torch checks them."""
    return tuple(_norm_one(i) for i in (index if isinstance(index, tuple) else (index,)))


def _norm_one(i):
    t = type(i)
    if t is int or t is slice or i is None:
        return i
    if isinstance(i, Tensor):
        i = i._array
    elif isinstance(i, list):
        i = (
            np.asarray([v.item() if isinstance(v, Tensor) else v for v in i])
            if i
            else np.zeros(0, np.int64)
        )
        if i.dtype == object:  # Python ints beyond int64
            raise ValueError("Overflow when unpacking long long (an index does not fit in int64)")
    if isinstance(i, np.ndarray) and i.dtype is not _INDEX_DTYPES[0]:
        if i.dtype.kind not in "biu" or (i.dtype.kind in "iu" and i.dtype not in _INDEX_DTYPES):
            raise IndexError(
                "tensors used as indices must be long, int, byte or bool tensors "
                f"(got {i.dtype})"
            )
        if i.dtype == np.uint8:
            i = i.astype(bool)
    return i


_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32), np.dtype(np.uint8))
_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def _is_basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, _BASIC) and not isinstance(i, bool) for i in items)


def _advanced(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (np.ndarray, bool, np.bool_)) for i in items)


_locate = _ic.locate


def _getitem(x, index):
    items = _norm_index(index)
    try:
        v, rest = _locate(x, items)
        if rest is None:  # a trailing Ellipsis makes NumPy return a 0-d view, never a scalar copy
            return v
        return _ic.fresh(np.asarray(v[rest]))
    except IndexError as e:
        raise _ic.torch_words(e, x.shape) from None


def _unindex(g, index, shape):
    items = _norm_index(index)
    z = np.zeros(shape, dtype=g.dtype)
    v, rest = _locate(z, items)
    if rest is None:
        v[...] = g
    else:
        np.add.at(v, rest, g)  # repeated indices accumulate
    return z


_index_back = lambda m, g, out, x, index: m.index_backward(g, index, tuple(x.shape))
# basic indexing (ints, slices, None, ...) gives a view sharing x's memory and version counter;
# advanced indexing (integer/bool tensors) gives a copy, as in torch
defop(
    "basic_index",
    _getitem,
    _index_back,
    LINEAR,
    dtype="keep",
    view=True,
    cls="Slice",
    method=False,
    public=False,
    saves=(),
    formula="x[i]: the gradient is written back to the indexed positions",
)
defop(
    "index",
    _getitem,
    _index_back,
    LINEAR,
    dtype="keep",
    method=False,
    public=False,
    saves=(),
    formula="x[i]: the gradient is scattered back to the indexed positions (added where repeated)",
)
defop(
    "index_backward",
    _unindex,
    lambda m, g, out, x, index, shape: m.getitem(g, index),
    LINEAR,
    dtype="keep",
    method=False,
    public=False,
    formula="scatter-add: the gradient is gathered from the indexed positions",
)


def getitem(input, index):
    """``input[index]``: a view for basic indices, a copy for integer/bool tensor indices."""
    index = _ic.torch_index(index)
    op = TABLE["basic_index"] if _is_basic(index) else TABLE["index"]
    return apply(op, input, index=index)


_ns.getitem = getitem
A.getitem = _getitem


def _index_put(x, values, index):
    out = np.array(x, copy=True)
    put_into(out, index, values)
    return out


def put_into(x, index, values) -> None:
    """``x[index] = values`` in place, in torch's order, words and exception types."""
    items = _norm_index(index)
    v, rest = x, items
    try:
        v, rest = _locate(x, items, write=True)
        v[rest] = values
    except IndexError as e:
        raise _ic.torch_words(e, x.shape) from None
    except ValueError as e:
        shp = np.shape(values)
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {list(shp)} cannot be broadcast to indexing "
            f"result of shape {list(np.shape(v[rest]))} ({e})"
        ) from None


defop(
    "index_put",
    _index_put,
    (
        lambda m, g, out, x, values, index: m.index_put(g, 0.0, index),
        lambda m, g, out, x, values, index: m.getitem(g, index),
    ),
    # not LINEAR: a number ``values`` is a constant, its tangent is 0
    (
        lambda m, t, out, x, values, index: m.index_put(t, 0.0, index),
        lambda m, t, out, x, values, index: m.index_put(m.zeros_like(out), t, index),
    ),
    nin=2,
    dtype="keep",
    saves=(),
    method=False,
    public=False,
    formula=("x[i] = v: the gradient of x is zero at i", "the gradient of v is g[i]"),
)


@public("index_put")
def index_put(input, indices, values, accumulate: bool = False):
    """Out-of-place ``input[indices] = values`` (``accumulate=True``: ``+=``, repeats add up)."""
    idx = tuple(indices)
    if isinstance(values, Tensor) and values.dtype != input.dtype:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{_dtype.torch_name(input._array.dtype)} for the destination and "
            f"{_dtype.torch_name(values._array.dtype)} "
            "for the source."
        )
    if not accumulate:
        return apply(TABLE["index_put"], input, values, idx)
    shape = _getitem(np.zeros(input.shape, bool), idx).shape
    v = values if isinstance(values, Tensor) else Tensor(values, dtype=input.dtype)
    return input + apply(TABLE["index_backward"], _ns.expand(v, shape), idx, tuple(input.shape))


# ---- where ---------------------------------------------------------------------------------------
def _where(cond, x, y):
    if isinstance(cond, (bool, np.bool_)):
        cond = np.asarray(cond)
    if not (isinstance(cond, np.ndarray) and cond.dtype == np.bool_):
        if isinstance(cond, np.ndarray) and cond.dtype == np.uint8:
            cond = cond.astype(bool)
        else:
            raise RuntimeError(
                f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                f"{getattr(cond, 'dtype', type(cond).__name__)}"
            )
    from .. import _dtype

    rt = _dtype.result_type([x, y])
    if rt is None:  # two Python numbers: each a tensor of its own type (float → the default)
        rt = _dtype.result_type([np.asarray(v, _dtype.to_np(type(v))) for v in (x, y)])
    if rt is not None:
        x = x.astype(rt) if isinstance(x, np.ndarray) else np.asarray(x, rt)
        y = y.astype(rt) if isinstance(y, np.ndarray) else np.asarray(y, rt)
    return np.where(cond, x, y)


defop(
    "where",
    _where,
    (
        None,
        lambda m, g, out, c, x, y: m.where(c, g, 0.0),
        lambda m, g, out, c, x, y: m.where(c, 0.0, g),
    ),
    ELEMENTWISE,
    nin=3,
    dtype="keep",
    saves=(0,),
    saves_out=False,
    formula=("", "d where(c,u,v)/du = [c]", "d where(c,u,v)/dv = [not c]"),
)


@public("where", method=False)
def where(condition, input=None, other=None):
    """Elementwise ``input if condition else other``; ``where(condition)`` is
    ``nonzero(as_tuple=True)``.
    """
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    return apply(TABLE["where"], condition, input, other)


@public("where", function=False)
def _where_method(self, condition, other):
    """``x.where(condition, y)`` is ``where(condition, x, y)``, as torch's Tensor.where."""
    return apply(TABLE["where"], condition, self, other)


def _long_index(idx, op: str) -> np.ndarray:
    raw = idx._array if isinstance(idx, Tensor) else idx
    _ic.check_index_dtype(op, raw)
    if isinstance(raw, np.ndarray) and raw.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index")
    idx = _norm_one(idx)
    if not isinstance(idx, np.ndarray) or idx.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index")
    return idx


def _grid(idx: np.ndarray, d: int) -> tuple:
    grid = list(np.indices(idx.shape, sparse=True))
    grid[d] = idx
    return tuple(grid)


# ---- masks ---------------------------------------------------------------------------------------
def _bool_mask(mask, op):
    if not (isinstance(mask, np.ndarray) and mask.dtype == np.bool_):
        raise RuntimeError(
            f"{op} only supports boolean masks, but got mask with dtype "
            f"{getattr(mask, 'dtype', type(mask).__name__)}"
        )
    return mask


def _masked_fill(x, mask, value):
    _bool_mask(mask, "masked_fill_")
    if isinstance(value, np.ndarray) and value.ndim:
        raise RuntimeError(
            "masked_fill_ only supports a 0-dimensional value tensor, but got tensor "
            f"with {value.ndim} dimension(s)."
        )
    return np.where(mask, np.asarray(value).astype(x.dtype), x)


defop(
    "masked_fill",
    _masked_fill,
    (
        lambda m, g, out, x, mask, value: m.where(mask, 0.0, g),
        None,
        lambda m, g, out, x, mask, value: m.where(mask, g, 0.0),
    ),
    ELEMENTWISE,
    nin=3,
    dtype="keep",
    saves=(1,),
    saves_out=False,
    formula=(
        "masked_fill: zero where filled",
        "",
        "masked_fill: the sum over the filled positions",
    ),
)


def _masked_select(x, mask):
    _bool_mask(mask, "masked_select:")
    xb, mb = np.broadcast_arrays(x, mask)
    return xb[mb]


def _masked_select_back(m, g, out, x, mask):
    shape = tuple(np.broadcast_shapes(tuple(x.shape), tuple(mask.shape)))
    return m.index_put(m.expand(m.zeros_like(x), shape), g, (m.expand(mask, shape),))


# the mask is an input without tangent: not LINEAR (that would zero the mask)
defop(
    "masked_select",
    _masked_select,
    (_masked_select_back, None),
    (lambda m, t, out, x, mask: m.masked_select(t, mask), None),
    nin=2,
    dtype="keep",
    saves=(1,),
    formula="masked_select: the gradient is scattered back to the selected positions",
)


def _masked_scatter(x, mask, source):
    _bool_mask(mask, "masked_scatter_")
    mb = np.broadcast_to(mask, x.shape) if mask.shape != x.shape else mask
    n = int(mb.sum())
    src = np.asarray(source).reshape(-1)
    if src.size < n:
        raise RuntimeError(
            "masked_scatter: expected source to have at least as many elements as "
            f"ones in mask ({src.size} < {n})"
        )
    out = np.array(x, copy=True)
    out[mb] = src[:n]
    return out


def _masked_scatter_src(m, g, out, x, mask, source):
    flat = m.masked_select(g, mask)
    size = 1
    for s in source.shape:
        size *= s
    return m.reshape(m.constant_pad(flat, (0, size - flat.shape[0]), 0.0), tuple(source.shape))


defop(
    "masked_scatter",
    _masked_scatter,
    (lambda m, g, out, x, mask, source: m.where(mask, 0.0, g), None, _masked_scatter_src),
    (
        lambda m, t, out, x, mask, source: m.where(mask, 0.0, t),
        None,
        lambda m, t, out, x, mask, source: m.masked_scatter(m.zeros_like(out), mask, t),
    ),
    nin=3,
    dtype="keep",
    saves=(1,),
    formula=(
        "masked_scatter: zero where written",
        "",
        "masked_scatter: the masked gradient, in order",
    ),
)


_TAKE_WORDS = "out of range: tried to access index {i} on a tensor of {size} elements."


def _take(x, index):
    idx = _long_index(index, "take")
    _ic.check_bounds(idx, x.size, 0, negative=True, exc=IndexError, words=_TAKE_WORDS)
    return x.reshape(-1)[idx]


@public("put")
def put(input, index, source, accumulate: bool = False):
    """``input`` with the flat positions ``index`` set to ``source`` (``accumulate``: added)."""
    idx = _long_index(index, "put").reshape(-1)
    _ic.check_bounds(idx, input.numel(), 0, negative=True, exc=IndexError, words=_TAKE_WORDS)
    src = _ns.reshape(source, (-1,))
    if src.shape[0] != idx.size:
        raise RuntimeError(
            f"put_(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {src.shape[0]}, index.numel() = {idx.size}"
        )
    r = index_put(_ns.reshape(input, (-1,)), (Tensor(idx),), src, accumulate)
    return _ns.reshape(r, tuple(input.shape))


def _take_back(m, g, out, x, index):
    flat = m.reshape(m.zeros_like(x), (-1,))
    i = _flat_index(index, flat.shape[0])
    return m.reshape(m.index_add(flat, m.reshape(g, (-1,)), 0, i), tuple(x.shape))


def _flat_index(index, n):
    i = _norm_one(index)
    i = i.reshape(-1) if isinstance(i, np.ndarray) else np.asarray(i).reshape(-1)
    return np.where(i < 0, i + n, i) if i.size and i.min() < 0 else i  # index_add refuses negatives


defop(
    "take",
    _take,
    (_take_back,),
    LINEAR,
    dtype="keep",
    saves=(),
    formula="take: the gradient is added back at the flat indices",
)


def _nonzero(x):
    return np.argwhere(x).astype(np.int64)


defop("nonzero", _nonzero, dtype="int", method=False, public=False)


@public("nonzero")
def nonzero(input, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) LongTensor, or one 1-D tensor per
    dimension.
    """
    r = apply(TABLE["nonzero"], input)
    if not as_tuple:
        return r
    if input.ndim == 0:
        return (r.reshape(-1),)
    return tuple(r[:, k] for k in range(max(input.ndim, 1)))


public("argwhere")(lambda input: apply(TABLE["nonzero"], input))
