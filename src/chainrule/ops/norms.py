"""Rule-table rows: p-norms (``norm``, ``linalg.vector_norm``, ``linalg.matrix_norm``,
``linalg.norm``). Subgradient 0 where a norm is 0, as torch."""

from __future__ import annotations

import numpy as np

from .._dispatch import apply
from .._tensor import _wrap_dim
from ._public import public
from ._table import A, TABLE, defop
from .reduction import _axes, _expand_back, _kept


# ---- norms ---------------------------------------------------------------------------------------
def _norm_fwd(x, p=2, dim=None, keepdim=False):
    ax = _axes(dim, x.ndim, "norm")
    a = np.abs(x)
    if p == 2:  # overflow to inf, as torch, without NumPy's warning
        with np.errstate(over="ignore"):
            return np.sqrt(np.sum(x * x, axis=ax, keepdims=keepdim))
    if p == 1:
        return np.sum(a, axis=ax, keepdims=keepdim)
    if p == float("inf"):
        return np.amax(a, axis=ax, keepdims=keepdim)
    if p == -float("inf"):
        return np.amin(a, axis=ax, keepdims=keepdim)
    if p == 0:
        return np.sum(a != 0, axis=ax, keepdims=keepdim).astype(x.dtype)
    with np.errstate(all="ignore"):
        return np.sum(a**p, axis=ax, keepdims=keepdim) ** (1.0 / p)


def _norm_dx(m, g, out, x, p=2, dim=None, keepdim=False):
    o = out if keepdim else m.reshape(out, _kept(None, tuple(x.shape), dim, keepdim))
    ge = _expand_back(m, g, x, dim, keepdim)
    if p == 2:  # x/|x|, and 0 where the norm is 0 (torch's subgradient)
        return ge * m.where(o == 0, 0.0, x / m.where(o == 0, 1.0, o))
    if p == 1:
        return ge * m.sign(x)
    if p == 0:
        return ge * 0
    if p in (float("inf"), -float("inf")):
        mask = m.abs(x) == o
        cnt = m.sum(mask, dim=dim, keepdim=True)  # 0 when the norm is NaN: no element gets it
        return ge * m.sign(x) * mask / m.where(cnt == 0, 1, cnt)
    ax = m.abs(x)
    # |u|^(p−1) is inf at u = 0 for p < 1: those elements get 0 (torch's subgradient), as do
    # all where the norm is 0
    with np.errstate(divide="ignore", invalid="ignore"):
        r = ge * m.sign(x) * ax ** (p - 1) / m.where(o == 0, 1.0, o) ** (p - 1)
    return m.where((x == 0) | (o == 0), 0.0, r) if p < 1 else r * (o != 0)


def _norm_t(m, t, out, x, p=2, dim=None, keepdim=False):
    return m.sum(
        t * _norm_dx(m, m.ones_like(out), out, x, p, dim, keepdim), dim=dim, keepdim=keepdim
    )


defop(
    "norm",
    _norm_fwd,
    _norm_dx,
    _norm_t,
    dtype="linalg",
    variant=lambda a, kw: 1 if kw.get("dim") is not None else 0,
    formula="d ‖u‖₂/du = u/‖u‖₂ (0 at 0); ‖·‖₁: sign(u); ‖·‖∞: sign(u)·[|u_i| = max]/#ties",
)


@public("norm")
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (all elements by default); p = 1, 2, inf, -inf, 0 or any float."""
    if p in ("fro", None):
        p = 2
    if p == "nuc":  # the nuclear norm of a matrix (dim: its two dimensions)
        r = matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim)
        return r if dtype is None else r.to(dtype)
    if isinstance(p, str):
        raise RuntimeError(f"norm(): unsupported p={p!r}; use 'fro', 'nuc' or a number")  # noqa: TRY004
    r = apply(TABLE["norm"], input, p=float(p) if p not in (1, 2) else p, dim=dim, keepdim=keepdim)
    return r if dtype is None else r.to(dtype)


# ---- linalg.vector_norm / matrix_norm ------------------------------------------------------------
@public("vector_norm", method=False, function=False, ns="linalg")
def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None):
    """The ``ord``-norm of ``x`` flattened (or over ``dim``): 2, 1, inf, -inf, 0 or any float."""
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")  # noqa: TRY004
    if dtype is not None:
        x = x.to(dtype)
    if x._array.dtype.kind != "f":
        raise RuntimeError(
            f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
            f"Got {x.dtype}"
        )
    p = ord if ord in (1, 2) else float(ord)
    return apply(TABLE["norm"], x, p=p, dim=dim, keepdim=keepdim)


def _sv_fwd(x, ord, dim=(-2, -1), keepdim=False):
    d0, d1 = (_wrap_dim(d, x.ndim, "matrix_norm") for d in dim)
    a = np.moveaxis(x, (d0, d1), (-2, -1))
    s = np.linalg.svd(a, compute_uv=False)
    r = s.sum(-1) if ord == "nuc" else (s[..., 0] if ord == 2 else s[..., -1])
    if keepdim:
        r = np.expand_dims(r, tuple(sorted((d0, d1))))
    return r


def _sv_uv(m, x, out, ord, dim, keepdim):
    # U diag(w) Vᵀ: the derivative of Σ w_i σ_i (w = 1 for nuc, the top/bottom one-hot for ±2)
    d0, d1 = (_wrap_dim(d, x.ndim, "matrix_norm") for d in dim)
    perm = tuple(i for i in range(x.ndim) if i not in (d0, d1)) + (d0, d1)
    a = m.permute(x, perm)
    # under create_graph the singular vectors must be differentiable too: the full svd row
    u, _s, vh = m.svd_uvh(a) if m is A else m.svd(a, full_matrices=False)
    if ord == "nuc":
        w = m.matmul(u, vh)
    else:
        k = 0 if ord == 2 else -1
        w = m.matmul(
            u[..., :, k : k + 1] if k == 0 else u[..., :, -1:],
            vh[..., :1, :] if k == 0 else vh[..., -1:, :],
        )
    return m.permute(w, tuple(int(i) for i in np.argsort(perm))), d0, d1


def _sv_dx(m, g, out, x, ord, dim=(-2, -1), keepdim=False):
    w, d0, d1 = _sv_uv(m, x, out, ord, dim, keepdim)
    if not keepdim:
        g = m.unsqueeze(m.unsqueeze(g, min(d0, d1)), max(d0, d1))
    return g * w


def _sv_t(m, t, out, x, ord, dim=(-2, -1), keepdim=False):
    w, d0, d1 = _sv_uv(m, x, out, ord, dim, keepdim)
    return m.sum(t * w, dim=(d0, d1), keepdim=keepdim)


def _svd_uvh(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return u, s, vh


# on raw arrays (no graph wanted) the singular vectors come from this non-differentiable row; under
# create_graph the rule uses the differentiable svd row instead, so second derivatives are exact
defop("svd_uvh", _svd_uvh, nout=3, dtype="float", public=False, method=False)
defop(
    "matrix_norm_sv",
    _sv_fwd,
    _sv_dx,
    _sv_t,
    dtype="linalg",
    public=False,
    method=False,
    cls="LinalgMatrixNorm",
    formula="d σ_i/dA = u_i v_iᵀ (2: top, -2: bottom, nuc: all)",
)


@public("matrix_norm", method=False, function=False, ns="linalg")
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None):
    """Matrix norm over the two dimensions ``dim``: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf."""
    from .. import _ns

    if dtype is not None:
        A = A.to(dtype)
    if A.ndim < 2:
        raise RuntimeError(
            "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."
        )
    dim = tuple(dim)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (_wrap_dim(d, A.ndim, "matrix_norm") for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        return apply(TABLE["matrix_norm_sv"], A, ord, (d0, d1), keepdim)
    if ord in (1, -1, float("inf"), -float("inf")):
        red, keep = (d0, d1) if abs(ord) == 1 else (d1, d0)
        s = _ns.sum(_ns.abs(A), dim=red, keepdim=True)
        r = _ns.amax(s, dim=keep, keepdim=True) if ord > 0 else _ns.amin(s, dim=keep, keepdim=True)
        return r if keepdim else _ns.squeeze(r, (d0, d1))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


@public("norm", method=False, function=False, ns="linalg")
def linalg_norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None):
    """``linalg.norm``: a matrix norm for a string ``ord``, a 2-tuple ``dim``, or a 2-D input with
    ``ord`` given and no ``dim``; otherwise the vector 2-norm (or ``ord``-norm) over ``dim``."""
    two = dim is not None and not isinstance(dim, int) and len(tuple(dim)) == 2
    if isinstance(ord, str) or two or (ord is not None and dim is None and A.ndim == 2):
        return matrix_norm(
            A, "fro" if ord is None else ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype
        )
    if ord is not None and dim is None and A.ndim != 1:
        raise RuntimeError(
            "linalg.norm: If dim is not specified but ord is, the input must be 1D or "
            f"2D. Got {A.ndim}D."
        )
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
