"""Rule-table rows: triangles (tril, triu) and diagonals (diagonal, its backward, diag_embed),
with diag, trace and diagflat built on them. All are linear: their forward-mode rule is the op
itself."""

from __future__ import annotations

import numpy as np

from .. import _ns
from .._tensor import _wrap_dim
from ._public import public
from ._table import LINEAR, defop


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


@public("diagflat")
def diagflat(input, offset: int = 0):
    """A matrix with ``input`` flattened on its ``offset``-th diagonal."""
    return _ns.diag_embed(_ns.reshape(input, (-1,)), offset, 0, 1)
