"""Graph nodes: one ``Node`` per recorded op, ``AccumulateGrad`` per leaf."""

from __future__ import annotations

import itertools

import numpy as np
from typing import Any
from collections.abc import Callable

from .._hooks import RemovableHandle

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


class Node:
    """A recorded op: what its backward needs, and the edges to the nodes of its inputs.

    ``next_functions`` holds one ``(node, output_nr)`` per input (``(None, 0)`` where the input
    needs no gradient), like torch's.
    """

    __slots__ = ("op", "saved", "kw", "out", "next", "variant", "x", "seq", "ver", "outv",
                 "n_out", "meta", "__weakref__")
    _seq = itertools.count()

    def __init__(self, op, saved: tuple, kw: dict, out, nxt: tuple, variant: int = 0) -> None:
        self.op = op  # the OpDef row of the rule table
        self.saved = saved  # the inputs (Tensors or Python scalars); None once freed
        self.kw = kw  # non-tensor arguments
        self.out = out  # the forward result array(s), kept for rules that use it
        self.next = nxt  # tuple of (Node, nr) or None per input
        self.variant = variant
        self.x = None  # rarely used state: hooks, retained grads, creation site
        self.seq = next(Node._seq)
        self.ver = None  # versions of the saved inputs at record time; None: all 0 (in-place check)
        self.outv = None  # (version counter, version) of the output at record time, or the
        # fresh output's counter alone (version 0)
        self.n_out = op.nout if op.nout > 0 else len(out)
        self.meta = None  # after release: the inputs' (shape, dtype), for nodes that save nothing

    # ---- torch-like introspection ---------------------------------------------------------
    def name(self) -> str:
        return f"{self.op.cls}Backward{self.variant}"

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self) -> tuple:
        return tuple((None, 0) if e is None else e for e in self.next)

    @property
    def metadata(self) -> dict:
        return self._extra().setdefault("metadata", {})

    def _extra(self) -> dict:
        if self.x is None:
            self.x = {}
        return self.x

    def _tensor_hooks(self, nr: int) -> dict:
        return self._extra().setdefault("tensor_hooks", {}).setdefault(nr, {})

    def _add_retain(self, nr: int, ref) -> None:
        self._extra().setdefault("retain", {})[nr] = ref

    def register_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(grad_inputs, grad_outputs)`` after this node ran; may return new grad_inputs."""
        return RemovableHandle(self._extra().setdefault("post", {}), hook)

    def register_prehook(self, hook: Callable) -> RemovableHandle:
        """``hook(grad_outputs)`` before this node runs; may return new grad_outputs."""
        return RemovableHandle(self._extra().setdefault("pre", {}), hook)

    def release(self) -> None:
        saved = self.saved
        if saved is not None and self.op.keeps_meta and type(self) is Node:
            # its backward reads no saved value (AddBackward0, SumBackward0 …), only shapes: keep
            # those, so that a second backward through it works, as in torch
            self.meta = [(x._array.shape, x._array.dtype) if hasattr(x, "_requires_grad") else (None, x)
                         for x in saved]
        self.saved = None
        self.out = None

    def inputs_for_backward(self) -> tuple:
        """The saved inputs; for a released node that saved nothing, zero-memory stand-ins."""
        if self.saved is not None:
            return self.saved
        if self.meta is None:
            raise RuntimeError(_FREED + f" (while running {self.name()})")
        from .._tensor import _make

        return tuple(v if shape is None else _make(np.broadcast_to(np.zeros((), v), shape))
                     for shape, v in self.meta)

    def saved_inputs(self) -> tuple:
        if self.saved is None:
            raise RuntimeError(_FREED + f" (node {self.name()})")
        return self.saved

    def check_versions(self) -> None:
        """Raise if a value this node's backward reads was modified in place since it was saved."""
        op = self.op
        saved, ver = self.saved, self.ver  # ver None: all saved inputs were at version 0
        for i in range(len(saved)) if op.saves is None else op.saves:
            vc = getattr(saved[i], "_version_counter", None)
            if vc is not None:
                v = 0 if ver is None else ver[i]
                if v is not None and vc[0] != v:
                    raise RuntimeError(_inplace_msg(saved[i]._array, f"input {i} of {self.name()}",
                                                    vc[0], v))
        outv = self.outv  # (counter, version), or a fresh output's counter (version 0)
        if outv is not None and op.saves_out:
            vc, v = (outv, 0) if type(outv) is list else outv
            if vc[0] != v:
                o = self.out if not isinstance(self.out, tuple) else self.out[0]
                raise RuntimeError(_inplace_msg(o, f"output 0 of {self.name()}", vc[0], v))


def _inplace_msg(arr, what: str, now: int, then: int) -> str:
    return (
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{arr.dtype} {list(arr.shape)}], which is {what}, is at version {now}; "
        f"expected version {then} instead. Hint: the backward of {what.split(' of ')[-1]} needs "
        "its value as it was in the forward pass; use an out-of-place op or .clone() before "
        "modifying it."
    )


class AccumulateGrad:
    """The graph node of a leaf that requires grad: adds incoming gradients into ``.grad``."""

    __slots__ = ("variable", "x", "seq", "__weakref__")
    next: tuple = ()
    n_out = 1

    def __init__(self, variable: Any) -> None:
        self.variable = variable
        self.x = None
        self.seq = -1

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"

    next_functions: tuple = ()

    def _extra(self) -> dict:
        if self.x is None:
            self.x = {}
        return self.x

    @property
    def metadata(self) -> dict:
        return self._extra().setdefault("metadata", {})

    def register_hook(self, hook: Callable) -> RemovableHandle:
        return RemovableHandle(self._extra().setdefault("post", {}), hook)

    def register_prehook(self, hook: Callable) -> RemovableHandle:
        return RemovableHandle(self._extra().setdefault("pre", {}), hook)


def accumulate_node(t) -> AccumulateGrad:
    """The AccumulateGrad of leaf ``t`` (one per live leaf, as torch)."""
    ref = t._grad_accumulator
    acc = ref() if ref is not None else None
    if acc is None:
        import weakref

        acc = AccumulateGrad(t)
        t._grad_accumulator = weakref.ref(acc)
    return acc
