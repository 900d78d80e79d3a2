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
"""

from __future__ import annotations

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


class _Context(threading.local):
    #: the active modes, outermost first (a tuple: a push never mutates what a caller iterates)
    modes: tuple = ()


ctx = _Context()


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
