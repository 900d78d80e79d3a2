"""Rule-table rows along one dimension: take_along_dim, gather, scatter, scatter_add,
scatter_reduce (sum, prod exact with zeros, mean, amax, amin), index_select, index_add,
index_copy, index_fill. Gathers and scatter-adds are each other's backward."""

from __future__ import annotations

import numpy as np

from .. import _ns
from .._dispatch import apply
from .._tensor import Tensor, _wrap_dim
from ._public import public
from ._table import LINEAR, TABLE, defop
from ._index_checks import check_bounds, check_gather, check_index_dtype, check_src_rows
from .indexing import _grid, _long_index, _norm_one


# ---- gather-like ops along one dimension ---------------------------------------------------------
def _take_along(x, indices, dim):
    idx = _norm_one(indices)
    if idx.ndim != x.ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of dimensions, "
            f"but got {x.ndim} dimensions for input, and {idx.ndim} dimensions for indices"
        )
    d = _wrap_dim(dim, x.ndim, "take_along_dim")
    if any(a != b for k, (a, b) in enumerate(zip(x.shape, idx.shape)) if k != d):
        x, idx = _bcast_along(x, idx, d)
    # torch wraps negative indices here (and reads out of bounds unchecked past the size)
    check_bounds(idx, x.shape[d], d, negative=True, exc=IndexError)
    return np.take_along_axis(x, idx, axis=d)


def _along_back(m, g, out, x, indices, dim):
    # the engine sums a broadcast input's gradient back to its shape
    shape = list(out.shape)
    d = dim % max(len(shape), 1)
    shape[d] = x.shape[d]
    return m.put_along_dim(g, indices, tuple(shape), dim)


def _bcast_along(x, idx, d):
    """torch broadcasts input and indices against each other, except along ``dim``."""
    xs, js = list(x.shape), list(idx.shape)
    xs[d] = js[d] = 1
    try:
        b = list(np.broadcast_shapes(tuple(xs), tuple(js)))
    except ValueError:
        k = next(k for k, (p, q) in enumerate(zip(xs, js)) if p != q and 1 not in (p, q))
        raise RuntimeError(
            f"The size of tensor a ({xs[k]}) must match the size of tensor b ({js[k]}) at "
            f"non-singleton dimension {k} (take_along_dim: input {list(x.shape)}, indices "
            f"{list(idx.shape)}, dim {d})"
        ) from None
    bx, bi = list(b), list(b)
    bx[d], bi[d] = x.shape[d], idx.shape[d]
    return np.broadcast_to(x, tuple(bx)), np.broadcast_to(idx, tuple(bi))


def _put_along(g, indices, shape, dim, unique=False):
    # unique=True: no index repeats along dim (sort, max, topk…): a plain write, not an add.at
    idx = _norm_one(indices)
    d = _wrap_dim(dim, len(shape), "scatter_add")
    z = np.zeros(shape, np.result_type(g))
    if unique and np.shape(g) == idx.shape:
        np.put_along_axis(z, idx, g, d)
        return z
    g, idx = np.broadcast_arrays(g, idx)
    np.add.at(z, _grid(idx, d), g)
    return z


defop(
    "take_along_dim",
    _take_along,
    _along_back,
    LINEAR,
    dtype="keep",
    saves=(),
    formula="gather: the gradient is scatter-added back",
)
defop(
    "put_along_dim",
    _put_along,
    lambda m, g, out, x, indices, shape, dim, unique=False: m.take_along_dim(g, indices, dim),
    LINEAR,
    dtype="keep",
    method=False,
    public=False,
    formula="scatter-add: the gradient is gathered",
)


@public("take_along_dim")
def take_along_dim(input, indices, dim=None):
    """Values of ``input`` at ``indices`` along ``dim`` (broadcast apart from ``dim``); without
    ``dim``, of the flattened input at the flattened indices."""
    if dim is None:  # torch: a gather of the flattened input (negative indices refused)
        check_bounds(_long_index(indices, "gather").reshape(-1), input.numel(), 0)
        flat = _ns.reshape(input, (-1,))
        return apply(TABLE["take_along_dim"], flat, _ns.reshape(indices, (-1,)), 0)
    check_index_dtype("take_along_dim", getattr(indices, "_array", indices))  # int64 only here
    return apply(TABLE["take_along_dim"], input, indices, dim)


def _src_part(src, idx):
    if not isinstance(src, np.ndarray) or src.ndim == 0:
        return src
    return src[tuple(slice(0, n) for n in idx.shape)]


def _gather(x, dim, index):
    d = _wrap_dim(dim, x.ndim, "gather")  # torch checks the dim before the index's dtype
    idx = _long_index(index, "gather")
    check_gather(x, idx, d, "gather")
    return x[_grid(idx, d)] if x.ndim else x[idx] if idx.ndim else x.copy()


defop(
    "gather",
    _gather,
    lambda m, g, out, x, dim, index: m.scatter_add(m.zeros_like(x), g, dim, index),
    LINEAR,
    dtype="keep",
    saves=(),
    formula="gather: the gradient is scatter-added back",
)


def _scatter(x, src, dim, index):
    idx = _long_index(index, "scatter")
    d = _wrap_dim(dim, x.ndim, "scatter")
    check_gather(x, idx, d, "scatter", src)
    out = np.array(x, copy=True)
    out[_grid(idx, d)] = _src_part(src, idx)
    return out


def _fit(m, gs, src):
    """Zero-pad a gradient of index's shape to src's (torch raises here; src may be larger)."""
    if not hasattr(src, "shape") or tuple(gs.shape) == tuple(src.shape) or src.ndim == 0:
        return gs
    pads = []
    for a, b in zip(reversed(tuple(gs.shape)), reversed(tuple(src.shape))):
        pads += [0, b - a]
    return m.constant_pad(gs, tuple(pads), 0.0)


defop(
    "scatter",
    _scatter,
    (
        lambda m, g, out, x, src, dim, index: m.scatter(g, 0.0, dim, index),
        lambda m, g, out, x, src, dim, index: _fit(m, m.gather(g, dim, index), src),
    ),
    (
        lambda m, t, out, x, src, dim, index: m.scatter(t, 0.0, dim, index),
        lambda m, t, out, x, src, dim, index: m.scatter(m.zeros_like(out), t, dim, index),
    ),
    nin=2,
    dtype="keep",
    saves=(),
    method=False,
    public=False,
    formula=("scatter: zero at the written positions", "scatter: the gradient is gathered"),
)


def _scatter_add(x, src, dim, index):
    idx = _long_index(index, "scatter_add")
    d = _wrap_dim(dim, x.ndim, "scatter_add")
    check_gather(x, idx, d, "scatter_add", src)
    out = np.array(x, copy=True)
    np.add.at(out, _grid(idx, d), _src_part(src, idx))
    return out


defop(
    "scatter_add",
    _scatter_add,
    (
        lambda m, g, out, x, src, dim, index: g,
        lambda m, g, out, x, src, dim, index: _fit(m, m.gather(g, dim, index), src),
    ),
    LINEAR,
    nin=2,
    dtype="keep",
    saves=(),
    method=False,
    public=False,
    formula=("scatter_add: identity", "scatter_add: the gradient is gathered"),
)

_RED = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum, "mean": np.add}


def _scatter_reduce(x, src, dim, index, reduce, include_self=True):
    if reduce not in _RED:
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    idx = _long_index(index, "scatter_reduce")
    d = _wrap_dim(dim, x.ndim, "scatter_reduce")
    check_gather(x, idx, d, "scatter_reduce", src)
    grid, s = _grid(idx, d), _src_part(src, idx)
    out = np.array(x, copy=True)
    if not include_self:
        init = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}[reduce]
        if out.dtype.kind != "f" and reduce in ("amax", "amin"):
            info = np.iinfo(out.dtype)
            init = info.min if reduce == "amax" else info.max
        out[grid] = init
    _RED[reduce].at(out, grid, s)
    if reduce == "mean":
        cnt = np.full(x.shape, 1 if include_self else 0, np.int64)
        np.add.at(cnt, grid, 1)
        out = out / np.maximum(cnt, 1) if out.dtype.kind == "f" else out // np.maximum(cnt, 1)
    return out.astype(x.dtype, copy=False)


def _counts(m, x, dim, index, include_self):
    # how many values (self's included or not) each output position reduces over
    base = m.zeros_like(x) + (1.0 if include_self else 0.0)
    return m.scatter_add(base, m.ones_like(m.gather(x, dim, index)), dim, index)


def _scatter_reduce_back(m, g, out, x, src, needs, dim, index, reduce, include_self=True):
    gx, gs = _scatter_reduce_parts(
        m, g, out, x, _src_in(m, src, index), dim, index, reduce, include_self
    )
    return gx, _fit(m, gs, src)


def _src_in(m, src, index):
    shp = _norm_one(index).shape
    if tuple(src.shape) == tuple(shp):
        return src
    return m.getitem(src, tuple(slice(0, n) for n in shp))


def _scatter_reduce_parts(m, g, out, x, src, dim, index, reduce, include_self=True):
    written = m.scatter(m.zeros_like(x), 1.0, dim, index) != 0  # positions some src reached
    keep_self = 1.0 if include_self else m.where(written, 0.0, 1.0)
    if reduce == "sum":
        return g * keep_self, m.gather(g, dim, index)
    if reduce == "mean":
        n = _counts(m, x, dim, index, include_self)
        n = m.where(n == 0, 1.0, n)
        return g * keep_self / n, m.gather(g / n, dim, index)
    if reduce in ("amax", "amin"):
        # the gradient is split evenly among self and src values equal to the result (torch)
        self_is = (x == out) * keep_self
        src_is = src == m.gather(out, dim, index)
        n = m.scatter_add(self_is, src_is * 1.0, dim, index)
        share = g / m.where(n == 0, 1.0, n)
        return share * self_is, m.gather(share, dim, index) * src_is
    # prod: exact with zeros (torch's scatter_reduce prod backward)
    x1 = m.where(x == 0, 1.0, x)
    gx = g * m.scatter_reduce(x1, src, dim, index, "prod", include_self) / x1 * keep_self
    src0 = src == 0
    nz = m.gather(m.scatter_add(m.zeros_like(x), src0 * 1.0, dim, index), dim, index)
    single = m.logical_and(src0, nz == 1)
    src1 = m.where(single, 1.0, src)
    r1 = m.gather(g * m.scatter_reduce(x, src1, dim, index, "prod", include_self), dim, index)
    r2 = m.gather(g * out, dim, index) / m.where(src0, 1.0, src)
    return gx, m.where(single, r1, r2)


def _scatter_reduce_t(m, ts, out, x, src, dim, index, reduce, include_self=True):
    tx, tsrc = ts
    tx = m.zeros_like(x) if tx is None else tx
    tsrc = m.zeros_like(src) if tsrc is None else tsrc
    if reduce in ("sum", "mean"):
        return m.scatter_reduce(tx, tsrc, dim, index, reduce, include_self)
    src = _src_in(m, src, index)
    tsrc = _src_in(m, tsrc, index)
    gx, gs = _scatter_reduce_parts(
        m, m.ones_like(out), out, x, src, dim, index, reduce, include_self
    )
    # d out = (∂out/∂x)·t_x + the src tangents scatter-added with their partials
    return gx * tx + m.scatter_add(m.zeros_like(out), gs * tsrc, dim, index)


defop(
    "scatter_reduce",
    _scatter_reduce,
    vjp_all=_scatter_reduce_back,
    jvp_all=_scatter_reduce_t,
    nin=2,
    dtype="keep",
    method=False,
    public=False,
    formula="scatter_reduce: sum/mean linear; amax/amin shared among ties; prod exact with zeros",
)


def _scatter_args(src, value, op):
    if src is None and value is None:
        raise TypeError(f"{op}() missing required argument 'src' or 'value'")
    return value if src is None else src


def _same_dtype(input, src, op, dim, index,
                words="scatter(): Expected self.dtype to be equal to src.dtype"):
    # torch's order: the dim's range, the index's dtype, then self's and src's dtypes
    _wrap_dim(dim, input.ndim, op)
    check_index_dtype(op, getattr(index, "_array", index))
    if isinstance(src, Tensor) and src.dtype != input.dtype:
        raise RuntimeError(f"{words} ({op}: self {input.dtype}, src {src.dtype})")


@public("scatter")
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """Write ``src`` (or a scalar ``value``) into ``input`` at ``index`` along ``dim`` (out
    of place).
    """
    s = _scatter_args(src, value, "scatter")
    _same_dtype(input, src, "scatter", dim, index)
    if reduce is not None:
        red = {"add": "sum", "multiply": "prod"}.get(reduce)
        if red is None:
            raise RuntimeError(f"reduce argument must be either add or multiply. (got {reduce!r})")
        if not isinstance(s, Tensor):
            from .._creation import full_like

            s = full_like(_ns.gather(input, dim, index), s)
        return apply(TABLE["scatter_reduce"], input, s, dim, index, red, True)
    return apply(TABLE["scatter"], input, s, dim, index)


@public("scatter_add")
def scatter_add(input, dim, index, src):
    """Add ``src`` into ``input`` at ``index`` along ``dim`` (out of place); repeats add up."""
    _same_dtype(input, src, "scatter_add", dim, index)
    return apply(TABLE["scatter_add"], input, src, dim, index)


@public("scatter_reduce")
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """Reduce ``src`` into ``input`` at ``index`` (``sum``, ``prod``, ``mean``, ``amax``,
    ``amin``).
    """
    _same_dtype(input, src, "scatter_reduce", dim, index)
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # torch's aliases
    return apply(TABLE["scatter_reduce"], input, src, dim, index, reduce, include_self)


public("gather")(
    lambda input, dim, index, *, sparse_grad=False: apply(TABLE["gather"], input, dim, index)
)


# ---- index_* along one dimension -----------------------------------------------------------------
_OOB = "index {i} is out of bounds for dimension {dim} with size {size}"


def _index1(index, x, d, op, exc=IndexError, words=_OOB, negative=False):
    idx = _long_index(index, op)
    if idx.ndim > 1:
        if op == "index_fill":
            raise RuntimeError(f"Index has to be a vector/scalar (index {list(idx.shape)})")
        raise IndexError("Index is supposed to be a vector")
    idx = idx.reshape(-1)
    check_bounds(idx, x.shape[d] if x.ndim else 1, d, negative=negative, exc=exc, words=words)
    return idx


def _index_select(x, dim, index):
    d = _wrap_dim(dim, x.ndim, "index_select")
    raw = getattr(index, "_array", index)
    if x.ndim and x.shape[d] == 0 and np.size(raw):  # (a negative index: IndexError below)
        check_index_dtype("index_select", raw)
        if np.min(raw) >= 0:
            raise RuntimeError(f"index_select(): self indexing axis dim should be positive (dim "
                               f"{d} of {list(x.shape)} is empty)")
    # torch: IndexError "index out of range in self", except along dim 1 where its RuntimeError
    # "INDICES element is out of DATA bounds" comes from another kernel
    mid = d == 1
    words = (
        "INDICES element is out of DATA bounds, id={i} axis_dim={size} (dimension {dim})"
        if mid
        else "index out of range in self (index {i}, dimension {dim} with size {size})"
    )
    idx = _index1(index, x, d, "index_select", RuntimeError if mid else IndexError, words)
    return np.take(x, idx, axis=d) if x.ndim else x.reshape(-1)[idx].reshape(())


defop(
    "index_select",
    _index_select,
    lambda m, g, out, x, dim, index: m.index_add(m.zeros_like(x), g, dim, index),
    LINEAR,
    dtype="keep",
    saves=(),
    formula="index_select: the gradient is index-added back",
)


def _moved(a, d):
    return np.moveaxis(a, d, 0) if a.ndim else a.reshape(1)


def _index_add(x, source, dim, index, alpha=1):
    d = _wrap_dim(dim, x.ndim, "index_add")
    idx = _index1(index, x, d, "index_add", RuntimeError)
    out = np.array(x, copy=True)
    src = np.asarray(source, dtype=out.dtype)
    check_src_rows(x, src, idx, d, "index_add")
    np.add.at(_moved(out, d), idx, _moved(src * alpha if alpha != 1 else src, d))
    return out


defop(
    "index_add",
    _index_add,
    (
        lambda m, g, out, x, source, dim, index, alpha=1: g,
        lambda m, g, out, x, source, dim, index, alpha=1: (
            m.index_select(g, dim, index) * alpha if alpha != 1 else m.index_select(g, dim, index)
        ),
    ),
    LINEAR,
    nin=2,
    dtype="keep",
    saves=(),
    method=False,
    public=False,
    formula=("index_add: identity", "index_add: α·(the gradient selected at index)"),
)


def _unique(index, g, dim):
    """Each filled slice once (a repeated index fills the same slice)."""
    i = _norm_one(index).reshape(-1)
    n = g.shape[dim] if g.ndim else 1
    return np.unique(np.where(i < 0, i + n, i))


def _index_copy(x, source, dim, index):
    d = _wrap_dim(dim, x.ndim, "index_copy")
    idx = _index1(index, x, d, "index_copy", words="index_copy_(): " + _OOB)
    check_src_rows(x, np.asarray(source), idx, d, "index_copy")
    out = np.array(x, copy=True)
    _moved(out, d)[idx] = _moved(np.asarray(source, dtype=out.dtype), d)
    return out


def _index_fill(x, value, dim, index):
    d = _wrap_dim(dim, x.ndim, "index_fill")
    idx = _index1(index, x, d, "index_fill", negative=True)  # torch wraps negatives here
    if isinstance(value, np.ndarray) and value.ndim:
        raise RuntimeError(
            "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
            f"{value.ndim} dimension(s)."
        )
    out = np.array(x, copy=True)
    _moved(out, d)[idx] = value
    return out


defop(
    "index_copy",
    _index_copy,
    (
        lambda m, g, out, x, source, dim, index: m.index_fill(g, 0.0, dim, index),
        lambda m, g, out, x, source, dim, index: m.index_select(g, dim, index),
    ),
    LINEAR,
    nin=2,
    dtype="keep",
    saves=(),
    method=False,
    public=False,
    formula=("index_copy: zero at the copied slices", "index_copy: the gradient selected at index"),
)
defop(
    "index_fill",
    _index_fill,
    (
        lambda m, g, out, x, value, dim, index: m.index_fill(g, 0.0, dim, index),
        lambda m, g, out, x, value, dim, index: m.sum(
            m.index_select(g, dim, _unique(index, g, dim))
        ),
    ),
    (
        lambda m, t, out, x, value, dim, index: m.index_fill(t, 0.0, dim, index),
        lambda m, t, out, x, value, dim, index: m.index_fill(m.zeros_like(out), t, dim, index),
    ),
    nin=2,
    dtype="keep",
    saves=(),
    method=False,
    public=False,
    formula=("index_fill: zero at the filled slices", "index_fill: the sum of the filled slices"),
)

@public("index_add")
def index_add(input, dim, index, source, *, alpha=1):
    """``input`` with ``alpha * source`` added at ``index`` along ``dim`` (repeats add up)."""
    _wrap_dim(dim, input.ndim, "index_add")  # torch's order: dim, index dtype, source dtype
    check_index_dtype("index_add", getattr(index, "_array", index))
    if isinstance(source, Tensor) and source.dtype != input.dtype:
        raise RuntimeError(
            f"index_add_(): self ({input.dtype}) and source ({source.dtype}) must have the same "
            "scalar type"
        )
    return apply(TABLE["index_add"], input, source, dim, index, alpha)


@public("index_copy")
def index_copy(input, dim, index, source):
    """``input`` with the slices at ``index`` along ``dim`` replaced by ``source``'s."""
    if isinstance(source, Tensor) and source.dtype != input.dtype:
        raise RuntimeError(
            "index_copy_(): self and source expected to have the same dtype, but got (self) "
            f"{input.dtype} and (source) {source.dtype}"
        )
    return apply(TABLE["index_copy"], input, source, dim, index)
public("index_fill")(
    lambda input, dim, index, value: apply(TABLE["index_fill"], input, value, dim, index)
)
