"""Rule-table rows: indexing (``x[idx]`` in torch's order, index_put, put), where, masks, take,
nonzero, triangles and diagonals, pad (gather/scatter and the index_* ops are in ``scatter.py``).
Most are linear: their forward-mode rule is the op itself and their backward rule is the
matching scatter (or gather)."""

from __future__ import annotations

import numpy as np

from .. import _dtype, _ns
from .._dispatch import apply
from .._tensor import Tensor, _wrap_dim
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


# ---- triangles and diagonals ---------------------------------------------------------------------
def _tri(f, name):
    def fwd(x, diagonal=0):
        if x.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return f(x, diagonal)

    return fwd


defop(
    "tril",
    _tri(np.tril, "tril"),
    lambda m, g, out, x, diagonal=0: m.tril(g, diagonal),
    LINEAR,
    dtype="keep",
    saves=(),
    formula="tril: the gradient's lower triangle",
)
defop(
    "triu",
    _tri(np.triu, "triu"),
    lambda m, g, out, x, diagonal=0: m.triu(g, diagonal),
    LINEAR,
    dtype="keep",
    saves=(),
    formula="triu: the gradient's upper triangle",
)


def _diagonal(x, offset=0, dim1=0, dim2=1):
    d1, d2 = _wrap_dim(dim1, x.ndim, "diagonal"), _wrap_dim(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    r = np.diagonal(x, offset, d1, d2)
    if x.flags.writeable:
        r.flags.writeable = True  # a writable view, as torch's (in-place ops through it work)
    return r


def _diag_back(g, shape, offset, dim1, dim2):
    z = np.zeros(shape, g.dtype)
    d1, d2 = _wrap_dim(dim1, len(shape), "diagonal"), _wrap_dim(dim2, len(shape), "diagonal")
    view = _diagonal(z, offset, d1, d2)
    view[...] = g
    return z


defop(
    "diagonal",
    _diagonal,
    lambda m, g, out, x, offset=0, dim1=0, dim2=1: m.diagonal_backward(
        g, tuple(x.shape), offset, dim1, dim2
    ),
    LINEAR,
    dtype="keep",
    view=True,
    saves=(),
    formula="diagonal: the gradient on the diagonal",
)
defop(
    "diagonal_backward",
    _diag_back,
    lambda m, g, out, x, shape, offset, dim1, dim2: m.diagonal(g, offset, dim1, dim2),
    LINEAR,
    dtype="keep",
    method=False,
    public=False,
    formula="the gradient's diagonal",
)


def _diag_embed(x, offset=0, dim1=-2, dim2=-1):
    n = x.shape[-1] + abs(offset) if x.ndim else 1 + abs(offset)
    nd = x.ndim + 1
    d1, d2 = _wrap_dim(dim1, nd, "diag_embed"), _wrap_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    rest = list(x.shape[:-1])
    shape = [0] * nd
    it = iter(rest)
    for k in range(nd):
        shape[k] = n if k in (d1, d2) else next(it)
    return _diag_back(x, tuple(shape), offset, d1, d2)


defop(
    "diag_embed",
    _diag_embed,
    lambda m, g, out, x, offset=0, dim1=-2, dim2=-1: m.diagonal(g, offset, dim1, dim2),
    LINEAR,
    dtype="keep",
    saves=(),
    formula="diag_embed: the gradient's diagonal",
)


@public("diag")
def diag(input, diagonal: int = 0):
    """1-D input: a matrix with it on the ``diagonal``-th diagonal; 2-D input: that diagonal."""
    if input.ndim == 1:
        return _ns.diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return _ns.clone(_ns.diagonal(input, diagonal, 0, 1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


@public("trace")
def trace(input):
    """Sum of the main diagonal of a 2-D tensor."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return _ns.sum(_ns.diagonal(input, 0, 0, 1))


# ---- padding -------------------------------------------------------------------------------------
def _pad_widths(ndim, pad):
    if len(pad) % 2:
        raise RuntimeError(f"Padding length must be divisible by 2, got {len(pad)}")
    if len(pad) // 2 > ndim:
        raise RuntimeError(
            f"Padding length should be less than or equal to two times the input "
            f"dimension but got padding length {len(pad)} and input of dimension {ndim}"
        )
    w = [(0, 0)] * ndim
    for k in range(len(pad) // 2):
        w[ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    return w


def _constant_pad(x, pad, value=0.0):
    w = _pad_widths(x.ndim, pad)
    crop = tuple(slice(max(-a, 0), x.shape[i] - max(-b, 0)) for i, (a, b) in enumerate(w))
    y = x[crop]
    if any(s < 0 for s in y.shape) or any(x.shape[i] + a + b < 0 for i, (a, b) in enumerate(w)):
        raise RuntimeError(
            f"The input size {list(x.shape)}, plus negative padding {list(pad)} resulted "
            "in a negative output size, which is invalid."
        )
    out = np.full(tuple(n + max(a, 0) + max(b, 0) for n, (a, b) in zip(y.shape, w)), value, y.dtype)
    out[tuple(slice(max(a, 0), max(a, 0) + n) for n, (a, b) in zip(y.shape, w))] = y
    return out


defop(
    "constant_pad",
    _constant_pad,
    lambda m, g, out, x, pad, value=0.0: m.constant_pad(g, tuple(-p for p in pad), 0.0),
    lambda m, t, out, x, pad, value=0.0: m.constant_pad(t, pad, 0.0),
    dtype="keep",
    saves=(),
    method=False,
    public=False,
    cls="ConstantPadNd",
    formula="constant pad: the gradient is cropped back",
)

_NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@public("pad", method=False, ns="nn.functional")
def pad(input, pad, mode: str = "constant", value=None):
    """Pad the last ``len(pad) // 2`` dimensions (``pad`` lists the last dimension first).

    Example:
        >>> chainrule.nn.functional.pad(chainrule.ones(2), (1, 2))
        tensor([0., 1., 1., 0., 0.])
    """
    _ic.check_int64("pad", "pad", tuple(pad), TypeError)
    if mode == "constant":
        return apply(TABLE["constant_pad"], input, tuple(pad), 0.0 if value is None else value)
    if mode not in _NP_MODE:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    nd = len(pad) // 2
    if not 1 <= nd <= 3 or input.ndim not in (nd + 1, nd + 2):
        raise NotImplementedError(
            f"Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now "
            f"(got {mode} padding of {nd} dimension(s) for a {input.ndim}-D input)"
        )
    w = _pad_widths(input.ndim, pad)
    for i, (a, b) in enumerate(w):
        n = input.shape[i]
        if mode == "reflect" and (a >= n or b >= n):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input dimension, "
                f"but got: padding ({a}, {b}) at dimension {i} of input {list(input.shape)}"
            )
        if mode == "circular" and (a > n or b > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        cropped = n + min(a, 0) + min(b, 0)  # what circular padding wraps around
        if mode == "circular" and (n + a + b < 0 or (min(a, b) < 0 and cropped <= 0 < n + a + b)):
            raise RuntimeError(
                f"Negative padding value is resulting in an empty dimension (padding ({a}, {b}) "
                f"at dimension {i} of input {list(input.shape)})"
            )
        if mode != "circular" and n + a + b <= 0:
            raise RuntimeError(
                f"input ({'WHD'[input.ndim - 1 - i]}: {n}) is too small. Calculated output "
                f"{'WHD'[input.ndim - 1 - i]}: {n + a + b} ({mode} padding ({a}, {b}))"
            )
    # the padded tensor gathers from a fixed index map; take's rule gives the scatter-add backward.
    # Negative padding crops: circular before wrapping, reflect/replicate after padding (torch)
    pos = np.arange(input.numel(), dtype=np.int64).reshape(tuple(input.shape))
    crop = lambda p: p[tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(p.shape, w))]
    widths = [(max(a, 0), max(b, 0)) for a, b in w]
    if mode == "circular":
        idx = np.pad(crop(pos), widths, mode="wrap")
    else:
        idx = crop(np.pad(pos, widths, mode=_NP_MODE[mode]))
    return _ns.take(input, Tensor(idx))


# ---- meshgrid ------------------------------------------------------------------------------------
@public("meshgrid", method=False)
def meshgrid(*tensors, indexing: str = "ij"):
    """Coordinate grids from 1-D tensors (``indexing="ij"`` by default, as torch; or ``"xy"``)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(
                f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}D"
            )
    ts = [_ns.reshape(t, (-1,)) for t in tensors]
    n = len(ts)
    swap = indexing == "xy" and n >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    out = []
    for k, t in enumerate(ts):
        s = [1] * n
        s[k] = shape[k]
        out.append(_ns.expand(_ns.reshape(t, tuple(s)), shape))
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


@public("diagflat")
def diagflat(input, offset: int = 0):
    """A matrix with ``input`` flattened on its ``offset``-th diagonal."""
    return _ns.diag_embed(_ns.reshape(input, (-1,)), offset, 0, 1)
