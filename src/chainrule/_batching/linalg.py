"""Batching rules of matmul, the matrix functions, einsum, solve and cross."""

from __future__ import annotations

from .. import _ns
from ..ops.linalg import _LETTERS, _parse
from .core import _batch_both, _call, _pad, _split, _wrap_dim, register


def _matmul(op, tensors, kw, level):
    vals, nds, bs = _split(tensors, level)
    if min(nds) == 0:
        return None
    (x, y), (nx, ny) = vals, nds
    bx, by = bs
    squeeze = []
    if nx == 1:  # lift vectors to matrices: x (k) -> (1, k); y (k) -> (k, 1)
        x = _ns.unsqueeze(x, -2) if bx else _ns.unsqueeze(x, 0)
        nx = 2
        squeeze.append(-2)
    if ny == 1:
        y = _ns.unsqueeze(y, -1)
        ny = 2
        squeeze.append(-1)
    to = max(nx, ny)
    x = _pad(x, nx, to) if bx else x
    y = _pad(y, ny, to) if by else y
    if bx != by and (y if bx else x).ndim == 2:
        r = _fold_matmul(x, y, bx)
    else:
        r = _ns.matmul(x, y)
    if squeeze:
        r = _ns.squeeze(r, (-2, -1) if len(squeeze) == 2 else squeeze[0])
    return r


def _fold_matmul(x, y, x_batched: bool):
    """Batched (B, …, n, k) @ plain (k, m) as ONE (B·…·n, k) @ (k, m) product (and the mirror
    case through transposes): a stack of matrix-vector products would not use BLAS-3."""
    if x_batched:
        lead = tuple(x.shape[:-1])
        r = _ns.matmul(_ns.reshape(x, (-1, x.shape[-1])), y)
        return _ns.reshape(r, lead + (y.shape[-1],))
    yt = _ns.transpose(y, -1, -2)  # (B, …, m, k)
    lead = tuple(yt.shape[:-1])
    r = _ns.matmul(_ns.reshape(yt, (-1, yt.shape[-1])), _ns.transpose(x, 0, 1))
    return _ns.transpose(_ns.reshape(r, lead + (x.shape[0],)), -1, -2)


def _matrix_unary(op, tensors, kw, level):
    """Linear-algebra ops on the last two dims, leading dims batched: the batch dim is one more."""
    if len(tensors) != 1 or tensors[0].ndim < 2:
        return None
    return _call(op, [tensors[0].value], kw)


def _einsum(op, tensors, kw, level):
    vals, nds, bs = _split(tensors, level)
    eq = kw["equation"]
    subs, out = _parse(eq, tuple(nds))
    used = set("".join(subs) + out)
    z = next(c for c in _LETTERS if c not in used)
    subs = [z + s if b else s for s, b in zip(subs, bs)]
    kw = dict(kw)
    kw["equation"] = ",".join(subs) + "->" + z + out
    return _call(op, vals, kw)


def _solve_rule(op, tensors, kw, level):
    """solve / solve_triangular: matrices in the last two dims; both inputs get the batch dim
    and the same rank (a vector right-hand side of solve is made a column and back)."""
    vals, nds, bs = _batch_both(tensors, level, 2)
    na, nb = nds
    if na < 2 or nb < 1:
        return None
    a, b = vals
    vec = False
    if op.name == "solve":
        la, lb = tuple(tensors[0].shape), tuple(tensors[1].shape)
        if nb == 1 or (nb == na - 1 and lb == la[:-1]):
            if not kw.get("left", True):
                return None
            vec = True
            b = _ns.unsqueeze(b, -1)
            nb += 1
    elif nb < 2:
        return None
    to = max(na, nb)
    a, b = _pad(a, na, to), _pad(b, nb, to)
    r = _call(op, [a, b], kw)
    return _ns.squeeze(r, -1) if vec else r


def _cross(op, tensors, kw, level):
    vals, nds, bs = _batch_both(tensors, level, 2)
    if nds[0] != nds[1] or nds[0] == 0:
        return None
    kw = dict(kw)
    kw["dim"] = _wrap_dim(kw.get("dim", -1), nds[0]) + 1
    return _call(op, vals, kw)


register(_matmul, "matmul")
register(_matrix_unary, "tril", "triu", "inv", "det", "slogdet", "cholesky", "qr", "eigh", "svd",
         "matrix_exp", "pinv", "svd_uvh")
register(_einsum, "einsum")
register(_solve_rule, "solve", "solve_triangular")
register(_cross, "cross")
