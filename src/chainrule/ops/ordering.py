"""Rule-table rows: sorting and order statistics (sort, argsort, topk, kthvalue, median,
nanmedian, mode). The gradient of a selected value goes back to the index it came from."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .._dispatch import apply
from .._tensor import _wrap_dim
from ._public import public
from ._index_checks import check_int64
from ._table import TABLE, defop
from .reduction import _share_ties, _ties_tangent, return_types


# ---- sorting and order statistics ----------------------------------------------------------------
def _sort_idx(x, d, descending, name="sort"):
    """Stable order along ``d``; NaN sorts as the largest (torch). Ties keep their original
    order.
    """
    if not descending:
        return np.argsort(x, axis=d, kind="stable")
    n = x.shape[d]
    rev = np.argsort(np.flip(x, d), axis=d, kind="stable")
    return (n - 1 - np.flip(rev, d)).astype(np.int64)


def _sort(x, dim=-1, descending=False, stable=False):
    d = _wrap_dim(dim, x.ndim, "sort")  # a 0-d tensor takes dim -1 or 0
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    idx = _sort_idx(x, d, descending).astype(np.int64)
    return np.take_along_axis(x, idx, d), idx


def _sel_dim_rule(m, gs, out, x, needs, dim=-1, keepdim=True, **kw):
    # the gradient goes to the index each value came from (value_selecting_reduction_backward)
    g, idx = gs[0], out[1]
    if x.ndim == 0:
        return (g,)
    d = dim % x.ndim
    if not keepdim:
        g, idx = m.unsqueeze(g, d), m.unsqueeze(idx, d)
    return (m.put_along_dim(g, idx, tuple(x.shape), d, True),)


def _sel_dim_tangent(m, ts, out, x, dim=-1, keepdim=True, **kw):
    t, idx = ts[0], out[1]
    if x.ndim == 0:
        return (t, None)
    d = dim % x.ndim
    i = idx if keepdim else m.unsqueeze(idx, d)
    r = m.take_along_dim(t, i, d)
    return (r if keepdim else m.squeeze(r, d), None)


defop(
    "sort",
    _sort,
    vjp_all=_sel_dim_rule,
    jvp_all=_sel_dim_tangent,
    nout=2,
    nondiff_out=(1,),
    dtype="keep",
    formula="sort: the gradient goes back to each value's original position",
)
return_types.sort = namedtuple("sort", ["values", "indices"])


@public("sort")
def sort(input, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """Sorted values and their original indices; ties keep their order, NaN sorts last."""
    return return_types.sort(*apply(TABLE["sort"], input, dim, descending, stable))


@public("argsort")
def argsort(input, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """The indices that sort ``input`` along ``dim`` (stable; NaN last)."""
    return sort(input, dim, descending, stable=stable)[1]


@public("msort")
def msort(input):
    return sort(input, 0)[0]


def _topk(x, k, dim=-1, largest=True, sorted=True):
    _wrap_dim(dim, x.ndim, "topk")
    if x.ndim == 0:
        if k > 1:
            raise RuntimeError("selected index k out of range")
        return x.copy(), np.zeros((), np.int64)
    d = _wrap_dim(dim, x.ndim, "topk")
    if not 0 <= k <= x.shape[d]:
        raise RuntimeError(f"selected index k out of range (k = {k}, size {x.shape[d]} at dim {d})")
    idx = np.take(_sort_idx(x, d, largest), range(k), axis=d).astype(np.int64)
    return np.take_along_axis(x, idx, d), idx


defop(
    "topk",
    _topk,
    vjp_all=_sel_dim_rule,
    jvp_all=_sel_dim_tangent,
    nout=2,
    nondiff_out=(1,),
    dtype="keep",
    method=False,
    formula="topk: the gradient goes to the selected positions",
)
return_types.topk = namedtuple("topk", ["values", "indices"])


@public("topk")
def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    check_int64("topk", "k", k)
    return return_types.topk(*apply(TABLE["topk"], input, k, dim, largest, sorted))


def _kth(x, k, dim=-1, keepdim=False):
    _wrap_dim(dim, x.ndim, "kthvalue")
    if x.ndim == 0:
        if k != 1:
            raise RuntimeError(
                f"kthvalue(): selected number k out of range for dimension 0 (k = {k})"
            )
        return x.copy(), np.zeros((), np.int64)
    d = _wrap_dim(dim, x.ndim, "kthvalue")
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {d} to have non-zero size.")
    if not 1 <= k <= n:
        raise RuntimeError(
            f"kthvalue(): selected number k out of range for dimension {d} (k = {k}, size {n})"
        )
    idx = np.take(_sort_idx(x, d, False), [k - 1], axis=d).astype(np.int64)
    vals = np.take_along_axis(x, idx, d)
    if not keepdim:
        idx, vals = np.squeeze(idx, d), np.squeeze(vals, d)
    return vals, idx


# ties: the k-th element of a stable sort (the first of equal values in input order)
defop(
    "kthvalue",
    _kth,
    vjp_all=_sel_dim_rule,
    jvp_all=_sel_dim_tangent,
    nout=2,
    nondiff_out=(1,),
    dtype="keep",
    method=False,
    formula="kthvalue: the gradient goes to the index picked",
)
return_types.kthvalue = namedtuple("kthvalue", ["values", "indices"])
public("kthvalue")(
    lambda input, k, dim=-1, keepdim=False: return_types.kthvalue(
        *apply(TABLE["kthvalue"], input, k, dim, keepdim)
    )
)


def _median_dim(x, dim, keepdim=False):
    d = _wrap_dim(dim, x.ndim, "median")  # a 0-d tensor takes dim -1 or 0
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    vals, idx = _kth(x, (n - 1) // 2 + 1, d, keepdim)  # the lower median
    if x.dtype.kind == "f":  # a NaN in the slice makes it the median (its first index, as torch)
        nan = np.isnan(x)
        has = nan.any(axis=d, keepdims=keepdim)
        first = np.argmax(nan, axis=d, keepdims=keepdim)
        idx = np.where(has, first, idx)
        vals = np.where(has, np.nan, vals)
    return vals, idx.astype(np.int64)


def _nan_of(dtype) -> np.ndarray:
    # the median of nothing is NaN; torch casts it to an integer dtype as C does (int32/int64:
    # the minimum, smaller ones 0) instead of raising
    with np.errstate(invalid="ignore"):
        return np.array(np.nan).astype(dtype)


def _median_all(x):
    f = x.reshape(-1)
    if f.size == 0:
        return _nan_of(x.dtype)
    if x.dtype.kind == "f" and np.isnan(f).any():
        return _nan_of(x.dtype)
    return np.asarray(np.sort(f, kind="stable")[(f.size - 1) // 2])


defop(
    "median_dim",
    _median_dim,
    vjp_all=_sel_dim_rule,
    jvp_all=_sel_dim_tangent,
    nout=2,
    nondiff_out=(1,),
    dtype="nobool",  # torch has no bool median kernel
    cls="Median",
    variant=lambda a, kw: 1,
    public=False,
    method=False,
    formula="median(dim): the gradient goes to the index picked",
)
# without dim the gradient is shared evenly among the elements equal to the median (as torch)
defop(
    "median_all",
    _median_all,
    lambda m, g, out, x: _share_ties(m, g, out, x, None, False),
    lambda m, t, out, x: _ties_tangent(m, t, out, x),
    dtype="nobool",  # torch has no bool median kernel
    cls="Median",
    public=False,
    method=False,
    formula="median: shared evenly among elements equal to the median",
)
return_types.median = namedtuple("median", ["values", "indices"])


@public("median")
def median(input, dim=None, keepdim: bool = False):
    """Lower median; with ``dim``, (values, indices) and the gradient to the index picked."""
    if dim is None:
        return apply(TABLE["median_all"], input)
    return return_types.median(*apply(TABLE["median_dim"], input, dim, keepdim))


def _nanmedian_all(x):
    f = x.reshape(-1)
    f = f[~np.isnan(f)] if x.dtype.kind == "f" else f
    if f.size == 0:
        return _nan_of(x.dtype)
    return np.asarray(np.sort(f, kind="stable")[(f.size - 1) // 2])


def _mode(x, dim=-1, keepdim=False):
    d = _wrap_dim(dim, x.ndim, "mode")  # a 0-d tensor takes dim -1 or 0
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    if x.shape[d] == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    xm = np.moveaxis(x, d, -1)
    flat = xm.reshape(-1, xm.shape[-1])
    rows, n = flat.shape
    xs = np.sort(flat, axis=1)
    start = np.ones(xs.shape, bool)
    start[:, 1:] = xs[:, 1:] != xs[:, :-1]
    run = np.cumsum(start, axis=1) - 1  # id of the run of equal values each sorted element is in
    counts = np.bincount((run + np.arange(rows)[:, None] * n).ravel(), minlength=rows * n)
    best = np.argmax(counts.reshape(rows, n), axis=1)  # most frequent; ties: the smallest value
    vals = xs[np.arange(rows), np.argmax(run == best[:, None], axis=1)]
    hit = flat == vals[:, None]
    idx = (n - 1 - np.argmax(hit[:, ::-1], axis=1)).astype(np.int64)  # its last occurrence (torch)
    vals, idx = vals.reshape(xm.shape[:-1]), idx.reshape(xm.shape[:-1])
    if keepdim:
        vals, idx = np.expand_dims(vals, d), np.expand_dims(idx, d)
    return vals, idx


defop(
    "mode",
    _mode,
    vjp_all=_sel_dim_rule,
    jvp_all=_sel_dim_tangent,
    nout=2,
    nondiff_out=(1,),
    dtype="keep",
    method=False,
    formula="mode: the gradient goes to the index picked",
)
return_types.mode = namedtuple("mode", ["values", "indices"])
public("mode")(
    lambda input, dim=-1, keepdim=False: return_types.mode(
        *apply(TABLE["mode"], input, dim, keepdim)
    )
)


def _nanmedian_dim(x, dim, keepdim=False):
    d = _wrap_dim(dim, x.ndim, "nanmedian")  # a 0-d tensor takes dim -1 or 0
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    if x.shape[d] == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size (nanmedian)")
    nan = np.isnan(x) if x.dtype.kind == "f" else np.zeros(x.shape, bool)
    order = np.argsort(np.where(nan, np.inf, x), axis=d, kind="stable")  # NaN after every number
    cnt = x.shape[d] - nan.sum(axis=d, keepdims=True)
    k = np.maximum(cnt - 1, 0) // 2  # the lower median of the non-NaN values
    idx = np.take_along_axis(order, k, d).astype(np.int64)
    vals = np.take_along_axis(x, idx, d)
    vals = np.where(cnt == 0, np.nan, vals) if x.dtype.kind == "f" else vals
    if not keepdim:
        idx, vals = np.squeeze(idx, d), np.squeeze(vals, d)
    return vals, idx


defop(
    "nanmedian_dim",
    _nanmedian_dim,
    vjp_all=_sel_dim_rule,
    jvp_all=_sel_dim_tangent,
    nout=2,
    nondiff_out=(1,),
    dtype="nobool",  # torch has no bool median kernel
    cls="Nanmedian",
    variant=lambda a, kw: 1,
    public=False,
    method=False,
    formula="nanmedian(dim): the gradient goes to the index picked",
)
defop(
    "nanmedian_all",
    _nanmedian_all,
    lambda m, g, out, x: _share_ties(m, g, out, x, None, False),
    lambda m, t, out, x: _ties_tangent(m, t, out, x),
    dtype="nobool",  # torch has no bool median kernel
    cls="Nanmedian",
    public=False,
    method=False,
    formula="nanmedian: shared evenly among elements equal to it",
)
return_types.nanmedian = namedtuple("nanmedian", ["values", "indices"])


@public("nanmedian")
def nanmedian(input, dim=None, keepdim: bool = False):
    """Lower median of the non-NaN values; with ``dim``, (values, indices)."""
    if dim is None:
        return apply(TABLE["nanmedian_all"], input)
    return return_types.nanmedian(*apply(TABLE["nanmedian_dim"], input, dim, keepdim))

