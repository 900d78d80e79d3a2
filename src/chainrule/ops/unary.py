"""Rule-table rows: unary elementwise functions (exponentials, logs, trigonometry, special
functions, rounding, tests for nan/inf) and their ``chainrule.special`` aliases.

Rules of functions with a restricted domain (log, sqrt, asin, …) go through ``_nz``: where the
incoming gradient is exactly 0 the result is exactly 0, so that ``where(x > 0, sqrt(x), 0)`` at
x < 0 has gradient 0, not NaN (torch gives NaN there).
"""

from __future__ import annotations

import math

import numpy as np

from ._public import public
from . import special_fns as sf
from ._table import ELEMENTWISE, TABLE, defop
from .pointwise import _nz, _quiet, _w, _zeros

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_PI = math.pi


def _keep_int(f):
    """Rounding: integers are returned as they are (torch keeps their dtype)."""
    return lambda x: x if x.dtype.kind in "iub" else f(x)


def _zero(m, g, out, x, *a, **k):
    return _zeros(m, g)


# ---- exponentials and logarithms ---------------------------------------------------------------
defop("exp", lambda x: np.exp(x), lambda m, g, out, x: g * out, ELEMENTWISE, dtype="float",
      formula="d exp(u)/du = exp(u)")
defop("exp2", lambda x: np.exp2(x), lambda m, g, out, x: g * (out * _LN2), ELEMENTWISE,
      dtype="float", formula="d 2^u/du = 2^u·ln 2")
defop("expm1", lambda x: np.expm1(x), lambda m, g, out, x: g * (out + 1), ELEMENTWISE,
      dtype="float", formula="d (e^u − 1)/du = e^u")
defop("log", _quiet(lambda x: np.log(x)), lambda m, g, out, x: _nz(m, g, g / x), ELEMENTWISE,
      dtype="float", formula="d ln(u)/du = 1/u")
defop("log2", _quiet(lambda x: np.log2(x)), lambda m, g, out, x: _nz(m, g, g / (x * _LN2)),
      ELEMENTWISE, dtype="float", formula="d log₂(u)/du = 1/(u ln 2)")
defop("log10", _quiet(lambda x: np.log10(x)), lambda m, g, out, x: _nz(m, g, g / (x * _LN10)),
      ELEMENTWISE, dtype="float", formula="d log₁₀(u)/du = 1/(u ln 10)")
defop("log1p", _quiet(lambda x: np.log1p(x)), lambda m, g, out, x: _nz(m, g, g / (x + 1)),
      ELEMENTWISE, dtype="float", formula="d ln(1 + u)/du = 1/(1 + u)")
defop("sqrt", _quiet(lambda x: np.sqrt(x)), lambda m, g, out, x: _nz(m, g, g / (2 * out)),
      ELEMENTWISE, dtype="float", formula="d √u/du = 1/(2√u)")
defop("rsqrt", _quiet(lambda x: 1 / np.sqrt(x)),
      lambda m, g, out, x: _nz(m, g, g * (out * out * out * -0.5)), ELEMENTWISE, dtype="float",
      formula="d u^(−½)/du = −½·u^(−3/2)")
defop("square", lambda x: np.square(x), lambda m, g, out, x: g * (2 * x), ELEMENTWISE,
      formula="d u²/du = 2u")
defop("reciprocal", _quiet(lambda x: 1 / x), lambda m, g, out, x: _nz(m, g, g * -(out * out)),
      ELEMENTWISE, dtype="float", formula="d (1/u)/du = −1/u²")

# ---- sign and magnitude --------------------------------------------------------------------------
def _sign(x):
    if x.dtype == np.bool_:
        return x.copy()
    s = np.sign(x)
    if s.dtype.kind == "f" and s.size and np.isnan(np.add.reduce(s, None)):
        s = np.nan_to_num(s, nan=0.0, posinf=1.0, neginf=-1.0)  # torch: sign(NaN) = 0
    return s


defop("abs", lambda x: np.abs(x), lambda m, g, out, x: g * m.sign(x), ELEMENTWISE,
      formula="d |u|/du = sign(u)  (0 at u = 0 and at NaN, as torch)", dtype="nobool")
defop("sign", _sign, _zero, ELEMENTWISE,
      formula="d sign(u)/du = 0")

# ---- trigonometric and hyperbolic ----------------------------------------------------------------
defop("sin", lambda x: np.sin(x), lambda m, g, out, x: g * m.cos(x), ELEMENTWISE, dtype="float",
      formula="d sin(u)/du = cos(u)")
defop("cos", lambda x: np.cos(x), lambda m, g, out, x: -g * m.sin(x), ELEMENTWISE, dtype="float",
      formula="d cos(u)/du = −sin(u)")
defop("tan", lambda x: np.tan(x), lambda m, g, out, x: g * (1 + out * out), ELEMENTWISE,
      dtype="float", formula="d tan(u)/du = 1 + tan(u)²")
defop("asin", _quiet(lambda x: np.arcsin(x)),
      lambda m, g, out, x: _nz(m, g, g / m.sqrt(1 - x * x)), ELEMENTWISE, dtype="float",
      formula="d asin(u)/du = 1/√(1 − u²)")
defop("acos", _quiet(lambda x: np.arccos(x)),
      lambda m, g, out, x: _nz(m, g, -g / m.sqrt(1 - x * x)), ELEMENTWISE, dtype="float",
      formula="d acos(u)/du = −1/√(1 − u²)")
defop("atan", lambda x: np.arctan(x), lambda m, g, out, x: g / (1 + x * x), ELEMENTWISE,
      dtype="float", formula="d atan(u)/du = 1/(1 + u²)")
defop("sinh", lambda x: np.sinh(x), lambda m, g, out, x: g * m.cosh(x), ELEMENTWISE,
      dtype="float", formula="d sinh(u)/du = cosh(u)")
defop("cosh", lambda x: np.cosh(x), lambda m, g, out, x: g * m.sinh(x), ELEMENTWISE,
      dtype="float", formula="d cosh(u)/du = sinh(u)")
defop("tanh", lambda x: np.tanh(x), lambda m, g, out, x: g * (1 - out * out), ELEMENTWISE,
      dtype="float", formula="d tanh(u)/du = 1 − tanh(u)²")
defop("asinh", lambda x: np.arcsinh(x), lambda m, g, out, x: g / m.sqrt(x * x + 1), ELEMENTWISE,
      dtype="float", formula="d asinh(u)/du = 1/√(u² + 1)")
defop("acosh", _quiet(lambda x: np.arccosh(x)),
      lambda m, g, out, x: _nz(m, g, g / m.sqrt(x * x - 1)), ELEMENTWISE, dtype="float",
      formula="d acosh(u)/du = 1/√(u² − 1)")
defop("atanh", _quiet(lambda x: np.arctanh(x)),
      lambda m, g, out, x: _nz(m, g, g / (1 - x * x)), ELEMENTWISE, dtype="float",
      formula="d atanh(u)/du = 1/(1 − u²)")


def _sinc_dx(m, g, out, x):
    # (cos πu − sinc u)/u, and 0 at u = 0; the denominator is kept away from 0 so that no NaN
    # reaches the unselected branch under double backward
    xs = x + (x == 0)
    return g * ((m.cos(x * _PI) - out) / xs)


defop("sinc", _quiet(lambda x: np.sinc(x)), _sinc_dx, ELEMENTWISE, dtype="float",
      formula="d sinc(u)/du = (cos πu − sinc u)/u  (0 at 0)")


# ---- logistic ------------------------------------------------------------------------------------
def _sigmoid(x):
    # exp of −|x| never overflows; both branches share it
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


defop("sigmoid", _sigmoid, lambda m, g, out, x: g * (out * (1 - out)), ELEMENTWISE, dtype="float",
      formula="d σ(u)/du = σ(u)(1 − σ(u))")


def _logit(x, eps=None):
    if eps is not None:
        x = np.clip(x, eps, 1 - eps)
    with np.errstate(all="ignore"):
        return np.log(x / (1 - x))


def _logit_dx(m, g, out, x, eps=None):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = g / (x * (1 - x))
    if eps is not None:  # 0 outside [eps, 1 − eps] (the clamp's flat parts); NaN at NaN, as torch
        return _w(m, (x < eps) | (x > 1 - eps), 0.0, r)
    # outside [0, 1] logit is NaN, and so is its derivative (torch), not 1/(u(1 − u))
    return _nz(m, g, _w(m, (x < 0) | (x > 1), math.nan, r))


defop("logit", _logit, _logit_dx, ELEMENTWISE, dtype="float",
      formula="d logit(u)/du = 1/(u(1 − u))  (0 outside [ε, 1 − ε])")

# ---- special functions ---------------------------------------------------------------------------
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2

defop("erf", sf.erf, lambda m, g, out, x: g * (m.exp(-(x * x)) * _TWO_OVER_SQRT_PI), ELEMENTWISE,
      dtype="float", formula="d erf(u)/du = 2/√π·exp(−u²)")
defop("erfc", sf.erfc, lambda m, g, out, x: g * (m.exp(-(x * x)) * -_TWO_OVER_SQRT_PI),
      ELEMENTWISE, dtype="float", formula="d erfc(u)/du = −2/√π·exp(−u²)")
defop("erfinv", sf.erfinv,
      lambda m, g, out, x: _nz(m, g, g * (m.exp(out * out) * _SQRT_PI_OVER_TWO)), ELEMENTWISE,
      dtype="float", formula="d erfinv(u)/du = √π/2·exp(erfinv(u)²)")
defop("lgamma", sf.lgamma, lambda m, g, out, x: _nz(m, g, g * m.digamma(x)), ELEMENTWISE,
      dtype="float", formula="d ln|Γ(u)|/du = ψ(u)")
defop("digamma", sf.digamma, lambda m, g, out, x: _nz(m, g, g * m.polygamma(x, 1)), ELEMENTWISE,
      dtype="float", formula="d ψ(u)/du = ψ⁽¹⁾(u)")


def _polygamma(x, n):
    if int(n) != n or n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n (got n = {n}).")
    return sf.polygamma(int(n), x)


defop("polygamma", _polygamma, lambda m, g, out, x, n: _nz(m, g, g * m.polygamma(x, n + 1)),
      ELEMENTWISE, dtype="float", method=False, public=False,
      formula="d ψ⁽ⁿ⁾(u)/du = ψ⁽ⁿ⁺¹⁾(u)")


@public("polygamma", method=False, ns="special")
def polygamma(n: int, input):
    """ψ⁽ⁿ⁾(input), the n-th derivative of the digamma function.

    Example:
        >>> chainrule.polygamma(1, chainrule.tensor([1.0]))  # π²/6
        tensor([1.6449])
    """
    return _apply("polygamma", input, n)


@public("polygamma", function=False)
def _polygamma_method(self, n: int):
    return _apply("polygamma", self, n)


def _apply(name, *a, **k):
    from .._dispatch import apply

    return apply(TABLE[name], *a, **k)


# ---- rounding: zero gradient, as torch ---------------------------------------------------------
defop("floor", _keep_int(np.floor), _zero, ELEMENTWISE, formula="d floor(u)/du = 0", dtype="nobool")
defop("ceil", _keep_int(np.ceil), _zero, ELEMENTWISE, formula="d ceil(u)/du = 0", dtype="nobool")
defop("trunc", _keep_int(np.trunc), _zero, ELEMENTWISE, formula="d trunc(u)/du = 0", dtype="nobool")


def _round(x, decimals=0):
    if x.dtype.kind in "iub":
        return x
    return np.round(x, decimals)  # half to even, as torch


defop("round", _round, _zero, ELEMENTWISE, formula="d round(u)/du = 0", dtype="nobool")
defop("frac", lambda x: x - np.trunc(x), lambda m, g, out, x: g, ELEMENTWISE,
      formula="d (u − trunc u)/du = 1", dtype="floating")


@public("round")
def round(input, *, decimals: int = 0):
    """Round half to even, to ``decimals`` decimal places. Zero gradient, as torch."""
    return _apply("round", input, decimals=decimals)


# ---- nan and inf ---------------------------------------------------------------------------------
def _nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


defop("nan_to_num", _nan_to_num, lambda m, g, out, x, nan=0.0, posinf=None, neginf=None:
      g * m.isfinite(x), ELEMENTWISE, formula="d nan_to_num(u)/du = [u finite]")
defop("isnan", lambda x: np.isnan(x), dtype="bool")
defop("isinf", lambda x: np.isinf(x), dtype="bool")
defop("isfinite", lambda x: np.isfinite(x), dtype="bool")
defop("isposinf", lambda x: np.isposinf(x), dtype="bool")
defop("isneginf", lambda x: np.isneginf(x), dtype="bool")

# ---- chainrule.special: torch.special's names ----------------------------------------------------
for _name, _row in (("erf", "erf"), ("erfc", "erfc"), ("erfinv", "erfinv"), ("expit", "sigmoid"),
                    ("logit", "logit"), ("gammaln", "lgamma"), ("digamma", "digamma"),
                    ("psi", "digamma"), ("exp2", "exp2"), ("expm1", "expm1"), ("log1p", "log1p"),
                    ("sinc", "sinc"), ("round", "round")):
    public(_name, function=False, method=False, ns="special")(
        lambda *a, _r=_row, **k: _apply(_r, *a, **k))


@public("ndtr", function=False, method=False, ns="special")
def ndtr(input):
    """The standard normal CDF, ½·erfc(−x/√2)."""
    return _apply("erfc", input * -0.7071067811865476) * 0.5


# ---- NumPy-style aliases and small composites torch also has -------------------------------------
for _alias, _row in (("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan"),
                     ("arcsinh", "asinh"), ("arccosh", "acosh"), ("arctanh", "atanh"),
                     ("fix", "trunc"),
                     ("absolute", "abs"), ("sgn", "sign")):
    public(_alias)(lambda input, _r=_row: _apply(_r, input))

defop("signbit", lambda x: np.signbit(x), dtype="bool")


@public("deg2rad")
def deg2rad(input):
    """Degrees to radians."""
    return input * (_PI / 180)


@public("rad2deg")
def rad2deg(input):
    """Radians to degrees."""
    return input * (180 / _PI)


@public("float_power")
def float_power(input, exponent):
    """``input ** exponent`` computed in float64, as torch."""
    from .. import _dtype

    f64 = _dtype.float64
    a = input.to(f64) if hasattr(input, "to") else float(input)
    b = exponent.to(f64) if hasattr(exponent, "to") else float(exponent)
    return _apply("pow", a, b)


@public("multigammaln", function=False, method=False, ns="special")
def multigammaln(input, p: int):
    """log of the multivariate gamma function of dimension ``p``."""
    if bool(np.any(input._array <= (p - 1) / 2)):
        raise RuntimeError(f"All elements must be greater than (p-1)/2 (p = {p})")
    r = _apply("lgamma", input)
    for j in range(2, p + 1):
        r = r + _apply("lgamma", input + (1 - j) / 2)
    return r + p * (p - 1) / 4 * math.log(_PI)


public("mvlgamma")(lambda input, p: multigammaln(input, p))
