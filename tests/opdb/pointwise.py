"""Op database: elementwise arithmetic and unary functions."""

import numpy as np
from op_db import OpInfo, S, away, pos, randn


def _binary(r):
    return [
        S(randn(r, 3, 4), randn(r, 3, 4)),
        S(randn(r, 3, 1, 4), randn(r, 4)),  # broadcasting
        S(randn(r, 2, 3), randn(r, 1, 3)),
        S(randn(r, 5), 2.5),  # Python scalar on the right
        S(1.5, randn(r, 5)),  # and on the left
        S(randn(r), randn(r, 3)),  # 0-dim with a vector
    ]


def _unary(gen):
    return lambda r: [S(np.asarray(gen(r, 3, 4))), S(np.asarray(gen(r, 5))), S(np.asarray(gen(r)))]


OPS = [
    OpInfo("add", lambda m, x, y: x + y, _binary, ref=np.add),
    OpInfo("add_alpha", lambda m, x, y: m.add(x, y, alpha=0.5), lambda r: [S(randn(r, 2, 3), randn(r, 3))],
           covers=("add",),
           error_inputs=[
               (lambda m: m.add(m.tensor([1, 2]), 0, alpha=0.5),
                RuntimeError, "argument alpha must not be a floating"),
               (lambda m: m.sin(np.ones(2)),
                TypeError, r"sin\(\): argument 'input' \(position 1\) must be Tensor"),
               (lambda m: m.tensor([True]) - 1.0, RuntimeError, "Subtraction, the `-` operator, with a bool tensor")]),
    OpInfo("sub", lambda m, x, y: x - y, _binary, ref=np.subtract),
    OpInfo("sub_alpha", lambda m, x, y: m.sub(x, y, alpha=2.0), lambda r: [S(randn(r, 2, 3), randn(r, 3))],
           covers=("sub",)),
    OpInfo("mul", lambda m, x, y: x * y, _binary, ref=np.multiply),
    OpInfo("div", lambda m, x, y: x / y,
           lambda r: [S(randn(r, 3, 4), away(r, 3, 4, gap=0.5)), S(randn(r, 3, 1, 4), away(r, 4, gap=0.5)),
                      S(randn(r, 5), 2.5), S(1.5, away(r, 5, gap=0.5))], ref=np.divide),
    OpInfo("neg", lambda m, x: -x, _unary(randn), ref=np.negative),
    OpInfo("pow_scalar", lambda m, x, p: x ** p,
           lambda r: [S(pos(r, 3, 4), 2.5), S(randn(r, 5), 2), S(randn(r, 5), 3), S(pos(r, 4), -1.5),
                      S(randn(r, 3), 0)],
           covers=("pow",), ref=np.power),
    OpInfo("rpow", lambda m, b, x: b ** x, lambda r: [S(2.0, randn(r, 3, 4)), S(0.5, randn(r, 5))],
           covers=("pow",), ref=np.power),
    OpInfo("pow_tensor", lambda m, x, y: x ** y,
           lambda r: [S(pos(r, 3, 4), randn(r, 3, 4)), S(pos(r, 2, 3), randn(r, 3))],
           covers=("pow",), ref=np.power),
    OpInfo("exp", lambda m, x: m.exp(x), _unary(randn), ref=np.exp),
    OpInfo("log", lambda m, x: m.log(x), _unary(pos), ref=np.log),
    OpInfo("sqrt", lambda m, x: m.sqrt(x), _unary(pos), ref=np.sqrt),
    OpInfo("abs", lambda m, x: m.abs(x), _unary(away), ref=np.abs),
    OpInfo("sign", lambda m, x: m.sign(x) * x, _unary(away), ref=lambda x: np.sign(x) * x),
    OpInfo("sin", lambda m, x: m.sin(x), _unary(randn), ref=np.sin),
    OpInfo("cos", lambda m, x: m.cos(x), _unary(randn), ref=np.cos),
    OpInfo("tanh", lambda m, x: m.tanh(x), _unary(randn), ref=np.tanh),
    OpInfo("sigmoid", lambda m, x: m.sigmoid(x),
           lambda r: [S(randn(r, 3, 4) * 3), S(np.array([-40.0, -1.0, 0.3, 40.0]))],
           ref=lambda x: 1 / (1 + np.exp(-x))),
    OpInfo("relu_toplevel", lambda m, x: m.relu(x), _unary(away), ref=lambda x: np.maximum(x, 0), covers=("relu",)),
    OpInfo("maximum", lambda m, x, y: m.maximum(x, y),
           lambda r: [S(randn(r, 3, 4), randn(r, 3, 4)), S(randn(r, 3, 1, 4), randn(r, 4))], ref=np.maximum),
    OpInfo("minimum", lambda m, x, y: m.minimum(x, y),
           lambda r: [S(randn(r, 3, 4), randn(r, 3, 4)), S(randn(r, 2, 3), randn(r, 1, 3))], ref=np.minimum),
    OpInfo("clamp", lambda m, x, **k: m.clamp(x, **k),
           lambda r: [S(away(r, 3, 4, gap=0.1) * 2, min=-0.5, max=0.5), S(randn(r, 6) + 3, min=0.0),
                      S(randn(r, 6) - 3, max=0.0)],
           ref=lambda x, min=None, max=None: np.clip(x, min, max)),
    OpInfo("clamp_tensor", lambda m, x, lo, hi: m.clamp(x, lo, hi),
           lambda r: [S(randn(r, 3, 4) * 2, randn(r, 4) - 1.5, randn(r, 3, 1) + 1.5)],
           covers=("clamp",)),
]


# ---- unary functions (ops/unary.py) --------------------------------------------------------------
def unit(r, *shape, lim=0.9):
    return np.asarray(r.uniform(-lim, lim, shape))


def frac_away(r, *shape):
    """Values kept away from integers and half-integers (rounding discontinuities)."""
    return np.asarray(r.integers(-4, 4, shape) + r.uniform(0.1, 0.4, shape) * r.choice([-1, 1], shape))


def gamma_args(r, *shape):
    """Positive values and negative non-integers (away from the poles)."""
    a = r.uniform(0.2, 6.0, shape)
    neg = r.integers(-4, 0, shape) + r.uniform(0.2, 0.8, shape)
    return np.asarray(np.where(r.random(shape) < 0.3, neg, a))


def _un(name, gen, ref=None, **kw):
    return OpInfo(name, lambda m, x, _n=name: getattr(m, _n)(x), _unary(gen), ref=ref, **kw)


OPS += [
    _un("exp2", randn, np.exp2),
    _un("expm1", randn, np.expm1),
    _un("log2", pos, np.log2),
    _un("log10", pos, np.log10),
    _un("log1p", lambda r, *s: pos(r, *s, low=-0.5, high=2.0), np.log1p),
    _un("rsqrt", pos, lambda x: 1 / np.sqrt(x)),
    _un("square", randn, np.square),
    _un("reciprocal", lambda r, *s: away(r, *s, gap=0.4), lambda x: 1 / x),
    _un("tan", unit, np.tan),
    _un("asin", unit, np.arcsin),
    _un("acos", unit, np.arccos),
    _un("atan", randn, np.arctan),
    _un("sinh", randn, np.sinh),
    _un("cosh", randn, np.cosh),
    _un("asinh", randn, np.arcsinh),
    _un("acosh", lambda r, *s: pos(r, *s, low=1.2, high=4.0), np.arccosh),
    _un("atanh", unit, np.arctanh),
    _un("sinc", lambda r, *s: away(r, *s, gap=0.1) * 2, np.sinc),
    _un("erf", lambda r, *s: randn(r, *s) * 1.5),
    _un("erfc", lambda r, *s: randn(r, *s) * 1.5),
    _un("erfinv", unit),
    _un("lgamma", gamma_args),
    _un("digamma", gamma_args),
    OpInfo("polygamma", lambda m, x, n: m.polygamma(n, x),
           lambda r: [S(gamma_args(r, 3, 4), 1), S(gamma_args(r, 5), 2), S(pos(r, 4), 3)]),
    OpInfo("logit", lambda m, x, **k: m.logit(x, **k),
           lambda r: [S(pos(r, 3, 4, low=0.05, high=0.95)), S(np.array([0.1, 0.3, 0.5, 0.7, 0.9]), eps=0.2)],
           ref=lambda x, eps=None: np.log(np.clip(x, eps or 0, 1 - (eps or 0)) / (1 - np.clip(x, eps or 0, 1 - (eps or 0))))),
    OpInfo("special_aliases", lambda m, x: (m.special.erf(x), m.special.expit(x), m.special.gammaln(x + 3),
                                            m.special.digamma(x + 3), m.special.erfinv(x / 4),
                                            m.special.logit(m.sigmoid(x)), m.special.ndtr(x)),
           lambda r: [S(randn(r, 3, 4))], covers=("erf", "sigmoid", "lgamma", "digamma", "erfinv", "logit")),
    _un("floor", frac_away, np.floor),
    _un("ceil", frac_away, np.ceil),
    _un("trunc", frac_away, np.trunc),
    _un("frac", frac_away, lambda x: x - np.trunc(x)),
    OpInfo("round", lambda m, x, **k: m.round(x, **k),
           lambda r: [S(frac_away(r, 3, 4)),
                      S(r.integers(-40, 40, (3, 4)) / 10 + 0.021, decimals=1),
                      S(r.integers(-4000, 4000, (5,)) / 100 + 0.0031, decimals=2)],
           ref=lambda x, decimals=0: np.round(x, decimals)),
    OpInfo("round_half_even", lambda m, x: m.round(x), lambda r: [S(np.array([0.5, 1.5, 2.5, -0.5, -1.5]))],
           grad="the inputs sit on round's jumps (x.5)", covers=("round",), ref=np.round),
    OpInfo("rounding_int", lambda m, x: (m.floor(x), m.ceil(x), m.trunc(x), m.round(x), m.square(x)),
           lambda r: [S(r.integers(-5, 5, (3, 4)))], grad="integer inputs",
           covers=("floor", "ceil", "trunc", "round", "square")),
    OpInfo("nan_to_num", lambda m, x, **k: m.nan_to_num(x, **k),
           lambda r: [S(np.array([1.0, np.nan, np.inf, -np.inf, -2.0])),
                      S(np.array([np.nan, np.inf, -np.inf, 0.5]), nan=1.5, posinf=9.0, neginf=-9.0)],
           ref=lambda x, **k: np.nan_to_num(x, **k)),
    OpInfo("isnan_isinf", lambda m, x: (m.isnan(x), m.isinf(x), m.isfinite(x), m.isposinf(x), m.isneginf(x)),
           lambda r: [S(np.array([1.0, np.nan, np.inf, -np.inf, 0.0]))], grad="boolean outputs",
           covers=("isnan", "isinf", "isfinite", "isposinf", "isneginf")),
]


# ---- binary functions --------------------------------------------------------------------------
def _pair(gx, gy):
    return lambda r: [S(gx(r, 3, 4), gy(r, 3, 4)), S(gx(r, 2, 1, 4), gy(r, 3, 1)), S(gx(r, 5), gy(r))]


OPS += [
    OpInfo("div_rounding", lambda m, x, y, mode: m.div(x, y, rounding_mode=mode),
           lambda r: [S(randn(r, 3, 4) * 3, away(r, 3, 4, gap=0.5), "trunc"),
                      S(randn(r, 3, 4) * 3, away(r, 4, gap=0.5), "floor"),
                      S(randn(r, 5) * 3, 0.7, "floor"), S(2.5, away(r, 5, gap=0.5), "trunc")],
           ref=lambda x, y, mode: np.trunc(x / y) if mode == "trunc" else np.floor_divide(x, y)),
    OpInfo("div_rounding_int", lambda m, x, y, mode: m.div(x, y, rounding_mode=mode),
           lambda r: [S(r.integers(-9, 9, (3, 4)), r.integers(1, 4, (3, 4)) * r.choice([-1, 1], (3, 4)), mode)
                      for mode in ("trunc", "floor")], grad="integer inputs", covers=("div_rounding",)),
    OpInfo("true_divide", lambda m, x, y: m.true_divide(x, y),
           lambda r: [S(r.integers(-9, 9, (3, 4)), r.integers(1, 4, (3, 4)))], grad="integer inputs",
           covers=("div",)),
    OpInfo("floor_divide", lambda m, x, y: (x // y, m.floor_divide(x, y)),
           lambda r: [S(randn(r, 3, 4) * 3, away(r, 3, 4, gap=0.5)), S(r.integers(-9, 9, (3, 4)),
                                                                          r.integers(1, 4, (4,)) * -1),
                      S(r.integers(-9, 9, (5,)), 3)],
           grad="piecewise constant (floor) and integer cases: no gradient to check"),
    OpInfo("remainder", lambda m, x, y: x % y,
           lambda r: [S(randn(r, 3, 4) * 3, away(r, 3, 4, gap=0.5)), S(randn(r, 3, 4) * 3, away(r, 4, gap=0.5)),
                      S(randn(r, 5) * 3, 1.3)], ref=np.remainder),
    OpInfo("remainder_int", lambda m, x, y: (x % y, m.fmod(x, y)),
           lambda r: [S(r.integers(-9, 9, (3, 4)), r.integers(1, 4, (3, 4)) * r.choice([-1, 1], (3, 4)))],
           grad="integer inputs", covers=("remainder", "fmod")),
    OpInfo("fmod", lambda m, x, y: m.fmod(x, y),
           lambda r: [S(randn(r, 3, 4) * 3, away(r, 3, 4, gap=0.5)), S(randn(r, 5) * 3, 1.3)], ref=np.fmod),
    OpInfo("atan2", lambda m, x, y: m.atan2(x, y), _pair(randn, away), ref=np.arctan2),
    OpInfo("arctan2", lambda m, x, y: m.arctan2(x, y), lambda r: [S(randn(r, 4), randn(r, 4))],
           covers=("atan2",)),
    OpInfo("hypot", lambda m, x, y: m.hypot(x, y), _pair(away, randn), ref=np.hypot),
    OpInfo("logaddexp", lambda m, x, y: m.logaddexp(x, y), _pair(randn, randn), ref=np.logaddexp),
    OpInfo("logaddexp2", lambda m, x, y: m.logaddexp2(x, y), _pair(randn, randn), ref=np.logaddexp2),
    OpInfo("xlogy", lambda m, x, y: m.xlogy(x, y),
           lambda r: [S(randn(r, 3, 4), pos(r, 3, 4)), S(randn(r, 2, 1, 4), pos(r, 3, 1)), S(randn(r, 5), 2.5),
                      S(np.array([0.0, 0.0, 1.0, 2.0]), np.array([0.5, 2.0, 3.0, 0.5]), nograd=(0,))],
           ref=lambda x, y: np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))),
    OpInfo("xlog1py", lambda m, x, y: m.special.xlog1py(x, y),
           lambda r: [S(randn(r, 3, 4), pos(r, 3, 4, low=-0.5)), S(randn(r, 5), 1.5)]),
    OpInfo("copysign", lambda m, x, y: m.copysign(x, y), _pair(away, away), ref=np.copysign),
    OpInfo("copysign_scalar", lambda m, x: m.copysign(x, -1.0), lambda r: [S(away(r, 5))], covers=("copysign",)),
    OpInfo("fmax", lambda m, x, y: m.fmax(x, y), _pair(randn, randn), ref=np.fmax),
    OpInfo("fmin", lambda m, x, y: m.fmin(x, y), _pair(randn, randn), ref=np.fmin),
    OpInfo("fmax_nan", lambda m, x, y: (m.fmax(x, y), m.fmin(x, y)),
           lambda r: [S(np.array([1.0, np.nan, 2.0, 3.0]), np.array([np.nan, 4.0, 2.0, -1.0]))],
           grad="NaN inputs: finite differences are NaN",
           covers=("fmax", "fmin")),
    OpInfo("lerp", lambda m, x, y, w: m.lerp(x, y, w),
           lambda r: [S(randn(r, 3, 4), randn(r, 3, 4), 0.3), S(randn(r, 3, 4), randn(r, 4), 0.8),
                      S(randn(r, 3, 4), randn(r, 3, 4), randn(r, 3, 4)), S(randn(r, 2, 3), randn(r, 3), randn(r, 2, 1))],
           ref=lambda x, y, w: x + w * (y - x)),
    OpInfo("addcmul", lambda m, x, a, b, **k: m.addcmul(x, a, b, **k),
           lambda r: [S(randn(r, 3, 4), randn(r, 3, 4), randn(r, 4)), S(randn(r, 3, 1), randn(r, 4), randn(r, 3, 4), value=-0.5)],
           ref=lambda x, a, b, value=1: x + value * a * b),
    OpInfo("addcdiv", lambda m, x, a, b, **k: m.addcdiv(x, a, b, **k),
           lambda r: [S(randn(r, 3, 4), randn(r, 3, 4), away(r, 4, gap=0.5)),
                      S(randn(r, 3, 1), randn(r, 4), away(r, 3, 4, gap=0.5), value=2.0)],
           ref=lambda x, a, b, value=1: x + value * a / b),
    OpInfo("isclose", lambda m, x, y, **k: m.isclose(x, y, **k),
           lambda r: [S(np.array([1.0, 2.0, np.nan, np.inf, 1e-9]), np.array([1.0 + 1e-6, 2.1, np.nan, np.inf, 0.0])),
                      S(np.array([1.0, np.nan]), np.array([1.05, np.nan]), rtol=0.1, equal_nan=True)],
           grad="boolean outputs"),
]

OPS += [
    OpInfo("numpy_aliases", lambda m, x: (m.arcsin(x), m.arccos(x), m.arctan(x), m.arcsinh(x), m.arctanh(x),
                                          m.arccosh(x + 2), m.fix(x * 3), m.absolute(x), m.sgn(x) * x),
           lambda r: [S(unit(r, 3, 4))], covers=("asin", "acos", "atan", "asinh", "atanh", "acosh", "abs")),
    OpInfo("deg_rad", lambda m, x: (m.deg2rad(x), m.rad2deg(x)), lambda r: [S(randn(r, 5) * 90)], covers=("mul",)),
    OpInfo("float_power", lambda m, x, y: m.float_power(x, y),
           lambda r: [S(pos(r, 3, 4), randn(r, 4)), S(pos(r, 5), 2.5)], covers=("pow",)),
    OpInfo("signbit", lambda m, x: m.signbit(x), lambda r: [S(np.array([-1.0, -0.0, 0.0, 2.0, -np.inf]))],
           grad="boolean outputs"),
    OpInfo("multigammaln", lambda m, x, p: m.special.multigammaln(x, p),
           lambda r: [S(pos(r, 3, 4, low=2.0, high=6.0), 3), S(pos(r, 5, low=1.0, high=3.0), 1)],
           covers=("lgamma",)),
]
OPS += [
    OpInfo("clamp_min_max", lambda m, x: (m.clamp_min(x, -0.5), x.clamp_max(0.5)),
           lambda r: [S(away(r, 3, 4) * 2)], covers=("clamp",)),
]
