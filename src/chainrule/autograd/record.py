"""Autograd's recording handler: the funnel calls ``record`` for an op that needs a graph node.

Installed in ``_context.proc.record`` when autograd loads, so the funnel (``_dispatch``) records
graph without importing autograd. Also the process-wide node hooks (anomaly mode's creation
sites), which run before this thread's modes see the node.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import _context
from .._context import proc as _proc
from .._tensor import Tensor
from .node import Node, accumulate_node


def record(op, tensors, kw, out, modes) -> Node:
    """The node of ``op`` run on ``tensors`` (with result array(s) ``out``) and its input edges."""
    nxt = []
    ver = None  # None: every saved input at version 0 (no list to allocate, the usual case)
    for i, a in enumerate(tensors):
        if isinstance(a, Tensor):
            vc = a._version_counter
            if vc is not None and vc[0]:
                if a._extra_state is not None and a._extra_state.get("is_view") and \
                        _proc.refresh_view is not None:
                    _proc.refresh_view(a)  # a view whose base was modified in place: refresh it
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
    if _proc.node_hooks:
        for h in _proc.node_hooks:
            h(node)
    if modes:
        for m in modes:
            m.on_node(node)
    return node


def add_node_hook(fn: Callable, first: bool = False) -> None:
    """Call ``fn(node)`` for every node recorded from now on, in any thread (anomaly mode);
    ``first``: before the hooks already there (observers that must see the node unpacked)."""
    hooks = _proc.node_hooks
    _proc.node_hooks = (fn, *hooks) if first else (*hooks, fn)


def remove_node_hook(fn: Callable) -> None:
    _proc.node_hooks = tuple(h for h in _proc.node_hooks if h != fn)  # == : bound methods


_context.proc.record = record
