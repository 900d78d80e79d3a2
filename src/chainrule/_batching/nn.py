"""Batching rules of convolution, pooling, normalization, attention and cross entropy."""

from __future__ import annotations

import numpy as np

from .. import _ns
from .._context import ctx as _ctx
from .._tensor import Tensor
from ..ops.loss import cross_entropy as _cross_entropy
from .core import (
    Batched,
    _call,
    _expand_to_batch,
    _pad,
    _split,
    _wrap_dim,
    movedim,
    register,
    register_call,
)


def _fold_first(op, tensors, kw, level):
    """N-first ops (convolution): fold the batch into N when only the input is batched."""
    vals, nds, bs = _split(tensors, level)
    if not bs[0] or any(bs[1:]) or not isinstance(vals[1], Tensor) or nds[0] != vals[1].ndim:
        return None
    v = vals[0]
    b, n = v.shape[0], v.shape[1]
    outs = _call(op, [_ns.reshape(v, (b * n,) + tuple(v.shape[2:]))] + vals[1:], kw)
    res = []
    for o in outs if op.nout != 1 else (outs,):
        if o.ndim == 0 or o.shape[0] != b * n:
            return None
        res.append(_ns.reshape(o, (b, n) + tuple(o.shape[1:])))
    return res[0] if op.nout == 1 else tuple(res)


def _conv_grouped(op, tensors, kw, level):
    """conv with a batched weight (per-example weights, batched weight tangents): one grouped
    convolution; the batch goes into the channels and ``groups`` is multiplied by B."""
    r = _fold_first(op, tensors, kw, level)
    if r is not None:
        return r
    vals, nds, bs = _split(tensors, level)
    x, w, bias = vals
    if not bs[1] or nds[1] < 3 or nds[0] != nds[1]:
        return None
    nb = _ctx.batch_sizes[level]
    g = int(kw["groups"])
    x = _expand_to_batch(x, bs[0], level)  # (B, N, C, *sp)
    n, c, sp = x.shape[1], x.shape[2], tuple(x.shape[3:])
    x = _ns.reshape(movedim(x, 0, 1), (n, nb * c) + sp)
    o = w.shape[1]
    w = _ns.reshape(w, (nb * o,) + tuple(w.shape[2:]))
    if bias is not None:
        bias = _ns.reshape(_expand_to_batch(bias, bs[2], level), (nb * o,))
    kw = dict(kw)
    kw["groups"] = g * nb
    y = _call(op, [x, w, bias], kw)  # (N, B·O, *out)
    y = _ns.reshape(y, (n, nb, o) + tuple(y.shape[2:]))
    return movedim(y, 1, 0)


def _trailing(op, tensors, kw, level):
    """max_pool / adaptive_max_pool: act on the trailing dims, any leading dims: one more."""
    if len(tensors) != 1:
        return None
    return _call(op, [tensors[0].value], kw)


def _batched_param(p, level):
    """A tensor parameter (indices) as a plain tensor with the batch dim, or None."""
    if isinstance(p, Batched):
        if p.level != level or isinstance(p.value, Batched):
            return None
        return p.value
    a = np.asarray(p._array if isinstance(p, Tensor) else p)
    return Tensor(np.ascontiguousarray(np.broadcast_to(a, (_ctx.batch_sizes[level],) + a.shape)))


def _pool_index_op(op, tensors, kw, level):
    """pool_scatter(g, indices, shape, nd) / pool_gather(t, indices, nd): the flat spatial indices
    get the batch dim (a leading dim like any other)."""
    (x,) = tensors
    idx = _batched_param(kw["indices"], level)
    if idx is None:
        return None
    vals, _, bs = _split(tensors, level)
    v = _expand_to_batch(vals[0], bs[0], level)
    kw = dict(kw)
    kw["indices"] = idx
    if op.name == "pool_scatter":
        kw["shape"] = (_ctx.batch_sizes[level],) + tuple(kw["shape"])
    return _call(op, [v], kw)


def _fold_n(op, tensors, kw, level):
    """im2col / col2im: (N, …) inputs; the batch folds into N and back."""
    (x,) = tensors
    v = x.value
    if v.ndim < 2:
        return None
    b, n = v.shape[0], v.shape[1]
    r = _call(op, [_ns.reshape(v, (b * n,) + tuple(v.shape[2:]))], kw)
    return _ns.reshape(r, (b, n) + tuple(r.shape[1:]))


def _standardize(op, tensors, kw, level):
    """standardize(x, weight, bias, dims, eps) (layer/group/batch/instance norm): ``dims`` shift by
    one; a batched weight or bias is padded to x's rank so it broadcasts per example."""
    vals, nds, bs = _split(tensors, level)
    nd = nds[0]
    if nd == 0 or any(isinstance(v, Tensor) and d > nd for v, d in zip(vals[1:], nds[1:])):
        return None
    x = _expand_to_batch(vals[0], bs[0], level)
    rest = [_pad(v, d, nd) if b else v for v, d, b in zip(vals[1:], nds[1:], bs[1:])]
    kw = dict(kw)
    dims = kw["dims"]
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    kw["dims"] = tuple(_wrap_dim(int(d), nd) + 1 for d in dims)
    return _call(op, [x] + rest, kw)


def _sdpa(op, tensors, kw, level):
    """scaled_dot_product_attention(q, k, v): matrices in the last two dims, leading dims
    broadcast: batched inputs are padded to a common rank (an unbatched mask/bias broadcasts)."""
    if any(isinstance(kw.get(n), Batched) for n in ("keep", "bias")):
        return None
    vals, nds, bs = _split(tensors, level)
    if min(nds) < 2:
        return None
    to = max(nds)
    return _call(op, [_pad(v, d, to) if b else v for v, d, b in zip(vals, nds, bs)], kw)


def _ce_idx(op, tensors, kw, level):
    """``cross_entropy_idx`` with batched logits (B, N, C, …) and per-example index parameters:
    the batch folds into N (reduction 'none'), then each example reduces with its own divisor."""
    (x,) = tensors
    if type(x) is not Batched or any(type(v) is Batched for v in kw.values()):
        return None
    v = x.value
    b = v.shape[0]
    red = kw["reduction"]
    tg = np.asarray(kw["target"])
    reps = (b,) + (1,) * (tg.ndim - 1)
    kwf = dict(kw, target=np.tile(tg, reps), hot=np.tile(np.asarray(kw["hot"]), reps),
               keep=np.tile(np.asarray(kw["keep"]), reps), reduction="none")
    loss, logp = _call(op, [_ns.reshape(v, (b * v.shape[1],) + tuple(v.shape[2:]))], kwf)
    loss = _ns.reshape(loss, (b,) + tuple(tg.shape))
    logp = _ns.reshape(logp, tuple(v.shape))
    if red != "none":
        loss = _ns.sum(loss, dim=tuple(range(1, loss.ndim)))
        if red == "mean":
            loss = loss / float(kw["denom"])
    return loss, logp


def cross_entropy_batched(input, target, weight, ignore_index, reduction, label_smoothing):
    """``F.cross_entropy`` with a batched class-index ``target`` (per-example labels under
    ``vmap``): the batch folds into the sample dim N of one fused call, each example then
    reduces with its own weighted count. Returns None when it does not apply."""
    level = max((a.level for a in (input, target) if type(a) is Batched), default=0)
    if not level or type(weight) is Batched or level not in _ctx.batch_sizes or input.ndim < 1:
        return None
    if reduction not in ("none", "mean", "sum"):
        return None
    b = _ctx.batch_sizes[level]

    def phys(t):
        if type(t) is Batched and t.level == level:
            return t.value
        return _ns.expand(_ns.unsqueeze(t, 0), (b,) + tuple(t.shape))

    xs, ts = tuple(input.shape), tuple(target.shape)
    want = xs[:1] + xs[2:] if len(xs) >= 2 else ()
    if ts != want or target.is_floating_point():
        return None
    xv, tv = phys(input), phys(target)
    if len(xs) >= 2:
        xv = _ns.reshape(xv, (b * xs[0],) + xs[1:])
        tv = _ns.reshape(tv, (b * ts[0],) + ts[1:])
    ln = _cross_entropy(xv, tv, weight, ignore_index=ignore_index, reduction="none",
                         label_smoothing=label_smoothing)
    ln = _ns.reshape(ln, (b,) + ts)
    if reduction != "none" and ts:
        ln = _ns.sum(ln, dim=tuple(range(1, ln.ndim)))
    if reduction == "mean":
        t2 = _ns.reshape(tv, (b,) + ts)
        keep = t2 != ignore_index
        if weight is None:
            wt = _ns.to_dtype(keep, ln.dtype)
        else:
            safe = _ns.where(keep, t2, _ns.zeros_like(t2))
            wt = weight.detach()[safe] * _ns.to_dtype(keep, weight.dtype)
        if ts:
            wt = _ns.sum(wt, dim=tuple(range(1, wt.ndim)))
        ln = ln / wt
    return Batched(ln, level)


register(_conv_grouped, "conv")
register(_trailing, "max_pool", "adaptive_max_pool")
register(_pool_index_op, "pool_scatter", "pool_gather")
register(_fold_n, "im2col", "col2im")
register(_standardize, "standardize")
register(_sdpa, "sdpa")
register(_ce_idx, "cross_entropy_idx")
register_call("cross_entropy", cross_entropy_batched)
