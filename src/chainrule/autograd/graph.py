"""Graph nodes: one ``Node`` per recorded op, ``AccumulateGrad`` per leaf; hook handles."""

from __future__ import annotations

import itertools

import numpy as np
from typing import Any, Callable

_handle_ids = itertools.count()


class RemovableHandle:
    """Returned by every ``register_*hook``; ``remove()`` unregisters the hook."""

    __slots__ = ("_store", "id")

    def __init__(self, store: dict, hook: Callable) -> None:
        self._store = store
        self.id = next(_handle_ids)
        store[self.id] = hook

    def remove(self) -> None:
        self._store.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


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


# =============================================================================================
# Saved-tensor hooks, node-creation hooks and the memory report (added for issue 5).
# Nothing here runs unless a hook is active: the dispatcher's one ``ON_NODE`` slot stays None.
# =============================================================================================
import numpy as _np  # noqa: E402

from .._tensor import Tensor as _Tensor, _make  # noqa: E402

#: callables(node) run when a node is recorded (anomaly sites, saved-tensor packing, …)
_NODE_HOOKS: list = []
#: stack of active (pack, unpack) pairs; the innermost one applies, as torch
_SAVED_HOOKS: list = []


#: an observer that was in ``_dispatch.ON_NODE`` before ours (op-db tests…), kept running first
_FOREIGN: list = [None]


def _on_node(node) -> None:
    if _FOREIGN[0] is not None:
        _FOREIGN[0](node)
    for h in tuple(_NODE_HOOKS):
        h(node)


def add_node_hook(fn: Callable, first: bool = False) -> None:
    """Call ``fn(node)`` for every node recorded from now on (chains with ``_dispatch.ON_NODE``);
    ``first``: before the hooks already there (observers that must see the node unpacked)."""
    from .. import _dispatch

    cur = _dispatch.ON_NODE[0]
    if cur is not _on_node:
        _FOREIGN[0] = cur  # someone else's observer (or None): runs first, restored at the end
    if first:
        _NODE_HOOKS.insert(0, fn)
    else:
        _NODE_HOOKS.append(fn)
    _dispatch.ON_NODE[0] = _on_node


def remove_node_hook(fn: Callable) -> None:
    from .. import _dispatch

    if fn in _NODE_HOOKS:
        _NODE_HOOKS.remove(fn)
    if not _NODE_HOOKS and _dispatch.ON_NODE[0] is _on_node:
        _dispatch.ON_NODE[0] = _FOREIGN[0]
        _FOREIGN[0] = None


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
        if _HOOKS_DISABLED:
            raise RuntimeError(_HOOKS_DISABLED[-1])
        if not _SAVED_HOOKS:
            add_node_hook(_pack_node)
        _SAVED_HOOKS.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc) -> None:
        _SAVED_HOOKS.remove((self.pack_hook, self.unpack_hook))
        if not _SAVED_HOOKS:
            remove_node_hook(_pack_node)


_HOOKS_DISABLED: list = []


class disable_saved_tensors_hooks:
    """Context manager under which entering ``saved_tensors_hooks`` raises ``RuntimeError``."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self):
        _HOOKS_DISABLED.append(self.error_message)
        return self

    def __exit__(self, *exc) -> None:
        _HOOKS_DISABLED.pop()


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
    if type(node) is not Node or not _SAVED_HOOKS:
        return
    pack, unpack = _SAVED_HOOKS[-1]
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
        from .engine import _call_rules

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


# ---- memory report ----------------------------------------------------------------------------
def _root(a: _np.ndarray) -> _np.ndarray:
    while isinstance(a.base, _np.ndarray):
        a = a.base
    return a


class MemoryReport:
    """What the graph behind some tensors keeps alive: per node, the arrays it holds.

    ``rows``: (node name, role, shape, dtype, bytes, kind) per held array, kind being ``leaf``
    (data of a leaf tensor: parameters, inputs — alive anyway while you hold them),
    ``intermediate`` (activations only the graph keeps) or ``packed``. Byte totals count each
    memory block once. ``str(report)`` is a readable table.
    """

    def __init__(self, rows: list, n_nodes: int, n_freed: int, blocks: dict, what: str) -> None:
        self.rows = rows
        self.n_nodes = n_nodes
        self.n_freed = n_freed
        self.what = what
        self.total_bytes = sum(b for b, _ in blocks.values())
        self.leaf_bytes = sum(b for b, k in blocks.values() if k == "leaf")
        self.intermediate_bytes = self.total_bytes - self.leaf_bytes

    def by_node(self) -> dict:
        """Node name → bytes it holds (shared blocks counted at every node holding them)."""
        res: dict = {}
        for name, _, _, _, nbytes, _ in self.rows:
            res[name] = res.get(name, 0) + nbytes
        return res

    def __str__(self) -> str:
        lines = [f"graph behind {self.what}: {self.n_nodes} nodes"
                 + (f" ({self.n_freed} already freed by backward)" if self.n_freed else "")]
        if self.rows:
            w = max(len(r[0]) for r in self.rows)
            lines.append(f"  {'node':<{w}}  {'holds':<36} {'bytes':>12}  kind")
            prev = None
            for name, role, shape, dtype, nbytes, kind in self.rows:
                held = f"{role}: {dtype}{list(shape)}"
                label = name if name != prev else ""
                lines.append(f"  {label:<{w}}  {held:<36} {nbytes:>12,}  {kind}")
                prev = name
        lines.append(
            f"total kept alive: {_fmt_bytes(self.total_bytes)} (intermediates "
            f"{_fmt_bytes(self.intermediate_bytes)}, leaves {_fmt_bytes(self.leaf_bytes)}); "
            "backward() frees the intermediates unless retain_graph=True or create_graph=True"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<MemoryReport {self.n_nodes} nodes, {_fmt_bytes(self.total_bytes)} kept alive, "
                f"{_fmt_bytes(self.intermediate_bytes)} intermediates>")


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def _held(node) -> list:
    """(role, array-or-packed, is_leaf) for everything ``node`` keeps alive."""
    items: list = []
    x = node.x or {}
    saved = getattr(node, "saved", None)
    if hasattr(node, "_held_arrays"):  # custom Function nodes
        return node._held_arrays()
    if "packed" in x:  # saved/out hold zero-memory stand-ins: only the packed objects count
        saved = None
    if saved is not None:
        for i, s in enumerate(saved):
            if isinstance(s, _Tensor):
                items.append((f"input {i}", s._array, s.grad_fn is None))
    out = getattr(node, "out", None) if "packed" not in x else None
    if out is not None:
        for j, o in enumerate(out if isinstance(out, tuple) else (out,)):
            items.append(("output" if not isinstance(out, tuple) else f"output {j}", o, False))
    if "packed" in x:
        for k, p in x["packed"][0].items():
            for q in (p if type(p) is _Outs else (p,)):
                items.append((f"packed {'output' if k == 'out' else f'input {k}'}", q, None))
    return items


def _packed_arrays(obj) -> list:
    if isinstance(obj, _Tensor):
        return [(obj._array, obj.grad_fn is None)]
    if isinstance(obj, _np.ndarray):
        return [(obj, False)]
    if isinstance(obj, tuple):
        return [a for o in obj for a in _packed_arrays(o)]
    f = getattr(obj, "_memory_arrays", None)
    return list(f()) if f is not None else []


def memory(*tensors) -> MemoryReport:
    """Report what the graph behind ``tensors`` keeps alive: saved arrays per node and bytes.

    Example:
        >>> y = (x * w).tanh().sum()
        >>> print(chainrule.autograd.graph.memory(y))       # MulBackward0 holds input 0 …
    """
    roots = [t.grad_fn for t in tensors if isinstance(t, _Tensor) and t.grad_fn is not None]
    what = ", ".join(f"tensor{list(t.shape)}" for t in tensors if isinstance(t, _Tensor))
    seen = set(roots)
    stack = list(roots)
    order = []
    while stack:
        n = stack.pop()
        order.append(n)
        for e in getattr(n, "next", ()):
            if e is not None and e[0] not in seen:
                seen.add(e[0])
                stack.append(e[0])
    order.sort(key=lambda n: -n.seq)
    rows: list = []
    blocks: dict = {}
    n_nodes = n_freed = 0
    for n in order:
        if type(n) is AccumulateGrad:  # keeps its leaf alive (alive anyway while you hold it)
            v = n.variable
            r = _root(v._array)
            if id(r) not in blocks or blocks[id(r)][1] != "leaf":
                blocks[id(r)] = (r.nbytes, "leaf")
            rows.append((n.name(), "variable", v._array.shape, str(v._array.dtype), r.nbytes, "leaf"))
            continue
        n_nodes += 1
        items = _held(n)
        if getattr(n, "saved", 1) is None and not items:
            n_freed += 1
        for role, a, leaf in items:
            arrays = [(a, leaf)] if isinstance(a, _np.ndarray) else _packed_arrays(a)
            if not arrays and leaf is None:
                rows.append((n.name(), role, (), type(a).__name__, 0, "packed"))
            if arrays and not isinstance(a, _np.ndarray):
                role = f"{role} ({type(a).__name__})"
            for arr, lf in arrays:
                r = _root(arr)
                nbytes = r.nbytes if r.strides.count(0) == 0 or r.size <= 1 else r.itemsize
                kind = "leaf" if lf else ("packed" if leaf is None else "intermediate")
                old = blocks.get(id(r))
                if old is None or (kind == "leaf" and old[1] != "leaf"):
                    blocks[id(r)] = (nbytes, "leaf" if kind == "leaf" else "intermediate")
                rows.append((n.name(), role, arr.shape, str(arr.dtype), nbytes, kind))
    return MemoryReport(rows, n_nodes, n_freed, blocks, what)
