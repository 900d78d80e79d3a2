"""Linear algebra beyond the op database: errors where the derivative does not exist, singular
inputs, named tuples, closed forms, and matrix_exp against SciPy."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
LA = cr.linalg


def t64(a, rg=False):
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


def test_named_tuples_have_torch_fields():
    a = t64(np.random.default_rng(0).standard_normal((3, 3)))
    s = a + a.mT
    assert LA.eigh(s).eigenvalues.shape == (3,) and LA.eigh(s).eigenvectors.shape == (3, 3)
    r = LA.svd(a)
    assert (r.U.shape, r.S.shape, r.Vh.shape) == ((3, 3), (3,), (3, 3))
    assert LA.slogdet(a).sign.shape == () and LA.slogdet(a).logabsdet.shape == ()
    q = LA.qr(a)
    np.testing.assert_allclose((q.Q @ q.R)._array, a._array, atol=1e-12)
    u, sv, v = cr.svd(a)
    np.testing.assert_allclose((u * sv.unsqueeze(-2) @ v.mT)._array, a._array, atol=1e-12)


def test_singular_matrices_raise_with_torch_words():
    sing = t64([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(RuntimeError, match="singular"):
        LA.inv(sing)
    with pytest.raises(RuntimeError, match="singular"):
        LA.solve(sing, t64([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="positive-definite"):
        LA.cholesky(t64([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(RuntimeError, match="square matrices"):
        LA.inv(t64(np.ones((2, 3))))
    with pytest.raises(RuntimeError, match="must be a 2D tensor"):
        cr.mm(t64(np.ones((2, 2, 2))), t64(np.ones((2, 2))))
    with pytest.raises(RuntimeError, match="1D tensors expected"):
        cr.dot(t64(np.ones((2, 2))), t64(np.ones((2, 2))))


def test_det_gradient_at_singular_matrices_is_the_adjugate():
    # d det/dA = adj(A)ᵀ: for [[a, b], [c, d]] that is [[d, −c], [−b, a]], also when det = 0
    a = t64([[1.0, 2.0], [2.0, 4.0]], rg=True)
    LA.det(a).backward()
    np.testing.assert_allclose(a.grad._array, [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    # rank 2 of 3: the cofactors by hand (torch may return zeros here, depending on its LAPACK path)
    m = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, -1.0, 2.0]])
    cof = np.array(
        [
            [np.linalg.det(np.delete(np.delete(m, i, 0), j, 1)) * (-1) ** (i + j) for j in range(3)]
            for i in range(3)
        ]
    )
    b = t64(m, rg=True)
    LA.det(b).backward()
    np.testing.assert_allclose(b.grad._array, cof, atol=1e-12)
    # double backward at the singular matrix: d²det/dA² exists (det is a polynomial)
    c = t64(m, rg=True)
    (g,) = cr.autograd.grad(LA.det(c), c, create_graph=True)
    (h,) = cr.autograd.grad(g[0, 0], c)
    # ∂/∂A of the (0,0) cofactor a11·a22 − a12·a21
    want = np.zeros((3, 3))
    want[1, 1], want[2, 2], want[1, 2], want[2, 1] = m[2, 2], m[1, 1], -m[2, 1], -m[1, 2]
    np.testing.assert_allclose(h._array, want, atol=1e-12)


def test_eigh_repeated_eigenvalues_raise_only_when_vectors_carry_gradient():
    a = t64(np.diag([1.0, 1.0, 2.0]), rg=True)
    w, v = LA.eigh(a)
    with pytest.raises(RuntimeError, match="repeated"):
        (v.sum() + w.sum()).backward()
    a.grad = None
    w, v = LA.eigh(a)
    w.sum().backward()  # eigenvalues alone are differentiable: d(tr A)/dA = I
    np.testing.assert_allclose(a.grad._array, np.eye(3), atol=1e-12)
    b = t64(np.eye(2), rg=True)
    (LA.eigvalsh(b) * t64([1.0, 2.0])).sum().backward()
    tb = torch.eye(2, dtype=torch.float64, requires_grad=True)
    (torch.linalg.eigvalsh(tb) * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(b.grad._array, tb.grad.numpy(), atol=1e-12)


def test_svd_repeated_singular_values_raise_for_vectors_not_for_values():
    a = t64(np.eye(3) * 2.0, rg=True)
    u, _s, vh = LA.svd(a, full_matrices=False)
    with pytest.raises(RuntimeError, match="repeated"):
        (u.sum() + vh.sum()).backward()
    a.grad = None
    LA.svdvals(a).sum().backward()  # d Σσ/dA = U Vᵀ = I here
    np.testing.assert_allclose(a.grad._array, np.eye(3), atol=1e-12)


def test_svd_full_matrices_non_square_backward_through_vectors_raises():
    a = t64(np.random.default_rng(1).standard_normal((4, 3)), rg=True)
    u, _s, _vh = LA.svd(a)  # full_matrices=True by default
    with pytest.raises(RuntimeError, match="full_matrices"):
        u.sum().backward()
    a.grad = None
    LA.svd(a).S.sum().backward()
    ta = torch.tensor(a._array, requires_grad=True)
    torch.linalg.svd(ta).S.sum().backward()
    np.testing.assert_allclose(a.grad._array, ta.grad.numpy(), atol=1e-12)


def test_qr_backward_limits_as_torch():
    a = t64(np.random.default_rng(2).standard_normal((2, 3)), rg=True)
    _, r = LA.qr(a, mode="r")
    with pytest.raises(RuntimeError, match="mode='r'"):
        r.sum().backward()
    b = t64(np.random.default_rng(2).standard_normal((4, 3)), rg=True)
    q, r = LA.qr(b, mode="complete")
    with pytest.raises(RuntimeError, match="not differentiable"):
        q.sum().backward()


def test_matrix_exp_matches_scipy_and_closed_forms():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(3)
    for scale in (1e-3, 0.5, 3.0, 20.0):
        a = rng.standard_normal((4, 4)) * scale
        np.testing.assert_allclose(
            LA.matrix_exp(t64(a))._array, scipy_linalg.expm(a), rtol=1e-11, atol=1e-12
        )
    d = np.diag([0.5, -1.0, 2.0])
    np.testing.assert_allclose(
        cr.matrix_exp(t64(d))._array, np.diag(np.exp([0.5, -1.0, 2.0])), rtol=1e-13
    )
    # rotation generator: exp([[0, −θ], [θ, 0]]) = [[cos, −sin], [sin, cos]]
    th = 0.7
    rot = LA.matrix_exp(t64([[0.0, -th], [th, 0.0]]))._array
    np.testing.assert_allclose(
        rot, [[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]], atol=1e-14
    )
    # d/dθ tr exp(θ·[[0, −1], [1, 0]]) = −2 sin θ
    t = t64(th, rg=True)
    gen = t64([[0.0, -1.0], [1.0, 0.0]])
    out = LA.matrix_exp(gen * t)
    (out[0, 0] + out[1, 1]).backward()
    np.testing.assert_allclose(t.grad._array, -2 * np.sin(th), rtol=1e-12)


def test_einsum_implicit_and_errors():
    a = t64(np.arange(6.0).reshape(2, 3))
    b = t64(np.arange(12.0).reshape(3, 4))
    np.testing.assert_allclose(cr.einsum("ij,jk", a, b)._array, a._array @ b._array)
    np.testing.assert_allclose(cr.einsum("ij,jk->ik", [a, b])._array, a._array @ b._array)
    with pytest.raises(RuntimeError):
        cr.einsum("ij,jk->ik", a)
    with pytest.raises(RuntimeError):
        cr.einsum("ijk,jk->i", a, b)


def test_lstsq_returns_torch_fields():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    r = LA.lstsq(t64(a), t64(b))
    tr = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(r.solution._array, tr.solution.numpy(), atol=1e-12)
    assert int(r.rank._array) == int(tr.rank) == 3


def test_matrix_power_edge_cases():
    a = t64([[1.0, 1.0], [0.0, 1.0]], rg=True)
    np.testing.assert_allclose(LA.matrix_power(a, 0)._array, np.eye(2))
    np.testing.assert_allclose(LA.matrix_power(a, 5)._array, [[1.0, 5.0], [0.0, 1.0]])
    np.testing.assert_allclose(cr.matrix_power(a, -3)._array, [[1.0, -3.0], [0.0, 1.0]], atol=1e-12)
    # d tr(A³)/dA = 3 (A²)ᵀ
    cr.trace(LA.matrix_power(a, 3)).backward() if hasattr(cr, "trace") else (
        LA.matrix_power(a, 3) * t64(np.eye(2))
    ).sum().backward()
    np.testing.assert_allclose(a.grad._array, 3 * (a._array @ a._array).T, atol=1e-12)


def test_batched_inputs_broadcast_like_torch():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, 1, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((4, 3, 2))
    ours = LA.solve(t64(a, rg=True), t64(b))
    theirs = torch.linalg.solve(torch.tensor(a), torch.tensor(b))
    assert tuple(ours.shape) == tuple(theirs.shape) == (2, 4, 3, 2)
    np.testing.assert_allclose(ours._array, theirs.numpy(), atol=1e-12)
    for name in ("inv", "det", "cholesky"):
        x = a @ np.swapaxes(a, -1, -2) if name == "cholesky" else a
        np.testing.assert_allclose(
            getattr(LA, name)(t64(x))._array,
            getattr(torch.linalg, name)(torch.tensor(x)).numpy(),
            atol=1e-10,
        )


EINSUM = [
    ("iij->j", [(3, 3, 2)]),
    ("ij,ij->", [(2, 3), (2, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("ii->", [(4, 4)]),
    ("ijk,ikj->i", [(2, 3, 3), (2, 3, 3)]),
    ("i,i,i->", [(3,), (3,), (3,)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("ij->ji", [(2, 3)]),
    ("iji->j", [(2, 3, 2)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum_forms_values_and_grads_match_torch(eq, shapes):
    rng = np.random.default_rng(6)
    arrs = [rng.standard_normal(s) for s in shapes]
    c = [t64(a, rg=True) for a in arrs]
    t = [torch.tensor(a, requires_grad=True) for a in arrs]
    oc, ot = cr.einsum(eq, *c), torch.einsum(eq, *t)
    np.testing.assert_allclose(oc._array, ot.detach().numpy(), atol=1e-12)
    u = rng.standard_normal(tuple(ot.shape))
    gc = cr.autograd.grad(oc, c, t64(u))
    gt = torch.autograd.grad(ot, t, torch.tensor(u))
    for a, b in zip(gc, gt):
        np.testing.assert_allclose(a._array, b.numpy(), atol=1e-12)


def test_matrix_rank_matches_torch():
    rng = np.random.default_rng(7)
    low = rng.standard_normal((2, 5, 2)) @ rng.standard_normal((2, 2, 4))  # rank 2
    for a, k in ((np.array([[1.0, 2.0], [2.0, 4.0]]), {}), (low, {}), (low, {"atol": 1e-3}),
                 (rng.standard_normal((3, 4)), {"rtol": 0.5})):
        ours = LA.matrix_rank(t64(a), **k)
        theirs = torch.linalg.matrix_rank(torch.tensor(a), **k)
        assert ours.dtype == cr.int64
        np.testing.assert_array_equal(ours._array, theirs.numpy())
