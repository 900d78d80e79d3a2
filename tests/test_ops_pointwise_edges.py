"""Edge conventions of the pointwise ops and activations, against torch: subgradients at kinks,
values at domain boundaries, integer semantics, special-function accuracy, and gradients that stay
NaN-free through an unselected ``where`` branch (where torch leaks NaN)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _grad(m, fn, xs, dtype="float64"):
    ts = [
        m.tensor(np.asarray(x, dtype=np.float64), dtype=getattr(m, dtype), requires_grad=True)
        for x in xs
    ]
    out = fn(m, *ts)
    (out.sum() if out.ndim else out).backward()
    return [t.grad.numpy() if m is torch else t.grad._array for t in ts], out


# ---- subgradients at kinks: the same choice as torch ----------------------------------------------
KINKS = [
    ("relu", lambda m, x: m.relu(x), [-1.0, 0.0, 1.0]),
    ("abs", lambda m, x: m.abs(x), [-1.0, 0.0, 1.0]),
    ("sign", lambda m, x: m.sign(x) * 3, [-1.0, 0.0, 1.0]),
    ("relu6", lambda m, x: m.nn.functional.relu6(x), [0.0, 6.0, 3.0, -1.0, 7.0]),
    ("leaky_relu", lambda m, x: m.nn.functional.leaky_relu(x, 0.1), [-1.0, 0.0, 1.0]),
    ("elu", lambda m, x: m.nn.functional.elu(x, 0.7), [-1.0, 0.0, 1.0]),
    ("selu", lambda m, x: m.nn.functional.selu(x), [-1.0, 0.0, 1.0]),
    ("celu", lambda m, x: m.nn.functional.celu(x, 2.0), [-1.0, 0.0, 1.0]),
    ("hardtanh", lambda m, x: m.nn.functional.hardtanh(x), [-1.0, 1.0, 0.0, -2.0, 2.0]),
    ("hardsigmoid", lambda m, x: m.nn.functional.hardsigmoid(x), [-3.0, 3.0, 0.0, -4.0, 4.0]),
    ("hardswish", lambda m, x: m.nn.functional.hardswish(x), [-3.0, 3.0, 0.0, -4.0, 4.0]),
    ("threshold", lambda m, x: m.nn.functional.threshold(x, 0.5, -1.0), [0.5, 0.4, 0.6]),
    ("softplus", lambda m, x: m.nn.functional.softplus(x, 2.0, 4.0), [2.0, 1.99, 2.01]),
    ("clamp", lambda m, x: m.clamp(x, -1.0, 1.0), [-1.0, 1.0, 0.0, 2.0]),
    ("floor", lambda m, x: m.floor(x), [1.0, 1.5, -0.5]),
    ("round", lambda m, x: m.round(x), [0.5, 1.5, 2.5]),
    ("trunc_frac", lambda m, x: m.trunc(x) + m.frac(x) * 2, [1.0, -1.5, 2.25]),
    (
        "copysign_zero",
        lambda m, x: m.copysign(x, m.tensor([-1.0, 1.0, -1.0], dtype=x.dtype)),
        [0.0, 0.0, 2.0],
    ),
    ("sqrt_at_0", lambda m, x: m.sqrt(x), [0.0, 1.0]),
    ("sinc_at_0", lambda m, x: m.sinc(x), [0.0, 0.5]),
    ("nan_to_num", lambda m, x: m.nan_to_num(x * 1.0), [float("nan"), float("inf"), 2.0]),
    ("logit_eps", lambda m, x: m.logit(x, eps=0.1), [0.1, 0.05, 0.9, 0.95, 0.5]),
    ("gelu_tanh", lambda m, x: m.nn.functional.gelu(x, approximate="tanh"), [0.0, -10.0, 10.0]),
]


@pytest.mark.parametrize("name,fn,xs", KINKS, ids=[k[0] for k in KINKS])
def test_kink_gradients_match_torch(name, fn, xs):
    (ours,), out = _grad(cr, fn, [xs])
    (theirs,), tout = _grad(torch, fn, [xs])
    np.testing.assert_allclose(out._array, tout.detach().numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(
        ours, theirs, rtol=1e-7, atol=0, err_msg=name
    )  # torch: 1/6 in float32


def test_binary_ties_match_torch():
    x, y = [1.0, 2.0, 3.0], [1.0, 1.0, 4.0]
    for fn in (
        lambda m, a, b: m.maximum(a, b),
        lambda m, a, b: m.minimum(a, b),
        lambda m, a, b: m.fmax(a, b),
        lambda m, a, b: m.fmin(a, b),
        lambda m, a, b: m.clamp(a, min=b),
        lambda m, a, b: m.clamp(a, max=b),
    ):
        ours, _ = _grad(cr, fn, [x, y])
        theirs, _ = _grad(torch, fn, [x, y])
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)


def test_fmax_nan_gradient_goes_to_the_number():
    x, y = [float("nan"), 1.0], [2.0, float("nan")]
    ours, out = _grad(cr, lambda m, a, b: m.fmax(a, b), [x, y])
    theirs, _tout = _grad(torch, lambda m, a, b: m.fmax(a, b), [x, y])
    np.testing.assert_array_equal(out._array, [2.0, 1.0])
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


# ---- no NaN through the branch `where` did not take ------------------------------------------------
# (op, x values; the first ones are outside the domain and masked out by `where(mask, op(x), 0)`)
DOMAIN = [
    ("sqrt", lambda m, x: m.sqrt(x), [-1.0, -4.0, 4.0]),
    ("rsqrt", lambda m, x: m.rsqrt(x), [-1.0, 0.0, 4.0]),
    ("log", lambda m, x: m.log(x), [-1.0, 0.0, 2.0]),
    ("log2", lambda m, x: m.log2(x), [-1.0, 0.0, 2.0]),
    ("log10", lambda m, x: m.log10(x), [-1.0, 0.0, 2.0]),
    ("log1p", lambda m, x: m.log1p(x), [-2.0, -1.0, 2.0]),
    ("reciprocal", lambda m, x: m.reciprocal(x), [0.0, 0.0, 2.0]),
    ("div", lambda m, x: 1.0 / x, [0.0, 0.0, 2.0]),
    ("asin", lambda m, x: m.asin(x), [2.0, -1.0, 0.5]),
    ("acos", lambda m, x: m.acos(x), [2.0, 1.0, 0.5]),
    ("acosh", lambda m, x: m.acosh(x), [0.5, 1.0, 2.0]),
    ("atanh", lambda m, x: m.atanh(x), [2.0, 1.0, 0.5]),
    ("logit", lambda m, x: m.logit(x), [-0.5, 0.0, 0.5]),
    ("erfinv", lambda m, x: m.erfinv(x), [1.0, 1.5, 0.5]),
    ("lgamma", lambda m, x: m.lgamma(x), [0.0, -1.0, 2.5]),
    ("digamma", lambda m, x: m.digamma(x), [0.0, 0.0, 2.5]),
    ("pow_half", lambda m, x: x**0.5, [-1.0, -2.0, 4.0]),
    ("pow_tensor", lambda m, x: m.pow(x, m.ones_like(x) * 1.5), [-1.0, -2.0, 4.0]),
    ("xlogy", lambda m, x: m.xlogy(m.ones_like(x), x), [-1.0, 0.0, 2.0]),
]


@pytest.mark.parametrize("name,fn,xs", DOMAIN, ids=[d[0] for d in DOMAIN])
def test_unselected_where_branch_does_not_leak_nan(name, fn, xs):
    mask = [False, False, True]

    def f(m, x):
        return m.where(m.tensor(mask), fn(m, x), m.zeros_like(x))

    (ours,), _ = _grad(cr, f, [xs])
    (theirs,), _ = _grad(torch, f, [xs])
    # torch leaks NaN from the branch that was not taken; we give exactly 0 there
    assert np.isnan(theirs[:2]).any(), f"{name}: torch no longer leaks NaN ({theirs})"
    np.testing.assert_array_equal(ours[:2], [0.0, 0.0])
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-8)  # torch trigamma: ~1e-10


def test_where_nan_free_in_double_backward_and_forward_mode():
    from chainrule.autograd import forward_ad as fwad

    x = cr.tensor([-1.0, 4.0], dtype=cr.float64, requires_grad=True)
    y = cr.where(x > 0, cr.sqrt(x), cr.zeros_like(x))
    (g,) = cr.autograd.grad(y.sum(), x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g._array, [0.0, 0.25])
    np.testing.assert_allclose(h._array, [0.0, -0.25 / 8])  # d/dx ½x^(−½) = −¼x^(−3/2)
    with fwad.dual_level():
        xd = fwad.make_dual(cr.tensor([-1.0, 4.0]), cr.tensor([1.0, 1.0]))
        t = fwad.unpack_dual(cr.where(xd > 0, cr.log(xd), cr.zeros_like(xd))).tangent
    np.testing.assert_allclose(t._array, [0.0, 0.25])


def test_domain_errors_still_propagate_where_the_gradient_is_nonzero():
    (g,), _ = _grad(cr, lambda m, x: m.sqrt(x), [[-1.0, 0.0]])
    (tg,), _ = _grad(torch, lambda m, x: m.sqrt(x), [[-1.0, 0.0]])
    np.testing.assert_array_equal(np.isnan(g), np.isnan(tg))
    assert g[1] == tg[1] == np.inf


# ---- integer semantics -------------------------------------------------------------------------
def test_integer_division_modes_match_torch():
    a = np.array([7, -7, 7, -7, 0, 5])
    b = np.array([2, 2, -2, -2, 3, -5])
    for mode in ("trunc", "floor"):
        ours = cr.div(cr.tensor(a), cr.tensor(b), rounding_mode=mode)
        theirs = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
        assert ours.dtype == cr.int64
        np.testing.assert_array_equal(ours._array, theirs.numpy())
    for op in (
        lambda m, x, y: x // y,
        lambda m, x, y: x % y,
        lambda m, x, y: m.fmod(x, y),
        lambda m, x, y: m.remainder(x, 3),
        lambda m, x, y: m.div(x, y),
    ):
        o, t = op(cr, cr.tensor(a), cr.tensor(b)), op(torch, torch.tensor(a), torch.tensor(b))
        assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_array_equal(o._array, t.numpy())


def test_integer_division_by_zero_raises_like_torch():
    for op in (
        lambda m, x, y: x // y,
        lambda m, x, y: x % y,
        lambda m, x, y: m.div(x, y, rounding_mode="trunc"),
    ):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            op(torch, torch.tensor([1, 2]), torch.tensor([1, 0]))
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            op(cr, cr.tensor([1, 2]), cr.tensor([1, 0]))


def test_float_remainder_has_python_sign_and_fmod_c_sign():
    x = np.array([5.5, -5.5, 5.5, -5.5])
    y = np.array([2.0, 2.0, -2.0, -2.0])
    np.testing.assert_array_equal((cr.tensor(x) % cr.tensor(y))._array, [1.5, 0.5, -0.5, -1.5])
    np.testing.assert_array_equal(cr.fmod(cr.tensor(x), cr.tensor(y))._array, [1.5, -1.5, 1.5, -1.5])
    np.testing.assert_array_equal(
        cr.div(cr.tensor(x), cr.tensor(y), rounding_mode="floor")._array, [2.0, -3.0, -3.0, 2.0]
    )


def test_xlogy_is_zero_where_x_is_zero_even_at_y_zero():
    x = cr.tensor([0.0, 0.0, 0.0, 2.0], dtype=cr.float64)
    y = cr.tensor([0.0, float("inf"), float("nan"), 3.0], dtype=cr.float64, requires_grad=True)
    out = cr.xlogy(x, y)
    tout = torch.xlogy(torch.tensor(x._array), torch.tensor(y._array))
    np.testing.assert_array_equal(out._array, tout.numpy())
    out.sum().backward()
    # x·log y ≡ 0 along x = 0: zero derivative in y (torch: NaN at y = 0)
    np.testing.assert_array_equal(y.grad._array, [0.0, 0.0, 0.0, 2.0 / 3.0])


def test_closeness_functions_match_torch():
    a = np.array([1.0, 2.0, np.nan, np.inf, -np.inf, 1e-9])
    b = np.array([1.0 + 1e-6, 2.1, np.nan, np.inf, np.inf, 0.0])
    for k in ({}, {"equal_nan": True}, {"rtol": 0.1}, {"atol": 1e-3}):
        np.testing.assert_array_equal(
            cr.isclose(cr.tensor(a), cr.tensor(b), **k)._array,
            torch.isclose(torch.tensor(a), torch.tensor(b), **k).numpy(),
        )
    assert cr.allclose(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0 + 1e-9])) is True
    assert cr.allclose(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.1])) is False
    assert cr.equal(cr.tensor([1, 2]), cr.tensor([1, 2])) is True
    assert cr.equal(cr.tensor([1, 2]), cr.tensor([[1, 2]])) is False
    assert cr.tensor([1.0]).equal(cr.tensor([1.0]))


# ---- special functions -------------------------------------------------------------------------
def _wide(rng):
    return np.concatenate(
        [
            rng.standard_normal(2000) * 3,
            rng.uniform(-40, 40, 2000),
            rng.uniform(1e-6, 1e-2, 100),
            [0.5, 1.0, 2.0, 3.0, 1e-8, 30.0, 170.0, 1e4],
        ]
    )


@pytest.mark.parametrize("name", ["erf", "erfc", "lgamma", "digamma"])
def test_special_functions_match_torch_to_1e10(name):
    x = _wide(np.random.default_rng(1))
    x = x[~((x <= 0) & (x == np.floor(x)))]  # not at the poles
    ours = getattr(cr, name)(cr.tensor(x))._array
    theirs = getattr(torch, name)(torch.tensor(x)).numpy()
    ok = np.isfinite(theirs)
    np.testing.assert_array_equal(np.isfinite(ours), ok)
    np.testing.assert_allclose(ours[ok], theirs[ok], rtol=1e-10, atol=1e-10)


def test_erfinv_matches_torch_and_inverts_erf():
    y = np.concatenate(
        [
            np.random.default_rng(2).uniform(-1, 1, 5000),
            1 - np.logspace(-15, -1, 30),
            [0.0, -0.5, 0.5, 1e-12],
        ]
    )
    ours = cr.erfinv(cr.tensor(y))._array
    np.testing.assert_allclose(ours, torch.erfinv(torch.tensor(y)).numpy(), rtol=1e-10, atol=1e-12)
    x = np.linspace(-3, 3, 61)
    np.testing.assert_allclose(cr.erfinv(cr.erf(cr.tensor(x)))._array, x, rtol=1e-9)
    np.testing.assert_array_equal(
        cr.erfinv(cr.tensor([1.0, -1.0, 1.5]))._array, [np.inf, -np.inf, np.nan]
    )


def test_special_functions_at_poles_and_infinities_match_torch():
    x = np.array([0.0, -0.0, -1.0, -2.0, np.inf, -np.inf, np.nan])
    for name in ("lgamma", "digamma", "erf", "erfc"):
        np.testing.assert_allclose(
            getattr(cr, name)(cr.tensor(x))._array,
            getattr(torch, name)(torch.tensor(x)).numpy(),
            rtol=1e-15,
            err_msg=name,
        )


def test_polygamma_closed_forms():
    # ψ⁽¹⁾(1) = π²/6, ψ⁽¹⁾(½) = π²/2, ψ⁽²⁾(1) = −2ζ(3), ψ⁽³⁾(1) = π⁴/15; ψ(1) = −γ
    zeta3 = 1.2020569031595942
    f64 = {"dtype": cr.float64}
    got = [
        cr.polygamma(1, cr.tensor([1.0, 0.5], **f64))._array,
        cr.polygamma(2, cr.tensor([1.0], **f64))._array,
        cr.polygamma(3, cr.tensor([1.0], **f64))._array,
        cr.digamma(cr.tensor([1.0], **f64))._array,
    ]
    want = [
        [math.pi**2 / 6, math.pi**2 / 2],
        [-2 * zeta3],
        [math.pi**4 / 15],
        [-0.5772156649015329],
    ]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-14)
    x = np.random.default_rng(3).uniform(0.1, 30, 500)
    np.testing.assert_allclose(
        cr.polygamma(2, cr.tensor(x))._array, torch.polygamma(2, torch.tensor(x)).numpy(), rtol=1e-10
    )


def test_digamma_double_backward_is_polygamma():
    x = cr.tensor([0.7, 3.0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(cr.lgamma(x).sum(), x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x, create_graph=True)
    (k,) = cr.autograd.grad(h.sum(), x)
    np.testing.assert_allclose(g._array, cr.digamma(x)._array)
    np.testing.assert_allclose(h._array, cr.polygamma(1, x)._array)
    np.testing.assert_allclose(k._array, cr.polygamma(2, x)._array)


def test_special_namespace_matches_torch_special():
    x = np.linspace(-2, 2, 9)
    for name in (
        "erf",
        "erfc",
        "expit",
        "gammaln",
        "digamma",
        "psi",
        "exp2",
        "expm1",
        "log1p",
        "sinc",
        "ndtr",
        "round",
    ):
        np.testing.assert_allclose(
            getattr(cr.special, name)(cr.tensor(x))._array,
            getattr(torch.special, name)(torch.tensor(x)).numpy(),
            rtol=1e-12,
            atol=1e-14,
            err_msg=name,
        )
    p = np.linspace(0.1, 0.9, 5)
    np.testing.assert_allclose(
        cr.special.logit(cr.tensor(p))._array, torch.special.logit(torch.tensor(p)).numpy()
    )
    np.testing.assert_allclose(
        cr.special.erfinv(cr.tensor(p))._array, torch.special.erfinv(torch.tensor(p)).numpy()
    )
    np.testing.assert_allclose(
        cr.special.xlogy(cr.tensor(p), cr.tensor(x[:5] + 3))._array,
        torch.special.xlogy(torch.tensor(p), torch.tensor(x[:5] + 3)).numpy(),
    )
    np.testing.assert_allclose(
        cr.special.polygamma(1, cr.tensor(p))._array,
        torch.special.polygamma(1, torch.tensor(p)).numpy(),
        rtol=1e-8,
    )


def test_activation_errors_and_functional_aliases():
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        F.glu(cr.randn(3, 3))
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(cr.randn(3), approximate="fast")
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
        F.prelu(cr.randn(2, 3), cr.tensor([0.1, 0.2]))
    x = np.linspace(-3, 3, 7)
    for name in ("relu", "sigmoid", "tanh", "silu", "mish", "softsign", "logsigmoid", "tanhshrink"):
        np.testing.assert_allclose(
            getattr(F, name)(cr.tensor(x))._array,
            getattr(TF, name)(torch.tensor(x)).numpy(),
            rtol=1e-12,
            atol=1e-15,
        )
    np.testing.assert_allclose(
        cr.selu(cr.tensor(x))._array, torch.selu(torch.tensor(x)).numpy(), rtol=1e-12
    )
    np.testing.assert_allclose(
        cr.celu(cr.tensor(x))._array, torch.celu(torch.tensor(x)).numpy(), rtol=1e-12
    )


def test_float32_stays_float32_with_python_scalars():
    x = cr.tensor([1.0, 2.0], dtype=cr.float32)
    for out in (
        cr.xlogy(x, 2.5),
        cr.special.xlog1py(x, 1.5),
        cr.lerp(x, x * 2, 0.3),
        cr.copysign(x, -1.0),
        cr.atan2(x, 2.0),
        cr.fmod(x, 1.5),
        x % 1.5,
        cr.erfinv(x / 4),
        cr.lgamma(x),
        cr.polygamma(1, x),
    ):
        assert out.dtype == cr.float32


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "selu", "celu", "relu6", "hardtanh",
                                  "silu", "hardswish", "hardsigmoid", "mish"])
def test_inplace_activations_write_into_input_and_backprop_like_torch(name):
    grads = []
    for m in (cr, torch):
        w = m.tensor([-1.0, 0.5, 2.0], dtype=m.float64, requires_grad=True)
        x = w * 1.0
        v = x._version
        y = getattr(m.nn.functional, name)(x, inplace=True)
        assert y is x and x._version > v
        (x * x).sum().backward()
        grads.append(w.grad.numpy() if m is torch else w.grad._array)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-7)  # torch hardsigmoid: 1/6 in float32
    leaf = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(F, name)(leaf, inplace=True)
