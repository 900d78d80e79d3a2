"""The numerical fallback: gradients by finite differences, within their own stated error bound."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special as sp

import chainrule as cr
from chainrule.autograd import NumericalDerivativeWarning, numerical
from chainrule.autograd import forward_ad as fwad

CASES = [
    # name, function, analytic derivative, sample points
    ("exp", np.exp, np.exp, np.linspace(-3, 3, 13)),
    ("sin", np.sin, np.cos, np.linspace(-4, 4, 17)),
    ("gammaln", sp.gammaln, sp.digamma, np.linspace(0.3, 12, 15)),
]


def f64(a, rg=True):
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


@pytest.mark.parametrize(("case", "method"), [
    (c, m) for c in CASES for m in ("central", "complex", "auto")
    if not (m == "complex" and c[1] is sp.gammaln)  # gammaln refuses complex input
], ids=lambda v: v[0] if isinstance(v, tuple) else v)
def test_gradient_within_stated_bound(case, method):
    name, fn, dfn, pts = case
    op = numerical(fn, method=method, elementwise=True)
    x = f64(pts)
    u = np.random.default_rng(0).standard_normal(pts.shape)  # a random cotangent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalDerivativeWarning)
        (op(x) * cr.tensor(u)).sum().backward()
    exact = u * dfn(pts)
    (bound,) = op.last_error
    err = np.abs(x.grad._array - exact)
    assert np.all(err <= bound), f"{name}: error {err.max():.3g} exceeds its bound"
    assert np.all(bound <= 1e-6 * (1 + np.abs(exact)))  # and the bound is tight enough to be useful
    expected = "central" if method == "central" or (method == "auto" and fn is sp.gammaln) \
        else "complex"
    assert op.last_method == expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_general_jacobian_path_matches_elementwise(case):
    """Without ``elementwise`` each element is perturbed on its own (a full Jacobian)."""
    _, fn, dfn, pts = case
    op = numerical(fn, method="central")
    x = f64(pts[:5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalDerivativeWarning)
        op(x).sum().backward()
    (bound,) = op.last_error
    assert np.all(np.abs(x.grad._array - dfn(pts[:5])) <= bound)


def test_warns_once_naming_op_method_and_step():
    op = numerical(sp.gammaln, elementwise=True)
    x = f64([1.5, 2.5])
    with pytest.warns(NumericalDerivativeWarning) as rec:
        op(x).sum().backward()
    msg = str(rec[0].message)
    h = np.cbrt(np.finfo(np.float64).eps) * 2.5
    assert "gammaln" in msg and "central differences" in msg and f"{h:.3g}" in msg
    assert rec[0].filename == __file__  # points at the user's line, not chainrule's
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        op(f64([3.0])).sum().backward()  # second time: silent


def test_non_elementwise_function_of_two_inputs_and_kwargs():
    def f(a, b, *, p):
        return np.array([np.sum(a ** p * b), np.prod(a)])

    op = numerical(f, name="mixed")
    a, b = np.array([0.5, 1.5, 2.0]), np.array([1.0, -2.0, 0.3])
    x, y = f64(a), f64(b)
    u = np.array([0.7, -1.3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalDerivativeWarning)
        out = op(x, y, p=3)
        np.testing.assert_allclose(out._array, f(a, b, p=3))
        (out * cr.tensor(u)).sum().backward()
    ga = u[0] * 3 * a ** 2 * b + u[1] * np.prod(a) / a
    gb = u[0] * a ** 3
    ea, eb = op.last_error
    assert np.all(np.abs(x.grad._array - ga) <= ea)
    assert np.all(np.abs(y.grad._array - gb) <= eb)
    assert type(out.grad_fn).__name__ == "MixedBackward"


def test_broadcasting_inputs_elementwise():
    op = numerical(lambda a, b: a * np.sin(b), method="central", elementwise=True)
    a = f64([[1.0], [2.0]])  # (2, 1)
    b = f64([0.1, 0.2, 0.3])  # (3,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalDerivativeWarning)
        op(a, b).sum().backward()
    np.testing.assert_allclose(a.grad._array, np.full((2, 1), np.sin([0.1, 0.2, 0.3]).sum()),
                               atol=1e-8)
    np.testing.assert_allclose(b.grad._array, 3 * np.cos([0.1, 0.2, 0.3]), atol=1e-8)


def test_float32_input_gives_float32_output_and_grad():
    op = numerical(np.exp, elementwise=True)
    x = cr.tensor([0.5, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalDerivativeWarning)
        y = op(x)
        y.sum().backward()
    assert y.dtype == cr.float32 and x.grad.dtype == cr.float32
    np.testing.assert_allclose(x.grad._array, np.exp([0.5, 1.0]), rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_forward_mode_within_bound(case):
    _, fn, dfn, pts = case
    op = numerical(fn, elementwise=True)
    x = f64(pts, rg=False)
    v = np.random.default_rng(1).standard_normal(pts.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalDerivativeWarning)
        with fwad.dual_level():
            t = fwad.unpack_dual(op(fwad.make_dual(x, cr.tensor(v)))).tangent
    (bound,) = op.last_jvp_error
    assert np.all(np.abs(t._array - dfn(pts) * v) <= bound)


def test_chain_with_analytic_ops():
    """The numerical op composes with table ops: d/dx gammaln(x^2) = 2x digamma(x^2)."""
    op = numerical(sp.gammaln, elementwise=True)
    x = f64([0.8, 1.7, 3.2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalDerivativeWarning)
        op(x * x).sum().backward()
    np.testing.assert_allclose(x.grad._array, 2 * x._array * sp.digamma(x._array ** 2), rtol=1e-8)


def test_decorator_form_and_bad_method():
    @numerical(method="central", elementwise=True)
    def cube(a):
        return a ** 3

    x = f64([2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalDerivativeWarning)
        cube(x).sum().backward()
    np.testing.assert_allclose(x.grad._array, [12.0], rtol=1e-9)
    with pytest.raises(ValueError, match="method must be"):
        numerical(np.exp, method="forward")


def test_two_outputs_reverse_and_forward():
    op = numerical(lambda a: (np.sin(a), a ** 2), name="sin_and_square", elementwise=True)
    x = f64([0.3, -1.1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalDerivativeWarning)
        s, q = op(x)
        (2 * s + 3 * q).sum().backward()
        np.testing.assert_allclose(x.grad._array, 2 * np.cos(x._array) + 6 * x._array, rtol=1e-12)
        with fwad.dual_level():
            ts = op(fwad.make_dual(x.detach(), cr.tensor([1.0, 2.0], dtype=cr.float64)))
            t0, t1 = (fwad.unpack_dual(t).tangent._array for t in ts)
    np.testing.assert_allclose(t0, np.cos(x._array) * [1.0, 2.0], rtol=1e-12)
    np.testing.assert_allclose(t1, 2 * x._array * [1.0, 2.0], rtol=1e-12)


def test_function_opt_in_forward_mode():
    class LogCosh(cr.autograd.Function):
        numerical = {"method": "central", "elementwise": True}

        @staticmethod
        def forward(ctx, x):
            return x.cosh().log()

    x = f64([0.2, 1.5], rg=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalDerivativeWarning)
        with fwad.dual_level():
            t = fwad.unpack_dual(LogCosh.apply(fwad.make_dual(x, cr.ones(2, dtype=cr.float64))))
    np.testing.assert_allclose(t.tangent._array, np.tanh(x._array), rtol=1e-8)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_second_derivative_within_nested_bound(case):
    name, fn, _, pts = case
    d2 = {"exp": np.exp, "sin": lambda t: -np.sin(t), "gammaln": lambda t: sp.polygamma(1, t)}[name]
    op = numerical(fn, elementwise=True)
    x = f64(pts[::3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalDerivativeWarning)
        (g,) = cr.autograd.grad(op(x).sum(), x, create_graph=True)
        (gg,) = cr.autograd.grad(g.sum(), x)
    (bound,) = op.vjp_op.last_error[-1:]  # d/dx of the vjp (the last input of the vjp op)
    err = np.abs(gg._array - d2(x._array))
    assert np.all(err <= bound), (err, bound)
    assert np.all(err <= 1e-4 * (1 + np.abs(d2(x._array))))
    with pytest.raises(RuntimeError, match="differentiate twice"):  # a third derivative
        (g3,) = cr.autograd.grad(op(x).sum(), x, create_graph=True)
        (g4,) = cr.autograd.grad(g3.sum(), x, create_graph=True)
        g4.sum().backward()
