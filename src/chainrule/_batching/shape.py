"""Batching rules of the shape ops: the batch dim stays in front, dims and shapes shift by one."""

from __future__ import annotations

import numpy as np

from .. import _dispatch, _ns
from .core import _call, _expand_to_batch, _pad, _shift_dims, _split, _unary, _wrap_dim, register


def _shape_arg(x, shape):
    return (x.value.shape[0],) + tuple(shape)


def _reshape(op, tensors, kw, level):
    (x,) = tensors
    return _ns.reshape(x.value, _shape_arg(x, kw["shape"]))


def _expand(op, tensors, kw, level):
    (x,) = tensors
    shape = tuple(kw["shape"])
    v = _pad(x.value, x.ndim, len(shape))
    return _ns.expand(v, (v.shape[0],) + shape)


def _sum_to_size(op, tensors, kw, level):
    (x,) = tensors
    shape = tuple(kw["shape"])
    b = x.value.shape[0]
    padded = (b,) + (1,) * (x.ndim - len(shape)) + shape
    r = _ns.sum_to_size(x.value, padded)
    return _ns.reshape(r, (b,) + shape) if padded != (b,) + shape else r


def _transpose(op, tensors, kw, level):
    (x,) = tensors
    nd = x.ndim
    if nd == 0:
        return _ns.clone(x.value)
    return _ns.transpose(x.value, _wrap_dim(kw["dim0"], nd) + 1, _wrap_dim(kw["dim1"], nd) + 1)


def _permute(op, tensors, kw, level):
    (x,) = tensors
    dims = tuple(_wrap_dim(d, x.ndim) + 1 for d in kw["dims"])
    if len(dims) != x.ndim:
        return None  # let the op raise its own error
    return _ns.permute(x.value, (0,) + dims)


def _squeeze(op, tensors, kw, level):
    (x,) = tensors
    dim = kw.get("dim")
    shape = x.shape
    if dim is None:
        dims = tuple(i + 1 for i, s in enumerate(shape) if s == 1)
    elif isinstance(dim, (int, np.integer)):
        dims = (_wrap_dim(int(dim), x.ndim) + 1,)
    else:
        dims = tuple(_wrap_dim(int(d), x.ndim) + 1 for d in dim)
    if x.ndim == 0:
        return _ns.clone(x.value)
    return _ns.squeeze(x.value, dims)


def _unsqueeze(op, tensors, kw, level):
    (x,) = tensors
    d = _wrap_dim(kw["dim"], x.ndim + 1)
    return _ns.unsqueeze(x.value, d + 1)


def _catstack(op, tensors, kw, level):
    vals, nds, bs = _split(tensors, level)
    args = [_expand_to_batch(v, b, level) for v, b in zip(vals, bs)]
    nd = max(nds) + (1 if op.name == "stack" else 0)
    kw = dict(kw)
    kw["dim"] = _wrap_dim(kw.get("dim", 0), nd) + 1
    return _dispatch.apply(op, args, **kw)


def _repeat(op, tensors, kw, level):
    (x,) = tensors
    reps = tuple(int(r) for r in kw["repeats"])
    if len(reps) < x.ndim:
        return None
    return _ns.repeat(_pad(x.value, x.ndim, len(reps)), (1,) + reps)


def _constant_pad(op, tensors, kw, level):
    (x,) = tensors
    if len(kw["pad"]) // 2 > x.ndim:
        return None
    return _call(op, [x.value], kw)


def _roll(op, tensors, kw, level):
    """roll: ``dims`` shift by one; ``dims=None`` rolls each example's flattened values."""
    (x,) = tensors
    if kw.get("dims") is not None:
        return _shift_dims(op, tensors, kw, level, ("dims",))
    shifts = kw["shifts"]
    shifts = (int(shifts),) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if len(shifts) != 1:
        return None
    v = x.value
    b = v.shape[0]
    r = _call(op, [_ns.reshape(v, (b, -1))], {**kw, "shifts": shifts, "dims": (1,)})
    return _ns.reshape(r, tuple(v.shape))


def _diag_dims(defaults, out_extra=0):
    def rule(op, tensors, kw, level):
        kw = dict(kw)
        for n, d in zip(("dim1", "dim2"), defaults):
            if kw.get(n) is None:
                kw[n] = d
        return _shift_dims(op, tensors, kw, level, ("dim1", "dim2"), out_extra)
    return rule


def _diagonal_backward(op, tensors, kw, level):
    (g,) = tensors
    shape = tuple(kw["shape"])
    if len(shape) < 2:
        return None
    kw = dict(kw)
    kw["dim1"] = _wrap_dim(kw["dim1"], len(shape)) + 1
    kw["dim2"] = _wrap_dim(kw["dim2"], len(shape)) + 1
    kw["shape"] = (g.value.shape[0],) + shape
    return _call(op, [g.value], kw)


def _unfold(op, tensors, kw, level):
    (x,) = tensors
    if x.ndim == 0:  # a 0-d input gives x.reshape(1)[:size]
        return _ns.getitem(_ns.unsqueeze(x.value, 1), (slice(None), slice(None, kw["size"])))
    kw = dict(kw)
    kw["dimension"] = _wrap_dim(kw["dimension"], x.ndim) + 1
    return _call(op, [x.value], kw)


def _unfold_backward(op, tensors, kw, level):
    (g,) = tensors
    shape = tuple(kw["shape"])
    if not shape:  # the windows of a 0-d input all are the input
        return _ns.sum(g.value, (1,))
    kw = dict(kw)
    kw["dimension"] = _wrap_dim(kw["dimension"], len(shape)) + 1
    kw["shape"] = (g.value.shape[0],) + shape
    return _call(op, [g.value], kw)


def _view_dtype(op, tensors, kw, level):
    """The bytes are reinterpreted along the last dim, which the batch dim in front leaves alone."""
    (x,) = tensors
    if x.ndim == 0 and x.value._array.dtype.itemsize != kw["dt"].itemsize:
        if x.value.shape[0]:
            _call(op, [_ns.getitem(x.value, 0)], kw)  # raises the op's error for a 0-d tensor
        return None
    return _call(op, [x.value], kw)


register(_reshape, "reshape", "view")
register(_expand, "expand")
register(_sum_to_size, "sum_to_size")
register(_transpose, "transpose")
register(_permute, "permute")
register(_squeeze, "squeeze")
register(_unsqueeze, "unsqueeze")
register(_catstack, "cat", "stack")
register(_unary, "to_dtype", "clone")
register(lambda op, ts, kw, lvl: _shift_dims(op, ts, kw, lvl), "split")
register(lambda op, ts, kw, lvl: _shift_dims(op, ts, kw, lvl, ("dims",)), "flip")
register(_roll, "roll")
register(_diag_dims((0, 1)), "diagonal")
register(_diag_dims((-2, -1), 1), "diag_embed")
register(_diagonal_backward, "diagonal_backward")
register(_repeat, "repeat")
register(_constant_pad, "constant_pad")
register(_unfold, "unfold")
register(_unfold_backward, "unfold_backward")
register(_view_dtype, "view_dtype")
