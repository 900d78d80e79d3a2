"""Rule-table rows: activation functions (in ``chainrule.nn.functional``; those torch also has at
the top level are ``chainrule.<name>`` too).

Subgradients at the kinks follow torch: relu'(0) = 0, leaky_relu'(0) = slope, elu'(0) = α,
hardtanh and relu6 pass the gradient only strictly inside (min, max), hardswish'(−3) = 0 and
hardswish'(3) = 1.
``inplace=True`` writes the result into the input with ``copy_`` (version counter bumped).
"""

from __future__ import annotations

import math

import numpy as np

from ._public import public
from ._dtype_checks import floating
from ._table import ELEMENTWISE, TABLE, defop
from .pointwise import _w, _zero_where
from .unary import _sigmoid

_FN = "nn.functional"


def _apply(name, *a, **k):
    from .._dispatch import apply

    return apply(TABLE[name], *a, **k)


def _act(name, input, inplace, *args):
    """Run activation row ``name``; ``inplace=True`` writes the result into ``input`` (through
    ``copy_``, so versions and leaf checks are torch's; the rule reads a private clone)."""
    if not inplace:
        return _apply(name, input, *args)
    return input.copy_(_apply(name, input.clone(), *args))


def _softplus_np(x):
    return np.logaddexp(np.zeros((), x.dtype), x)


# ---- rectifiers ----------------------------------------------------------------------------------
# gradient 0 where out <= 0, so NaN passes its gradient through, as torch's threshold_backward
defop("relu", lambda x: np.maximum(x, 0), lambda m, g, out, x: _zero_where(m, out <= 0, g),
      ELEMENTWISE,
      formula="d relu(u)/du = 1 if u > 0 else 0", dtype="nobool")
defop("leaky_relu", lambda x, negative_slope=0.01: np.where(x > 0, x, x * negative_slope),
      lambda m, g, out, x, negative_slope=0.01: _w(m, x > 0, g, g * negative_slope),
      ELEMENTWISE, public=False, method=False,
      formula="d leaky_relu(u)/du = 1 if u > 0 else slope", dtype="floating")
defop("hardtanh", lambda x, min_val=-1.0, max_val=1.0: np.clip(x, min_val, max_val).astype(
      x.dtype, copy=False),
      lambda m, g, out, x, min_val=-1.0, max_val=1.0: g * ((x > min_val) & (x < max_val)),
      ELEMENTWISE, public=False, method=False,
      formula="d hardtanh(u)/du = 1 if min < u < max else 0", dtype="nobool")
defop("threshold", lambda x, threshold, value: np.where(x > threshold, x, value).astype(x.dtype),
      lambda m, g, out, x, threshold, value: g * (x > threshold), ELEMENTWISE, method=False,
      formula="d threshold(u)/du = 1 if u > threshold else 0", dtype="nobool")


# ---- exponential linear units (torch's elu with scale and input_scale serves selu and celu) -----
def _elu(x, alpha=1.0, scale=1.0, input_scale=1.0):
    with np.errstate(over="ignore"):
        neg = np.expm1(x * input_scale) * (alpha * scale)
    return np.where(x > 0, x * scale, neg).astype(x.dtype, copy=False)


def _elu_dx(m, g, out, x, alpha=1.0, scale=1.0, input_scale=1.0):
    return _w(m, x > 0, g * scale, g * (m.exp(x * input_scale) * (alpha * scale * input_scale)))


defop("elu", _elu, _elu_dx, ELEMENTWISE, public=False, method=False,
      formula="d elu(u)/du = scale if u > 0 else scale·α·s·exp(s·u)", dtype="floating")
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


# ---- smooth activations --------------------------------------------------------------------------
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _gelu(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
    if approximate != "none":
        raise RuntimeError(
            f"approximate argument must be either none or tanh (got {approximate!r})")
    from .special_fns import erf

    return 0.5 * x * (1 + erf(x * _INV_SQRT_2))


def _gelu_dx(m, g, out, x, approximate="none"):
    if approximate == "tanh":
        x2 = x * x
        t = m.tanh((x + 0.044715 * x2 * x) * _SQRT_2_OVER_PI)
        d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (_SQRT_2_OVER_PI * (1 + 0.134145 * x2))
        return g * d
    return g * (0.5 * (1 + m.erf(x * _INV_SQRT_2)) + x * m.exp(x * x * -0.5) * _INV_SQRT_2PI)


defop("gelu", _gelu, _gelu_dx, ELEMENTWISE, public=False, method=False,
      formula="d gelu(u)/du = Φ(u) + u·φ(u)", dtype="floating")
defop("silu", lambda x: x * _sigmoid(x),
      lambda m, g, out, x: g * (m.sigmoid(x) * (1 + x * (1 - m.sigmoid(x)))), ELEMENTWISE,
      public=False, method=False, formula="d u·σ(u)/du = σ(u)(1 + u(1 − σ(u)))", dtype="floating")


def _mish_dx(m, g, out, x):
    t = m.tanh(m.softplus(x))
    return g * (t + x * m.sigmoid(x) * (1 - t * t))


defop("mish", lambda x: x * np.tanh(_softplus_np(x)), _mish_dx, ELEMENTWISE, public=False,
      method=False, formula="d u·tanh(softplus u)/du = t + u·σ(u)(1 − t²)", dtype="floating")


def _softplus(x, beta=1.0, threshold=20.0):
    with np.errstate(over="ignore"):
        soft = _softplus_np(x * beta) / beta
    return np.where(x * beta > threshold, x, soft).astype(x.dtype, copy=False)


defop("softplus", _softplus, lambda m, g, out, x, beta=1.0, threshold=20.0:
      _w(m, x * beta > threshold, g, g * m.sigmoid(x * beta)), ELEMENTWISE, public=False,
      method=False, formula="d softplus(u)/du = σ(βu)  (1 above the threshold)", dtype="floating")
defop("softsign", lambda x: x / (1 + np.abs(x)),
      lambda m, g, out, x: g / ((1 + m.abs(x)) * (1 + m.abs(x))), ELEMENTWISE, public=False,
      method=False, formula="d u/(1 + |u|)/du = 1/(1 + |u|)²", dtype="float")
defop("logsigmoid", lambda x: np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))),
      lambda m, g, out, x: g * m.sigmoid(-x), ELEMENTWISE, public=False, method=False,
      formula="d log σ(u)/du = σ(−u)", dtype="floating")
defop("tanhshrink", lambda x: x - np.tanh(x), lambda m, g, out, x: g * (m.tanh(x) * m.tanh(x)),
      ELEMENTWISE, public=False, method=False, formula="d (u − tanh u)/du = tanh(u)²",
      dtype="float")

# ---- hard (piecewise linear) approximations -----------------------------------------------------
defop("hardsigmoid", lambda x: np.clip(x / 6 + 0.5, 0, 1).astype(x.dtype, copy=False),
      lambda m, g, out, x: g * ((x > -3) & (x < 3)) / 6, ELEMENTWISE, public=False, method=False,
      formula="d hardsigmoid(u)/du = 1/6 if −3 < u < 3 else 0", dtype="floating")
defop("hardswish", lambda x: x * np.clip(x + 3, 0, 6) / 6,
      lambda m, g, out, x: _w(m, x <= -3, 0.0, _w(m, x < 3, g * (x / 3 + 0.5), g)),
      ELEMENTWISE, public=False, method=False,
      formula="d hardswish(u)/du = 0 (u ≤ −3), u/3 + ½ (u < 3), 1", dtype="floating")


defop("hardshrink", lambda x, lambd=0.5: np.where(np.abs(x) > lambd, x, 0).astype(x.dtype),
      lambda m, g, out, x, lambd=0.5: g * ((x > lambd) | (x < -lambd)), ELEMENTWISE,
      formula="d hardshrink(u)/du = 1 if |u| > λ else 0", dtype="floating")
defop("softshrink", lambda x, lambd=0.5: (x - np.clip(x, -lambd, lambd)).astype(x.dtype),
      lambda m, g, out, x, lambd=0.5: g * ((x > lambd) | (x < -lambd)), ELEMENTWISE, public=False,
      method=False, formula="d softshrink(u)/du = 1 if |u| > λ else 0", dtype="floating")
public("hardshrink", function=False, method=False, ns=_FN)(
    lambda input, lambd=0.5: _apply("hardshrink", input, lambd))
public("softshrink", function=False, method=False, ns=_FN)(
    lambda input, lambd=0.5: _apply("softshrink", input, lambd))


# ---- public functions with torch's signatures ----------------------------------------------------
@public("relu", function=False, method=False, ns=_FN)
def relu(input, inplace: bool = False):
    """max(input, 0); gradient 0 at 0, as torch.

    Example:
        >>> chainrule.nn.functional.relu(chainrule.tensor([-1.0, 0.0, 2.0]))
        tensor([0., 0., 2.])
    """
    return _act("relu", input, inplace)


@public("relu6", function=False, method=False, ns=_FN)
def relu6(input, inplace: bool = False):
    """min(max(input, 0), 6) (torch's hardtanh(0, 6))."""
    return _act("hardtanh", input, inplace, 0.0, 6.0)


@public("leaky_relu", function=False, method=False, ns=_FN)
def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """input if input > 0 else negative_slope · input."""
    return _act("leaky_relu", input, inplace, negative_slope)


@public("hardtanh", function=False, method=False, ns=_FN)
def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """Clamp to [min_val, max_val]; the gradient passes strictly inside."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _act("hardtanh", input, inplace, min_val, max_val)


@public("threshold", method=False, ns=_FN)
def threshold(input, threshold: float, value: float, inplace: bool = False):
    """input if input > threshold else value."""
    return _act("threshold", input, inplace, threshold, value)


@public("elu", function=False, method=False, ns=_FN)
def elu(input, alpha: float = 1.0, inplace: bool = False):
    """input if input > 0 else α(exp(input) − 1)."""
    return _act("elu", input, inplace, alpha)


@public("selu", method=False, ns=_FN)
def selu(input, inplace: bool = False):
    """scale · elu(input, α) with the self-normalizing constants."""
    return _act("elu", input, inplace, _SELU_ALPHA, _SELU_SCALE)


@public("celu", method=False, ns=_FN)
def celu(input, alpha: float = 1.0, inplace: bool = False):
    """max(0, x) + min(0, α(exp(x/α) − 1))."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: celu with alpha = 0")
    return _act("elu", input, inplace, alpha, 1.0, 1.0 / alpha)


@public("gelu", function=False, method=False, ns=_FN)
def gelu(input, approximate: str = "none"):
    """x·Φ(x) (``approximate='tanh'``: torch's tanh approximation)."""
    return _apply("gelu", input, approximate)


def _fn(name, doc):
    def f(input, inplace: bool = False):
        return _act(name, input, inplace)

    f.__name__ = name
    f.__doc__ = doc
    public(name, function=False, method=False, ns=_FN)(f)


_fn("silu", "x·σ(x).")
_fn("mish", "x·tanh(softplus(x)).")
_fn("hardsigmoid", "clamp(x/6 + ½, 0, 1).")
_fn("hardswish", "x·clamp(x + 3, 0, 6)/6.")
public("softsign", function=False, method=False, ns=_FN)(lambda input: _apply("softsign", input))
for _n in ("logsigmoid", "tanhshrink"):
    public(_n, function=False, method=False, ns=_FN)(lambda input, _n=_n: _apply(_n, input))
public("sigmoid", function=False, method=False, ns=_FN)(lambda input: _apply("sigmoid", input))
public("tanh", function=False, method=False, ns=_FN)(lambda input: _apply("tanh", input))


@public("softplus", function=False, method=False, ns=_FN)
def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + exp(βx))/β, and x where βx > threshold."""
    return _apply("softplus", input, beta, threshold)


@public("glu", function=False, method=False, ns=_FN)
def glu(input, dim: int = -1):
    """a · σ(b), where a and b are the two halves of ``input`` along ``dim``."""
    from .._tensor import _wrap_dim

    floating("glu", input)
    d = _wrap_dim(dim, input.ndim, "glu")
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    lead = (slice(None),) * d
    a = input[lead + (slice(0, n // 2),)]
    b = input[lead + (slice(n // 2, n),)]
    return a * _apply("sigmoid", b)


@public("prelu", method=True, ns=_FN)
def prelu(input, weight):
    """input if input > 0 else weight · input; ``weight``: 1 element or one per channel (dim 1)."""
    floating("prelu", input)
    from .indexing import where

    k = weight.numel()
    if k != 1:
        c = input.shape[1] if input.ndim >= 2 else (input.shape[0] if input.ndim else 1)
        if k != c:
            raise RuntimeError(
                f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                f"{k} and channel size = {c}.")
        if input.ndim >= 2:
            weight = weight.reshape((k,) + (1,) * (input.ndim - 2))
    return where(input > 0, input, weight * input)
