"""Forward-mode AD: dual levels, nesting, forward over reverse, reverse over forward, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfwad

import chainrule as cr
from chainrule.autograd import forward_ad as fwad
from chainrule.ops import TABLE

D = cr.float64


def test_make_unpack_dual_and_torch_values():
    x = np.array([0.3, -1.2, 2.0])
    v = np.array([1.0, 0.5, -2.0])
    f = lambda m, a: (a.sin() * a.exp()).sum() * a
    with fwad.dual_level():
        d = fwad.make_dual(cr.tensor(x), cr.tensor(v))
        out = fwad.unpack_dual(f(cr, d))
    with tfwad.dual_level():
        td = tfwad.make_dual(torch.tensor(x), torch.tensor(v))
        tout = tfwad.unpack_dual(f(torch, td))
    np.testing.assert_allclose(out.primal._array, tout.primal.numpy(), rtol=1e-14)
    np.testing.assert_allclose(out.tangent._array, tout.tangent.numpy(), rtol=1e-13)
    assert out._fields == ("primal", "tangent")
    assert fwad.unpack_dual(out.primal).tangent is None


def test_tangents_are_dropped_when_the_level_exits():
    with fwad.dual_level():
        d = fwad.make_dual(cr.tensor([1.0], dtype=D), cr.tensor([2.0], dtype=D))
        y = d * 3
        assert fwad.unpack_dual(y).tangent is not None
    with fwad.dual_level():  # a new level never sees the old level's tangents
        assert fwad.unpack_dual(y).tangent is None
        assert fwad.unpack_dual(y * 2).tangent is None


def test_nested_levels_give_second_derivatives_without_confusion():
    """Tangent arithmetic of the inner level carries the outer level's tangent."""
    x0 = 0.4
    with fwad.dual_level() as outer:
        x = fwad.make_dual(cr.tensor(x0, dtype=D), cr.tensor(1.0, dtype=D), level=outer)
        with fwad.dual_level() as inner:
            y = fwad.make_dual(x, cr.tensor(1.0, dtype=D), level=inner)
            out = y.sin() * y
            t_inner = fwad.unpack_dual(out, level=inner).tangent  # d/dx (x sin x)
        second = fwad.unpack_dual(t_inner, level=outer).tangent
        first = fwad.unpack_dual(out, level=outer).tangent
    assert float(t_inner._array) == pytest.approx(np.sin(x0) + x0 * np.cos(x0), rel=1e-14)
    assert float(second._array) == pytest.approx(2 * np.cos(x0) - x0 * np.sin(x0), rel=1e-14)
    assert float(first._array) == pytest.approx(np.sin(x0) + x0 * np.cos(x0), rel=1e-14)
    # perturbation confusion: d/dx [x · d/dy (x + y)] = 1 (not 2)
    with fwad.dual_level() as lo:
        x = fwad.make_dual(cr.tensor(1.0, dtype=D), cr.tensor(1.0, dtype=D), level=lo)
        with fwad.dual_level() as li:
            y = fwad.make_dual(cr.tensor(1.0, dtype=D), cr.tensor(1.0, dtype=D), level=li)
            inner = fwad.unpack_dual(x + y, level=li).tangent
        r = fwad.unpack_dual(x * inner, level=lo).tangent
    assert float(r._array) == 1.0


def test_forward_over_reverse_hessian_vector_product():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 3))
    x0, v = rng.standard_normal(3), rng.standard_normal(3)
    xs = cr.tensor(x0, requires_grad=True)
    with fwad.dual_level():
        x = fwad.make_dual(xs, cr.tensor(v))
        f = cr.tanh(cr.tensor(A) @ x).pow(2).sum() + (x.exp() * x).sum()
        (g,) = cr.autograd.grad(f, x, create_graph=True)
        hv = fwad.unpack_dual(g).tangent
    xt = torch.tensor(x0, requires_grad=True)
    ft = lambda z: torch.tanh(torch.tensor(A) @ z).pow(2).sum() + (z.exp() * z).sum()
    _, want = torch.autograd.functional.hvp(ft, xt, torch.tensor(v))
    np.testing.assert_allclose(hv._array, want.numpy(), rtol=1e-12)


def test_reverse_over_forward_tangent_requires_grad():
    """The tangent is an ordinary Tensor: differentiate J·v with respect to v and x."""
    x0 = np.array([0.2, 0.9])
    xs = cr.tensor(x0, requires_grad=True)
    v = cr.tensor([1.0, -1.0], dtype=D, requires_grad=True)
    with fwad.dual_level():
        x = fwad.make_dual(xs, v)
        t = fwad.unpack_dual((x ** 3).sum()).tangent  # Σ 3x² v
    assert t.requires_grad
    gx, gv = cr.autograd.grad(t, (xs, v))
    np.testing.assert_allclose(gv._array, 3 * x0 ** 2, rtol=1e-14)
    np.testing.assert_allclose(gx._array, 6 * x0 * np.array([1.0, -1.0]), rtol=1e-14)


def test_errors():
    with pytest.raises(RuntimeError, match="dual_level"):
        fwad.make_dual(cr.ones(2), cr.ones(2))
    with fwad.dual_level():
        with pytest.raises(RuntimeError, match="same shape"):
            fwad.make_dual(cr.ones(2), cr.ones(3))
        with pytest.raises(ValueError, match="floating point"):
            fwad.make_dual(cr.tensor([1, 2]), cr.ones(2))


def test_op_without_forward_rule_raises_naming_it(monkeypatch):
    op = TABLE["sin"]
    monkeypatch.setattr(op, "jvp", None)
    with fwad.dual_level():
        d = fwad.make_dual(cr.ones(2, dtype=D), cr.ones(2, dtype=D))
        with pytest.raises(NotImplementedError, match="forward AD with sin"):
            d.sin()
