"""Forward-mode AD (dual numbers): ``dual_level``, ``make_dual``, ``unpack_dual``.

Tangents are Tensors attached to primal Tensors, one per dual level; every op computes its
outputs' tangents eagerly from the rule table's forward-mode rules, multiplying the chain rule
from the input side.

Levels nest (``jvp`` of ``jvp``): the tangent of level *k* is computed with Tensor ops while only
the levels opened before *k* are active, so tangent arithmetic of level *k* itself carries the
tangents of the outer levels (that is what makes ``jacfwd(jacfwd(f))`` exact), and never its own
or inner ones (no perturbation confusion). Tangents are ordinary Tensors: they may require grad
(reverse over forward), and a backward pass run with ``create_graph=True`` on dual tensors gives
gradients that carry tangents (forward over reverse).
"""

from __future__ import annotations

import itertools
from collections import namedtuple
from contextlib import contextmanager

import numpy as np

from .. import _context, _dispatch, _ns
from .._context import ctx as _ctx
from .._tensor import Tensor, _make
from .._batching import Batched, lift, lower
from ..ops._table import LINEAR, broadcastable_to

# The open levels are ``_ctx.fw_levels`` (per thread, as torch's dual levels), outermost first;
# ids are unique so a closed level's tangents are never reused.
_ids = itertools.count()


class _ForwardAD(_context.Mode):
    """The mode of forward AD, on the stack while this thread has a visible dual level: after
    each op it computes the outputs' tangents."""

    def after(self, op, tensors, kw, outs) -> None:
        _propagate(op, tensors, kw, outs)


_FORWARD = _ForwardAD()


@contextmanager
def _visible(k: int):
    """Run the block with only the ``k`` outermost dual levels visible to ops (0: none)."""
    modes, n = _ctx.modes, _ctx.fw_visible
    _ctx.fw_visible = k
    if not k:
        _ctx.modes = tuple(m for m in modes if m is not _FORWARD)
    try:
        yield
    finally:
        _ctx.modes, _ctx.fw_visible = modes, n


def _set_levels(levels: tuple) -> None:
    _ctx.fw_levels = levels
    _ctx.fw_visible = len(levels)
    on = _FORWARD in _ctx.modes
    if levels and not on:
        _context.push(_FORWARD)
    elif not levels and on:
        _context.remove(_FORWARD)

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])


def enter_dual_level() -> int:
    """Start a new (innermost) dual level and return its id."""
    lvl = next(_ids)
    _set_levels(_ctx.fw_levels + (lvl,))
    return lvl


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the innermost dual level; tangents of that level are ignored from now on."""
    levels = _ctx.fw_levels
    if not levels:
        raise RuntimeError("exit_dual_level: no dual level is active")
    lvl = levels[-1]
    if level is not None and level != lvl:
        raise RuntimeError(f"exit_dual_level: level {level} is not the innermost level {lvl}")
    _set_levels(levels[:-1])


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
        return self.level

    def __exit__(self, *exc) -> None:
        exit_dual_level(level=self.level)


def _fw(t) -> dict | None:
    if isinstance(t, Tensor) and t._extra_state is not None:
        return t._extra_state.get("fw")
    return None


def _tangent(t, level: int):
    fw = _fw(t)
    return fw.get(level) if fw else None


def _set_tangent(t: Tensor, level: int, tangent: Tensor) -> None:
    t._extra().setdefault("fw", {})[level] = tangent


def _current(level: int | None, what: str) -> int:
    if level is not None:
        return level
    if not _ctx.fw_levels:
        raise RuntimeError(
            f"{what}: to create a dual Tensor, you need to be inside a dual_level context "
            "(with forward_ad.dual_level():)"
        )
    return _ctx.fw_levels[-1]


def _alias(tensor: Tensor) -> Tensor:
    """A new tensor with ``tensor``'s value and graph (a view when it requires grad)."""
    with _visible(0):
        if tensor._requires_grad:
            out = _ns.view(tensor, tuple(tensor.shape))
        else:
            out = _make(tensor._array)
    fw = _fw(tensor)
    if fw:  # tangents of the other levels stay
        out._extra()["fw"] = dict(fw)
    return out


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A view of ``tensor`` carrying ``tangent`` as its forward-mode derivative at ``level``.

    Example:
        >>> with forward_ad.dual_level():
        ...     x = forward_ad.make_dual(chainrule.tensor([1.0, 2.0]), chainrule.ones(2))
        ...     forward_ad.unpack_dual(x.exp()).tangent
        tensor([2.7183, 7.3891])
    """
    level = _current(level, "make_dual")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_dual: expected primal to be a Tensor, got {type(tensor).__name__}")
    if not isinstance(tangent, Tensor):
        raise TypeError(f"make_dual: expected tangent to be a Tensor, got {type(tangent).__name__}")
    if tangent.shape != tensor.shape:
        raise RuntimeError(
            f"make_dual: expected tangent to have the same shape as primal, got primal shape "
            f"{list(tensor.shape)} and tangent shape {list(tangent.shape)}"
        )
    if not tensor.is_floating_point():
        raise ValueError(
            f"make_dual: expected primal to be floating point or complex, but got {tensor.dtype}"
        )
    if tangent._array.dtype != tensor._array.dtype:
        with _visible(0):
            tangent = _ns.to_dtype(tangent, tensor.dtype)
    if isinstance(tensor, Batched):  # tangents live on the values, with the batch dim exposed
        return Batched(make_dual(tensor.value, lift(tangent, tensor.level), level=level),
                       tensor.level)
    out = _alias(tensor)
    _set_tangent(out, level, tangent)
    return out


def unpack_dual(tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of a dual tensor at ``level``; tangent is None where there is none.

    The primal keeps the tangents of the other levels and the graph of ``tensor``.
    """
    if level is None:
        if not _ctx.fw_levels:
            return UnpackedDualTensor(tensor, None)
        level = _ctx.fw_levels[-1]
    if isinstance(tensor, Batched):
        p, t = unpack_dual(tensor.value, level=level)
        if t is None:
            return UnpackedDualTensor(tensor, None)
        return UnpackedDualTensor(Batched(p, tensor.level), lower(t, tensor.level))
    t = _tangent(tensor, level)
    if t is None:
        return UnpackedDualTensor(tensor, None)
    primal = _alias(tensor)
    del primal._extra_state["fw"][level]
    return UnpackedDualTensor(primal, t)


def _propagate(op, tensors, kw, res) -> None:
    """Compute the outputs' tangents from the inputs' with the op's forward-mode rule.

    The tangent of the level at position k is computed while only the k outer levels are
    active, so its arithmetic carries their tangents (nested forward mode).
    """
    levels = _ctx.fw_levels
    for k in range(_ctx.fw_visible):  # outer levels first: inner rules may read out's outer tangents
        level = levels[k]
        ts = [_tangent(a, level) for a in tensors]
        if all(t is None for t in ts):
            continue
        with _visible(k):
            _one_level(op, tensors, kw, res, ts, level)
    node = next((o.grad_fn for o in res if o.grad_fn is not None), None)
    if node is not None:  # for forward over reverse: the backward rules read out's tangents
        fws = [_fw(o) for o in res]
        if any(fws):
            node._extra()["fw_out"] = [dict(f) if f else None for f in fws]


def _one_level(op, tensors, kw, res, ts, level) -> None:
    if op.jvp is None and op.jvp_all is None:
        if not op.diff:
            return
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
        if t is None or o._array.dtype.kind != "f":
            continue
        if not isinstance(t, Tensor):
            t = _make(np.asarray(t, dtype=o._array.dtype))
        if t._array.shape != o._array.shape:
            if not broadcastable_to(t._array.shape, o._array.shape):
                raise RuntimeError(
                    f"forward-mode rule of {op.name} gave a tangent of shape {list(t.shape)} "
                    f"for an output of shape {list(o.shape)}"
                )
            t = _ns.expand(t, tuple(o._array.shape))
        if t._array.dtype != o._array.dtype:
            t = _ns.to_dtype(t, o._array.dtype)
        _set_tangent(o, level, t)


def _attach_out_tangents(node, out):
    """The engine's Tensor view of a node's output(s), with the tangents they had in forward."""
    fws = node.x["fw_out"]
    if isinstance(out, tuple):
        for o, f in zip(out, fws):
            if f:
                o._extra()["fw"] = dict(f)
    elif fws[0]:
        out._extra()["fw"] = dict(fws[0])
    return out


def _zeros(a: Tensor) -> Tensor:
    from .._creation import zeros_like

    return zeros_like(a)
