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
from .indexing import _grid, _long_index, _norm_one


# ---- gather-like ops along one dimension ---------------------------------------------------------
def _take_along(x, indices, dim):
    idx = _norm_one(indices)
    return np.take_along_axis(x, idx, axis=_wrap_dim(dim, x.ndim, "take_along_dim"))


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
    lambda m, g, out, x, indices, dim: m.put_along_dim(g, indices, tuple(x.shape), dim),
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


def _check_gather(x, idx, d, op, src=None):
    if idx.ndim != max(x.ndim, 1) and not (x.ndim == 0 and idx.ndim <= 1):
        raise RuntimeError(
            f"{op}(): Index tensor must have the same number of dimensions as "
            f"{'self' if src is None else 'input'} tensor"
        )
    for k in range(idx.ndim):
        if k != d and x.ndim and idx.shape[k] > x.shape[k]:
            raise RuntimeError(
                f"Size does not match at dimension {k} expected index {list(idx.shape)} "
                f"to be smaller "
                f"than self {list(x.shape)} apart from dimension {d}"
            )
        if src is not None and np.ndim(src) and idx.shape[k] > np.shape(src)[k]:
            raise RuntimeError(
                f"Size does not match at dimension {k} expected index {list(idx.shape)} "
                f"to be smaller "
                f"than src {list(np.shape(src))}"
            )
    if idx.size and x.ndim and (idx.min() < -x.shape[d] or idx.max() >= x.shape[d]):
        raise RuntimeError(
            f"{op}(): index {int(idx.max())} is out of bounds for dimension {d} with "
            f"size {x.shape[d]}"
        )


def _src_part(src, idx):
    if not isinstance(src, np.ndarray) or src.ndim == 0:
        return src
    return src[tuple(slice(0, n) for n in idx.shape)]


def _gather(x, dim, index):
    idx = _long_index(index, "gather")
    d = _wrap_dim(dim, x.ndim, "gather")
    _check_gather(x, idx, d, "gather")
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
    _check_gather(x, idx, d, "scatter", src)
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
    _check_gather(x, idx, d, "scatter_add", src)
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
    _check_gather(x, idx, d, "scatter_reduce", src)
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


@public("scatter")
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """Write ``src`` (or a scalar ``value``) into ``input`` at ``index`` along ``dim`` (out
    of place).
    """
    s = _scatter_args(src, value, "scatter")
    if reduce is not None:
        red = {"add": "sum", "multiply": "prod"}.get(reduce)
        if red is None:
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        if not isinstance(s, Tensor):
            from .._creation import full_like

            s = full_like(_ns.gather(input, dim, index), s)
        return apply(TABLE["scatter_reduce"], input, s, dim, index, red, True)
    return apply(TABLE["scatter"], input, s, dim, index)


public("scatter_add")(
    lambda input, dim, index, src: apply(TABLE["scatter_add"], input, src, dim, index)
)


@public("scatter_reduce")
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """Reduce ``src`` into ``input`` at ``index`` (``sum``, ``prod``, ``mean``, ``amax``,
    ``amin``).
    """
    return apply(TABLE["scatter_reduce"], input, src, dim, index, reduce, include_self)


public("gather")(
    lambda input, dim, index, *, sparse_grad=False: apply(TABLE["gather"], input, dim, index)
)


# ---- index_* along one dimension -----------------------------------------------------------------
def _index1(index, x, d, op):
    idx = _long_index(index, op)
    if idx.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    idx = idx.reshape(-1)
    n = x.shape[d] if x.ndim else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{op}(): index out of range in self (index {int(idx.max())}, size {n})")
    return idx


def _index_select(x, dim, index):
    d = _wrap_dim(dim, x.ndim, "index_select")
    idx = _index1(index, x, d, "index_select")
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
    idx = _index1(index, x, d, "index_add")
    out = np.array(x, copy=True)
    src = np.asarray(source, dtype=out.dtype)
    if src.ndim != x.ndim or (x.ndim and src.shape[d] != idx.size):
        raise RuntimeError(
            f"index_add_(): Number of indices ({idx.size}) should be equal to source.size(dim) "
            f"({src.shape[d] if src.ndim > d else src.size}) (source {list(src.shape)}, self "
            f"{list(x.shape)})"
        )
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
    idx = _index1(index, x, d, "index_copy")
    out = np.array(x, copy=True)
    _moved(out, d)[idx] = _moved(np.asarray(source, dtype=out.dtype), d)
    return out


def _index_fill(x, value, dim, index):
    d = _wrap_dim(dim, x.ndim, "index_fill")
    idx = _index1(index, x, d, "index_fill")
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

public("index_add")(
    lambda input, dim, index, source, *, alpha=1: apply(
        TABLE["index_add"], input, source, dim, index, alpha
    )
)
public("index_copy")(
    lambda input, dim, index, source: apply(TABLE["index_copy"], input, source, dim, index)
)
public("index_fill")(
    lambda input, dim, index, value: apply(TABLE["index_fill"], input, value, dim, index)
)
