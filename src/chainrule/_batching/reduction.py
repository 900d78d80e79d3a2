"""Batching rules of the reductions, scans, softmax and median (ops/reduction, ordering, scan)."""

from __future__ import annotations

import numpy as np

from .. import _ns
from .core import _call, _dim_shift, _wrap_dim, register


def _reduce(op, tensors, kw, level):
    (x,) = tensors
    v, nd = x.value, x.ndim
    kw = dict(kw)
    dim = kw.get("dim")
    if nd == 0:
        v = _ns.reshape(v, (v.shape[0], 1))
        kw["dim"] = 1
        if "keepdim" in op.params:
            kw["keepdim"] = False
        return _call(op, [v], kw)
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        kw["dim"] = tuple(range(1, nd + 1))
    elif isinstance(dim, (int, np.integer)):
        kw["dim"] = _wrap_dim(int(dim), nd) + 1
    else:
        kw["dim"] = tuple(_wrap_dim(int(d), nd) + 1 for d in dim)
    if op.name in ("max_dim", "min_dim") and not isinstance(kw["dim"], int):
        return None
    return _call(op, [v], kw)


def _all_reduce(op, tensors, kw, level):  # max_all / min_all
    (x,) = tensors
    v, nd = x.value, x.ndim
    if nd == 0:
        return _ns.clone(v)
    name = "amax" if op.name == "max_all" else "amin"
    return getattr(_ns, name)(v, dim=tuple(range(1, nd + 1)), keepdim=False)


def _softmax_like(op, tensors, kw, level):
    (x,) = tensors
    kw = dict(kw)
    if kw.get("dim") is None:
        return None
    kw["dim"] = _wrap_dim(kw["dim"], x.ndim) + 1
    if x.ndim == 0:
        return None
    return _call(op, [x.value], kw)


def _argmax_like(op, tensors, kw, level):
    """argmax / argmin: ``dim=None`` is the flat index within one example."""
    (x,) = tensors
    v, nd = x.value, x.ndim
    kw = dict(kw)
    if kw.get("dim") is None:
        b = v.shape[0]
        r = _call(op, [_ns.reshape(v, (b, -1))], {**kw, "dim": 1, "keepdim": False})
        return _ns.reshape(r, (b,) + (1,) * nd) if kw.get("keepdim") else r
    if nd == 0:
        return None
    kw["dim"] = _wrap_dim(kw["dim"], nd) + 1
    return _call(op, [v], kw)


def _scan(op, tensors, kw, level):
    """cumsum / cumprod: a 0-d example is a 1-element scan."""
    (x,) = tensors
    if x.ndim:
        return _dim_shift(op, tensors, kw, level)
    _wrap_dim(kw["dim"], 0)
    v = x.value
    r = _call(op, [_ns.reshape(v, (v.shape[0], 1))], {**kw, "dim": 1})
    return _ns.reshape(r, (v.shape[0],))


def _median_all_rule(op, tensors, kw, level):
    """``median_all``/``nanmedian_all``: each example flattened to a row, the lower median per row
    (``*_dim`` picks the same value, NaN rules included); the gradient is then shared evenly among
    the row's elements equal to it, as the unbatched op does (not sent to one index)."""
    (x,) = tensors
    v = x.value
    b = v.shape[0]
    n = int(np.prod(v.shape[1:], dtype=np.int64))
    if n == 0:
        return None
    flat = _ns.reshape(v, (b, n))
    dim_op = _ns.median_dim if op.name == "median_all" else _ns.nanmedian_dim
    vals = dim_op(flat.detach(), 1)[0]
    if not flat.is_floating_point():
        return vals
    vd = _ns.unsqueeze(vals, 1)
    mask = flat == vd
    cnt = _ns.sum(mask, dim=1)
    zero = _ns.zeros_like(flat.detach())
    # amax over the elements equal to the median (the rest filled below them) has the value and
    # the tie-sharing gradient/tangent of median_all: [x_i = median] / #ties
    hi = _ns.amax(_ns.where(mask, flat, zero - float("inf")), dim=1)
    lo = _ns.amin(_ns.where(mask, flat, zero + float("inf")), dim=1)  # median -inf
    picked = _ns.where(vals == float("-inf"), lo, hi)
    # no element equals the median (a NaN median): value and derivatives NaN, as 0/0 is unbatched
    good = cnt > 0
    bad = _ns.where(_ns.unsqueeze(good, 1), zero, zero + float("nan"))
    return _ns.where(good, picked, _ns.sum(flat * bad, dim=1))


register(_reduce, "sum", "mean", "var", "std", "amax", "amin", "max_dim", "min_dim", "norm",
         "prod", "nansum", "all", "any", "count_nonzero", "logsumexp", "matrix_norm_sv")
register(_all_reduce, "max_all", "min_all")
register(_softmax_like, "softmax", "log_softmax")
register(_argmax_like, "argmax", "argmin")
register(_scan, "cumsum", "cumprod")
register(_median_all_rule, "median_all", "nanmedian_all")
