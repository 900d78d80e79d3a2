"""chainrule.autograd.functional against torch.autograd.functional: values and structures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.functional as TAF

import chainrule as cr
from chainrule.autograd import functional as AF

RNG = np.random.default_rng(1)
A = RNG.standard_normal((4, 3))


def _close(a, b, tol=1e-10):
    if isinstance(b, (tuple, list)):
        assert isinstance(a, tuple) and len(a) == len(b), (type(a), a, b)
        for u, v in zip(a, b):
            _close(u, v, tol)
        return
    assert isinstance(a, cr.Tensor), type(a)
    assert tuple(a.shape) == tuple(b.shape), (a.shape, b.shape)
    np.testing.assert_allclose(a._array, b.detach().numpy(), rtol=tol, atol=tol)


def _args(*arrays):
    return (tuple(cr.tensor(a) for a in arrays), tuple(torch.tensor(a) for a in arrays))


# (name, function written for module m, input arrays, single input passed bare?)
FUNCS = [
    ("tanh_Ax", lambda m: (lambda x: m.tanh(m.tensor(A) @ x)), (RNG.standard_normal(3),), True),
    ("two_in_two_out", lambda m: (lambda x, y: ((x * y).exp(), (x @ y.T).sum(0))),
     (RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))), False),
    ("softmax_2d", lambda m: (lambda x: x.softmax(-1)), (RNG.standard_normal((2, 3)),), True),
    ("tuple_one", lambda m: (lambda x: (x.sin(),)), (RNG.standard_normal(3),), False),
]


@pytest.mark.parametrize("case", FUNCS, ids=lambda c: c[0])
@pytest.mark.parametrize("vectorize,strategy", [(False, "reverse-mode"), (True, "reverse-mode"),
                                                (True, "forward-mode")])
def test_jacobian_matches_torch(case, vectorize, strategy):
    _, f, arrays, bare = case
    ours, theirs = _args(*arrays)
    got = AF.jacobian(f(cr), ours[0] if bare else ours, vectorize=vectorize, strategy=strategy)
    want = TAF.jacobian(f(torch), theirs[0] if bare else theirs, vectorize=vectorize,
                        strategy=strategy)
    _close(got, want)


@pytest.mark.parametrize("case", FUNCS, ids=lambda c: c[0])
def test_vjp_jvp_match_torch(case):
    _, f, arrays, bare = case
    ours, theirs = _args(*arrays)
    with torch.no_grad():
        outs = f(torch)(*theirs)
    outs_t = outs if isinstance(outs, tuple) else (outs,)
    vs = [RNG.standard_normal(tuple(o.shape)) for o in outs_t]
    ts = [RNG.standard_normal(a.shape) for a in arrays]
    v_c = tuple(cr.tensor(v) for v in vs) if isinstance(outs, tuple) else cr.tensor(vs[0])
    v_t = tuple(torch.tensor(v) for v in vs) if isinstance(outs, tuple) else torch.tensor(vs[0])
    t_c = cr.tensor(ts[0]) if bare else tuple(cr.tensor(t) for t in ts)
    t_t = torch.tensor(ts[0]) if bare else tuple(torch.tensor(t) for t in ts)
    _close(AF.vjp(f(cr), ours[0] if bare else ours, v_c),
           TAF.vjp(f(torch), theirs[0] if bare else theirs, v_t))
    _close(AF.jvp(f(cr), ours[0] if bare else ours, t_c),
           TAF.jvp(f(torch), theirs[0] if bare else theirs, t_t))


SCALARS = [
    ("logsumexp_quad", lambda m: (lambda x: (x.exp().sum().log() + (x * x).sum() * x[0]))),
    ("two_inputs", lambda m: (lambda x, y: (m.tanh(x @ y) ** 2).sum())),
]


@pytest.mark.parametrize("outer", ["reverse-mode", "forward-mode"])
def test_hessian_hvp_vhp_match_torch(outer):
    x = RNG.standard_normal(3)
    f = SCALARS[0][1]
    _close(AF.hessian(f(cr), cr.tensor(x), vectorize=True, outer_jacobian_strategy=outer),
           TAF.hessian(f(torch), torch.tensor(x), vectorize=True, outer_jacobian_strategy=outer))
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
    g = SCALARS[1][1]
    _close(AF.hessian(g(cr), _args(a, b)[0], vectorize=True, outer_jacobian_strategy=outer),
           TAF.hessian(g(torch), _args(a, b)[1], vectorize=True, outer_jacobian_strategy=outer))
    v = RNG.standard_normal(3)
    for ours, theirs in ((AF.hvp, TAF.hvp), (AF.vhp, TAF.vhp)):
        _close(ours(f(cr), cr.tensor(x), cr.tensor(v)), theirs(f(torch), torch.tensor(x),
                                                             torch.tensor(v)))
        va, vb = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
        _close(ours(g(cr), _args(a, b)[0], _args(va, vb)[0]),
               theirs(g(torch), _args(a, b)[1], _args(va, vb)[1]))


def test_hessian_default_loop_and_create_graph():
    x = RNG.standard_normal(3)
    f = SCALARS[0][1]
    _close(AF.hessian(f(cr), cr.tensor(x)), TAF.hessian(f(torch), torch.tensor(x)))
    # create_graph: the Jacobian is differentiable with respect to the inputs
    xc = cr.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    jc = AF.jacobian(lambda z: z.sin() * z.sum(), xc, create_graph=True, vectorize=True)
    jt = TAF.jacobian(lambda z: z.sin() * z.sum(), xt, create_graph=True, vectorize=True)
    assert jc.requires_grad
    (gc,) = cr.autograd.grad((jc * jc).sum(), xc)
    (gt,) = torch.autograd.grad((jt * jt).sum(), xt)
    _close(gc, gt)
    # without create_graph nothing requires grad
    assert not AF.jacobian(lambda z: z.sin(), xc).requires_grad


def test_strict_mode_and_independent_outputs():
    x = cr.tensor(RNG.standard_normal(3))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda a, b: a * 2, (x, x.clone()), strict=True)
    j = AF.jacobian(lambda a, b: a * 2, (x, x.clone()))
    np.testing.assert_array_equal(j[1]._array, np.zeros((3, 3)))
    with pytest.raises(RuntimeError, match="strict"):
        AF.vjp(lambda a: cr.ones(3, dtype=cr.float64), x, cr.ones(3, dtype=cr.float64),
               strict=True)


def test_jacobian_auto_and_plan():
    wide = lambda x: (x.unsqueeze(1) * x.unsqueeze(0)).reshape(-1)  # R^3 → R^9
    narrow = lambda x: (x * x).sum(0)  # R^{4x3} → R^3
    p = AF.jacobian_plan(wide, cr.ones(3))
    assert (p.inputs, p.outputs, p.strategy) == (3, 9, "forward-mode")
    assert p.forward_passes == 3 and p.reverse_passes == 9 and "3 input elements" in p.explanation
    q = AF.jacobian_plan(narrow, cr.ones(4, 3))
    assert (q.inputs, q.outputs, q.strategy) == (12, 3, "reverse-mode")
    x = RNG.standard_normal(3)
    _close(AF.jacobian(wide, cr.tensor(x), strategy="auto"),
           TAF.jacobian(wide, torch.tensor(x)))
    y = RNG.standard_normal((4, 3))
    _close(AF.jacobian(narrow, cr.tensor(y), strategy="auto"),
           TAF.jacobian(narrow, torch.tensor(y)))


def test_batched_grad_matches_torch_and_errors():
    x = cr.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    xt = torch.tensor(x._array, requires_grad=True)
    y, yt = (x.exp() @ cr.tensor(A.T)), (xt.exp() @ torch.tensor(A.T))
    v = RNG.standard_normal((5, 2, 4))
    (g,) = cr.autograd.grad(y, x, cr.tensor(v), is_grads_batched=True)
    (gt,) = torch.autograd.grad(yt, xt, torch.tensor(v), is_grads_batched=True)
    _close(g, gt)
    with pytest.raises(RuntimeError, match="is_grads_batched=True"):
        cr.autograd.grad(y, x, cr.tensor(v[:, :, :3]), is_grads_batched=True)
    # create_graph: the batched gradient is itself differentiable
    w = RNG.standard_normal((4, 2, 3))
    (g,) = cr.autograd.grad(x.sin() * x, x, cr.tensor(w), is_grads_batched=True, create_graph=True)
    (gt,) = torch.autograd.grad(xt.sin() * xt, xt, torch.tensor(w), is_grads_batched=True,
                                create_graph=True)
    _close(cr.autograd.grad((g * g).sum(), x)[0], torch.autograd.grad((gt * gt).sum(), xt)[0])


def test_errors_and_structure_as_torch():
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        AF.jacobian(lambda x: x, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="requires `vectorize=True`|vectorize=True"):
        AF.jacobian(lambda x: x, cr.ones(2), strategy="forward-mode")
    with pytest.raises(RuntimeError, match="v can only be None"):
        AF.vjp(lambda x: x * 2, cr.ones(2))
    out = AF.jacobian(lambda x, y: x + y, (cr.ones(2), cr.ones(2)))
    assert isinstance(out, tuple) and len(out) == 2 and tuple(out[0].shape) == (2, 2)
