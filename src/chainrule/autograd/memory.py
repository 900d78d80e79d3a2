"""``memory(*tensors)``: what the graph behind some tensors keeps alive, node by node."""

from __future__ import annotations

import numpy as _np

from .._tensor import Tensor as _Tensor
from .node import AccumulateGrad
from .saved_tensors import _Outs


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
