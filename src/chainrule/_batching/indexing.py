"""Batching rules of indexing, gather/scatter, masks and embedding: indices gain the batch dim."""

from __future__ import annotations

import numpy as np

from .. import _ns
from .._context import ctx as _ctx
from .._tensor import Tensor
from ..ops._table import TABLE
from .core import (Batched, _batch_both, _call, _elementwise, _pad, _split, _wrap_dim, movedim,
                   register)


def _index_items(index):
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if isinstance(i, Batched):
            return None
    return items


def _is_int(i) -> bool:
    return isinstance(i, (int, np.integer)) and not isinstance(i, bool)


def _advanced_ok(items) -> bool:
    """Whether prefixing ``slice(None)`` keeps the batch dim first. In torch's order the integers
    are applied first when tensor indices are present; the tensor indices must then be adjacent
    among the other items (NumPy moves non-adjacent ones to the front)."""
    if not any(isinstance(i, (Tensor, np.ndarray, list)) for i in items):
        return True
    rest = [i for i in items if not _is_int(i)]
    adv = [k for k, i in enumerate(rest) if isinstance(i, (Tensor, np.ndarray, list))]
    return adv == list(range(adv[0], adv[-1] + 1))


def _front_dims(items):
    """How many dims NumPy puts in front for non-adjacent integer tensor indices (their broadcast
    rank); None for a boolean mask (its shape depends on the values)."""
    shapes = []
    for i in items:
        if isinstance(i, (Tensor, np.ndarray, list)):
            a = i._array if isinstance(i, Tensor) else np.asarray(i)
            if a.dtype == np.bool_ or a.dtype == object:
                return None
            shapes.append(a.shape)
    return len(np.broadcast_shapes(*shapes))


def _getitem(op, tensors, kw, level):
    (x,) = tensors
    items = _index_items(kw["index"])
    if items is None:
        return None
    if _advanced_ok(items):
        return _call(op, [x.value], {"index": (slice(None),) + tuple(items)})
    k = _front_dims(items)
    if k is None:
        return None
    # NumPy puts the indexed dims in front of the batch dim; a fresh copy, contiguous as the op's
    r = _call(op, [x.value], {"index": (slice(None),) + tuple(items)})
    return _ns.clone(movedim(r, k, 0)).contiguous()


def _index_backward(op, tensors, kw, level):
    (g,) = tensors
    items = _index_items(kw["index"])
    if items is None:
        return None
    v = g.value
    if not _advanced_ok(items):
        k = _front_dims(items)
        if k is None:
            return None
        v = movedim(v, 0, k)  # the layout the indexed dims have in front of the batch dim
    b = g.value.shape[0]
    return _ns.index_backward(v, (slice(None),) + tuple(items), (b,) + tuple(kw["shape"]))


def _along(op, tensors, kw, level):
    """take_along_dim / put_along_dim: indices are a parameter (maybe Batched)."""
    (x,) = tensors
    kw = dict(kw)
    idx = kw["indices"]
    if kw.get("dim") is None:
        return None
    b = _ctx.batch_sizes[level]
    if isinstance(idx, Batched):
        if idx.level != level:
            return None
        iv = idx.value
    else:
        iv = idx if isinstance(idx, Tensor) else Tensor(np.asarray(idx))
        iv = Tensor(np.broadcast_to(iv._array, (b,) + iv._array.shape).copy())
    if op.name == "take_along_dim":
        nd = x.ndim
        v = x.value
    else:
        nd = len(kw["shape"])
        v = x.value
        kw["shape"] = (b,) + tuple(kw["shape"])
    if iv.ndim - 1 != nd or v.ndim - 1 != nd:
        return None
    kw["dim"] = _wrap_dim(kw["dim"], nd) + 1
    kw["indices"] = iv
    return _call(op, [v], kw)


def _where(op, tensors, kw, level):
    return _elementwise(op, tensors, kw, level)


def _masked_fill(op, tensors, kw, level):
    """masked_fill(x, mask, value): x and mask broadcast per example; a batched (per-example)
    fill value is a ``where`` with the value padded to x's rank (same dtype only)."""
    vals, nds, bs = _split(tensors, level)
    if not bs[2]:
        to = max(nds[:2])
        args = [_pad(v, d, to) if b else v for v, d, b in zip(vals[:2], nds[:2], bs[:2])]
        return _call(op, args + [vals[2]], kw)
    x, value = tensors[0], tensors[2]
    if nds[2] != 0 or not isinstance(x, Tensor) or x.dtype != value.dtype:
        return None
    return _elementwise(TABLE["where"], [tensors[1], value, x], {}, level)


def _plain_index(idx):
    """The index parameter as a NumPy array, or None when it is batched (then: the loop)."""
    if isinstance(idx, Batched):
        return None
    if isinstance(idx, Tensor):
        return np.asarray(idx._array)
    return np.asarray(idx)


def _gather_like(op, tensors, kw, level):
    """gather / scatter / scatter_add / scatter_reduce: the index has the input's rank; it gets
    the batch dim too (broadcast) and ``dim`` shifts by one."""
    idx = _plain_index(kw["index"])
    if idx is None:
        return None
    nin = 1 if op.name == "gather" else 2
    vals, nds, bs = _batch_both(tensors, level, nin)
    if nds[0] == 0 or idx.ndim != nds[0]:
        return None
    if nin == 2 and isinstance(vals[1], Tensor) and nds[1] not in (0, nds[0]):
        return None
    if nin == 2 and isinstance(vals[1], Tensor) and nds[1] == 0:
        if not bs[1]:
            vals[1] = tensors[1]  # an unbatched 0-d src broadcasts as before
        else:
            return None
    b = _ctx.batch_sizes[level]
    kw = dict(kw)
    kw["dim"] = _wrap_dim(kw["dim"], nds[0]) + 1
    kw["index"] = np.ascontiguousarray(np.broadcast_to(idx, (b,) + idx.shape))
    return _call(op, vals, kw)


def _index_dim(op, tensors, kw, level):
    """index_select / index_add / index_copy / index_fill: a vector index along ``dim``; the
    batch dim leaves it alone and ``dim`` shifts by one."""
    idx = _plain_index(kw["index"])
    if idx is None or idx.ndim > 1:
        return None
    nin = 1 if op.name == "index_select" else 2
    vals, nds, bs = _batch_both(tensors, level, nin)
    if nds[0] == 0:
        return None
    if nin == 2:
        if op.name == "index_fill":
            if bs[1]:  # a per-example fill value: where(selected positions, value, x)
                return _index_fill_value(tensors, kw, idx, level)
            vals[1] = tensors[1]
        elif nds[1] != nds[0]:
            return None
    kw = dict(kw)
    kw["dim"] = _wrap_dim(kw["dim"], nds[0]) + 1
    return _call(op, vals, kw)


def _index_fill_value(tensors, kw, idx, level):
    x, value = tensors
    if value.ndim != 0 or not isinstance(x, Tensor) or x.dtype != value.dtype or x.ndim == 0:
        return None
    d = _wrap_dim(kw["dim"], x.ndim)
    mask = np.zeros(tuple(x.shape), bool)
    np.moveaxis(mask, d, 0)[idx.reshape(-1)] = True
    return _elementwise(TABLE["where"], [Tensor(mask), value, x], {}, level)


def _take(op, tensors, kw, level):
    """take on a batched input: take_along_dim over the flattened (B, N) input."""
    (x,) = tensors
    idx = _plain_index(kw["index"])
    if idx is None:
        return None
    v = x.value
    b = v.shape[0]
    flat = _ns.reshape(v, (b, -1))
    bidx = np.ascontiguousarray(np.broadcast_to(idx.reshape(1, -1), (b, idx.size)))
    return _ns.reshape(_ns.take_along_dim(flat, bidx, 1), (b,) + idx.shape)


def _rows_of_example(idx, b: int, n: int) -> np.ndarray:
    """Indices into a (B·n, …) table: example k's index i (wrapped into [0, n)) is row k·n + i."""
    return (idx % n)[None] + (np.arange(b) * n).reshape((b,) + (1,) * idx.ndim)


def _embedding(op, tensors, kw, level):
    """Batched weight (B, V, D): one embedding of the (B·V, D) table at indices shifted by b·V
    (repeat counts per example are unchanged, so scale_grad_by_freq stays exact)."""
    (w,) = tensors
    idx = _plain_index(kw["indices"])
    if idx is None or w.ndim != 2 or kw.get("padding_idx") is not None:
        return None
    v = w.value
    b, n = v.shape[0], v.shape[1]
    shifted = _rows_of_example(idx, b, n)
    kw = dict(kw)
    kw["indices"] = shifted
    return _call(op, [_ns.reshape(v, (b * n,) + tuple(v.shape[2:]))], kw)


def _embedding_backward(op, tensors, kw, level):
    """Batched gradient (B, *I, D): one scatter-add into a (B·V, D) table, then (B, V, D)."""
    (g,) = tensors
    idx = _plain_index(kw["indices"])
    if idx is None:
        return None
    v = g.value
    b, n = v.shape[0], int(kw["num_weights"])
    shifted = _rows_of_example(idx, b, n)
    kw = dict(kw)
    pad = kw.get("padding_idx")
    kw["indices"] = shifted
    kw["num_weights"] = b * n
    kw["padding_idx"] = None
    r = _call(op, [v], kw)
    r = _ns.reshape(r, (b, n) + tuple(r.shape[1:]))
    if pad is not None:
        keep = np.ones((1, n) + (1,) * (r.ndim - 2), np.result_type(r._array))
        keep[0, pad] = 0
        r = r * Tensor(keep)
    return r


register(_getitem, "basic_index", "index")
register(_index_backward, "index_backward")
register(_along, "take_along_dim", "put_along_dim")
register(_where, "where")
register(_masked_fill, "masked_fill")
register(_gather_like, "gather", "scatter", "scatter_add", "scatter_reduce")
register(_index_dim, "index_select", "index_add", "index_copy", "index_fill")
register(_take, "take")
register(_embedding, "embedding")
register(_embedding_backward, "embedding_backward")
