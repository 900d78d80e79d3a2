"""Rule-table rows: elementwise arithmetic and unary functions.

Each row: name, forward on arrays, backward rule per input, forward-mode rule. Gradients may keep
the broadcast shape; the engine sums them back to each input's shape.
"""

from __future__ import annotations

import math

import numpy as np

from ._public import public
from ._table import ELEMENTWISE, TABLE, A, defop


def _quiet(f):
    """Forward that returns inf/nan silently, as torch does (log(0), 1/0, sqrt(-1))."""

    def fwd(*a, **k):
        with np.errstate(all="ignore"):
            return f(*a, **k)

    fwd.__signature__ = __import__("inspect").signature(f)
    return fwd


def _nz(m, g, r):
    """``r``, but exactly 0 wherever the incoming gradient ``g`` is 0.

    Rules of ops with a restricted domain return it, so that a NaN or inf derivative outside the
    domain does not leak through a ``where`` branch that was not taken (0 · inf = NaN). On arrays
    the check is one reduction; the masking only runs when a NaN is present.
    """
    if m is A:
        if type(r) is np.ndarray and r.dtype.kind == "f" and math.isnan(np.add.reduce(r, None)):
            return np.where(g == 0, r.dtype.type(0), r)
        if isinstance(r, np.floating) and np.isnan(r) and g == 0:
            return r.dtype.type(0)
        return r
    return m.where(g == 0, 0.0, r)


def _zeros(m, g):
    """An exact zero gradient shaped like ``g`` (``g * 0`` is NaN where ``g`` is NaN or inf; torch
    returns zeros for piecewise-constant ops)."""
    if m is A:
        return np.zeros_like(g)
    from .._tensor import _make

    return _make(np.zeros_like(g._array))


def _w(m, c, a, b):
    """``where`` inside rules: plain np.where on arrays (0-d conditions included)."""
    return np.where(c, a, b) if m is A else m.where(c, a, b)


def _zero_where(m, c, g):
    """An exact 0 where ``c``, ``g`` elsewhere (torch's threshold_backward: a NaN gradient at a
    masked position gives 0). On arrays ``g * ~c`` is ~10x faster than ``np.where`` with a mixed
    mask and equal unless ``g`` holds NaN/inf; only then is the where needed."""
    if m is not A:
        return m.where(c, 0.0, g)
    r = g * ~c
    return r if np.isfinite(r).all() else np.where(c, 0.0, g).astype(r.dtype, copy=False)


# ---- arithmetic ------------------------------------------------------------------------------
def _integral(x, y) -> bool:
    """Whether ``x op y`` has an integral (or bool) result: promoted inputs, Python numbers."""
    for a in (x, y):
        if isinstance(a, float) or (isinstance(a, np.ndarray) and a.dtype.kind == "f"):
            return False
    return True


def _scaled(y, alpha, x):
    if isinstance(alpha, bool) and not all(
            isinstance(a, bool) or getattr(a, "dtype", None) == np.bool_ for a in (x, y)):
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if isinstance(alpha, bool):  # bool · bool stays bool (Python's True * True is 1)
        return np.logical_and(y, alpha)
    if isinstance(alpha, float) and _integral(x, y):
        raise RuntimeError(
            "For integral input tensors, argument alpha must not be a floating point number.")
    return y * alpha


def _add(x, y, alpha=1):
    return x + y if alpha == 1 and alpha is not True else x + _scaled(y, alpha, x)


def _sub(x, y, alpha=1):
    return x - y if alpha == 1 and alpha is not True else x - _scaled(y, alpha, x)


#     name    forward                                       backward per input
defop("add", _add,
      (lambda m, g, out, x, y, alpha=1: g,
       lambda m, g, out, x, y, alpha=1: g if alpha == 1 else g * alpha),
      ELEMENTWISE, nin=2, saves=(), saves_out=False,
      formula=("d(u + αv)/du = 1", "d(u + αv)/dv = α"))
defop("sub", _sub,
      (lambda m, g, out, x, y, alpha=1: g,
       lambda m, g, out, x, y, alpha=1: -g if alpha == 1 else g * -alpha),
      ELEMENTWISE, nin=2, saves=(), saves_out=False,
      formula=("d(u − αv)/du = 1", "d(u − αv)/dv = −α"), dtype="nobool")
defop("mul", lambda x, y: x * y,
      (lambda m, g, out, x, y: g * y,
       lambda m, g, out, x, y: g * x),
      ELEMENTWISE, nin=2, formula=("d(u·v)/du = v", "d(u·v)/dv = u"))
defop("div", _quiet(lambda x, y: x / y),
      (lambda m, g, out, x, y: _nz(m, g, g / y),
       lambda m, g, out, x, y: _nz(m, g, -g * out / y)),
      ELEMENTWISE, nin=2, dtype="float", formula=("d(u/v)/du = 1/v", "d(u/v)/dv = −u/v²"))
defop("neg", lambda x: -x, lambda m, g, out, x: -g, ELEMENTWISE, saves=(), saves_out=False,
      formula="d(−u)/du = −1", dtype="nobool")


def _pow_dx(m, g, out, x, y):
    if not hasattr(y, "shape"):  # Python scalar exponent
        return g * 0 if y == 0 else _nz(m, g, g * (y * x ** (y - 1)))
    # d/dx x^0 = 0 even at x = 0, as torch
    return _nz(m, g, _w(m, y == 0, 0.0, g * (y * x ** (y - 1))))


def _pow_dy(m, g, out, x, y):
    if not hasattr(x, "shape"):  # Python scalar base
        if x == 0:
            return g * 0
        # a negative base has no real logarithm: NaN, as torch (math.log would raise)
        return _nz(m, g, g * (out * (math.log(x) if x > 0 else math.nan)))
    # 0^y for y >= 0 has derivative 0 in y (torch's convention), not 0·log 0 = nan
    return _nz(m, g, _w(m, m.logical_and(x == 0, y >= 0), 0.0, g * (out * m.log(x))))


def _pow(x, y):
    if type(y) is int and y < 0 and isinstance(x, np.ndarray) and x.dtype.kind in "iu":
        # torch refuses it whatever the size (NumPy only when there is an element to compute)
        raise ValueError("Integers to negative integer powers are not allowed.")
    if (isinstance(y, np.ndarray) and y.dtype.kind in "iu" and isinstance(x, np.ndarray)
            and x.dtype.kind in "iu" and (y < 0).any()):
        # torch's integer power of a tensor exponent: x^-n is 1/x^n truncated (0 unless |x| = 1)
        neg = y < 0
        r = np.power(x, np.where(neg, 0, y))
        inv = np.where(x == 1, 1, np.where(x == -1, np.where(y % 2 == 0, 1, -1), 0))
        return np.where(neg, inv, r).astype(r.dtype, copy=False)
    return np.power(x, y)


defop("pow", _quiet(_pow), (_pow_dx, _pow_dy), ELEMENTWISE, nin=2,
      variant=lambda a, kw: (0 if not hasattr(a[1], "shape")
                             else (2 if not hasattr(a[0], "shape") else 1)),
      formula=("d(u^v)/du = v·u^(v−1)", "d(u^v)/dv = u^v·ln u"), dtype="nobool_result")

# ---- binary selections -------------------------------------------------------------------------
def _pick(first: bool):
    # ties share the gradient equally, as torch's maximum/minimum
    def rule(m, g, out, x, y):
        a, b = (x, y) if first else (y, x)
        return _w(m, a == b, g * 0.5, g * (out == a))

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


def _apply(name, *a, **k):
    from .._dispatch import apply

    return apply(TABLE[name], *a, **k)


# ---- division with rounding, floor division, remainders ------------------------------------------
def _int_zero_check(x, y, name):
    if isinstance(y, (np.ndarray, int)) and np.asarray(y).dtype.kind in "iub" and \
            np.asarray(x).dtype.kind in "iub" and np.any(np.asarray(y) == 0) and \
            np.size(x) and np.size(y):  # an empty result divides nothing (torch returns it)
        raise RuntimeError(f"ZeroDivisionError ({name}: integer division by zero)")


def _div_rounding(x, y, rounding_mode):
    _int_zero_check(x, y, "div")
    ints = np.asarray(x).dtype.kind in "iub" and np.asarray(y).dtype.kind in "iub"
    if rounding_mode == "floor":
        with np.errstate(all="ignore"):
            return np.floor_divide(x, y)
    if rounding_mode != "trunc":
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                         f"found '{rounding_mode}'")
    if ints:
        q = np.abs(x) // np.abs(y)
        return np.where((np.asarray(x) < 0) != (np.asarray(y) < 0), -q, q)
    with np.errstate(all="ignore"):
        return np.trunc(np.true_divide(x, y))


def _zero2(m, g, out, x, y, rounding_mode):
    return _zeros(m, g)


defop("div_rounding", _div_rounding, (_zero2, _zero2), ELEMENTWISE, nin=2, cls="Div", method=False,
      public=False, variant=lambda a, kw: 2, formula=("rounded division: zero gradient", ""))


@public("div")
def div(input, other, *, rounding_mode: str | None = None):
    """``input / other``; with ``rounding_mode`` 'trunc' or 'floor' the quotient is rounded (and
    stays an integer for integer inputs), with zero gradient, as torch.

    Example:
        >>> chainrule.div(chainrule.tensor([7, -7]), 2, rounding_mode="floor")
        tensor([ 3, -4])
    """
    if rounding_mode is None:
        return _apply("div", input, other)
    return _apply("div_rounding", input, other, rounding_mode)


public("divide")(div)
public("true_divide")(lambda input, other: _apply("div", input, other))


def _floor_divide(x, y):
    _int_zero_check(x, y, "floor_divide")
    with np.errstate(all="ignore"):
        return np.floor_divide(x, y)


# torch defines no derivative for floor_divide
defop("floor_divide", _floor_divide, nin=2)


def _remainder(x, y):
    _int_zero_check(x, y, "remainder")
    with np.errstate(all="ignore"):
        return np.remainder(x, y)


def _fmod(x, y):
    _int_zero_check(x, y, "fmod")
    with np.errstate(all="ignore"):
        return np.fmod(x, y)


defop("remainder", _remainder,
      (lambda m, g, out, x, y: g, lambda m, g, out, x, y: -g * m.div_rounding(x, y, "floor")),
      ELEMENTWISE, nin=2, formula=("d (u mod v)/du = 1", "d (u mod v)/dv = −floor(u/v)"),
      dtype="nobool_result")
defop("fmod", _fmod,
      (lambda m, g, out, x, y: g, lambda m, g, out, x, y: -g * m.div_rounding(x, y, "trunc")),
      ELEMENTWISE, nin=2, formula=("d fmod(u, v)/du = 1", "d fmod(u, v)/dv = −trunc(u/v)"),
      dtype="nobool_result")

# ---- two-argument functions ----------------------------------------------------------------------
def _atan2_d(m, g, x, y, num):
    # at the origin atan2 has no derivative: 0 there, as torch (not 0/0 = NaN in the weights)
    d = x * x + y * y
    with np.errstate(divide="ignore", invalid="ignore"):
        return _nz(m, g, _w(m, d == 0, 0.0, g * num / d))


defop("atan2", _quiet(lambda x, y: np.arctan2(x, y)),
      (lambda m, g, out, x, y: _atan2_d(m, g, x, y, y),
       lambda m, g, out, x, y: _atan2_d(m, g, x, y, -x)),
      ELEMENTWISE, nin=2, dtype="float",
      formula=("d atan2(u, v)/du = v/(u² + v²)", "d atan2(u, v)/dv = −u/(u² + v²)"))
public("arctan2")(lambda input, other: _apply("atan2", input, other))
defop("hypot", lambda x, y: np.hypot(x, y),
      (lambda m, g, out, x, y: _nz(m, g, g * x / out),
       lambda m, g, out, x, y: _nz(m, g, g * y / out)),
      ELEMENTWISE, nin=2, formula=("d hypot(u, v)/du = u/hypot", "d hypot(u, v)/dv = v/hypot"),
      dtype="floating")
defop("logaddexp", lambda x, y: np.logaddexp(x, y),
      (lambda m, g, out, x, y: g * m.exp(x - out), lambda m, g, out, x, y: g * m.exp(y - out)),
      ELEMENTWISE, nin=2, dtype="floating",
      formula=("d logaddexp(u, v)/du = e^(u − out)", "d logaddexp(u, v)/dv = e^(v − out)"))
defop("logaddexp2", lambda x, y: np.logaddexp2(x, y),
      (lambda m, g, out, x, y: g * m.exp2(x - out), lambda m, g, out, x, y: g * m.exp2(y - out)),
      ELEMENTWISE, nin=2, dtype="floating",
      formula=("d logaddexp2(u, v)/du = 2^(u − out)", "d logaddexp2(u, v)/dv = 2^(v − out)"))


def _arrs(x, y):
    """Python-scalar operands as arrays of the other operand's dtype (keeps float32 float32)."""
    if not isinstance(y, np.ndarray):
        y = np.asarray(y, dtype=x.dtype)
    elif not isinstance(x, np.ndarray):
        x = np.asarray(x, dtype=y.dtype)
    return x, y


def _xlogy(x, y):
    x, y = _arrs(x, y)
    with np.errstate(all="ignore"):
        r = x * np.log(y)
    # 0 where x == 0 (even at y = 0 or inf), NaN where y is NaN, as torch
    return np.where((np.asarray(x) == 0) & ~np.isnan(y), 0, r).astype(r.dtype, copy=False)


def _xlogy_dx(m, g, out, x, y):
    r = g * (m.log(y) if hasattr(y, "shape") else math.log(y))
    return _nz(m, g, _w(m, (x == 0) & (y <= 0), 0.0, r) if hasattr(y, "shape") or y <= 0 else r)


def _xlogy_dy(m, g, out, x, y):
    if not hasattr(x, "shape"):
        return g * 0 if x == 0 else _nz(m, g, g * x / y)
    # x·log y is identically 0 along x = 0, so its y-derivative is 0 there (torch: NaN at y = 0)
    return _nz(m, g, _w(m, x == 0, 0.0, g * x / _w(m, x == 0, 1.0, y)))


defop("xlogy", _xlogy, (_xlogy_dx, _xlogy_dy), ELEMENTWISE, nin=2, dtype="float",
      formula=("d (u ln v)/du = ln v", "d (u ln v)/dv = u/v  (0 where u = 0)"))


def _xlog1py(x, y):
    x, y = _arrs(x, y)
    with np.errstate(all="ignore"):
        r = x * np.log1p(y)
    return np.where((np.asarray(x) == 0) & ~np.isnan(y), 0, r).astype(r.dtype, copy=False)


def _xlog1py_dx(m, g, out, x, y):
    r = g * (m.log1p(y) if hasattr(y, "shape") else math.log1p(y))
    return _nz(m, g, _w(m, (x == 0) & (y <= -1), 0.0, r) if hasattr(y, "shape") or y <= -1 else r)


def _xlog1py_dy(m, g, out, x, y):
    if not hasattr(x, "shape"):
        return g * 0 if x == 0 else _nz(m, g, g * x / (y + 1))
    return _nz(m, g, _w(m, x == 0, 0.0, g * x / _w(m, x == 0, 1.0, y + 1)))


defop("xlog1py", _xlog1py, (_xlog1py_dx, _xlog1py_dy), ELEMENTWISE, nin=2, dtype="float",
      method=False, public=False,
      formula=("d (u ln(1+v))/du = ln(1+v)", "d (u ln(1+v))/dv = u/(1+v)  (0 where u = 0)"))
for _n in ("xlogy", "xlog1py"):
    public(_n, function=False, method=False, ns="special")(lambda x, y, _n=_n: _apply(_n, x, y))

# copysign: d/du = ±1 (the sign flip), 0 at u = 0 as torch; d/dv = 0
defop("copysign", lambda x, y: np.copysign(x, y),
      (lambda m, g, out, x, y: g * (m.sign(x) * m.sign(out)), lambda m, g, out, x, y: _zeros(m, g)),
      ELEMENTWISE, nin=2, dtype="float",
      formula=("d copysign(u, v)/du = sign(u)·sign(out)", "d copysign(u, v)/dv = 0"))


# fmax/fmin ignore NaN; the whole gradient goes to the chosen input (the first one at ties)
def _fpick(first: bool, less: bool):
    def rule(m, g, out, x, y):
        keep = ((x <= y) if less else (x >= y)) | m.isnan(y)
        return g * keep if first else g * m.logical_not(keep)

    return rule


defop("fmax", lambda x, y: np.fmax(x, y), (_fpick(True, False), _fpick(False, False)), ELEMENTWISE,
      nin=2, formula=("d fmax(u, v)/du = [u ≥ v or v is NaN]", "d fmax(u, v)/dv = the rest"))
defop("fmin", lambda x, y: np.fmin(x, y), (_fpick(True, True), _fpick(False, True)), ELEMENTWISE,
      nin=2, formula=("d fmin(u, v)/du = [u ≤ v or v is NaN]", "d fmin(u, v)/dv = the rest"))


# ---- interpolation and fused multiply-adds -------------------------------------------------------
def _lerp(x, y, w):
    if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):  # torch: no integer kernel
        from .. import _dtype

        raise NotImplementedError(
            f'"lerp" not implemented for \'{_dtype.torch_name(np.asarray(x).dtype)}\'')
    d = y - x
    # torch's form: accurate at both ends
    return np.where(np.abs(w) < 0.5, x + w * d, y - d * (1 - w)).astype(np.result_type(x, y),
                                                                      copy=False)


defop("lerp", _lerp,
      (lambda m, g, out, x, y, w: g * (1 - w), lambda m, g, out, x, y, w: g * w,
       lambda m, g, out, x, y, w: g * (y - x)),
      ELEMENTWISE, nin=3,
      formula=("d lerp/dstart = 1 − w", "d lerp/dend = w", "d lerp/dweight = end − start"),
      dtype="match")
defop("addcmul", lambda x, a, b, value=1: x + value * (a * b),
      (lambda m, g, out, x, a, b, value=1: g, lambda m, g, out, x, a, b, value=1: g * (b * value),
       lambda m, g, out, x, a, b, value=1: g * (a * value)),
      ELEMENTWISE, nin=3, formula=("d/du = 1", "d/da = value·b", "d/db = value·a"))
defop("addcdiv", _quiet(lambda x, a, b, value=1: x + value * (a / b)),
      (lambda m, g, out, x, a, b, value=1: g,
       lambda m, g, out, x, a, b, value=1: _nz(m, g, g * (value / b)),
       lambda m, g, out, x, a, b, value=1: _nz(m, g, g * (-value * a / (b * b)))),
      ELEMENTWISE, nin=3, formula=("d/du = 1", "d/da = value/b", "d/db = −value·a/b²"))


@public("addcmul")
def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value · tensor1 · tensor2``."""
    return _apply("addcmul", input, tensor1, tensor2, value=value)


@public("addcdiv")
def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value · tensor1 / tensor2``."""
    return _apply("addcdiv", input, tensor1, tensor2, value=value)


# ---- closeness ----------------------------------------------------------------------------------
defop("isclose", lambda x, y, rtol=1e-05, atol=1e-08, equal_nan=False:
      np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan), nin=2, dtype="match_bool")


@public("allclose")
def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Whether every element of ``input`` is close to ``other`` (see ``isclose``)."""
    close = _apply("isclose", input, other, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return bool(close._array.all())


@public("equal")
def equal(input, other) -> bool:
    """Whether both tensors have the same shape and the same elements."""
    return tuple(input.shape) == tuple(other.shape) and bool(np.all(input._array == other._array))


for _alias, _row in (("multiply", "mul"), ("subtract", "sub"), ("negative", "neg")):
    public(_alias)(lambda *a, _r=_row, **k: _apply(_r, *a, **k))
public("clamp_min")(lambda input, min: clamp(input, min=min))
public("clamp_max")(lambda input, max: clamp(input, max=max))
