"""The mode stack: the one place where the funnel (``_dispatch.apply``) learns what is active.

A *mode* is a transform or an observer that wants to see ops as they run: forward-mode AD levels,
vmap levels, node observers (anomaly, explain), the compile tracer. Each is an instance of a
``Mode`` subclass that overrides only the events it handles. Upper layers *register* modes here;
the funnel never imports them (layers import only downward).

The stack is per thread, as torch's dispatch state is: a mode pushed in one thread is not seen
by ops another thread runs. The empty stack costs the funnel one attribute read.

Events, in the order the funnel delivers them for one op:

- ``process(op, tensors, kw)``: before the forward, innermost mode first. A mode may take the op
  over (vmap runs it on the batched values) and return its result; ``NotImplemented`` passes it
  on. A mode that takes an op over usually re-enters ``apply`` with itself suspended.
- ``after(op, tensors, kw, outs)``: after the forward and graph recording, outermost first;
  ``outs`` is the tuple of result Tensors (forward-AD tangents, the compile tracer's record).
- ``on_escape(tensor, how)``: a tensor's values leave for Python (``item``, ``bool``, ``numpy``,
  ``tolist``, ``float``, ``int``, ``repr`` …): a data-dependent step a tracer cannot replay.
- ``on_create(tensor, how)``: a tensor was made outside any op (a factory such as ``tensor``,
  ``zeros``, ``randn``): a tracer records it as a constant or, for random factories, a break.
- ``on_node(node)``: autograd recorded ``node`` for an op (saved-tensor packing, observers).

Besides the stack, this module holds the rest of the funnel's state, in one of two places chosen
as torch chooses:

- ``ctx`` (per thread): grad mode, the forward-AD levels, the batching levels, saved-tensor
  hooks, explain's backward observers, the functorch transform depth and vmap randomness.
- ``proc`` (process-wide): anomaly mode's observers (torch's anomaly flag is global) and the
  handlers the upper layers install once at import (autograd's graph recorder, ops.copy_slices' view
  regeneration).

Forward AD and batching are modes too (installed by ``autograd.forward_ad`` and ``_batching``
while a level is open), so with nothing active the funnel reads one tuple and grad mode, nothing
else.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Mode:
    """Base class of the entries of the mode stack; every event does nothing by default."""

    def process(self, op, tensors: tuple, kw: dict):
        return NotImplemented

    def after(self, op, tensors: tuple, kw: dict, outs: tuple) -> None:
        pass

    def on_escape(self, tensor, how: str) -> None:
        pass

    def on_create(self, tensor, how: str) -> None:
        pass

    def on_node(self, node) -> None:
        pass


class _Context(threading.local):
    """Per-thread state; every field is immutable or replaced whole, so readers need no lock."""

    #: the active modes, outermost first (a tuple: a push never mutates what a caller iterates)
    modes: tuple = ()
    #: grad mode (``no_grad``, ``enable_grad`` …), per thread as torch's
    enabled: bool = True
    #: file:line where grad mode was last turned off (for ``autograd.why``)
    off_at: str | None = None
    #: ids of the open dual levels, outermost first
    fw_levels: tuple = ()
    #: how many of ``fw_levels`` (the outer ones) ops propagate tangents for now; a level's
    #: tangent arithmetic runs with only the levels outside it visible
    fw_visible: int = 0
    #: batching level -> batch size, for the levels open in this thread
    batch_sizes: dict
    #: the batching levels opened by ``vmap`` (the others carry a basis of (co)tangents)
    vmapped: frozenset = frozenset()
    #: > 0 while a batched backward pass without create_graph runs: the value ops record no graph
    batch_no_record: int = 0
    #: nesting depth of functorch transforms (grad, vjp, jacrev …)
    transform_depth: int = 0
    #: ``vmap(randomness=...)`` of the open vmaps, outermost first
    randomness: tuple = ()
    #: active saved-tensor hooks ``(pack, unpack)``, outermost first (the innermost applies)
    saved_hooks: tuple = ()
    #: messages of the active ``disable_saved_tensors_hooks``
    hooks_disabled: tuple = ()
    #: backward observers of this thread (explain): ``obs(node, grads_in, grads_out)``
    observers: tuple = ()

    def __init__(self) -> None:
        self.batch_sizes = {}


ctx = _Context()


class _Process:
    """Process-wide state: anomaly mode's hooks and the handlers upper layers install."""

    #: autograd's graph recorder ``record(op, tensors, kw, out) -> Node`` (``autograd.record``)
    record = None
    #: ``refresh_view(view)``: regenerate a view's grad_fn after its base changed in place
    refresh_view = None
    #: ``remember(src, res, mark, walk)``: keep what a cut was made on, for ``why`` (autograd.why)
    remember_cut = None
    #: callables(node) run for every node recorded in any thread (anomaly mode's creation sites)
    node_hooks: tuple = ()
    #: backward observers of every thread (anomaly mode's NaN check)
    observers: tuple = ()
    #: ``h(exc, node)`` when backward raises while running ``node`` (anomaly mode's notes)
    on_error: tuple = ()
    #: public functions a batching rule takes over as a whole while a batching level is open
    #: (name -> ``rule(*args)``, returning None where it does not apply)
    batch_calls: dict = {}


proc = _Process()


def push(mode: Mode) -> None:
    """Make ``mode`` the innermost active mode of this thread."""
    ctx.modes = ctx.modes + (mode,)


def pop(mode: Mode) -> None:
    """Deactivate ``mode``, which must be the innermost one."""
    modes = ctx.modes
    if not modes or modes[-1] is not mode:
        raise RuntimeError(f"mode stack: {mode!r} is not the innermost active mode")
    ctx.modes = modes[:-1]


@contextmanager
def active(mode: Mode) -> Iterator[Mode]:
    """``with active(mode):`` pushes ``mode`` for the block and pops it after, even on error."""
    push(mode)
    try:
        yield mode
    finally:
        pop(mode)


def remove(mode: Mode) -> None:
    """Deactivate ``mode`` wherever it sits, keeping the modes inside it (an internal mode such
    as forward AD's closes when its last level does, not necessarily innermost)."""
    ctx.modes = tuple(m for m in ctx.modes if m is not mode)


@contextmanager
def without(mode: Mode) -> Iterator[None]:
    """Run the block with ``mode`` alone removed (the modes inside it stay active)."""
    modes = ctx.modes
    if mode not in modes:
        yield
        return
    ctx.modes = tuple(m for m in modes if m is not mode)
    try:
        yield
    finally:
        ctx.modes = modes


@contextmanager
def suspended(mode: Mode) -> Iterator[None]:
    """Run the block without ``mode`` (and the modes inside it), e.g. to re-enter the funnel."""
    modes = ctx.modes
    k = next((i for i, m in enumerate(modes) if m is mode), None)
    if k is None:
        yield
        return
    ctx.modes = modes[:k]
    try:
        yield
    finally:
        ctx.modes = modes


def current() -> tuple:
    """The active modes of this thread, outermost first."""
    return ctx.modes


def escape(tensor, how: str) -> None:
    """Tell the active modes that ``tensor``'s values leave for Python through ``how``."""
    for m in ctx.modes:
        m.on_escape(tensor, how)


def created(tensor, how: str) -> None:
    """Tell the active modes that a factory (``how``) made ``tensor`` outside any op."""
    for m in ctx.modes:
        m.on_create(tensor, how)


def node_created(node) -> None:
    """Tell the process-wide node hooks, then this thread's modes, that ``node`` was recorded."""
    for h in proc.node_hooks:
        h(node)
    for m in ctx.modes:
        m.on_node(node)


# ---- where a graph was cut (read by autograd.why) ---------------------------------------------
_PKG = os.path.dirname(os.path.abspath(__file__))


def _site() -> str | None:
    """``file:line`` of the innermost frame outside chainrule (the user's line)."""
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_PKG):
        f = f.f_back
    return None if f is None else f"{os.path.basename(f.f_code.co_filename)}:{f.f_lineno}"


def _cut(res, op, tensors) -> None:
    """The funnel's mark: ``op`` ran on inputs that require grad but recorded no graph.

    Marks the result (``_extra_state["cut"]``) with ``(kind, op name, file:line)``, and for a
    non-differentiable op also the inputs that required grad (``"cut_use"``). Runs only on that
    path; under no_grad (inference) it costs one small dict per result.
    """
    st = ctx
    if not st.enabled and type(res) is not tuple and res._extra_state is None:  # common, fast
        res._extra_state = {"cut": ("no_grad", op.name, st.off_at)}
        return
    if st.enabled:
        mark = ("non-differentiable", op.name, _site())
    else:
        mark = ("no_grad", op.name, st.off_at)
    for r in res if type(res) is tuple else (res,):
        x = r._extra_state
        if x is None:
            r._extra_state = {"cut": mark}
        else:
            x["cut"] = mark
    if not st.enabled:  # the inputs are not marked under no_grad: that path must stay lean
        return
    for a in tensors:
        if getattr(a, "_requires_grad", False):
            x = a._extra_state
            if x is None:
                a._extra_state = {"cut_use": mark}
            else:
                x["cut_use"] = mark
            if proc.remember_cut is not None:
                proc.remember_cut(a, res if type(res) is not tuple else None, mark, True)


def _detached(src, res) -> None:
    """``detach``'s mark: ``res = src.detach()`` with ``src`` requiring grad."""
    mark = ("detached", "detach", _site())
    res._extra()["cut"] = mark
    src._extra()["cut_use"] = mark
    if proc.remember_cut is not None:
        proc.remember_cut(src, res, mark, True)
