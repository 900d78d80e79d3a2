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
from ._tensor import Tensor, _make, _to_array

_SCALARS = (int, float, bool)


def _as_input(a, op):
    if isinstance(a, Tensor):
        return a._array
    if a is None or isinstance(a, _SCALARS):
        return a
    if isinstance(a, (np.ndarray, np.generic, list, tuple)):
        return _to_array(a, None)
    raise TypeError(
        f"{op.name}(): expected Tensor or number as input, but got {type(a).__name__}"
    )


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
            arrays.append(_as_input(a, op))

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
    except (TypeError, ValueError, IndexError, np.exceptions.AxisError) as e:
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
    rt = _dtype.result_type(arrays)
    if rt is None:  # only Python scalars: treat them as tensors of their own type
        arrays = [np.asarray(a, dtype=_dtype.to_np(type(a))) for a in arrays]
        rt = _dtype.result_type(arrays)
    if policy == "float" and rt.kind != "f":
        rt = _dtype.default_np()
    return [a.astype(rt) if type(a) is np.ndarray and a.dtype != rt else a for a in arrays]


def _forward_error(op, arrays, e: Exception) -> Exception:
    """Torch's error types: shape problems are RuntimeError, bad dims IndexError."""
    shapes = ", ".join(
        f"{tuple(a.shape)} {a.dtype}" if isinstance(a, np.ndarray) else repr(a) for a in arrays
    )
    text = str(e)
    if "broadcast" in text:
        text = _broadcast_message(arrays) or text
    msg = f"{op.name}(): {text} (inputs: {shapes})"
    if isinstance(e, (np.exceptions.AxisError, IndexError)):
        return IndexError(msg)
    if isinstance(e, ValueError):
        return RuntimeError(msg)
    return type(e)(msg)


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
