"""Forward-mode AD (dual numbers): ``dual_level``, ``make_dual``, ``unpack_dual``.

Tangents are Tensors attached to primal Tensors; every op computes its output's tangent eagerly
from the rule table's forward-mode rules, multiplying the chain rule from the input side.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import _dispatch, _ns
from .._tensor import Tensor, _make
from ..ops._table import LINEAR, broadcastable_to

_levels: list[int] = []
_fw_off = [0]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])


def enter_dual_level() -> int:
    """Start a new dual level and return its index."""
    lvl = len(_levels)
    _levels.append(lvl)
    _dispatch.FW_LEVELS[0] = len(_levels)
    return lvl


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the innermost dual level; its tangents are dropped."""
    if not _levels:
        raise RuntimeError("exit_dual_level: no dual level is active")
    lvl = _levels[-1]
    if level is not None and level != lvl:
        raise RuntimeError(f"exit_dual_level: level {level} is not the innermost level {lvl}")
    _levels.pop()
    _dispatch.FW_LEVELS[0] = len(_levels)
    _dead.add(lvl)


_dead: set = set()


class dual_level:
    """Context manager for forward AD; dual tensors made inside lose their tangents on exit.

    Example:
        >>> with forward_ad.dual_level():
        ...     x = forward_ad.make_dual(chainrule.tensor(2.0), chainrule.tensor(1.0))
        ...     forward_ad.unpack_dual(x * x).tangent
        tensor(4.)
    """

    def __enter__(self) -> int:
        self.level = enter_dual_level()
        _dead.discard(self.level)
        return self.level

    def __exit__(self, *exc) -> None:
        exit_dual_level(level=self.level)


def _tangent(t, level: int):
    if isinstance(t, Tensor) and t._x is not None:
        fw = t._x.get("fw")
        if fw:
            return fw.get(level)
    return None


def _set_tangent(t: Tensor, level: int, tangent: Tensor) -> None:
    t._extra().setdefault("fw", {})[level] = tangent


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A view of ``tensor`` carrying ``tangent`` as its forward-mode derivative."""
    if level is None:
        if not _levels:
            raise RuntimeError(
                "make_dual: to create a dual Tensor, you need to be inside a dual_level context "
                "(with forward_ad.dual_level():)"
            )
        level = _levels[-1]
    if not isinstance(tangent, Tensor):
        raise TypeError("make_dual: expected tangent to be a Tensor")
    if tangent.shape != tensor.shape:
        raise RuntimeError(
            f"make_dual: expected tangent to have the same shape as primal, got primal shape "
            f"{list(tensor.shape)} and tangent shape {list(tangent.shape)}"
        )
    if not tensor.is_floating_point():
        raise ValueError(f"make_dual: expected a floating point primal, got {tensor.dtype}")
    if tangent.data.dtype != tensor.data.dtype:
        tangent = tangent.to(tensor.dtype)
    _fw_off[0] += 1
    try:
        out = _ns.view(tensor, tuple(tensor.shape)) if tensor._rg else _make(tensor.data)
    finally:
        _fw_off[0] -= 1
    _set_tangent(out, level, tangent)
    return out


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of a dual tensor; tangent is None where there is none."""
    if level is None:
        level = _levels[-1] if _levels else 0
    t = _tangent(tensor, level)
    if t is None:
        return UnpackedDualTensor(tensor, None)
    primal = _make(tensor.data, tensor.grad_fn, tensor._nr)
    primal._rg = tensor._rg
    return UnpackedDualTensor(primal, t)


def _propagate(op, tensors, kw, res) -> None:
    """Compute the outputs' tangents from the inputs' with the op's forward-mode rule."""
    if _fw_off[0]:
        return
    _fw_off[0] += 1  # tangent arithmetic itself carries no tangents (one level, as torch)
    try:
        _propagate_levels(op, tensors, kw, res)
    finally:
        _fw_off[0] -= 1


def _propagate_levels(op, tensors, kw, res) -> None:
    for level in list(_levels):
        ts = [_tangent(a, level) for a in tensors]
        if all(t is None for t in ts):
            continue
        if op.jvp is None and op.jvp_all is None:
            if not op.diff:
                continue
            raise NotImplementedError(
                f"Trying to use forward AD with {op.name} that does not support it because it has "
                "no forward-mode rule in the rule table"
            )
        out = res[0] if op.nout == 1 else res
        if op.jvp == LINEAR:
            args = [t if t is not None else (_zeros(a) if isinstance(a, Tensor) else a)
                    for a, t in zip(tensors, ts)]
            outs = _dispatch.apply(op, args, **kw) if op.nin < 0 else _dispatch.apply(op, *args, **kw)
            outs = (outs,) if op.nout == 1 else outs
        elif op.jvp_all is not None:
            r = op.jvp_all(_ns, ts, out, tensors, **kw) if op.nin < 0 else \
                op.jvp_all(_ns, ts, out, *tensors, **kw)
            outs = (r,) if op.nout == 1 else r
        else:
            total = None
            for rule, t in zip(op.jvp, ts):
                if t is not None:
                    c = rule(_ns, t, out, *tensors, **kw)
                    total = c if total is None else total + c
            outs = (total,)
        for o, t in zip(res, outs):
            if t is None or o.data.dtype.kind != "f":
                continue
            if not isinstance(t, Tensor):
                t = _make(np.asarray(t, dtype=o.data.dtype))
            if t.data.shape != o.data.shape:
                if not broadcastable_to(t.data.shape, o.data.shape):
                    raise RuntimeError(
                        f"forward-mode rule of {op.name} gave a tangent of shape {list(t.shape)} "
                        f"for an output of shape {list(o.shape)}"
                    )
                t = _ns.expand(t, tuple(o.data.shape))
            if t.data.dtype != o.data.dtype:
                t = _ns.to_dtype(t, o.data.dtype)
            _set_tangent(o, level, t)


def _zeros(a: Tensor) -> Tensor:
    return _make(np.zeros_like(a.data))
