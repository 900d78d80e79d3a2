"""Saved-tensor hooks: ``saved_tensors_hooks`` (pack what a node saves, unpack it for backward),
``disable_saved_tensors_hooks``, ``save_on_cpu`` and ``save_to_disk``.

The hooks are per thread, as torch's: entering them pushes a mode whose ``on_node`` packs each
node this thread records; with no hooks active nothing here runs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as _np

from .. import _context
from .._context import ctx as _ctx
from .._tensor import Tensor as _Tensor, _make
from .node import _FREED, Node


class _Packing(_context.Mode):
    """The mode of active saved-tensor hooks: packs every node recorded in this thread."""

    def on_node(self, node) -> None:
        _pack_node(node)


_PACKING = _Packing()


class saved_tensors_hooks:
    """Context manager: ``pack_hook(tensor) -> object`` runs when an op saves a tensor for
    backward, ``unpack_hook(object) -> tensor`` when backward needs it back. Applies to built-in
    ops (their saved inputs and outputs) and to custom Functions' ``ctx.save_for_backward``.

    Example:
        >>> with chainrule.autograd.graph.saved_tensors_hooks(lambda t: t._array.copy(),
        ...                                                   lambda a: chainrule.tensor(a)):
        ...     y = (x * x).sum()
        >>> y.backward()
    """

    def __init__(self, pack_hook: Callable, unpack_hook: Callable) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        if _ctx.hooks_disabled:
            raise RuntimeError(_ctx.hooks_disabled[-1])
        if not _ctx.saved_hooks:
            _context.push(_PACKING)
        _ctx.saved_hooks = _ctx.saved_hooks + ((self.pack_hook, self.unpack_hook),)
        return self

    def __exit__(self, *exc) -> None:
        hooks = list(_ctx.saved_hooks)
        hooks.remove((self.pack_hook, self.unpack_hook))
        _ctx.saved_hooks = tuple(hooks)
        if not hooks:
            _context.remove(_PACKING)


class disable_saved_tensors_hooks:
    """Context manager under which entering ``saved_tensors_hooks`` raises ``RuntimeError``."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self):
        _ctx.hooks_disabled = _ctx.hooks_disabled + (self.error_message,)
        return self

    def __exit__(self, *exc) -> None:
        _ctx.hooks_disabled = _ctx.hooks_disabled[:-1]


def _stub(a: _np.ndarray) -> _np.ndarray:
    """A zero-memory stand-in with ``a``'s shape and dtype (for values backward never reads)."""
    return _np.broadcast_to(_np.zeros((), dtype=a.dtype), a.shape)


def _unpacked(obj, what: str):
    if isinstance(obj, _Tensor):
        return obj
    if isinstance(obj, _np.ndarray):
        return _make(obj)
    raise TypeError(f"saved tensor unpack hook must return a Tensor, got {type(obj).__name__} "
                    f"(for {what})")


def _pack_node(node) -> None:
    """Run the active pack hook on what a built-in node's backward reads; keep only stand-ins."""
    if type(node) is not Node or not _ctx.saved_hooks:
        return
    pack, unpack = _ctx.saved_hooks[-1]
    op = node.op
    reads = range(len(node.saved)) if op.saves is None else op.saves
    packed: dict = {}
    stand = list(node.saved)
    for i, x in enumerate(node.saved):
        if isinstance(x, _Tensor):
            if i in reads:
                packed[i] = pack(x)
            s = _make(_stub(x._array))
            if x._version_counter is None:
                x._version_counter = [0]
            s._version_counter = x._version_counter  # keeps the in-place check working on the stand-in
            stand[i] = s
    out = node.out
    if op.saves_out:
        if isinstance(out, tuple):
            packed["out"] = _Outs(pack(_make(o)) for o in out)
            node.out = tuple(_stub(o) for o in out)
        else:
            packed["out"] = pack(_make(out))
            node.out = _stub(out)
    elif out is not None:
        node.out = tuple(_stub(o) for o in out) if isinstance(out, tuple) else _stub(out)
    node.saved = tuple(stand)
    node._extra()["packed"] = (packed, unpack)
    node.__class__ = PackedNode


class _Outs(list):
    """The packed outputs of a multi-output node (a pack hook may itself return a tuple)."""


class PackedNode(Node):
    """A built-in node whose saved values went through a pack hook; unpacked for each backward."""

    __slots__ = ()

    def run_backward(self, gs, create: bool, passed: set):
        from .engine import _call_rules  # noqa: PLC0415  (the engine runs on nodes)

        stubs, stub_out = self.saved, self.out
        if stubs is None:
            raise RuntimeError(_FREED + f" (while running {self.name()})")
        self.check_versions()
        packed, unpack = self.x["packed"]
        saved = list(stubs)
        out = stub_out
        for k, p in packed.items():
            if k == "out":
                if type(p) is _Outs:
                    out = tuple(_unpacked(unpack(q), f"output of {self.name()}")._array for q in p)
                else:
                    out = _unpacked(unpack(p), f"output of {self.name()}")._array
            else:
                saved[k] = _unpacked(unpack(p), f"input {k} of {self.name()}")
        self.saved, self.out = tuple(saved), out
        self.x["unpacked"] = True  # versions were checked above, on the stand-ins
        try:
            return _call_rules(self, gs, create, passed)
        finally:
            self.saved, self.out = stubs, stub_out
            del self.x["unpacked"]

    def check_versions(self) -> None:
        if "unpacked" not in self.x:
            Node.check_versions(self)

    def release(self) -> None:
        Node.release(self)
        if self.x is not None:
            self.x.pop("packed", None)


class save_on_cpu(saved_tensors_hooks):
    """Offload saved tensors to host memory during forward and bring them back in backward, as
    ``torch.autograd.graph.save_on_cpu``. chainrule always runs on the CPU, so this keeps a private
    copy (what torch does for CPU tensors); it is the model for writing your own offloading hooks,
    e.g. ``save_to_disk`` below."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cpu") -> None:
        def pack(t):
            return (t._array.copy(), t.dtype)

        def unpack(p):
            return _make(p[0])

        super().__init__(pack, unpack)


class _OnDisk:
    """A saved array written to a ``.npy`` file; the file is removed when this object dies."""

    __slots__ = ("path", "__weakref__")

    def __init__(self, arr: _np.ndarray, directory: str) -> None:
        import os
        import tempfile
        import weakref

        fd, self.path = tempfile.mkstemp(suffix=".npy", dir=directory)
        with os.fdopen(fd, "wb") as f:
            _np.save(f, _np.ascontiguousarray(arr))
        weakref.finalize(self, _remove_file, self.path)

    def _memory_arrays(self) -> tuple:
        return ()


def _remove_file(path: str) -> None:
    import os

    try:
        os.remove(path)
    except OSError:
        pass


class save_to_disk(saved_tensors_hooks):
    """Offload every saved tensor to a ``.npy`` file (memory-mapped back in backward).

    Example:
        >>> with chainrule.autograd.graph.save_to_disk():
        ...     loss = model(x).sum()          # activations go to disk, not RAM
        >>> loss.backward()
    """

    def __init__(self, directory: str | None = None) -> None:
        import tempfile

        self.directory = directory or tempfile.gettempdir()

        def pack(t):
            return _OnDisk(t._array, self.directory)

        def unpack(p):
            return _make(_np.load(p.path, mmap_mode="r"))

        super().__init__(pack, unpack)
