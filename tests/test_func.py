"""chainrule.func against torch.func on compositions of table ops, and against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.func as TF

import chainrule as cr
from chainrule import func as F

RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 3))
Bm = RNG.standard_normal((3, 3))


def _t(m, a):
    return m.tensor(a)


# scalar functions R^3 → R (and of two arguments), written once for both libraries
SCALAR = {
    "tanh_Ax": lambda m, x: m.tanh(_t(m, A) @ x).sum(),
    "softmax_logsumexp": lambda m, x: (x.softmax(0) * x.exp()).sum() + x.log_softmax(0)[1],
    "poly": lambda m, x: (x ** 3).sum() * x[0] - (x * x).mean(),
    "norm_sigmoid": lambda m, x: m.sigmoid(x).norm() + (x.sin() * x.cos()).sum(),
    "quadratic": lambda m, x: x @ (_t(m, Bm) @ x),
    "var_std": lambda m, x: x.var() + x.std() * x[2],
}
VECTOR = {
    "tanh_Ax": lambda m, x: m.tanh(_t(m, A) @ x),
    "softmax": lambda m, x: x.softmax(0),
    "outer": lambda m, x: (x.unsqueeze(1) * x.unsqueeze(0)).reshape(9),
    "stack": lambda m, x: m.stack([x.exp(), x * x[0], x.relu() + 1]),
}
X = RNG.standard_normal(3)


def _close(a, b, tol=1e-10):
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b)
        for u, v in zip(a, b):
            _close(u, v, tol)
        return
    assert tuple(a.shape) == tuple(b.shape), (a.shape, b.shape)
    np.testing.assert_allclose(a._array, b.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", SCALAR)
@pytest.mark.parametrize("transform", ["grad", "hessian", "jacfwd_jacfwd", "jacrev_jacrev",
                                       "grad_grad_sum"])
def test_scalar_transforms_match_torch(name, transform):
    f = SCALAR[name]
    fc, ft = (lambda x: f(cr, x)), (lambda x: f(torch, x))
    tr = {
        "grad": lambda M, g: M.grad(g),
        "hessian": lambda M, g: M.hessian(g),
        "jacfwd_jacfwd": lambda M, g: M.jacfwd(M.jacfwd(g)),
        "jacrev_jacrev": lambda M, g: M.jacrev(M.jacrev(g)),
        "grad_grad_sum": lambda M, g: M.grad(lambda x: M.grad(g)(x).sum()),
    }[transform]
    _close(tr(F, fc)(cr.tensor(X)), tr(TF, ft)(torch.tensor(X)))


@pytest.mark.parametrize("name", VECTOR)
@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
def test_jacobians_match_torch(name, jac):
    f = VECTOR[name]
    got = getattr(F, jac)(lambda x: f(cr, x))(cr.tensor(X))
    want = getattr(TF, jac)(lambda x: f(torch, x))(torch.tensor(X))
    _close(got, want)


def test_jacrev_chunk_size_gives_the_same_jacobian():
    f = lambda x, y: (m_tanh(x @ y), (x * x).sum(0))
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2))
    full = F.jacrev(f, argnums=(0, 1))(cr.tensor(a), cr.tensor(b))
    for k in (1, 2, 5):
        _close(F.jacrev(f, argnums=(0, 1), chunk_size=k)(cr.tensor(a), cr.tensor(b)),
               tuple(tuple(torch.tensor(t._array) for t in row) for row in full))
    want = TF.jacrev(lambda x, y: (torch.tanh(x @ y), (x * x).sum(0)), argnums=(0, 1))(
        torch.tensor(a), torch.tensor(b))
    _close(full, want)


def m_tanh(x):
    return x.tanh()


def test_multiple_inputs_outputs_argnums_and_has_aux():
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal(3)

    def f(m):
        def g(x, y):
            return (x @ y).tanh(), (x * y).sum(), {"aux": x.sum()}
        return lambda x, y: (g(x, y)[:2], g(x, y)[2])

    for jac in ("jacrev", "jacfwd"):
        got, aux = getattr(F, jac)(f(cr), argnums=(0, 1), has_aux=True)(cr.tensor(a), cr.tensor(b))
        want, waux = getattr(TF, jac)(f(torch), argnums=(0, 1), has_aux=True)(
            torch.tensor(a), torch.tensor(b))
        _close(got, want)
        _close(aux["aux"], waux["aux"])
    g = lambda m: (lambda x, y: ((x * y.exp()).sum(), x.mean()))
    got = F.grad(g(cr), argnums=1, has_aux=True)(cr.tensor(a), cr.tensor(b))
    want = TF.grad(g(torch), argnums=1, has_aux=True)(torch.tensor(a), torch.tensor(b))
    _close(got, want)
    gv = F.grad_and_value(g(cr), argnums=(0, 1), has_aux=True)(cr.tensor(a), cr.tensor(b))
    wv = TF.grad_and_value(g(torch), argnums=(0, 1), has_aux=True)(torch.tensor(a), torch.tensor(b))
    _close(gv, wv)


def test_grad_of_dict_and_tuple_inputs():
    p = {"w": RNG.standard_normal((3, 2)), "b": RNG.standard_normal(2)}
    x = RNG.standard_normal(3)
    f = lambda m: (lambda p, x: m.tanh(x @ p["w"] + p["b"]).sum())
    got = F.grad(f(cr))({k: cr.tensor(v) for k, v in p.items()}, cr.tensor(x))
    want = TF.grad(f(torch))({k: torch.tensor(v) for k, v in p.items()}, torch.tensor(x))
    for k, w in want.items():
        _close(got[k], w)


def test_vjp_is_reusable_and_matches_torch():
    f = lambda m: (lambda x, y: (x.sin() * y, (x @ y.unsqueeze(1)).sum()))
    a, b = RNG.standard_normal((3, 3)), RNG.standard_normal(3)
    out, fn = F.vjp(f(cr), cr.tensor(a), cr.tensor(b))
    tout, tfn = TF.vjp(f(torch), torch.tensor(a), torch.tensor(b))
    _close(out, tout)
    for _ in range(2):  # reusable
        u = (RNG.standard_normal((3, 3)), RNG.standard_normal(()))
        _close(fn((cr.tensor(u[0]), cr.tensor(u[1]))), tfn((torch.tensor(u[0]), torch.tensor(u[1]))))
    # vmap over the vjp function: all rows of the Jacobian at once
    g = lambda m: (lambda x: m.tanh(_t(m, A) @ x))
    _, fn = F.vjp(g(cr), cr.tensor(X))
    _, tfn = TF.vjp(g(torch), torch.tensor(X))
    _close(F.vmap(fn)(cr.eye(4, dtype=cr.float64)), TF.vmap(tfn)(torch.eye(4, dtype=torch.float64)))


def test_jvp_linearize_and_nested_jvp():
    f = lambda m: (lambda x: (x.exp() * x).sum() * x)
    t = RNG.standard_normal(3)
    _close(F.jvp(f(cr), (cr.tensor(X),), (cr.tensor(t),)),
           TF.jvp(f(torch), (torch.tensor(X),), (torch.tensor(t),)))
    out, lin = F.linearize(f(cr), cr.tensor(X))
    tout, tlin = TF.linearize(f(torch), torch.tensor(X))
    _close(out, tout)
    _close(lin(cr.tensor(t)), tlin(torch.tensor(t)))
    # jvp of jvp: third directional derivative of sin at x is -cos(x)
    x0, v = 0.7, 1.0
    d = cr.float64
    inner = lambda x: F.jvp(lambda y: y.sin(), (x,), (cr.tensor(v, dtype=d),))[1]
    mid = lambda x: F.jvp(inner, (x,), (cr.tensor(v, dtype=d),))[1]
    third = F.jvp(mid, (cr.tensor(x0, dtype=d),), (cr.tensor(v, dtype=d),))[1]
    assert float(third._array) == pytest.approx(-np.cos(x0), rel=1e-12)


def test_closed_forms():
    # Hessian of xᵀAx is A + Aᵀ, whatever x
    M = RNG.standard_normal((5, 5))
    x = cr.tensor(RNG.standard_normal(5))
    for H in (F.hessian(lambda x: x @ (cr.tensor(M) @ x))(x),
              F.jacrev(F.jacrev(lambda x: x @ (cr.tensor(M) @ x)))(x)):
        np.testing.assert_allclose(H._array, M + M.T, rtol=1e-12, atol=1e-12)
    # Rosenbrock: f = (1 − x)² + 100 (y − x²)²
    x0, y0 = 0.3, -0.4
    H = F.hessian(lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2)(cr.tensor([x0, y0], dtype=cr.float64))
    want = np.array([[2 - 400 * (y0 - x0 ** 2) + 800 * x0 ** 2, -400 * x0], [-400 * x0, 200]])
    np.testing.assert_allclose(H._array, want, rtol=1e-12)
    # softmax Jacobian: diag(s) − s sᵀ
    z = RNG.standard_normal(4)
    s = np.exp(z) / np.exp(z).sum()
    for jac in (F.jacrev, F.jacfwd):
        J = jac(lambda z: z.softmax(0))(cr.tensor(z))
        np.testing.assert_allclose(J._array, np.diag(s) - np.outer(s, s), rtol=1e-12, atol=1e-14)


def test_transforms_compose_with_regular_autograd():
    """grad(f)(x) with x requiring grad stays differentiable (as torch.func with torch.autograd)."""
    x = cr.tensor(X, requires_grad=True)
    g = F.grad(lambda x: (x ** 3).sum())(x)
    (h,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h._array, 6 * X, rtol=1e-12)
    # and results of a top-level transform on plain tensors carry no graph
    f = lambda x: (x ** 3).sum()
    for r in (F.grad(f)(cr.tensor(X)), F.hessian(f)(cr.tensor(X)), F.jacrev(F.jacrev(f))(cr.tensor(X)),
              F.jvp(F.grad(f), (cr.tensor(X),), (cr.tensor(X),))[1]):
        assert not r.requires_grad and r.grad_fn is None


def test_errors_as_torch():
    with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor"):
        F.grad(lambda x: x * 2)(cr.tensor(X))
    with pytest.raises(RuntimeError, match="argnums"):
        F.grad(lambda x: x.sum(), argnums=3)(cr.tensor(X))
    with pytest.raises(RuntimeError, match="Expected primals to be a tuple"):
        F.jvp(lambda x: x, cr.tensor(X), (cr.tensor(X),))
    with pytest.raises(RuntimeError, match="same shape"):
        F.jvp(lambda x: x, (cr.tensor(X),), (cr.ones(2),))


def test_functional_call_per_example_gradients_match_torch():
    rng = np.random.default_rng(7)
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2)).double()
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    params = {k: v.detach() for k, v in model.named_parameters()}
    with torch.no_grad():
        for k, v in tmodel.named_parameters():
            v.copy_(torch.tensor(params[k]._array))
    tparams = {k: v.detach() for k, v in tmodel.named_parameters()}
    x = rng.standard_normal((5, 3))

    def loss(M, mod):
        return lambda p, xi: (M.functional_call(mod, p, (xi,)) ** 2).sum()

    got = F.vmap(F.grad(loss(F, model)), in_dims=(None, 0))(params, cr.tensor(x))
    want = TF.vmap(TF.grad(loss(TF, tmodel)), in_dims=(None, 0))(tparams, torch.tensor(x))
    for k, p in params.items():
        assert tuple(got[k].shape) == (5, *p.shape)
        np.testing.assert_allclose(got[k]._array, want[k].numpy(), rtol=1e-10, atol=1e-12)
    # the module's own parameters are untouched
    for k, v in model.named_parameters():
        assert v is not params[k] and np.array_equal(v._array, params[k]._array)


def test_full_jacobians_take_one_pass_not_a_loop(monkeypatch):
    """jacrev: one backward pass for all m rows; jacfwd: one forward pass for all n columns."""
    from chainrule.autograd import api, engine

    calls = {"backward": 0, "forward": 0}
    real = engine.run_backward

    def counting(*a, **k):
        calls["backward"] += 1
        return real(*a, **k)

    monkeypatch.setattr(api, "run_backward", counting)
    W = cr.tensor(RNG.standard_normal((40, 30)))

    def f(x):
        calls["forward"] += 1
        return cr.tanh(W @ x) * x.sum()

    x = cr.tensor(RNG.standard_normal(30))
    J = F.jacrev(f)(x)
    assert calls == {"backward": 1, "forward": 1}
    calls.update(backward=0, forward=0)
    J2 = F.jacfwd(f)(x)
    assert calls == {"backward": 0, "forward": 1}
    calls.update(backward=0, forward=0)
    from chainrule.autograd.functional import jacobian

    J3 = jacobian(f, x, vectorize=True)
    assert calls == {"backward": 1, "forward": 1}
    want = TF.jacrev(lambda z: torch.tanh(torch.tensor(W._array) @ z) * z.sum())(torch.tensor(x._array))
    for j in (J, J2, J3):
        _close(j, want)
