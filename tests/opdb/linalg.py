"""Op database: matrix products and linear algebra."""

import numpy as np
from op_db import OpInfo, S, randn


def wellcond(r, *shape):
    """Random square matrices plus 3·I: comfortably invertible."""
    return randn(r, *shape) + 3 * np.eye(shape[-1])


def _spd(m, x):
    return x @ x.mT + 3 * m.eye(x.shape[-1], dtype=x.dtype)


def _sym(x):
    return (x + x.mT) / 2


def _eigh_fixed(m, x):
    w, v = m.linalg.eigh(_sym(x))
    return w, v * m.sign(v[..., :1, :])  # eigenvectors are unique up to sign: fix it


def _svd_fixed(m, x):
    u, s, vh = m.linalg.svd(x, full_matrices=False)
    f = m.sign(u[..., :1, :])
    return u * f, s, vh * f.mT


OPS = [
    OpInfo("matmul", lambda m, x, y: x @ y,
           lambda r: [S(randn(r, 3, 4), randn(r, 4, 5)), S(randn(r, 4), randn(r, 4)), S(randn(r, 4), randn(r, 4, 2)),
                      S(randn(r, 3, 4), randn(r, 4)), S(randn(r, 2, 3, 4), randn(r, 4, 5)),
                      S(randn(r, 3, 1, 2, 4), randn(r, 2, 4, 3)), S(randn(r, 4), randn(r, 2, 4, 3)),
                      S(randn(r, 2, 3, 4), randn(r, 4))],
           ref=np.matmul,
           error_inputs=[
               (lambda m: m.ones(2, 2) @ m.ones(2, 2, dtype=m.float64), RuntimeError,
                "expected m1 and m2 to have the same dtype"),
               (lambda m: m.matmul(m.ones(2, 2), m.ones(2, 2, dtype=m.int64)),
                RuntimeError, "float != long"),
               (lambda m: m.matmul(m.ones(2, 2), np.ones((2, 2))),
                TypeError, "must be Tensor, not numpy.ndarray")]),
    OpInfo("mm", lambda m, x, y: m.mm(x, y), lambda r: [S(randn(r, 3, 4), randn(r, 4, 2))], covers=("matmul",),
           ref=np.matmul),
    OpInfo("bmm", lambda m, x, y: m.bmm(x, y), lambda r: [S(randn(r, 2, 3, 4), randn(r, 2, 4, 2))],
           covers=("matmul",), ref=np.matmul),
    OpInfo("mv", lambda m, x, y: m.mv(x, y), lambda r: [S(randn(r, 3, 4), randn(r, 4))], covers=("matmul",)),
    OpInfo("dot", lambda m, x, y: (m.dot(x, y), m.vdot(x, y)), lambda r: [S(randn(r, 5), randn(r, 5))],
           covers=("matmul",)),
    OpInfo("outer", lambda m, x, y: m.outer(x, y), lambda r: [S(randn(r, 3), randn(r, 4))], covers=("mul",),
           ref=np.outer),
    OpInfo("inner", lambda m, x, y: m.inner(x, y),
           lambda r: [S(randn(r, 4), randn(r, 4)), S(randn(r, 2, 4), randn(r, 3, 4)), S(randn(r, 2, 3, 4), randn(r, 4))],
           covers=("einsum",), ref=np.inner),
    OpInfo("addmm", lambda m, c, x, y, **k: m.addmm(c, x, y, **k),
           lambda r: [S(randn(r, 3, 2), randn(r, 3, 4), randn(r, 4, 2)), S(randn(r, 2), randn(r, 3, 4), randn(r, 4, 2),
                                                                          beta=0.5, alpha=-2.0)],
           covers=("matmul",)),
    OpInfo("baddbmm", lambda m, c, x, y, **k: m.baddbmm(c, x, y, **k),
           lambda r: [S(randn(r, 2, 3, 2), randn(r, 2, 3, 4), randn(r, 2, 4, 2), beta=2.0, alpha=0.5)],
           covers=("matmul",)),
    OpInfo("addmv", lambda m, c, x, y: m.addmv(c, x, y), lambda r: [S(randn(r, 3), randn(r, 3, 4), randn(r, 4))],
           covers=("matmul",)),
    OpInfo("einsum", lambda m, eq, *xs: m.einsum(eq, *xs),
           lambda r: [S("ij,jk->ik", randn(r, 3, 4), randn(r, 4, 2)), S("ii->i", randn(r, 3, 3)),
                      S("ii", randn(r, 3, 3)), S("bij,bjk->bik", randn(r, 2, 3, 4), randn(r, 2, 4, 2)),
                      S("...ij,...jk->...ik", randn(r, 2, 3, 4), randn(r, 2, 4, 2)), S("i,j->ij", randn(r, 3), randn(r, 4)),
                      S("ij->", randn(r, 3, 4)), S("ij->j", randn(r, 3, 4)), S("ij,jk", randn(r, 2, 3), randn(r, 3, 4)),
                      S("ij,ij,ij->i", randn(r, 2, 3), randn(r, 2, 3), randn(r, 2, 3)),
                      S("bii->bi", randn(r, 2, 3, 3)), S("i...->...", randn(r, 3, 2, 2)),
                      S("ij,k->ijk", randn(r, 2, 3), randn(r, 2))]),
    OpInfo("tensordot", lambda m, x, y, d: m.tensordot(x, y, dims=d),
           lambda r: [S(randn(r, 2, 3, 4), randn(r, 3, 4, 2), 2), S(randn(r, 2, 3), randn(r, 3, 4), 1),
                      S(randn(r, 2, 3, 4), randn(r, 4, 2, 3), ([1, 2], [2, 0]))], covers=("einsum",)),
    OpInfo("kron", lambda m, x, y: m.kron(x, y),
           lambda r: [S(randn(r, 2, 3), randn(r, 2, 2)), S(randn(r, 3), randn(r, 2)), S(randn(r, 2, 2), randn(r, 3))],
           covers=("mul",), ref=np.kron),
    OpInfo("cross", lambda m, x, y: m.linalg.cross(x, y),
           lambda r: [S(randn(r, 4, 3), randn(r, 4, 3)), S(randn(r, 2, 4, 3), randn(r, 1, 4, 3))], ref=np.cross),
    OpInfo("cross_dim", lambda m, x, y: m.cross(x, y, dim=0), lambda r: [S(randn(r, 3, 4), randn(r, 3, 4))],
           covers=("cross",)),
    OpInfo("inv", lambda m, x: m.linalg.inv(x), lambda r: [S(wellcond(r, 3, 3)), S(wellcond(r, 2, 3, 3))],
           ref=np.linalg.inv),
    OpInfo("inverse", lambda m, x: m.inverse(x), lambda r: [S(wellcond(r, 2, 2))], covers=("inv",)),
    OpInfo("det", lambda m, x: m.linalg.det(x), lambda r: [S(randn(r, 3, 3)), S(randn(r, 2, 4, 4)), S(randn(r, 1, 1))],
           ref=np.linalg.det),
    OpInfo("det_singular", lambda m, x: m.det(x),
           lambda r: [S(np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, -1.0, 2.0]])),
                      S(np.array([[1.0, 2.0], [2.0, 4.0]]))],
           covers=("det",), torch="torch gives 0 for the singular 3x3 here"),
    OpInfo("slogdet", lambda m, x: tuple(m.linalg.slogdet(x)),
           lambda r: [S(randn(r, 3, 3)), S(randn(r, 2, 3, 3))]),
    OpInfo("logdet", lambda m, x: m.logdet(x), lambda r: [S(wellcond(r, 3, 3))], covers=("slogdet",)),
    OpInfo("solve", lambda m, a, b, **k: m.linalg.solve(a, b, **k),
           lambda r: [S(wellcond(r, 3, 3), randn(r, 3, 2)), S(wellcond(r, 3, 3), randn(r, 3)),
                      S(wellcond(r, 2, 3, 3), randn(r, 3, 2)), S(wellcond(r, 2, 3, 3), randn(r, 2, 3)),
                      S(wellcond(r, 3, 3), randn(r, 2, 3), left=False)]),
    OpInfo("solve_triangular", lambda m, a, b, **k: m.linalg.solve_triangular(a + 3 * m.eye(a.shape[-1], dtype=a.dtype), b, **k),
           lambda r: [S(randn(r, 3, 3), randn(r, 3, 2), upper=True), S(randn(r, 3, 3), randn(r, 3, 2), upper=False),
                      S(randn(r, 2, 3, 3), randn(r, 2, 4, 3), upper=False, left=False),
                      S(randn(r, 3, 3), randn(r, 3, 2), upper=True, unitriangular=True)]),
    OpInfo("triangular_solve", lambda m, b, a, **k: m.triangular_solve(b, a + 3 * m.eye(3, dtype=a.dtype), **k)[0],
           lambda r: [S(randn(r, 3, 2), randn(r, 3, 3)), S(randn(r, 3, 2), randn(r, 3, 3), upper=False, transpose=True)],
           covers=("solve_triangular",)),
    OpInfo("cholesky", lambda m, x, **k: m.linalg.cholesky(_spd(m, x), **k),
           lambda r: [S(randn(r, 3, 3)), S(randn(r, 2, 3, 3)), S(randn(r, 3, 3), upper=True)]),
    OpInfo("cholesky_solve", lambda m, b, x, **k: m.cholesky_solve(b, m.linalg.cholesky(_spd(m, x)), **k),
           lambda r: [S(randn(r, 3, 2), randn(r, 3, 3))], covers=("cholesky", "solve_triangular")),
    OpInfo("qr", lambda m, x: tuple(m.linalg.qr(x)),
           lambda r: [S(randn(r, 4, 3)), S(randn(r, 3, 3)), S(randn(r, 2, 4, 2))]),
    OpInfo("qr_wide", lambda m, x: tuple(m.linalg.qr(x)), lambda r: [S(randn(r, 2, 4)), S(randn(r, 2, 3, 5))],
           covers=("qr",),
           fwd_ad="the QR forward-mode rule covers nrows >= ncols only (torch: also wide)"),
    OpInfo("eigh", _eigh_fixed, lambda r: [S(randn(r, 3, 3)), S(randn(r, 2, 4, 4))]),
    OpInfo("eigvalsh", lambda m, x: m.linalg.eigvalsh(_sym(x)), lambda r: [S(randn(r, 4, 4))], covers=("eigh",)),
    OpInfo("svd", _svd_fixed, lambda r: [S(randn(r, 4, 3)), S(randn(r, 3, 4)), S(randn(r, 3, 3)), S(randn(r, 2, 3, 2))]),
    OpInfo("svdvals", lambda m, x: m.linalg.svdvals(x), lambda r: [S(randn(r, 4, 3)), S(randn(r, 2, 2, 3))],
           covers=("svd",)),
    OpInfo("pinv", lambda m, x: m.linalg.pinv(x), lambda r: [S(randn(r, 4, 3)), S(randn(r, 3, 4)), S(wellcond(r, 2, 3, 3))],
           ref=np.linalg.pinv),
    OpInfo("lstsq", lambda m, a, b: m.linalg.lstsq(a, b).solution,
           lambda r: [S(randn(r, 5, 3), randn(r, 5, 2)), S(randn(r, 2, 4, 3), randn(r, 2, 4, 1))], covers=("pinv",)),
    OpInfo("matrix_power", lambda m, x, n: m.linalg.matrix_power(x, n),
           lambda r: [S(randn(r, 3, 3) * 0.7, 3), S(wellcond(r, 2, 2), -2), S(randn(r, 2, 3, 3) * 0.7, 1)],
           covers=("matmul", "inv")),
    OpInfo("matrix_exp", lambda m, x: m.linalg.matrix_exp(x),
           lambda r: [S(randn(r, 3, 3) * 0.5), S(randn(r, 2, 3, 3)), S(randn(r, 2, 2) * 4)]),
]
OPS += [
    OpInfo("multi_dot", lambda m, a, b, c: m.linalg.multi_dot([a, b, c]),
           lambda r: [S(randn(r, 3, 4), randn(r, 4, 5), randn(r, 5)), S(randn(r, 4), randn(r, 4, 2), randn(r, 2, 3))],
           covers=("matmul",)),
    OpInfo("vecdot", lambda m, x, y: m.linalg.vecdot(x, y), lambda r: [S(randn(r, 3, 4), randn(r, 4))],
           covers=("mul",)),
]
