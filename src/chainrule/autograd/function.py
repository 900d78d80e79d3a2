"""Custom differentiable operations: ``chainrule.autograd.Function``, with torch's API.

A Function's ``forward`` runs on Tensors with grad mode off; ``apply`` then records one graph node
(``<Name>Backward``) whose backward calls the user's ``backward(ctx, *grads)``. When that backward
is written with chainrule ops, ``create_graph=True`` differentiates it again (double backward).
"""

from __future__ import annotations

import contextlib
import functools
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _context, _ns
from .._batching import Batched, BatchedDataError
from .._context import ctx as _ctx
from .._context import proc as _proc
from .._tensor import Tensor, _make
from ..ops._table import broadcastable_to
from . import forward_ad as fwad
from .grad_mode import _state, no_grad
from .node import _FREED, Node, _inplace_msg, accumulate_node
from .saved_tensors import _unpacked

_NOTHING = contextlib.nullcontext()

__all__ = ["Function", "FunctionCtx", "InplaceFunction", "nondifferentiable", "once_differentiable"]


class _FnOp:
    """What code reading ``node.op`` (viz, explain, memory) finds on a custom Function's node."""

    __slots__ = ("cls", "doc", "formula", "name", "nondiff_out", "nout", "saves", "saves_out")

    def __init__(self, cls) -> None:
        self.name = cls.__name__
        self.cls = cls.__name__
        self.formula = getattr(cls, "formula", None)
        self.nout = -1
        self.saves = None
        self.saves_out = False
        self.nondiff_out = ()
        self.doc = cls.__doc__


class _SavedOutput:
    """An output saved for backward: kept as data + version, rebuilt on unpack (no ref cycle)."""

    __slots__ = ("_array", "nr", "vc")

    def __init__(self, t: Tensor) -> None:
        self._array = t._array
        self.vc = t._version_counter
        self.nr = t._output_nr


class FunctionCtx:
    """The ``ctx`` a custom Function's forward/setup_context/backward/jvp receive."""

    def save_for_backward(self, *tensors) -> None:
        """Save tensors (or None) for ``backward``; read them back with ``ctx.saved_tensors``.
        Modifying a saved tensor in place before backward raises torch's error."""
        self._to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        """Save tensors for ``jvp`` (forward mode); read them back with ``ctx.saved_tensors``."""
        self._to_save_fw = tensors

    def mark_dirty(self, *tensors) -> None:
        """Declare inputs that forward modified in place (they must be returned as outputs)."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs that get no gradient (they do not require grad)."""
        self._non_diff = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """Whether ``None`` output gradients reach backward as zeros (default True) or as None."""
        self._materialize = bool(value)

    @property
    def saved_tensors(self) -> tuple:
        if getattr(self, "_in_jvp", False):
            return tuple(getattr(self, "_to_save_fw", ()))
        saved = getattr(self, "_saved", ())
        if saved is None:
            raise RuntimeError(_FREED + f" (saved_tensors of {type(self).__name__})")
        if saved == () and hasattr(self, "_to_save") and not hasattr(self, "_fwd_cls_done"):
            return tuple(self._to_save)  # inside forward, before apply processed them
        res = []
        for i, (kind, obj, vc, ver) in enumerate(saved):
            if kind == "none":
                res.append(None)
                continue
            if vc is not None and vc[0] != ver:
                arr = obj._array if kind != "packed" else np.empty(0)
                raise RuntimeError(_inplace_msg(arr, f"saved tensor {i} of {self.name()}",
                                                vc[0], ver))
            if kind == "in":
                res.append(obj)
            elif kind == "out":
                t = _make(obj._array, self if _state.enabled else None, obj.nr)
                t._version_counter = obj.vc
                res.append(t)
            else:  # packed by a saved_tensors_hooks pack hook
                res.append(_unpacked(obj[1](obj[0]), f"saved tensor {i} of {self.name()}"))
        return tuple(res)

    @property
    def saved_variables(self) -> tuple:
        return self.saved_tensors


class BackwardCFunction(Node, FunctionCtx):
    """The graph node (and ``ctx``) of one call of a custom Function: ``<Name>Backward``."""

    _forward_cls: Any = None

    def __init__(self, args: tuple) -> None:
        self.kw = {}
        self.out = None
        self.variant = 0
        self.x = None
        self.seq = next(Node._seq)
        self.ver = None
        self.outv = None
        nxt = []
        needs = []
        enabled = _state.enabled
        for a in args:
            if isinstance(a, Tensor) and a._requires_grad and enabled:
                fn = a.grad_fn
                nxt.append((fn, a._output_nr) if fn is not None else (accumulate_node(a), 0))
                needs.append(True)
            else:
                nxt.append(None)
                needs.append(False)
        self.next = tuple(nxt)
        self.needs_input_grad = tuple(needs)
        self._in_meta = tuple((a._array.shape, a._array.dtype) if isinstance(a, Tensor) else None
                              for a in args)
        self._saved = ()
        self._materialize = True
        self.saved = ()
        self.n_out = 1

    def name(self) -> str:
        return type(self).__name__

    def release(self) -> None:
        self._saved = None
        self.saved = None
        self.__dict__.pop("_to_save", None)

    def check_versions(self) -> None:  # saved tensors are checked when unpacked
        pass

    def _held_arrays(self) -> list:
        """What this node keeps alive, for ``graph.memory``: saved tensors and ctx attributes."""
        items = []
        for i, (kind, obj, _, _) in enumerate(self._saved or ()):
            if kind == "in":
                items.append((f"saved {i}", obj._array, obj.grad_fn is None))
            elif kind == "out":
                items.append((f"saved {i} (output)", obj._array, False))
            elif kind == "packed":
                items.append((f"packed {i}", obj[0], None))
        for k, v in self.__dict__.items():
            if k.startswith("_") or k in ("op", "kw", "out", "next", "saved", "needs_input_grad"):
                continue
            if isinstance(v, Tensor):
                items.append((f"ctx.{k}", v._array, v.grad_fn is None))
            elif isinstance(v, np.ndarray):
                items.append((f"ctx.{k}", v, False))
        return items

    # ---- called by the engine ----------------------------------------------------------------
    def run_backward(self, gs, create: bool, passed: set) -> list:
        if self._saved is None:
            raise RuntimeError(_FREED + f" (while running {self.name()})")
        cls = self._forward_cls
        grads = []
        for i, g in enumerate(gs):
            if g is None:
                meta = self._out_meta[i]
                if self._materialize and meta is not None:
                    g = _make(np.zeros(meta[0], dtype=meta[1]))
            elif not isinstance(g, Tensor):
                g = _make(g)
            grads.append(g)
        res = cls._backward_impl(self, *grads)
        return self._check_grads(res, create, passed)

    def _check_grads(self, res, create: bool, passed: set) -> list:
        name = self.name()
        if not isinstance(res, tuple):
            res = (res,)
        n = len(self.next)
        if len(res) > n and all(r is None for r in res[n:]):
            res = res[:n]
        if len(res) != n:
            raise RuntimeError(f"function {name} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(res)})")
        out: list = []
        for i, (r, e, meta) in enumerate(zip(res, self.next, self._in_meta)):
            if r is None:
                out.append(None)
                continue
            if meta is None:
                raise RuntimeError(
                    f"function {name} returned a gradient different than None at position "
                    f"{i + 1}, but the corresponding forward input was not a Variable"
                )
            if not isinstance(r, Tensor):
                if isinstance(r, (np.ndarray, float, int)):
                    r = _make(np.asarray(r, dtype=meta[1]))
                else:
                    raise TypeError(f"function {name} returned a {type(r).__name__} as the "
                                    f"gradient of input {i}; expected a Tensor or None")
            if e is None:  # that input does not require grad
                out.append(None)
                continue
            shape, dtype = meta
            if r._array.shape != shape:
                if not broadcastable_to(shape, r._array.shape):
                    raise RuntimeError(
                        f"Function {name} returned an invalid gradient at index {i} - got "
                        f"{list(r._array.shape)} but expected shape compatible with {list(shape)}"
                    )
                r = _ns.sum_to_size(r, shape)
            if r._array.dtype != dtype:
                r = r.to(_dtype_of(dtype))
            if create:
                out.append(r)
            else:
                passed.add(id(r._array))  # may be shared with a user tensor: copied on store
                out.append(r._array)
        return out


def _dtype_of(npdt):
    from .. import _dtype

    return _dtype.from_np(npdt)


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,),
                                 {"_forward_cls": cls, "op": _FnOp(cls)})


class Function(metaclass=_FunctionMeta):
    """Base class of custom differentiable operations, as ``torch.autograd.Function``.

    Example:
        >>> class Cube(chainrule.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x ** 3
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         (x,) = ctx.saved_tensors
        ...         return 3 * x ** 2 * g
        >>> y = Cube.apply(chainrule.tensor(2.0, requires_grad=True))
        >>> y.grad_fn
        <CubeBackward object at ...>
    """

    #: opt into the finite-difference fallback when ``backward``/``jvp`` are not written:
    #: True, or a dict of ``chainrule.autograd.numerical`` options (``method``, ``step``)
    numerical: bool | dict = False

    def __init__(self, *args, **kwargs) -> None:
        warnings.warn(
            f"{type(self).__name__} should not be instantiated. Methods on autograd functions are "
            "all static, so you should invoke them on the class itself: use "
            f"{type(self).__name__}.apply(...).", DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use new-"
            "style autograd function with static forward method. (Example: "
            "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)"
        )

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> Any:
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD.")

    @classmethod
    def _backward_impl(cls, ctx, *grads):
        if cls.backward is not Function.backward:
            return cls.backward(ctx, *grads)
        if cls.vjp is not Function.vjp:
            return cls.vjp(ctx, *grads)
        if cls.numerical:
            from .numerical import _function_vjp

            return _function_vjp(cls, ctx, grads)
        raise NotImplementedError(
            f"You must implement either the backward or vjp method for your custom "
            f"autograd.Function to use it with backward mode AD ({cls.__name__} has neither; set "
            f"{cls.__name__}.numerical = True to use finite differences instead)."
        )

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` and, when an input requires grad, record ``<Name>Backward``."""
        if _ctx.batch_sizes:
            _refuse_batched(cls, args)
        ctx = cls._backward_cls(args)
        fw = _ctx.fw_visible
        custom_setup = cls.setup_context is not Function.setup_context
        if cls.numerical:
            ctx._num_call = (args, kwargs)
        prev = _ctx.enabled
        _ctx.enabled = False  # forward records no graph (no_grad without its bookkeeping)
        try:
            with fwad._visible(0) if fw else _NOTHING:  # forward's ops carry no tangents (jvp does)
                if custom_setup:
                    output = cls.forward(*args, **kwargs)
                    cls.setup_context(ctx, args, output)
                else:
                    output = cls.forward(ctx, *args, **kwargs)
        finally:
            _ctx.enabled = prev
        ctx._fwd_cls_done = True
        is_tuple = isinstance(output, tuple)
        outs = output if is_tuple else (output,)
        requires = any(ctx.needs_input_grad)
        results = _wrap_outputs(cls, ctx, args, outs, requires)
        if requires:
            _save(ctx, outs, results)
            if _proc.node_hooks or _ctx.modes:
                _context.node_created(ctx)
        if fw:
            _forward_mode(cls, ctx, args, results)
        return tuple(results) if is_tuple else results[0]

    @staticmethod
    def mark_shared_storage(*pairs) -> None:  # pragma: no cover - removed in torch as well
        raise RuntimeError("mark_shared_storage is deprecated; tensors are checked automatically")


InplaceFunction = Function

def _refuse_batched(cls, args) -> None:
    """Under ``vmap`` a Function runs once per example: its forward/backward see plain tensors
    (its graph cannot live on a batched wrapper), so ask vmap for its per-example loop."""
    levels = [a.level for a in args if isinstance(a, Batched)]
    if levels:
        raise BatchedDataError(
            f"the custom Function {cls.__name__} is applied to a batched tensor", max(levels))


def _wrap_outputs(cls, ctx, args, outs, requires: bool) -> list:
    dirty = getattr(ctx, "_dirty", ())
    nondiff = getattr(ctx, "_non_diff", ())
    ctx.n_out = len(outs)
    ctx._out_meta = tuple((o._array.shape, o._array.dtype) if isinstance(o, Tensor) else None
                          for o in outs)
    results = []
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            results.append(o)
            continue
        is_dirty = any(o is d for d in dirty)
        diff = requires and o._array.dtype.kind in "fc" and not any(o is d for d in nondiff)
        if is_dirty:
            if o._requires_grad and o.grad_fn is None and requires:
                raise RuntimeError(
                    "a leaf Variable that requires grad has been used in an in-place operation "
                    f"(input marked dirty by {cls.__name__}.forward)."
                )
            r = o
        elif any(o is a for a in args) or o.grad_fn is not None or o._requires_grad:
            r = _make(o._array)  # an input (or a tensor with history) returned: a new view of it
            if o._version_counter is None:
                o._version_counter = [0]
            r._version_counter = o._version_counter
        else:
            r = o
        if diff:
            r.grad_fn = ctx
            r._output_nr = i
            r._requires_grad = True
        elif requires and (is_dirty or r is o):
            r.grad_fn = None
            r._requires_grad = False
        results.append(r)
    if requires:
        for d in dirty:
            if not any(d is o for o in outs):
                raise RuntimeError(f"{cls.__name__}: a tensor marked dirty with mark_dirty() must "
                                   "be returned as an output of forward")
    return results


def _save(ctx, outs, results) -> None:
    """Turn ``ctx.save_for_backward``'s tensors into saved entries with their versions."""
    to_save = getattr(ctx, "_to_save", ())
    hooks = _ctx.saved_hooks[-1] if _ctx.saved_hooks else None
    saved = []
    for i, t in enumerate(to_save):
        if t is None:
            saved.append(("none", None, None, None))
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"save_for_backward can only save variables, but argument {i} is of "
                            f"type {type(t).__name__}")
        if t._version_counter is None:
            t._version_counter = [0]
        k = next((j for j, o in enumerate(outs) if o is t), None)
        if hooks is not None:
            src = results[k] if k is not None else t
            saved.append(("packed", (hooks[0](src), hooks[1]), t._version_counter, t._version_counter[0]))
        elif k is not None:
            saved.append(("out", _SavedOutput(results[k]), t._version_counter, t._version_counter[0]))
        else:
            saved.append(("in", t, t._version_counter, t._version_counter[0]))
    ctx._saved = tuple(saved)
    ctx.saved = tuple(e[1] for e in saved if e[0] == "in")
    ctx.__dict__.pop("_to_save", None)


def _forward_mode(cls, ctx, args, results) -> None:
    for k, level in enumerate(_ctx.fw_levels):
        ts = [fwad._tangent(a, level) if isinstance(a, Tensor) else None for a in args]
        if all(t is None for t in ts):
            continue
        ts = [t if t is not None or not isinstance(a, Tensor) or a._array.dtype.kind not in "fc"
              else _make(np.zeros_like(a._array)) for a, t in zip(args, ts)]
        if cls.jvp is not Function.jvp:
            fn: Callable = cls.jvp
        elif cls.numerical:
            from .numerical import _function_jvp

            fn = functools.partial(_function_jvp, cls)
        else:
            raise NotImplementedError(
                "You must implement the jvp function for custom autograd.Function to use it with "
                f"forward mode AD ({cls.__name__} has no jvp)."
            )
        ctx._in_jvp = True
        try:
            with fwad._visible(k):  # the tangent's arithmetic carries only outer levels
                r = fn(ctx, *ts)
        finally:
            ctx._in_jvp = False
        r = r if isinstance(r, tuple) else (r,)
        if len(r) != len(results):
            raise RuntimeError(f"{cls.__name__}.jvp returned {len(r)} tangents for "
                               f"{len(results)} outputs")
        for i, (o, t) in enumerate(zip(results, r)):
            if t is None or not isinstance(o, Tensor) or o._array.dtype.kind not in "fc":
                continue
            if not isinstance(t, Tensor):
                t = _make(np.asarray(t, dtype=o._array.dtype))
            if t._array.shape != o._array.shape:
                raise RuntimeError(f"{cls.__name__}.jvp returned a tangent of shape "
                                   f"{list(t.shape)} for output {i} of shape {list(o.shape)}")
            fwad._set_tangent(o, level, t)


# ---- decorators ---------------------------------------------------------------------------------
_ONCE_MSG = "trying to differentiate twice a function that was marked with @once_differentiable"


class _DelayedError(Function):
    """A node with no inputs whose backward raises (for results of once_differentiable)."""

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(ctx.msg)


def _delayed_error(o: Tensor, msg: str) -> Tensor:
    node = _DelayedError._backward_cls(())
    node.msg = msg
    node._out_meta = ((o._array.shape, o._array.dtype),)
    return _make(o._array, node, 0)


def once_differentiable(fn: Callable) -> Callable:
    """Decorate a Function's ``backward`` that is not itself differentiable (e.g. uses NumPy):
    it runs with grad mode off, and differentiating its result again raises an error."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not _state.enabled or not (any(isinstance(a, Tensor) and a._requires_grad for a in args)
                                      or any(getattr(ctx, "needs_input_grad", ()))):
            return outputs  # (torch looks at the grads only; the inputs' history counts too)
        tup = outputs if isinstance(outputs, tuple) else (outputs,)
        wrapped = tuple(
            _delayed_error(o, f"{_ONCE_MSG} ({type(ctx).__name__})")
            if isinstance(o, Tensor) and o._array.dtype.kind in "fc" else o for o in tup
        )
        return wrapped if isinstance(outputs, tuple) else wrapped[0]

    return wrapper


_WARNED: set = set()


def user_stacklevel() -> int:
    """``stacklevel`` for ``warnings.warn`` that points at the first frame outside chainrule."""
    import os

    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    f = sys._getframe(1)
    level = 1
    while f is not None and f.f_code.co_filename.startswith(pkg):
        f = f.f_back
        level += 1
    return level


class NonDifferentiableWarning(UserWarning):
    """Warned (once per Function) when a non-differentiable Function is backpropagated through."""


def nondifferentiable(arg: Any, *grads: Any) -> Any:
    """Mark a custom Function as having no derivative: backpropagating through it warns once and
    leaves the inputs' ``grad`` as None (the seed's behaviour for such operations).

    Use as ``backward = nondifferentiable`` inside the class, or as a class decorator.

    Example:
        >>> @chainrule.autograd.nondifferentiable
        ... class Quantize(chainrule.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         return x.round()
    """
    if isinstance(arg, type) and issubclass(arg, Function):
        arg.backward = staticmethod(nondifferentiable)  # type: ignore[assignment]
        arg.jvp = staticmethod(_nondiff_jvp)  # type: ignore[assignment]
        return arg
    ctx = arg
    name = type(ctx)._forward_cls.__name__ if isinstance(ctx, BackwardCFunction) else str(ctx)
    if name not in _WARNED:
        _WARNED.add(name)
        warnings.warn(
            f"{name} is not differentiable: its inputs get no gradient (grad stays None)",
            NonDifferentiableWarning, stacklevel=user_stacklevel())
    return (None,) * len(getattr(ctx, "next", ()) or (None,))


def _nondiff_jvp(ctx, *tangents):
    return (None,) * ctx.n_out
