"""Rule-table rows: elementwise arithmetic and unary functions.

Each row: name, forward on arrays, backward rule per input, forward-mode rule. Gradients may keep
the broadcast shape; the engine sums them back to each input's shape.
"""

from __future__ import annotations

import math

import numpy as np

from . import public
from ._table import ELEMENTWISE, defop


def _quiet(f):
    """Forward that returns inf/nan silently, as torch does (log(0), 1/0, sqrt(-1))."""

    def fwd(*a, **k):
        with np.errstate(all="ignore"):
            return f(*a, **k)

    fwd.__signature__ = __import__("inspect").signature(f)
    return fwd


# ---- arithmetic ------------------------------------------------------------------------------
#     name    forward                                       backward per input
defop("add", lambda x, y, alpha=1: x + y if alpha == 1 else x + y * alpha,
      (lambda m, g, out, x, y, alpha=1: g,
       lambda m, g, out, x, y, alpha=1: g if alpha == 1 else g * alpha),
      ELEMENTWISE, nin=2, saves=(), saves_out=False, formula=("d(u + αv)/du = 1", "d(u + αv)/dv = α"))
defop("sub", lambda x, y, alpha=1: x - y if alpha == 1 else x - y * alpha,
      (lambda m, g, out, x, y, alpha=1: g,
       lambda m, g, out, x, y, alpha=1: -g if alpha == 1 else g * -alpha),
      ELEMENTWISE, nin=2, saves=(), saves_out=False, formula=("d(u − αv)/du = 1", "d(u − αv)/dv = −α"))
defop("mul", lambda x, y: x * y,
      (lambda m, g, out, x, y: g * y,
       lambda m, g, out, x, y: g * x),
      ELEMENTWISE, nin=2, formula=("d(u·v)/du = v", "d(u·v)/dv = u"))
defop("div", _quiet(lambda x, y: x / y),
      (lambda m, g, out, x, y: g / y,
       lambda m, g, out, x, y: -g * out / y),
      ELEMENTWISE, nin=2, dtype="float", formula=("d(u/v)/du = 1/v", "d(u/v)/dv = −u/v²"))
defop("neg", lambda x: -x, lambda m, g, out, x: -g, ELEMENTWISE, saves=(), saves_out=False,
      formula="d(−u)/du = −1")


def _pow_dx(m, g, out, x, y):
    if not hasattr(y, "shape"):  # Python scalar exponent
        return g * 0 if y == 0 else g * (y * x ** (y - 1))
    return m.where(y == 0, 0.0, g * (y * x ** (y - 1)))  # d/dx x^0 = 0 even at x = 0, as torch


def _pow_dy(m, g, out, x, y):
    if not hasattr(x, "shape"):  # Python scalar base
        return g * 0 if x == 0 else g * (out * math.log(x))
    # 0^y for y >= 0 has derivative 0 in y (torch's convention), not 0·log 0 = nan
    return m.where(m.logical_and(x == 0, y >= 0), 0.0, g * (out * m.log(x)))


defop("pow", _quiet(lambda x, y: np.power(x, y)), (_pow_dx, _pow_dy), ELEMENTWISE, nin=2,
      variant=lambda a, kw: 0 if not hasattr(a[1], "shape") else (2 if not hasattr(a[0], "shape") else 1),
      formula=("d(u^v)/du = v·u^(v−1)", "d(u^v)/dv = u^v·ln u"))

# ---- unary -----------------------------------------------------------------------------------
defop("exp", lambda x: np.exp(x), lambda m, g, out, x: g * out, ELEMENTWISE, dtype="float",
      formula="d exp(u)/du = exp(u)")
defop("log", _quiet(lambda x: np.log(x)), lambda m, g, out, x: g / x, ELEMENTWISE, dtype="float",
      formula="d ln(u)/du = 1/u")
defop("sqrt", _quiet(lambda x: np.sqrt(x)), lambda m, g, out, x: g / (2 * out), ELEMENTWISE,
      dtype="float", formula="d √u/du = 1/(2√u)")
defop("abs", lambda x: np.abs(x), lambda m, g, out, x: g * m.sign(x), ELEMENTWISE,
      formula="d |u|/du = sign(u)  (0 at u = 0)")
defop("sign", lambda x: np.sign(x), lambda m, g, out, x: g * 0, ELEMENTWISE,
      formula="d sign(u)/du = 0")
defop("sin", lambda x: np.sin(x), lambda m, g, out, x: g * m.cos(x), ELEMENTWISE, dtype="float",
      formula="d sin(u)/du = cos(u)")
defop("cos", lambda x: np.cos(x), lambda m, g, out, x: -g * m.sin(x), ELEMENTWISE, dtype="float",
      formula="d cos(u)/du = −sin(u)")
defop("tanh", lambda x: np.tanh(x), lambda m, g, out, x: g * (1 - out * out), ELEMENTWISE,
      dtype="float", formula="d tanh(u)/du = 1 − tanh(u)²")


def _sigmoid(x):
    # exp of −|x| never overflows; both branches share it
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


defop("sigmoid", _sigmoid, lambda m, g, out, x: g * (out * (1 - out)), ELEMENTWISE, dtype="float",
      formula="d σ(u)/du = σ(u)(1 − σ(u))")
defop("relu", lambda x: np.maximum(x, 0), lambda m, g, out, x: g * (out > 0), ELEMENTWISE,
      formula="d relu(u)/du = 1 if u > 0 else 0")


# ---- binary selections -------------------------------------------------------------------------
def _pick(first: bool):
    # ties share the gradient equally, as torch's maximum/minimum
    def rule(m, g, out, x, y):
        a, b = (x, y) if first else (y, x)
        return m.where(a == b, g * 0.5, g * (out == a))

    return rule


defop("maximum", lambda x, y: np.maximum(x, y), (_pick(True), _pick(False)), ELEMENTWISE, nin=2,
      formula=("d max(u,v)/du = [u > v] (½ at ties)", "d max(u,v)/dv = [v > u] (½ at ties)"))
defop("minimum", lambda x, y: np.minimum(x, y), (_pick(True), _pick(False)), ELEMENTWISE, nin=2,
      formula=("d min(u,v)/du = [u < v] (½ at ties)", "d min(u,v)/dv = [v < u] (½ at ties)"))


def _clamp_fwd(x, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    r = x
    if min is not None:
        r = np.maximum(r, min)
    if max is not None:
        r = np.minimum(r, max)
    return r


def _clamp_dx(m, g, out, x, min=None, max=None):
    if min is not None:
        g = g * (x >= min)
    return g if max is None else g * (x <= max)


def _clamp_dmin(m, g, out, x, min=None, max=None):
    g = g * (x < min)
    return g if max is None else g * (min <= max)  # when min > max the result is max


def _clamp_dmax(m, g, out, x, min=None, max=None):
    return g * ((x if min is None else m.maximum(x, min)) > max)


defop("clamp", _clamp_fwd, (_clamp_dx, _clamp_dmin, _clamp_dmax), ELEMENTWISE, nin=3,
      formula=("d clamp(u)/du = 1 if min ≤ u ≤ max else 0", "d clamp/dmin = [u < min]",
               "d clamp/dmax = [u > max]"))


@public("clamp")
def clamp(input, min=None, max=None):
    """Clamp ``input`` to [min, max]; bounds may be numbers or tensors. Gradient passes inside."""
    from .._dispatch import apply
    from ._table import TABLE

    return apply(TABLE["clamp"], input, min, max)


public("clip")(clamp)
