"""The differential fuzzer's machinery: argument specs, running one call on chainrule and torch
side by side, and classifying the pair.

A call is ``Call(op, args, kwargs)``; tensor arguments are ``T`` specs (NumPy values plus a
layout and a requires-grad flag) that become a tensor of each library only when the call runs, so
the same spec drives both sides and prints as a reproducer.

Classes (the strings the tests count):
  equal        both return the same values, dtypes, shapes (and gradients, for float inputs
               that require grad)
  both-raise   both raise, and chainrule's exception is an instance of torch's builtin type
  gap          chainrule lacks the op or raises NotImplementedError (allowed, counted)
  silent       chainrule returns where torch raises
  wrong:KIND   both return and differ (KIND: shape, dtype, value, grad, grad-shape), or
               chainrule raises where torch returns (crash), or raises another exception type
               (exc-type)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import chainrule as cr

try:
    import torch
except ImportError:  # pragma: no cover - the fuzzer's tests skip without torch
    torch = None

FAILING = ("silent", "wrong")


@dataclass
class T:
    """A tensor argument: values, layout ("c" contiguous, "t" a transposed view, "s" a strided
    slice), and whether its leaf requires grad."""

    a: np.ndarray
    layout: str = "c"
    grad: bool = False

    def __repr__(self) -> str:
        vals = np.array2string(self.a, separator=",", threshold=64, max_line_width=10**6)
        vals = vals.replace("\n", "")
        extra = "" if self.layout == "c" else f", layout={self.layout!r}"
        extra += ", grad=True" if self.grad else ""
        return f"T(np.array({vals}, dtype=np.{self.a.dtype.name}).reshape({self.a.shape}){extra})"


@dataclass
class Call:
    op: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.op}({', '.join(parts)})"

    def tensors(self) -> list:
        out: list = []

        def walk(x):
            if isinstance(x, T):
                out.append(x)
            elif isinstance(x, (list, tuple)):
                for y in x:
                    walk(y)
            elif isinstance(x, dict):
                for y in x.values():
                    walk(y)
        walk(self.args)
        walk(self.kwargs)
        return out


def _dtype_of(m, npd: np.dtype):
    return getattr(m, "bool" if npd == np.bool_ else npd.name)


def materialise(m, x, leaves: list):
    """The library-``m`` version of a spec: tensors for ``T``, recursively through containers."""
    if isinstance(x, T):
        a = x.a
        if x.layout == "t" and a.ndim >= 2:
            base = np.array(np.swapaxes(a, -1, -2), order="C")
        elif x.layout == "s" and a.ndim >= 1:
            base = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
            base[..., ::2] = a
        else:
            base = np.array(a, order="C")  # (np.ascontiguousarray makes 0-d arrays 1-d)
        t = m.tensor(base, dtype=_dtype_of(m, a.dtype))
        if x.grad:
            t.requires_grad_(True)
            leaves.append(t)
        if x.layout == "t" and a.ndim >= 2:
            t = t.transpose(-1, -2)
        elif x.layout == "s" and a.ndim >= 1:
            t = t[..., ::2]
        return t
    if isinstance(x, list):
        return [materialise(m, y, leaves) for y in x]
    if isinstance(x, tuple):
        return tuple(materialise(m, y, leaves) for y in x)
    if isinstance(x, dict):
        return {k: materialise(m, v, leaves) for k, v in x.items()}
    if isinstance(x, Dt):
        return _dtype_of(m, np.dtype(x.name))
    return x


@dataclass(frozen=True)
class Dt:
    """A dtype argument (``dtype=Dt("int64")``), given to each library as its own."""

    name: str

    def __repr__(self) -> str:
        return f"Dt({self.name!r})"


def _builtin(exc_type: type) -> type:
    for k in exc_type.__mro__:
        if k.__module__ == "builtins":
            return k
    return Exception


def _flat(res) -> list:
    if isinstance(res, (tuple, list)):
        out = []
        for r in res:
            out.extend(_flat(r))
        return out
    return [res]


@dataclass
class Outcome:
    res: Any = None
    exc: BaseException | None = None
    grads: list | None = None
    grad_exc: BaseException | None = None


def _is_tensor(m, x) -> bool:
    return isinstance(x, cr.Tensor if m is cr else torch.Tensor)


def _to_np(m, x) -> np.ndarray:
    x = x.detach()
    return x._array if m is cr else x.numpy()


def run(m, fn: Callable, call: Call, grad: bool = True) -> Outcome:
    leaves: list = []
    out = Outcome()
    try:
        args = materialise(m, call.args, leaves)
        kwargs = materialise(m, call.kwargs, leaves)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.res = fn(m, *args, **kwargs)
    except Exception as e:  # the point: any exception is an outcome to compare
        out.exc = e
        return out
    if not (grad and leaves):
        return out
    outs = [r for r in _flat(out.res) if _is_tensor(m, r) and r.requires_grad]
    if not outs:
        return out
    rng = np.random.default_rng(0)
    try:
        seeds = [rng.standard_normal(tuple(r.shape)) for r in outs]
        total = None
        for r, s in zip(outs, seeds):
            term = (r * m.tensor(s.astype(np.dtype(str(r.dtype).split(".")[-1])))).sum()
            total = term if total is None else total + term
        gs = m.autograd.grad(total, leaves, allow_unused=True)
        out.grads = [None if g is None else _to_np(m, g) for g in gs]
    except Exception as e:
        out.grad_exc = e
    return out


def _tol(dtname: str) -> tuple[float, float]:
    return {"float16": (1e-2, 1e-2), "float32": (1e-4, 1e-5)}.get(dtname, (1e-7, 1e-9))


def _close(a: np.ndarray, b: np.ndarray, floor: str | None = None) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    rtol, atol = _tol(a.dtype.name)
    if floor is not None:  # a gradient that went through a lower-precision output
        rtol, atol = max(rtol, _tol(floor)[0]), max(atol, _tol(floor)[1])
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(all="ignore"):
        return bool(np.allclose(a64, b64, rtol=rtol, atol=atol, equal_nan=True))


def compare_values(c_res, t_res) -> str | None:
    """None when equal, else the kind of difference."""
    cs, ts = _flat(c_res), _flat(t_res)
    if len(cs) != len(ts):
        return "shape"
    for c, t in zip(cs, ts):
        ct, tt = _is_tensor(cr, c), _is_tensor(torch, t)
        if ct != tt:
            if tt and isinstance(c, (int, float, bool)) and t.ndim == 0:
                return "dtype"
            return "dtype"
        if not ct:
            if isinstance(t, torch.Size) or isinstance(c, tuple):
                if tuple(c) != tuple(t):
                    return "value"
                continue
            if type(c) is not type(t):
                return "dtype"
            if isinstance(c, float) and isinstance(t, float):
                if not (c == t or (math.isnan(c) and math.isnan(t)) or
                        math.isclose(c, t, rel_tol=1e-7)):
                    return "value"
            elif c != t:
                return "value"
            continue
        if tuple(c.shape) != tuple(t.shape):
            return "shape"
        if str(c.dtype).split(".")[-1] != str(t.dtype).split(".")[-1]:
            return "dtype"
        if not _close(_to_np(cr, c), _to_np(torch, t)):
            return "value"
        if c.requires_grad != t.requires_grad:
            return "requires_grad"
    return None


def classify(c: Outcome, t: Outcome) -> str:
    if c.exc is not None and isinstance(c.exc, (NotImplementedError, AttributeError)) and (
            t.exc is None or not isinstance(c.exc, _builtin(type(t.exc)))):
        return "gap"
    if t.exc is not None:
        if c.exc is None:
            return "silent"
        return "both-raise" if isinstance(c.exc, _builtin(type(t.exc))) else "wrong:exc-type"
    if c.exc is not None:
        return "wrong:crash"
    diff = compare_values(c.res, t.res)
    if diff is not None:
        return f"wrong:{diff}"
    if t.grads is not None or c.grads is not None or t.grad_exc or c.grad_exc:
        if t.grad_exc is not None or c.grad_exc is not None:
            if t.grad_exc is None:
                return "gap" if isinstance(c.grad_exc, NotImplementedError) else "wrong:grad-crash"
            if c.grad_exc is None:
                return "silent"
            return "equal" if isinstance(c.grad_exc, _builtin(type(t.grad_exc))) \
                else "wrong:exc-type"
        outs = [r for r in _flat(c.res) if _is_tensor(cr, r) and r.is_floating_point()]
        floor = min((r.dtype.itemsize, r.dtype.name) for r in outs)[1] if outs else None
        for a, b in zip(c.grads or [], t.grads or []):
            if a is None and b is None:
                continue
            a = np.zeros_like(b) if a is None else a
            b = np.zeros_like(a) if b is None else b
            if a.shape != b.shape or a.dtype != b.dtype:
                return "wrong:grad-shape"
            if not _close(a, b, floor):
                return "wrong:grad"
    return "equal"


def describe(c: Outcome, t: Outcome) -> str:
    def one(o: Outcome) -> str:
        if o.exc is not None:
            return f"raises {type(o.exc).__name__}: {str(o.exc)[:200]}"
        s = f"returns {_short(o.res)}"
        if o.grad_exc is not None:
            s += f"; backward raises {type(o.grad_exc).__name__}: {str(o.grad_exc)[:120]}"
        elif o.grads is not None:
            s += f"; grads {[None if g is None else np.round(g, 4).tolist() for g in o.grads]}"
        return s
    return f"chainrule {one(c)}\n    torch     {one(t)}"


def _short(res) -> str:
    out = []
    for r in _flat(res):
        if hasattr(r, "shape") and hasattr(r, "dtype") and not isinstance(r, np.ndarray):
            a = np.asarray(r.detach().numpy() if hasattr(r, "numpy") and not isinstance(
                r, cr.Tensor) else r.detach()._array)
            out.append(f"{str(r.dtype).split('.')[-1]}{list(a.shape)}"
                       f"{np.array2string(a, threshold=12, separator=',')}".replace("\n", ""))
        else:
            out.append(repr(r))
    return ", ".join(out)


def check(op, call: Call) -> tuple[str, Outcome, Outcome]:
    """Run ``call`` of table row ``op`` on both libraries; (class, chainrule's, torch's)."""
    t = run(torch, op.call, call, grad=op.grad)
    if op.resolve(cr) is None:
        return "gap", Outcome(exc=NotImplementedError(f"chainrule has no {op.path}")), t
    c = run(cr, op.call, call, grad=op.grad)
    return classify(c, t), c, t
