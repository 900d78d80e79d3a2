"""THE place where an op runs: the active modes, dtype promotion, forward, graph recording.

The funnel sits low (see ARCHITECTURE.md): it imports only ``_dtype``, ``_context``, ``_tensor``
and ``_creation``. What the layers above add reaches it through ``_context``: the per-thread mode
stack (forward AD, vmap, saved-tensor hooks, tracers), grad mode, and the process-wide handlers
(autograd's graph recorder, view regeneration). With no mode active an op costs one read of the
stack and one of grad mode beyond the forward itself.
"""

from __future__ import annotations

import numpy as np

from . import _dtype
from ._context import _cut
from ._context import ctx as _ctx
from ._context import proc as _proc
from ._operators import ArrayOperand
from ._tensor import Tensor, _make, _to_array

_SCALARS = (int, float, bool)


class LinAlgError(RuntimeError):
    """A linear-algebra solver failed (singular or not positive-definite input), as
    ``torch.linalg.LinAlgError`` (a RuntimeError)."""


LinAlgError.__module__ = "chainrule.linalg"


def _as_input(a, op, pos: int = 0):
    """A non-Tensor input of ``op`` at tensor position ``pos``: Python numbers (and NumPy
    scalars) pass; arrays, lists and tuples are refused with torch's TypeError (the operators
    ``t + ndarray`` … convert them first, as torch)."""
    if isinstance(a, Tensor):
        return a._array
    if a is None or isinstance(a, _SCALARS):
        return a
    if isinstance(a, np.generic):
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

    ctx = _ctx
    modes = ctx.modes
    if modes:
        for mode in reversed(modes):
            r = mode.process(op, tensors, kw)
            if r is not NotImplemented:
                return r
    arrays = []
    rg = False
    for a in tensors:
        if type(a) is Tensor or isinstance(a, Tensor):
            arrays.append(a._array)
            if a._requires_grad:
                rg = True
            elif a._extra_state is not None and a._extra_state.get("is_view") and \
                    _proc.refresh_view is not None:
                _proc.refresh_view(a)  # its base may have joined a graph in place since then
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
        if rg and op.diff and ctx.enabled and out.dtype.kind == "f":
            node = _proc.record(op, tensors, kw, out, modes)
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
        if modes:
            for mode in modes:
                mode.after(op, tensors, kw, (res,))
        return res

    out = tuple(o if type(o) is np.ndarray else np.asarray(o) for o in out)
    if rg and op.diff and ctx.enabled:
        node = _proc.record(op, tensors, kw, out, modes)
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
    if rg and not (op.diff and ctx.enabled):
        _cut(res, op, tensors)
    if modes:
        for mode in modes:
            mode.after(op, tensors, kw, res)
    return res


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
    if policy == "match" or policy == "match_bool":  # matmul-like kernels: no promotion, as torch
        if not same:
            raise _mismatch(op, arrays)
        if first == np.bool_ and policy == "match":  # (isclose alone has a bool kernel)
            raise _no_bool(op, arrays)
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
        if policy == "nobool_result" and rt == np.bool_:  # pow/remainder: no bool kernel, but a
            raise _no_bool(op, arrays)  # bool tensor with a Python int promotes to int64
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
