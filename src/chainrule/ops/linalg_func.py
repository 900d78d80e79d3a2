"""Rule-table rows: pseudo-inverse, least squares and matrix functions (``chainrule.linalg``)."""

from __future__ import annotations

import numpy as np

from ._public import public
from ._table import defop
from .linalg import _LA, _T, _apply, _eye, _square
from .linalg_decomp import return_types


# ---- pseudo-inverse and least squares ----------------------------------------------------------
def _pinv(x, atol=None, rtol=None):
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else max(x.shape[-2:]) * np.finfo(x.dtype).eps
    cut = np.maximum(atol or 0.0, rtol * (s[..., :1] if s.shape[-1] else 0))
    with np.errstate(divide="ignore"):
        sinv = np.where(s > cut, 1 / s, 0).astype(x.dtype)
    return np.matmul(np.swapaxes(vh, -1, -2) * sinv[..., None, :], np.swapaxes(u, -1, -2))


def _pinv_dx(m, g, out, x, atol=None, rtol=None):
    p, pt, gt = out, _T(m, out), _T(m, g)
    rows, cols = x.shape[-2], x.shape[-1]
    q = _eye(m, rows, x) - m.matmul(x, p)  # I − A A⁺
    r = _eye(m, cols, x) - m.matmul(p, x)  # I − A⁺ A
    return (-m.matmul(m.matmul(pt, g), pt) + m.matmul(m.matmul(q, gt), m.matmul(p, pt))
            + m.matmul(m.matmul(pt, p), m.matmul(gt, r)))


def _pinv_t(m, t, out, x, atol=None, rtol=None):
    p, pt, tt = out, _T(m, out), _T(m, t)
    rows, cols = x.shape[-2], x.shape[-1]
    q = _eye(m, rows, x) - m.matmul(x, p)
    r = _eye(m, cols, x) - m.matmul(p, x)
    return (-m.matmul(m.matmul(p, t), p) + m.matmul(m.matmul(p, pt), m.matmul(tt, q))
            + m.matmul(m.matmul(r, tt), m.matmul(pt, p)))


defop("pinv", _pinv, _pinv_dx, _pinv_t, public=False, method=False, cls="LinalgPinv",
      formula="d A⁺ = −A⁺ dA A⁺ + A⁺A⁺ᵀ dAᵀ (I − AA⁺) + (I − A⁺A) dAᵀ A⁺ᵀA⁺ (constant rank)",
      dtype="linalg")


@public("pinv", function=False, method=False, ns=_LA)
def pinv(A, *, atol=None, rtol=None, hermitian: bool = False):
    """Moore–Penrose pseudo-inverse (singular values ≤ max(atol, rtol·σ_max) are dropped)."""
    return _apply("pinv", A, atol, rtol)


@public("pinverse")
def pinverse(input, rcond: float = 1e-15):
    return _apply("pinv", input, None, rcond)


@public("lstsq", function=False, method=False, ns=_LA)
def lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares solution of A X = B (named tuple: solution, residuals, rank, singular_values;
    as torch's default CPU driver 'gelsy', residuals and singular_values are empty)."""
    from .._creation import tensor

    p = _apply("pinv", A, None, rcond)
    sol = p @ B
    rank = np.linalg.matrix_rank(A._array).astype(np.int64)
    empty = tensor(np.zeros((0,), A._array.dtype))
    return return_types.lstsq(sol, empty, tensor(rank), empty)


# ---- matrix functions --------------------------------------------------------------------------
@public("matrix_power", ns=_LA)
def matrix_power(A, n: int):
    """A to the integer power n (n < 0: of the inverse), by repeated squaring."""
    from .._creation import tensor

    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError("linalg.matrix_power: A must be batches of square matrices")
    if n == 0:
        return tensor(np.broadcast_to(np.eye(A.shape[-1], dtype=A._array.dtype), A.shape).copy())
    base = _apply("inv", A) if n < 0 else A
    n = abs(n)
    result = None
    while n:
        if n & 1:
            result = base if result is None else _apply("matmul", result, base)
        n >>= 1
        if n:
            base = _apply("matmul", base, base)
    return result


_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
           40840800.0, 960960.0, 16380.0, 182.0, 1.0)


def _expm(x):
    """Scaling and squaring with the degree-13 Padé approximant (Higham 2005)."""
    _square(x, "matrix_exp")
    a = x.astype(np.float64)
    n = a.shape[-1]
    norm = np.max(np.sum(np.abs(a), axis=-2), axis=-1) if n else np.zeros(a.shape[:-2])
    s = np.maximum(0, np.ceil(np.log2(np.maximum(norm, 1e-300) / 5.371920351148152))).astype(int)
    a = a / (2.0 ** s)[..., None, None]
    b = _PADE13
    eye = np.eye(n)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
             + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    r = np.linalg.solve(v - u, v + u)
    for k in range(int(s.max()) if s.size else 0):
        sq = r @ r
        r = np.where((s > k)[..., None, None], sq, r)
    return r.astype(x.dtype, copy=False)


def _frechet(m, a, e):
    """L(a, e) = exp([[a, e], [0, a]])[:n, n:], the Fréchet derivative of exp at a along e."""
    n = a.shape[-1]
    top = m.cat([a, e], -1)
    bottom = m.cat([m.zeros_like(a), a], -1)
    big = m.matrix_exp(m.cat([top, bottom], -2))
    return big[..., :n, n:]


defop("matrix_exp", _expm, lambda m, g, out, x: _frechet(m, _T(m, x), g),
      lambda m, t, out, x: _frechet(m, x, t), cls="LinalgMatrixExp",
      formula="d exp(A): the Fréchet derivative L(Aᵀ, G), from exp of a block matrix",
      dtype="linalg")
public("matrix_exp", function=False, method=False, ns=_LA)(lambda A: _apply("matrix_exp", A))
