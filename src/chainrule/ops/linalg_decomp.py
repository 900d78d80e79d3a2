"""Rule-table rows: inverses, determinants, solvers, factorizations and matrix functions.

Batched (…, n, n) inputs throughout. The rules follow torch's FunctionsManual formulas, written
with ``m`` ops so that they differentiate again. Where the derivative does not exist (eigenvectors
or singular vectors of repeated values carrying a gradient, singular matrices) backward raises.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ._public import public
from ._table import A, defop
from .linalg import _LA, _T, _apply, _c, _diag_embed, _diagonal, _eye, _lapack, _square

return_types = type("return_types", (), {})
return_types.slogdet = namedtuple("slogdet", ["sign", "logabsdet"])
return_types.qr = namedtuple("qr", ["Q", "R"])
return_types.eigh = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
return_types.svd = namedtuple("svd", ["U", "S", "Vh"])
return_types.torch_svd = namedtuple("svd", ["U", "S", "V"])
return_types.lstsq = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])
return_types.triangular_solve = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])


def _u2(m, x):
    return m.unsqueeze(m.unsqueeze(x, -1), -1)


def _nonzero(g) -> bool:
    return bool(np.any(g if isinstance(g, np.ndarray) else g._array))


def _tril_mask(m, n, like, k=0):
    return _c(m, np.tril(np.ones((n, n), dtype=np.asarray(like._array if hasattr(like, "_array")
                                                                   else like).dtype), k))


# ---- inverse and determinants --------------------------------------------------------------------
def _inv(x):
    _square(x, "inv")
    return _lapack("inv", np.linalg.inv, x)


defop("inv", _inv, lambda m, g, out, x: -m.matmul(m.matmul(_T(m, out), g), _T(m, out)),
      lambda m, t, out, x: -m.matmul(m.matmul(out, t), out), public=False, method=False,
      cls="LinalgInv", formula="d A⁻¹: −A⁻ᵀ G A⁻ᵀ", dtype="linalg")


def _det(x):
    _square(x, "det")
    return np.linalg.det(x)


def _cofactor(x):
    """adj(x)ᵀ by the SVD, valid for singular x too: det(U)det(Vh) · U diag(Π_{j≠i} s_j) Vh."""
    u, s, vh = np.linalg.svd(x)
    n = s.shape[-1]
    p = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], -1)
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return sign[..., None, None] * np.matmul(u * p[..., None, :], vh)


def _cofactor_graph(m, x):
    """adj(x)ᵀ from the signed minors, built with ``m`` ops (so it differentiates again)."""
    n = x.shape[-1]
    if n == 1:
        return m.ones_like(x)
    rows = []
    for i in range(n):
        ri = [k for k in range(n) if k != i]
        sub = x[..., ri, :]
        row = []
        for j in range(n):
            minor = m.det(sub[..., :, [k for k in range(n) if k != j]])
            row.append(minor if (i + j) % 2 == 0 else -minor)
        rows.append(m.stack(row, -1))
    return m.stack(rows, -2)


def _det_dx(m, g, out, x):
    singular = not np.all((out if m is A else out._array) != 0)
    if singular:  # the adjugate (torch's value is 0 here in some cases, which is wrong)
        cof = _cofactor(x) if m is A else _cofactor_graph(m, x)
        return _u2(m, g) * cof
    return _u2(m, g * out) * _T(m, m.inv(x))


defop("det", _det, _det_dx,
      lambda m, t, out, x: m.sum(_det_dx(m, m.ones_like(out), out, x) * t, (-2, -1)),
      public=False, method=False, cls="LinalgDet", formula="d det A: det A · A⁻ᵀ", dtype="linalg")


def _slogdet(x):
    _square(x, "slogdet")
    return np.linalg.slogdet(x)


defop("slogdet", _slogdet,
      vjp_all=lambda m, g, out, x, needs: (_u2(m, g[1]) * _T(m, m.inv(x)),),
      jvp_all=lambda m, ts, out, x: (None, m.sum(_T(m, m.inv(x)) * ts[0], (-2, -1))),
      nout=2, public=False, method=False, cls="LinalgSlogdet",
      formula="d log|det A|: A⁻ᵀ", dtype="linalg")


@public("det", ns=_LA)
def det(A):
    """Determinant of each (…, n, n) matrix; the gradient is the adjugate (also when singular)."""
    return _apply("det", A)


@public("slogdet", ns=_LA)
def slogdet(A):
    """(sign, log|det|) of each matrix, as a named tuple."""
    return return_types.slogdet(*_apply("slogdet", A))


@public("logdet")
def logdet(input):
    """log det(input) (NaN for a negative determinant, as torch)."""
    s, la = slogdet(input)
    return la + (s < 0) * float("nan") if bool(np.any(s._array < 0)) else la


@public("inverse")
def inverse(input):
    """Inverse of each square matrix (singular input raises)."""
    return _apply("inv", input)


public("inv", function=False, method=False, ns=_LA)(inverse)


# ---- solve -------------------------------------------------------------------------------------
def _isvec(a, b) -> bool:
    return b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))


def _solve(a, b, left=True):
    _square(a, "solve")
    if _isvec(a, b):
        return _lapack("solve", np.linalg.solve, a, b[..., None])[..., 0]
    if left:
        return _lapack("solve", np.linalg.solve, a, b)
    return np.swapaxes(_lapack("solve", np.linalg.solve, np.swapaxes(a, -1, -2),
                               np.swapaxes(b, -1, -2)), -1, -2)


def _solve_da(m, g, out, a, b, left=True):
    gb = m.solve(_T(m, a), g, left)
    if _isvec(a, b):
        return -(m.unsqueeze(gb, -1) * m.unsqueeze(out, -2))
    return -m.matmul(gb, _T(m, out)) if left else -m.matmul(_T(m, out), gb)


defop("solve", _solve, (_solve_da, lambda m, g, out, a, b, left=True: m.solve(_T(m, a), g, left)),
      (lambda m, t, out, a, b, left=True:
       -m.solve(a, m.squeeze(m.matmul(t, m.unsqueeze(out, -1)), -1) if _isvec(a, b) else
                m.matmul(t, out) if left else m.matmul(out, t), left),
       lambda m, t, out, a, b, left=True: m.solve(a, t, left)),
      nin=2, public=False, method=False, cls="LinalgSolve",
      formula=("d A⁻¹B/dA: −A⁻ᵀG Xᵀ", "d A⁻¹B/dB: A⁻ᵀ G"), dtype="linalg")


@public("solve", function=False, method=False, ns=_LA)
def solve(A, B, *, left: bool = True):
    """X with A X = B (``left=False``: X A = B); B may be a (batch of) vector(s)."""
    return _apply("solve", A, B, left)


# ---- triangular solve --------------------------------------------------------------------------
def _tri(a, upper, unitriangular):
    t = np.triu(a) if upper else np.tril(a)
    if unitriangular:
        n = a.shape[-1]
        t = t * (1 - np.eye(n, dtype=a.dtype)) + np.eye(n, dtype=a.dtype)
    return t


def _solve_tri(a, b, upper, left=True, unitriangular=False):
    t = _tri(a, upper, unitriangular)
    if left:
        return _lapack("solve_triangular", np.linalg.solve, t, b)
    return np.swapaxes(_lapack("solve_triangular", np.linalg.solve, np.swapaxes(t, -1, -2),
                               np.swapaxes(b, -1, -2)), -1, -2)


def _tri_mask(m, a, upper, unitriangular):
    n = a.shape[-1]
    k = 1 if unitriangular else 0
    mk = np.triu(np.ones((n, n)), k) if upper else np.tril(np.ones((n, n)), -k)
    return _c(m, mk.astype(np.asarray(a._array if hasattr(a, "_array") else a).dtype))


def _st_da(m, g, out, a, b, upper, left=True, unitriangular=False):
    gb = m.solve_triangular(_T(m, a), g, not upper, left, unitriangular)
    ga = -m.matmul(gb, _T(m, out)) if left else -m.matmul(_T(m, out), gb)
    return ga * _tri_mask(m, a, upper, unitriangular)


def _st_ta(m, t, out, a, b, upper, left=True, unitriangular=False):
    tt = t * _tri_mask(m, a, upper, unitriangular)
    return -m.solve_triangular(a, m.matmul(tt, out) if left else m.matmul(out, tt), upper, left,
                               unitriangular)


defop("solve_triangular", _solve_tri,
      (_st_da, lambda m, g, out, a, b, upper, left=True, unitriangular=False:
       m.solve_triangular(_T(m, a), g, not upper, left, unitriangular)),
      (_st_ta, lambda m, t, out, a, b, upper, left=True, unitriangular=False:
       m.solve_triangular(a, t, upper, left, unitriangular)),
      nin=2, public=False, method=False, cls="LinalgSolveTriangular",
      formula=("d/dA: −tri(A⁻ᵀ G Xᵀ)", "d/dB: A⁻ᵀ G"), dtype="linalg")


@public("solve_triangular", function=False, method=False, ns=_LA)
def solve_triangular(A, B, *, upper: bool, left: bool = True, unitriangular: bool = False):
    """X with A X = B for triangular A (only its upper or lower triangle is read)."""
    return _apply("solve_triangular", A, B, upper, left, unitriangular)


@public("triangular_solve")
def triangular_solve(b, A, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False):
    """torch.triangular_solve: (solution of op(A) X = b, a copy of A)."""
    a = A.mT if transpose else A
    x = _apply("solve_triangular", a, b, upper != transpose, True, unitriangular)
    return return_types.triangular_solve(x, A.clone())


# ---- Cholesky ----------------------------------------------------------------------------------
def _cholesky(x, upper=False):
    _square(x, "cholesky")
    lo = _lapack("cholesky", np.linalg.cholesky, x)
    if np.isnan(lo).any():  # NaN input: LAPACK fails, as torch's does
        from .linalg import LinAlgError

        raise LinAlgError("linalg.cholesky: The factorization could not be completed because the "
                          "input is not positive-definite (it contains NaN).")
    return np.swapaxes(lo, -1, -2) if upper else lo


def _chol_dx(m, g, out, x, upper=False):
    L, gL = (_T(m, out), _T(m, g)) if upper else (out, g)
    n = x.shape[-1]
    phi = m.matmul(_T(m, L), gL) * _tril_mask(m, n, x)
    p = (phi + _T(m, phi * _tril_mask(m, n, x, -1))) * 0.5
    ga = m.solve_triangular(_T(m, L), p, True, True)
    return m.solve_triangular(L, ga, False, False)


def _chol_t(m, t, out, x, upper=False):
    L = _T(m, out) if upper else out
    n = x.shape[-1]
    y = m.solve_triangular(L, t, False, True)
    z = m.solve_triangular(_T(m, L), y, True, False)
    half = _tril_mask(m, n, x, -1) + _eye(m, n, x) * 0.5
    dl = m.matmul(L, z * half)
    return _T(m, dl) if upper else dl


defop("cholesky", _cholesky, _chol_dx, _chol_t, public=False, method=False, cls="LinalgCholesky",
      formula="d chol: L⁻ᵀ Φ(Lᵀ G) L⁻¹ (Φ: lower triangle, half diagonal, symmetrized)",
      dtype="linalg")


@public("cholesky", function=False, method=False, ns=_LA)
def cholesky(A, *, upper: bool = False):
    """Cholesky factor L (A = L Lᵀ) of a symmetric positive-definite matrix (lower part read)."""
    return _apply("cholesky", A, upper)


@public("cholesky", method=True)
def _torch_cholesky(input, upper: bool = False):
    return _apply("cholesky", input, upper)


@public("cholesky_solve")
def cholesky_solve(B, L, upper: bool = False):
    """X with (L Lᵀ) X = B, given the Cholesky factor L (or U = Lᵀ when ``upper``)."""
    lo = L.mT if upper else L
    y = _apply("solve_triangular", lo, B, False, True, False)
    return _apply("solve_triangular", lo.mT, y, True, True, False)


# ---- QR ----------------------------------------------------------------------------------------
def _qr(x, mode="reduced"):
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' "
                           "(default), 'r', or 'complete'")
    if mode == "r":
        return np.zeros((0,), x.dtype), np.linalg.qr(x, mode="r")
    return tuple(np.linalg.qr(x, mode=mode))


def _qr_square_back(m, gq, gr, q, r, x, n):
    # m ≥ n: gA = (G_Q + Q copyltu(R G_Rᵀ − G_Qᵀ Q)) R⁻ᵀ
    mm = m.matmul(r, _T(m, gr)) - m.matmul(_T(m, gq), q)
    copyltu = mm * _tril_mask(m, n, x) + _T(m, mm * _tril_mask(m, n, x, -1))
    ga = gq + m.matmul(q, copyltu)
    return m.solve_triangular(_T(m, r), ga, False, False)  # ga R⁻ᵀ


def _qr_back(m, g, out, x, needs, mode="reduced"):
    gq, gr = g
    q, r = out
    rows, cols = x.shape[-2], x.shape[-1]
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when "
                           "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going to "
                           "differentiate through linalg.qr.")
    if mode == "complete" and rows > cols:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                           "nrows > ncols.")
    if rows >= cols:
        return (_qr_square_back(m, gq, gr, q, r, x, cols),)
    # wide: A = [X | Y] with X = Q U square and V = Qᵀ Y, so G_Y = Q G_V and X sees G_Q + Y G_Vᵀ
    u, gu, gv = r[..., :, :rows], gr[..., :, :rows], gr[..., :, rows:]
    y = x[..., :, rows:]
    gx = _qr_square_back(m, gq + m.matmul(y, _T(m, gv)), gu, q, u, x, rows)
    return (m.cat([gx, m.matmul(q, gv)], -1),)


def _qr_tangent(m, ts, out, x, mode="reduced"):
    t = ts[0]
    q, r = out
    n = x.shape[-1]
    if mode != "reduced" or x.shape[-2] < n:
        raise NotImplementedError("linalg.qr: forward-mode derivative only for mode='reduced' "
                                  "and nrows >= ncols")
    y = m.solve_triangular(r, t, True, False)  # dA R⁻¹
    c = m.matmul(_T(m, q), y)
    low = c * _tril_mask(m, n, x, -1)
    omega = low - _T(m, low)
    dr = m.matmul(c - omega, r)
    dq = m.matmul(q, omega) + y - m.matmul(q, c)
    return dq, dr


defop("qr", _qr, vjp_all=_qr_back, jvp_all=_qr_tangent, nout=2, public=False, method=False,
      cls="LinalgQr", formula="d QR: (G_Q + Q copyltu(R G_Rᵀ − G_Qᵀ Q)) R⁻ᵀ (wide: split [X | Y])",
      dtype="linalg")


@public("qr", ns=_LA)
def qr(A, mode: str = "reduced"):
    """QR decomposition (Householder, as LAPACK): named tuple (Q, R)."""
    return return_types.qr(*_apply("qr", A, mode))


# ---- symmetric eigendecomposition --------------------------------------------------------------
def _eigh(x, UPLO="L"):
    _square(x, "eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return tuple(np.linalg.eigh(x, UPLO=UPLO))


def _gap_inverse(m, lam, like, what):
    """F_ij = 1/(λ_j − λ_i) off the diagonal, 0 on it; raises on (numerically) repeated λ."""
    lam_raw = lam if isinstance(lam, np.ndarray) else np.asarray(lam._array)
    e_raw = lam_raw[..., None, :] - lam_raw[..., :, None]
    n = lam_raw.shape[-1]
    off = ~np.eye(n, dtype=bool)
    scale = np.max(np.abs(lam_raw), axis=-1, keepdims=True)[..., None]
    scale = scale + np.finfo(lam_raw.dtype).tiny
    if np.any((np.abs(e_raw) <= n * np.finfo(lam_raw.dtype).eps * scale) & off):
        raise RuntimeError(
            f"{what}: the derivative is not defined for repeated (or numerically equal) "
            f"{'eigenvalues' if 'eigh' in what else 'singular values'} when the gradient depends "
            "on the vectors, which are not unique then (torch would return inf/nan here)")
    i = _eye(m, n, like)
    e = m.unsqueeze(lam, -2) - m.unsqueeze(lam, -1)
    return (1 - i) / (e + i)


def _eigh_back(m, g, out, x, needs, UPLO="L"):
    gw, gv = g
    w, v = out
    inner = _diag_embed(m, gw, x)
    if _nonzero(gv):
        f = _gap_inverse(m, w, x, "linalg.eigh backward")
        inner = inner + f * m.matmul(_T(m, v), gv)
    return (m.matmul(m.matmul(v, inner), _T(m, v)),)


def _eigh_tangent(m, ts, out, x, UPLO="L"):
    w, v = out
    k = m.matmul(m.matmul(_T(m, v), ts[0]), v)
    f = _gap_inverse(m, w, x, "linalg.eigh forward AD")
    return _diagonal(m, k), m.matmul(v, f * k)


defop("eigh", _eigh, vjp_all=_eigh_back, jvp_all=_eigh_tangent, nout=2, public=False,
      method=False, cls="LinalgEigh",
      formula="d eigh: V (diag(G_λ) + F∘(Vᵀ G_V)) Vᵀ, F_ij = 1/(λ_j − λ_i)", dtype="linalg")


@public("eigh", function=False, method=False, ns=_LA)
def eigh(A, UPLO: str = "L"):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices (one triangle read)."""
    return return_types.eigh(*_apply("eigh", A, UPLO))


@public("eigvalsh", function=False, method=False, ns=_LA)
def eigvalsh(A, UPLO: str = "L"):
    """Eigenvalues of symmetric matrices (differentiable also at repeated eigenvalues)."""
    return _apply("eigh", A, UPLO)[0]


# ---- singular value decomposition --------------------------------------------------------------
def _svd(x, full_matrices=True):
    if x.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    return tuple(_lapack("svd", np.linalg.svd, x, full_matrices))


def _svd_back(m, g, out, x, needs, full_matrices=True):
    gu, gs, gvh = g
    u, s, vh = out
    rows, cols = x.shape[-2], x.shape[-1]
    k = min(rows, cols)
    vec = _nonzero(gu) or _nonzero(gvh)
    if full_matrices and rows != cols:
        if vec:
            raise RuntimeError("linalg.svd: backward through U or Vh with full_matrices=True is "
                               "not supported for non-square inputs; use full_matrices=False")
        u, vh, gu, gvh = u[..., :, :k], vh[..., :k, :], gu[..., :, :k], gvh[..., :k, :]
    if not vec:
        return (m.matmul(u * m.unsqueeze(gs, -2), vh),)
    v, gv = _T(m, vh), _T(m, gvh)
    f = _gap_inverse(m, s * s, x, "linalg.svd backward")  # 1/(s_k² − s_j²)
    uhgu = m.matmul(_T(m, u), gu)
    vhgv = m.matmul(_T(m, v), gv)
    uhgu = uhgu - _T(m, uhgu)
    vhgv = vhgv - _T(m, vhgv)
    ga = (uhgu * m.unsqueeze(s, -2) + m.unsqueeze(s, -1) * vhgv) * f + _diag_embed(m, gs, x)
    if rows > k:
        ga = m.matmul(u, ga)
        gus = gu / m.unsqueeze(s, -2)
        ga = m.matmul(ga + gus - m.matmul(u, m.matmul(_T(m, u), gus)), vh)
    elif cols > k:
        ga = m.matmul(ga, vh)
        gvs = _T(m, gv / m.unsqueeze(s, -2))
        ga = m.matmul(u, ga + gvs - m.matmul(m.matmul(gvs, v), vh))
    else:
        ga = m.matmul(m.matmul(u, ga), vh)
    return (ga,)


def _svd_tangent(m, ts, out, x, full_matrices=True):
    u, s, vh = out
    rows, cols = x.shape[-2], x.shape[-1]
    if full_matrices and rows != cols:
        raise RuntimeError("linalg.svd: forward-mode derivative needs full_matrices=False for "
                           "non-square inputs")
    t = ts[0]
    v = _T(m, vh)
    dp = m.matmul(m.matmul(_T(m, u), t), v)
    ds = _diagonal(m, dp)
    f = _gap_inverse(m, s * s, x, "linalg.svd forward AD")
    sr, sc = m.unsqueeze(s, -2), m.unsqueeze(s, -1)
    du = m.matmul(u, f * (dp * sr + sc * _T(m, dp)))
    dv = m.matmul(v, f * (sc * dp + _T(m, dp) * sr))
    if rows > cols:
        du = du + (m.matmul(t, v) - m.matmul(u, m.matmul(_T(m, u), m.matmul(t, v)))) / sr
    elif cols > rows:
        tu = m.matmul(_T(m, t), u)
        dv = dv + (tu - m.matmul(v, m.matmul(_T(m, v), tu))) / sr
    return du, ds, _T(m, dv)


defop("svd", _svd, vjp_all=_svd_back, jvp_all=_svd_tangent, nout=3, public=False, method=False,
      cls="LinalgSvd", formula="d svd: torch's svd_backward (skew parts over s_k² − s_j²)",
      dtype="linalg")


@public("svd", function=False, method=False, ns=_LA)
def linalg_svd(A, full_matrices: bool = True):
    """A = U diag(S) Vh, as a named tuple (U, S, Vh)."""
    return return_types.svd(*_apply("svd", A, full_matrices))


@public("svd")
def svd(input, some: bool = True, compute_uv: bool = True):
    """torch.svd: (U, S, V) with V (not Vh); reduced unless ``some=False``."""
    u, s, vh = _apply("svd", input, not some)
    return return_types.torch_svd(u, s, vh.mT)


@public("svdvals", function=False, method=False, ns=_LA)
def svdvals(A):
    """Singular values, descending (differentiable also when they repeat)."""
    return _apply("svd", A, False)[1]
