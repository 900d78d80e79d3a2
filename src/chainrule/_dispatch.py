"""THE place where an op runs: dtype promotion, forward, graph recording, forward-mode tangents."""

from __future__ import annotations

import numpy as np

from . import _dtype
from ._context import ctx as _ctx
from ._tensor import ArrayOperand, Tensor, _make
from .autograd.grad_mode import _state
from .autograd.graph import Node, accumulate_node
from .autograd.why import _cut

_SCALARS = (int, float, bool)
#: number of active forward-AD levels; tangents are only looked for when it is non-zero
FW_LEVELS = [0]
#: set by anomaly mode / explain to observe node creation: callable(node) or None
ON_NODE: list = [None]
#: set by ops.inplace: callable(view) regenerating a view's grad_fn after its base changed in place
ON_VIEW: list = [None]
#: number of active vmap / batched-gradient levels; batched inputs are only looked for when non-zero
VMAP = [0]


def _as_input(a, op, pos: int = 0):
    """A non-Tensor input of ``op`` at tensor position ``pos``: Python numbers (and NumPy
    scalars) pass; arrays, lists and tuples are refused with torch's TypeError (the operators
    ``t + ndarray`` … convert them first, as torch)."""
    if isinstance(a, Tensor):
        return a._array
    if a is None or isinstance(a, _SCALARS):
        return a
    if isinstance(a, np.generic):
        from ._creation import _to_array

        return _to_array(a, None)
    if not isinstance(a, (np.ndarray, list, tuple)):
        raise TypeError(
            f"{op.name}(): expected Tensor or number as input, but got {type(a).__name__}")
    what = "numpy.ndarray" if isinstance(a, np.ndarray) else type(a).__name__
    if op.nin < 0:
        raise ArrayOperand(
            f"{op.name}(): expected Tensor as element {pos} in argument 0, but got {what}")
    name = "input" if pos == 0 else "other"
    raise ArrayOperand(
        f"{op.name}(): argument '{name}' (position {pos + 1}) must be Tensor, not {what}")


def apply(op, *args, **kw):
    """Run ``op`` (a rule-table row) on ``args``: Tensors, Python scalars, then its parameters."""
    nin = op.nin
    if nin == len(args):  # the common case: tensor inputs only, parameters by keyword
        tensors = args
        rest = ()
    elif nin < 0:
        tensors = tuple(args[0])
        rest = args[1:]
    else:
        tensors = args[:nin]
        rest = args[nin:]
        if len(tensors) < nin:
            raise TypeError(f"{op.name}() expected {nin} tensor arguments, got {len(tensors)}")
    if rest:
        if len(rest) > len(op.params):
            raise TypeError(
                f"{op.name}() takes {nin} tensor inputs and parameters {op.params}; got "
                f"{len(rest)} extra positional arguments"
            )
        for k, v in zip(op.params, rest):
            if k in kw:
                raise TypeError(f"{op.name}() got multiple values for argument '{k}'")
            kw[k] = v

    modes = _ctx.modes
    if modes:
        for mode in reversed(modes):
            r = mode.process(op, tensors, kw)
            if r is not NotImplemented:
                return r
    if VMAP[0]:
        from .func._batching import batched_apply

        r = batched_apply(op, tensors, kw)
        if r is not NotImplemented:
            return r
    arrays = []
    rg = False
    for a in tensors:
        if type(a) is Tensor or isinstance(a, Tensor):
            arrays.append(a._array)
            if a._requires_grad:
                rg = True
            elif a._extra_state is not None and ON_VIEW[0] is not None and a._extra_state.get("is_view"):
                ON_VIEW[0](a)  # its base may have joined a graph in place since the view was made
                if a._requires_grad:
                    rg = True
        elif type(a) is float or type(a) is int:
            arrays.append(a)
        else:
            arrays.append(_as_input(a, op, len(arrays)))

    policy = op.policy
    if policy != "keep":
        a0 = arrays[0] if arrays else None
        if type(a0) is np.ndarray and a0.dtype.kind == "f" and len(arrays) <= 2:
            if len(arrays) == 2:  # a Python number, or an array of the same dtype: nothing to do
                a1 = arrays[1]
                t1 = type(a1)
                if not (t1 is float or t1 is int or (
                        t1 is np.ndarray and (a1.dtype is a0.dtype or a1.dtype == a0.dtype))):
                    arrays = _promote(arrays, policy, op)
        else:
            arrays = _promote(arrays, policy, op)
    try:
        out = op.fwd(arrays, **kw) if nin < 0 else op.fwd(*arrays, **kw)
    except (TypeError, ValueError, IndexError, OverflowError, np.exceptions.AxisError) as e:
        raise _forward_error(op, arrays, e) from e

    if op.nout == 1:
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if rg and op.diff and _state.enabled and out.dtype.kind == "f":
            node = _record(op, tensors, kw, out)
            res = _make(out, node, 0)
            if op.view:
                _share_version(res, tensors[0])
                node.outv = (res._version_counter, res._version_counter[0])
            elif op.saves_out:  # a fresh counter: the node expects version 0 (check_versions)
                res._version_counter = node.outv = [0]
            # else: the counter is created on first use (Tensor._bump, views, detach); nodes
            # that save this tensor as an input recorded version 0 for it (``ver`` None)
        else:
            res = _make(out)
            if op.view:
                _share_version(res, tensors[0])
            if rg:  # the graph is cut here: leave a mark for autograd.why
                _cut(res, op, tensors)
        if FW_LEVELS[0]:
            from .autograd.forward_ad import _propagate

            _propagate(op, tensors, kw, (res,))
        if modes:
            for mode in modes:
                mode.after(op, tensors, kw, (res,))
        return res

    out = tuple(o if type(o) is np.ndarray else np.asarray(o) for o in out)
    if rg and op.diff and _state.enabled:
        node = _record(op, tensors, kw, out)
        nd = op.nondiff_out
        res = tuple(
            _make(o) if (i in nd or o.dtype.kind != "f") else _make(o, node, i)
            for i, o in enumerate(out)
        )
    else:
        res = tuple(_make(o) for o in out)
    if op.view:
        for r in res:
            _share_version(r, tensors[0])
    if rg and not (op.diff and _state.enabled):
        _cut(res, op, tensors)
    if FW_LEVELS[0]:
        from .autograd.forward_ad import _propagate

        _propagate(op, tensors, kw, res)
    if modes:
        for mode in modes:
            mode.after(op, tensors, kw, res)
    return res


def _record(op, tensors, kw, out) -> Node:
    nxt = []
    ver = None  # None: every saved input at version 0 (no list to allocate, the usual case)
    for i, a in enumerate(tensors):
        if isinstance(a, Tensor):
            vc = a._version_counter
            if vc is not None and vc[0]:
                if a._extra_state is not None and a._extra_state.get("is_view") and ON_VIEW[0] is not None:
                    ON_VIEW[0](a)  # a view whose base was modified in place: refresh its grad_fn
                if ver is None:
                    ver = [0 if isinstance(t, Tensor) else None for t in tensors]
                ver[i] = vc[0]
            if a._requires_grad:
                fn = a.grad_fn
                nxt.append((fn, a._output_nr) if fn is not None else (accumulate_node(a), 0))
                continue
        nxt.append(None)
    variant = op.variant(tensors, kw) if op.variant is not None else 0
    node = Node(op, tensors, kw, out, tuple(nxt), variant)
    node.ver = ver
    hook = ON_NODE[0]
    if hook is not None:
        hook(node)
    return node


def _share_version(view: Tensor, base) -> None:
    if isinstance(base, Tensor):
        if base._version_counter is None:
            base._version_counter = [0]
        view._version_counter = base._version_counter
        view._extra_state = {"is_view": True, "base": base, "ver": base._version_counter[0]}


def _promote(arrays: list, policy: str, op) -> list:
    # fast path: all tensor inputs share one floating dtype (scalars cannot change it)
    first = None
    same = True
    for a in arrays:
        if type(a) is np.ndarray:
            if first is None:
                first = a.dtype
            elif a.dtype != first:
                same = False
                break
    if first is not None and same and first.kind == "f":
        return arrays
    if policy == "match":  # matmul-like kernels: no promotion at all, as torch
        if not same:
            raise _mismatch(op, arrays)
        return arrays
    if policy == "nobool":  # torch has no bool kernel (and refuses bool inputs) for these
        if any(type(a) is np.ndarray and a.dtype == np.bool_ for a in arrays):
            raise _no_bool(op, arrays)
        policy = "same"
    rt = _dtype.result_type(arrays)
    if rt is None:  # only Python scalars: treat them as tensors of their own type
        arrays = [np.asarray(a, dtype=_dtype.to_np(type(a))) for a in arrays]
        rt = _dtype.result_type(arrays)
    if rt.kind != "f":
        if policy == "float":
            rt = _dtype.default_np()
        elif policy == "floating":  # torch has no integer kernel for these ops
            raise NotImplementedError(
                f'"{op.name}" not implemented for \'{_dtype.torch_name(rt)}\' (inputs: '
                f"{_describe(arrays)})"
            )
        elif policy == "linalg":
            raise RuntimeError(
                f"linalg.{op.name}: Expected a floating point or complex tensor as input. Got "
                f"{_dtype.torch_name(rt)}"
            )
    elif policy == "linalg" and not same:
        raise _mismatch(op, arrays)
    return [a.astype(rt) if type(a) is np.ndarray and a.dtype != rt else a for a in arrays]


_MASK_HINT = "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
#: torch's own words for the ops whose bool refusal is a RuntimeError; others say "not implemented"
_BOOL_WORDS = {
    "sub": "Subtraction, the `-` operator, with a bool tensor is not supported. " + _MASK_HINT,
    "neg": "Negation, the `-` operator, on a bool tensor is not supported. " + _MASK_HINT,
    "relu": "Boolean inputs not supported for relu",
    "hardtanh": "Bool inputs not supported for hardtanh",
}


def _no_bool(op, arrays) -> Exception:
    words = _BOOL_WORDS.get(op.name)
    if words is not None:
        return RuntimeError(f"{op.name}(): {words} (inputs: {_describe(arrays)})")
    return NotImplementedError(
        f'"{op.name}" not implemented for \'Bool\' (inputs: {_describe(arrays)})')


def _mismatch(op, arrays) -> RuntimeError:
    dts = [a.dtype for a in arrays if type(a) is np.ndarray]
    a, b = dts[0], next(d for d in dts if d != dts[0])
    what = "m1 and m2" if op.name == "matmul" else "all tensors"
    return RuntimeError(
        f"{op.name}(): expected {what} to have the same dtype, but got: "
        f"{_dtype.C_NAME.get(a.name, a.name)} != {_dtype.C_NAME.get(b.name, b.name)} "
        f"(inputs: {_describe(arrays)})"
    )


def _describe(arrays) -> str:
    return ", ".join(
        f"{tuple(a.shape)} {a.dtype}" if isinstance(a, np.ndarray) else repr(a) for a in arrays
    )


def _forward_error(op, arrays, e: Exception) -> Exception:
    """The one translator of a forward's NumPy/Python error into torch's exception type and words.

    Bad dims are IndexError; shape and value problems, and NumPy's ufunc casting/loop errors
    (TypeError subclasses that torch reports as RuntimeError), are RuntimeError; a Python
    TypeError (a bad argument) stays TypeError. The message names the op and its inputs.
    """
    text = str(e)
    # NumPy's ufuncs raise TypeErrors of their own (bool negative, no loop, casting): torch
    # reports those as RuntimeError; a Python TypeError (a bad argument) stays TypeError
    python_type_error = isinstance(e, TypeError) and not (
        type(e).__module__.startswith("numpy") or "numpy" in text or "ufunc" in text)
    if not python_type_error:  # a bad keyword keeps its own name ('axis' …)
        text = _torch_words(text)
    if "broadcast" in text:
        text = _broadcast_message(arrays) or text
    if not text.startswith(f"{op.name}()"):
        text = f"{op.name}(): {text}"
    msg = f"{text} (inputs: {_describe(arrays)})"
    if isinstance(e, (np.exceptions.AxisError, IndexError)):
        return IndexError(msg)
    if isinstance(e, OverflowError):  # a Python int beyond int64, as torch words it
        return OverflowError(f"{op.name}(): int too big to convert (inputs: {_describe(arrays)})")
    if python_type_error:
        return TypeError(msg)
    if isinstance(e, np.linalg.LinAlgError):
        from .ops.linalg import LinAlgError

        return LinAlgError(msg)
    return RuntimeError(msg)


_NUMPY_WORDS = (("axis", "dim"), ("axes", "dims"), ("array", "tensor"), ("Array", "Tensor"))


def _torch_words(text: str) -> str:
    """NumPy's vocabulary in torch's (``axis 3 is out of bounds`` → ``dim 3 …``)."""
    import re

    for a, b in _NUMPY_WORDS:
        text = re.sub(rf"\b{a}\b", b, text)
    return text


def _broadcast_message(arrays) -> str | None:
    shapes = [a.shape for a in arrays if isinstance(a, np.ndarray)]
    if len(shapes) < 2:
        return None
    a, b = shapes[0], shapes[1]
    for k in range(1, min(len(a), len(b)) + 1):
        if a[-k] != b[-k] and a[-k] != 1 and b[-k] != 1:
            return (
                f"The size of tensor a ({a[-k]}) must match the size of tensor b ({b[-k]}) at "
                f"non-singleton dimension {max(len(a), len(b)) - k}"
            )
    return None
