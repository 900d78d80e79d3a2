"""The numerical fallback: derivatives by finite differences, for functions with no closed form.

``numerical(fn)`` turns any function on NumPy arrays (a SciPy special function, a simulator…) into
a differentiable chainrule op. Its backward (vector-Jacobian product) and forward-mode (Jacobian-
vector product) rules come from

* the complex step, ``f'(x) ≈ Im f(x + ih) / h`` with ``h = 1e-20``, when ``fn`` accepts complex
  input and returns complex output (exact to rounding: no subtraction);
* central differences otherwise, ``f'(x) ≈ (f(x+h) − f(x−h)) / 2h`` with ``h = ε^(1/3)·max(1, |x|)``
  (truncation ``h²|f'''|/6`` balanced against rounding ``ε|f|/h``).

Every derivative comes with an error estimate: for central differences, ``|D(h) − D(2h)| / 3``
(Richardson: the ``h²`` term) plus the rounding term ``4ε(|f(x+h)| + |f(x−h)| + 1) / 2h`` (the 1:
an absolute floor for rounding inside ``f`` where its value is near 0); for the
complex step, ``8ε|D|``. ``op.last_error`` holds the bound of the latest gradient (one array per
tensor input, the same shape as that input's gradient). The first derivative an op computes warns
(``NumericalDerivativeWarning``) naming the op, the method and the step.

Under ``create_graph=True`` the vector-Jacobian product is itself wrapped as a numerical op (central
differences over cotangents and inputs, error bounds in ``op.vjp_op.last_error``), so second
derivatives work (less accurate: about 1e-5 relative when both levels are central differences);
a third derivative raises.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor, _make
from .function import Function, once_differentiable, user_stacklevel
from .grad_mode import _state

__all__ = ["NumericalDerivativeWarning", "NumericalOp", "finite_difference", "numerical"]

_EPS = float(np.finfo(np.float64).eps)
_CBRT_EPS = _EPS ** (1 / 3)
_COMPLEX_H = 1e-20


class NumericalDerivativeWarning(UserWarning):
    """Warned the first time an op's derivative is computed numerically."""


def _call(fn, arrays, args_template, tensor_pos, kwargs):
    args = list(args_template)
    for p, a in zip(tensor_pos, arrays):
        args[p] = a
    r = fn(*args, **kwargs)
    return [np.asarray(o) for o in r] if isinstance(r, (tuple, list)) else [np.asarray(r)]


def _supports_complex(f: Callable, xs: list) -> bool:
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs = f([x.astype(np.complex128) for x in xs])
    except Exception:
        return False
    return all(o.dtype.kind == "c" for o in outs)


def finite_difference(f: Callable, xs: list, gs: list, *, method: str, step: float | None = None,
                      elementwise: bool = False, noise: Callable | None = None
                      ) -> tuple[list, list, float]:
    """Vector-Jacobian products of ``f`` (list of float64 arrays → list of arrays) at ``xs``.

    Returns ``(grads, errors, h)``: per input, ``sum_j gs[j] * d f_j / d x`` and its error bound.
    ``elementwise``: ``f``'s outputs depend on each input element-by-element (one evaluation per
    input instead of one per element). ``noise``: callable giving an absolute error level of
    ``f``'s values beyond rounding (e.g. ``f`` is itself a finite difference), added to the bound.
    """
    f0 = f(xs)
    gs = [np.zeros_like(o) if g is None else np.asarray(g, dtype=np.float64)
          for g, o in zip(gs, f0)]
    grads, errs = [], []
    h_report = 0.0
    for i, x in enumerate(xs):
        scale = np.maximum(1.0, np.abs(x))
        if elementwise:
            d, e, h = _column(f, xs, i, None, scale, method, step, noise)
            grad = sum(g * dj for g, dj in zip(gs, d))
            err = sum(np.abs(g) * ej for g, ej in zip(gs, e))
            grad = _sum_to(np.broadcast_to(grad, np.broadcast_shapes(np.shape(grad), x.shape)),
                           x.shape)
            err = _sum_to(np.broadcast_to(err, np.broadcast_shapes(np.shape(err), x.shape)),
                          x.shape)
        else:
            grad = np.zeros(x.shape)
            err = np.zeros(x.shape)
            for k in np.ndindex(x.shape):
                d, e, h = _column(f, xs, i, k, scale[k], method, step, noise)
                grad[k] = sum(np.sum(g * dj) for g, dj in zip(gs, d))
                err[k] = sum(np.sum(np.abs(g) * ej) for g, ej in zip(gs, e))
        h_report = max(h_report, float(np.max(h)) if np.size(h) else 0.0)
        grads.append(grad)
        errs.append(err)
    return grads, errs, h_report


def _sum_to(a: np.ndarray, shape: tuple) -> np.ndarray:
    from ..ops._table import sum_to_shape

    return sum_to_shape(np.asarray(a), shape)


def _column(f, xs, i, k, scale, method, step, noise=None):
    """Derivatives of every output w.r.t. ``xs[i]`` (element ``k``, or all elements at once)."""

    def shifted(delta):
        ys = list(xs)
        y = xs[i].astype(delta.dtype if np.iscomplexobj(delta) else np.float64, copy=True)
        if k is None:
            y = y + delta
        else:
            y[k] = y[k] + delta
        ys[i] = y
        with np.errstate(all="ignore"):
            return f(ys)

    if method == "complex":
        h = _COMPLEX_H * scale if step is None else step * scale
        outs = shifted(1j * np.asarray(h))
        d = [np.imag(o) / h for o in outs]
        return d, [8 * _EPS * np.abs(dj) for dj in d], h
    h = _CBRT_EPS * scale if step is None else step * scale
    hh = np.asarray(h, dtype=np.float64)
    hp, hm, h2p, h2m = shifted(hh), shifted(-hh), shifted(2 * hh), shifted(-2 * hh)
    d, e = [], []
    for a, b, a2, b2 in zip(hp, hm, h2p, h2m):
        dh = (a - b) / (2 * h)
        d2h = (a2 - b2) / (4 * h)
        d.append(dh)
        e.append(np.abs(dh - d2h) / 3 + 4 * _EPS * (np.abs(a) + np.abs(b) + 1) / (2 * h)
                 + (noise() / h if noise is not None else 0.0))
    return d, e, h


def _directional(f, xs, ts, method, step) -> tuple[list, list, float]:
    """Jacobian-vector product ``J t`` (all inputs moved along their tangents at once)."""
    xnorm = max((float(np.max(np.abs(x))) if x.size else 0.0 for x in xs), default=0.0)
    tnorm = max((float(np.max(np.abs(t))) if t.size else 0.0 for t in ts), default=0.0)
    if tnorm == 0.0:
        outs = f(xs)
        zeros = [np.zeros_like(o, dtype=np.float64) for o in outs]
        return zeros, [z.copy() for z in zeros], 0.0
    scale = max(1.0, xnorm) / tnorm

    def moved(c):
        with np.errstate(all="ignore"):
            return f([x + c * t for x, t in zip(xs, ts)])

    if method == "complex":
        h = (_COMPLEX_H if step is None else step) * scale
        d = [np.imag(o) / h for o in moved(1j * h)]
        return d, [8 * _EPS * np.abs(dj) for dj in d], h
    h = (_CBRT_EPS if step is None else step) * scale
    p, m, p2, m2 = moved(h), moved(-h), moved(2 * h), moved(-2 * h)
    d, e = [], []
    for a, b, a2, b2 in zip(p, m, p2, m2):
        dh = (a - b) / (2 * h)
        d.append(dh)
        e.append(np.abs(dh - (a2 - b2) / (4 * h)) / 3
                 + 4 * _EPS * (np.abs(a) + np.abs(b) + 1) / (2 * h))
    return d, e, h


class NumericalOp:
    """A NumPy function made differentiable by finite differences (see the module docstring).

    Attributes: ``name``, ``method`` ("auto", "central" or "complex"), ``step`` (relative step or
    None for the default), ``elementwise``, ``last_error`` (error bounds of the latest gradient,
    one array per tensor input), ``last_jvp_error``, ``last_method``, ``last_step``.
    """

    def __init__(self, fn: Callable, name: str | None = None, method: str = "auto",
                 step: float | None = None, elementwise: bool = False) -> None:
        if method not in ("auto", "central", "complex"):
            raise ValueError(
                f"numerical(): method must be 'auto', 'central' or 'complex', got {method!r}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", type(fn).__name__)
        self.method = method
        self.step = step
        self.elementwise = elementwise
        self.last_error: tuple | None = None
        self.last_jvp_error: tuple | None = None
        self.last_method: str | None = None
        self.last_step: float | None = None
        self._warned = False
        self._complex_ok: bool | None = None
        self.vjp_op: NumericalOp | None = None
        self._nested = False  # a vjp op: its own derivative is not differentiable again
        self._noise = None  # callable: absolute noise level of fn's values (for nested ops)
        cam = "".join(p[:1].upper() + p[1:] for p in self.name.replace(".", "_").split("_"))
        self._fn_cls = type(cam or "Numerical", (_NumericalFunction,), {"_op": self})

    def __repr__(self) -> str:
        return f"<numerical op {self.name} ({self.method} differences)>"

    def __call__(self, *args: Any, **kwargs: Any):
        return self._fn_cls.apply(*args, **kwargs) if not kwargs else \
            self._fn_cls.apply(*args, _kwargs=kwargs)

    # ---- the derivative machinery ----------------------------------------------------------------
    def _resolve(self, f: Callable, xs: list) -> str:
        if self.method != "auto":
            return self.method
        if self._complex_ok is None:
            self._complex_ok = _supports_complex(f, xs)
        return "complex" if self._complex_ok else "central"

    def _warn(self, method: str, h: float) -> None:
        self.last_method, self.last_step = method, h
        if not self._warned:
            self._warned = True
            what = "complex step" if method == "complex" else "central differences"
            warnings.warn(
                f"{self.name} has no analytic derivative: using {what} with step h = {h:.3g} "
                f"(error bound of each gradient in .last_error)",
                NumericalDerivativeWarning, stacklevel=user_stacklevel())

    def vjp(self, args: tuple, kwargs: dict, grads: list) -> tuple[list, list]:
        _, xs, f = self._closure(args, kwargs)
        method = self._resolve(f, xs)
        gr, er, h = finite_difference(f, xs, grads, method=method, step=self.step,
                                      elementwise=self.elementwise, noise=self._noise)
        self._warn(method, h)
        self.last_error = tuple(er)
        return gr, er

    def jvp(self, args: tuple, kwargs: dict, tangents: list) -> tuple[list, list]:
        _, xs, f = self._closure(args, kwargs)
        method = self._resolve(f, xs)
        ts = [np.zeros_like(x) if t is None else np.asarray(t, dtype=np.float64)
              for x, t in zip(xs, tangents)]
        d, e, h = _directional(f, xs, ts, method, self.step)
        self._warn(method, h)
        self.last_jvp_error = tuple(e)
        return d, e

    def _differentiable_vjp(self, args: tuple, kwargs: dict, grads: tuple) -> tuple:
        """The vjp as a function of (cotangents, inputs), itself wrapped by ``numerical`` (central
        differences), so that ``create_graph=True`` gives second derivatives. Its op (and its error
        bounds) is ``self.vjp_op``; it is not differentiable a third time."""
        pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        template = [a._array if isinstance(a, Tensor) else a for a in args]
        k = len(grads)
        outer = self

        def vjp(*arrays):
            xs = [np.asarray(a, dtype=np.float64) for a in arrays[k:]]

            def f(ys):
                return [o.astype(np.result_type(o.dtype, np.float64)) for o in
                        _call(outer.fn, ys, template, pos, kwargs)]

            method = outer._resolve(f, xs)
            gr, er, h = finite_difference(f, xs, list(arrays[:k]), method=method, step=outer.step,
                                          elementwise=outer.elementwise)
            outer._warn(method, h)
            outer.last_error = tuple(er)
            nested._noise_level = max([nested._noise_level] + [float(np.max(e)) for e in er
                                                               if np.size(e)])
            return tuple(gr)

        nested = NumericalOp(vjp, f"{self.name}_vjp", "central", None, self.elementwise)
        nested._nested = True
        nested._noise_level = 0.0
        nested._noise = lambda: nested._noise_level  # the inner differences' error, as noise
        self.vjp_op = nested
        res = nested(*grads, *[args[i] for i in pos])
        res = res if isinstance(res, tuple) else (res,)
        it = iter(res)
        return tuple(next(it) if isinstance(a, Tensor) else None for a in args)

    def _closure(self, args, kwargs):
        pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        xs = [args[i]._array.astype(np.float64) for i in pos]
        template = [a._array if isinstance(a, Tensor) else a for a in args]

        def f(arrays):
            return [o.astype(np.result_type(o.dtype, np.float64)) for o in
                    _call(self.fn, arrays, template, pos, kwargs)]

        return pos, xs, f


def _plain_vjp(ctx, *grads):
    op = type(ctx)._forward_cls._op
    gs = [None if g is None else g._array for g in grads]
    gr, _ = op.vjp(ctx.args, ctx.kwargs, gs)
    it = iter(gr)
    return tuple(_make(next(it)) if isinstance(a, Tensor) else None for a in ctx.args)


_third_order = once_differentiable(_plain_vjp)


class _NumericalFunction(Function):
    _op: NumericalOp

    @staticmethod
    def forward(ctx, *args, _kwargs=None):
        op = type(ctx)._forward_cls._op
        kwargs = _kwargs or {}
        ctx.args = args
        ctx.kwargs = kwargs
        tens = [a for a in args if isinstance(a, Tensor)]
        dt = np.result_type(*[t._array.dtype for t in tens]) if tens else np.float64
        if dt.kind != "f":
            from .._dtype import default_np

            dt = default_np()
        outs = _call(op.fn, [a._array for a in tens], [a._array if isinstance(a, Tensor) else a
                                                     for a in args],
                     [i for i, a in enumerate(args) if isinstance(a, Tensor)], kwargs)
        res = tuple(_make(np.asarray(o, dtype=dt) if o.dtype.kind in "fiub" else o) for o in outs)
        return res if len(res) > 1 else res[0]

    @staticmethod
    def backward(ctx, *grads):
        op = type(ctx)._forward_cls._op
        if _state.enabled and op._nested:
            return _third_order(ctx, *grads)
        if _state.enabled:  # create_graph=True: the vjp itself becomes a numerical op
            grads = tuple(g if g is not None else _make(np.zeros(m[0], dtype=m[1]))
                          for g, m in zip(grads, ctx._out_meta))
            return op._differentiable_vjp(ctx.args, ctx.kwargs, grads)
        return _plain_vjp(ctx, *grads)

    @staticmethod
    def jvp(ctx, *tangents):
        op = type(ctx)._forward_cls._op
        ts = [t._array for a, t in zip(ctx.args, tangents) if isinstance(a, Tensor)]
        d, _ = op.jvp(ctx.args, ctx.kwargs, ts)
        res = tuple(_make(x) for x in d)
        return res if len(res) > 1 else res[0]


def numerical(fn: Callable | None = None, *, name: str | None = None, method: str = "auto",
              step: float | None = None, elementwise: bool = False):
    """Wrap ``fn`` (NumPy arrays in, arrays out) as a differentiable op with numerical derivatives.

    ``method``: "auto" (complex step when ``fn`` maps complex to complex, else central
    differences), "central" or "complex". ``step``: relative step (default ε^(1/3) for central,
    1e-20 for complex). ``elementwise=True`` when each output element depends only on the
    matching input elements (one evaluation pair instead of one per element). Non-tensor
    arguments and keyword arguments are passed to ``fn`` unchanged. Usable as a decorator.

    Example:
        >>> import scipy.special
        >>> gammaln = chainrule.autograd.numerical(scipy.special.gammaln, elementwise=True)
        >>> x = chainrule.tensor([0.5, 3.0], requires_grad=True, dtype=chainrule.float64)
        >>> gammaln(x).sum().backward()          # warns once: central differences, h = 6.06e-06
        >>> x.grad                               # digamma(x), within gammaln.last_error
        tensor([-1.9635,  0.9228], dtype=chainrule.float64)
    """
    if fn is None:
        return lambda f: NumericalOp(f, name, method, step, elementwise)
    return NumericalOp(fn, name, method, step, elementwise)


# ---- the opt-in fallback of a custom Function without backward/jvp ------------------------------
def _options(cls) -> dict:
    opts = cls.numerical if isinstance(cls.numerical, dict) else {}
    return {"method": opts.get("method", "central"), "step": opts.get("step")}


def _function_op(cls) -> NumericalOp:
    op = cls.__dict__.get("_numerical_op")
    if op is None:
        opts = _options(cls)
        if opts["method"] == "auto":
            opts["method"] = "central"  # a Function's forward runs on Tensors: no complex step

        def run(*arrays, **kw):
            from .grad_mode import no_grad

            args = [_make(np.asarray(a)) if isinstance(a, np.ndarray) else a for a in arrays]
            ctx = cls._backward_cls(tuple(args))
            with no_grad():
                out = cls.forward(*args, **kw) if cls.setup_context is not \
                    Function.setup_context else cls.forward(ctx, *args, **kw)
            outs = out if isinstance(out, tuple) else (out,)
            return tuple(o._array if isinstance(o, Tensor) else np.asarray(o) for o in outs)

        op = NumericalOp(run, cls.__name__, opts["method"], opts["step"],
                         bool(cls.numerical.get("elementwise", False))
                         if isinstance(cls.numerical, dict) else False)
        cls._numerical_op = op
    return op


def _function_vjp(cls, ctx, grads):
    if getattr(ctx, "_num_call", None) is None:
        raise RuntimeError(f"{cls.__name__}: numerical backward needs the forward inputs")
    args, kwargs = ctx._num_call
    op = _function_op(cls)
    gr, _ = op.vjp(args, kwargs, [None if g is None else g._array for g in grads])
    it = iter(gr)
    return tuple(_make(next(it)) if isinstance(a, Tensor) else None for a in args)


def _function_jvp(cls, ctx, *tangents):
    args, kwargs = ctx._num_call
    op = _function_op(cls)
    ts = [t._array for a, t in zip(args, tangents) if isinstance(a, Tensor)]
    d, _ = op.jvp(args, kwargs, ts)
    res = tuple(_make(x) for x in d)
    return res if len(res) > 1 else res[0]
