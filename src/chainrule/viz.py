"""Pictures of the computation graph: Graphviz DOT text (no dependency), SVG/PNG/PDF through the
Graphviz ``dot`` program, a built-in SVG layout, and a plain-text tree for terminals.

Example:
    >>> x = chainrule.ones(1, 4, requires_grad=True)
    >>> z = chainrule.norm(2 * x + 1, 2, dim=1)
    >>> g = chainrule.viz.graph(z, params={"x": x})
    >>> print(g.dot)                  # digraph { ... "NormBackward1" ... }
    >>> g.render("z.svg")             # needs Graphviz: apt-get install graphviz
    >>> print(chainrule.viz.tree(z))

Nothing here runs unless called: building a graph walks it once, iteratively.
"""

from __future__ import annotations

import html as _html
import os
import re
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Iterable
from typing import Any

import numpy as np

from ._tensor import Tensor
from .autograd.graph import AccumulateGrad, Node, accumulate_node

__all__ = ["Graph", "GraphvizNotFound", "graph", "summarize", "tree"]

_PKG = os.path.dirname(os.path.abspath(__file__))


class GraphvizNotFound(RuntimeError):
    """Raised by ``Graph.svg``/``render`` when the Graphviz ``dot`` program is not installed."""


def dot_available() -> bool:
    """Whether the Graphviz ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


# ---- numbers on nodes ----------------------------------------------------------------------
def _num(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (complex, np.complexfloating)):
        return f"{v:.4g}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}" if np.isfinite(v) else str(float(v))
    return str(v)


def summarize(a: Any, small: int = 8) -> str:
    """A short text for a value or gradient: the numbers when it has at most ``small`` elements,
    else shape, 2-norm, min, max (and the NaN/inf counts when there are any).

    Example:
        >>> summarize(np.array([0.5, 1.0]))
        '[0.5, 1]'
    """
    if a is None:
        return "None"
    if isinstance(a, Tensor):
        a = a.data
    a = np.asarray(a)
    if a.size <= small:
        if a.ndim == 0:
            return _num(a.item())
        return np.array2string(a, separator=", ", formatter={"all": _num}).replace("\n", "")
    shape = "×".join(str(s) for s in a.shape)
    if a.dtype.kind not in "fc":
        return f"[{shape}] min={_num(a.min())} max={_num(a.max())}"
    fin = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    text = f"[{shape}] ‖·‖={_num(np.linalg.norm(fin.ravel()))}"
    if fin.size:
        text += f" min={_num(fin.min())} max={_num(fin.max())}"
    nan = int(np.isnan(a).sum())
    inf = int(np.isinf(a).sum())
    if nan:
        text += f" NaN={nan}"
    if inf:
        text += f" inf={inf}"
    return text


def _shape(a) -> str:
    return "(" + ", ".join(str(s) for s in a.shape) + ("," if len(a.shape) == 1 else "") + ")"


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n} {unit}" if unit == "B" else f"{n / 1024:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


# ---- names ---------------------------------------------------------------------------------
def _user_locals() -> dict:
    """("local", id(tensor)) -> variable name in the innermost frame outside chainrule (a
    fallback: an explicit name, from ``params`` or ``name=``, wins)."""
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_PKG):
        f = f.f_back
    names: dict = {}
    if f is not None:
        for k, v in f.f_locals.items():
            if isinstance(v, Tensor) and k.isidentifier() and not k.startswith("_"):
                names.setdefault(("local", id(v)), k)
    return names


def _param_names(params) -> dict:
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = dict(params.named_parameters())
    elif not isinstance(params, dict):
        params = dict(params)
    return {id(t): str(k) for k, t in params.items()}


def tensor_name(t: Tensor, names: dict | None = None) -> str | None:
    """The name of ``t``: from ``names`` (id → name), else its ``name=`` at creation, else the
    caller's variable (``names[("local", id)]``)."""
    if names and id(t) in names:
        return names[id(t)]
    if t._x and "name" in t._x:
        return t._x["name"]
    return names.get(("local", id(t))) if names else None


def _input_names(op) -> list:
    import inspect

    if getattr(op, "nin", -1) < 0 or not hasattr(op, "fwd"):
        return None
    try:
        ps = list(inspect.signature(op.fwd).parameters)
    except (TypeError, ValueError):
        ps = []
    return [ps[i] if i < len(ps) else f"input{i}" for i in range(op.nin)]


# ---- the graph -----------------------------------------------------------------------------
class GNode:
    """One box of the picture: a leaf, an op (``MulBackward0``), an output, or a collapsed group."""

    __slots__ = ("id", "kind", "lines", "obj", "title")

    def __init__(self, id: str, kind: str, title: str, lines: list, obj=None) -> None:
        self.id = id
        self.kind = kind  # "leaf" | "op" | "output" | "group" | "tensor"
        self.title = title
        self.lines = lines
        self.obj = obj

    @property
    def label(self) -> str:
        return "\n".join([self.title] + self.lines)

    def __repr__(self) -> str:
        return f"<GNode {self.id} {self.kind} {self.title!r}>"


_STYLE = {
    "leaf": 'fillcolor="#cfe8ff" shape=box style="filled,rounded"',
    "op": 'fillcolor="#e8e8e8" shape=box style="filled"',
    "output": 'fillcolor="#d5f5c8" shape=box style="filled,rounded"',
    "group": 'fillcolor="#fff3c4" shape=box3d style="filled"',
    "tensor": 'fillcolor="#ffffff" shape=box style="dashed"',
}


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Graph:
    """A computation graph ready to draw. ``nodes``: GNode list; ``edges``: (from, to) id pairs in
    the direction data flows (leaf → op → output); ``ids``: graph object → node id.

    Example:
        >>> g = chainrule.viz.graph(loss)
        >>> g.dot.splitlines()[0]
        'digraph chainrule {'
    """

    def __init__(self, nodes: list, edges: list, ids: dict, title: str = "") -> None:
        self.nodes = nodes
        self.edges = edges
        self.ids = ids
        self.title = title

    def node(self, obj) -> GNode | None:
        """The GNode of a graph object (Node, AccumulateGrad or Tensor), or None."""
        key = self.ids.get(id(obj))
        return next((n for n in self.nodes if n.id == key), None)

    def labels(self) -> dict:
        return {n.id: n.label for n in self.nodes}

    @property
    def dot(self) -> str:
        """Graphviz DOT text of the graph."""
        out = [
            "digraph chainrule {",
            '  graph [rankdir=TB fontname="Helvetica" nodesep=0.3 ranksep=0.35];',
            '  node [fontname="Helvetica" fontsize=11 margin="0.12,0.05"];',
            '  edge [color="#555555" arrowsize=0.7];',
        ]
        if self.title:
            out.append(f'  label="{_esc(self.title)}"; labelloc=t;')
        for n in self.nodes:
            out.append(f'  {n.id} [id="{n.id}" label="{_esc(n.label)}" {_STYLE[n.kind]}];')
        for a, b in self.edges:
            out.append(f"  {a} -> {b};")
        out.append("}")
        return "\n".join(out) + "\n"

    def __repr__(self) -> str:
        return f"<chainrule.viz.Graph: {len(self.nodes)} nodes, {len(self.edges)} edges>"

    # ---- rendering through Graphviz ---------------------------------------------------
    def pipe(self, format: str = "svg") -> bytes:
        """Run ``dot -T<format>`` on the DOT text and return its output."""
        exe = shutil.which("dot")
        if exe is None:
            raise GraphvizNotFound(
                "the Graphviz 'dot' program was not found on the PATH: install it with "
                "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
                "`conda install graphviz`; the DOT text is available without it as Graph.dot"
            )
        r = subprocess.run([exe, f"-T{format}"], input=self.dot.encode(), capture_output=True,
                           timeout=120, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"dot -T{format} failed: {r.stderr.decode(errors='replace')}")
        return r.stdout

    def svg(self) -> str:
        """The picture as SVG text (needs Graphviz; see ``builtin_svg`` for a layout without)."""
        return self.pipe("svg").decode()

    def render(self, path: str, format: str | None = None) -> str:
        """Write the picture to ``path`` as ``svg``, ``png``, ``pdf`` or ``dot``; returns the path.

        The format defaults to the file's extension. ``dot`` needs no Graphviz.
        """
        if format is None:
            format = os.path.splitext(path)[1].lstrip(".").lower() or "svg"
        if format not in ("svg", "png", "pdf", "dot"):
            raise ValueError(f"render: format must be 'svg', 'png', 'pdf' or 'dot', got {format!r}")
        d = os.path.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        data = self.dot.encode() if format == "dot" else self.pipe(format)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def _repr_svg_(self) -> str | None:
        """Notebook display: the Graphviz picture, or the built-in layout without Graphviz."""
        return self.svg() if dot_available() else self.builtin_svg()

    # ---- a layout of our own (no dependency) ------------------------------------------
    def builtin_svg(self) -> str:
        """An SVG picture laid out without Graphviz: layers by longest path from the leaves."""
        ids = [n.id for n in self.nodes]
        preds: dict = {i: [] for i in ids}
        succ: dict = {i: [] for i in ids}
        for a, b in self.edges:
            preds[b].append(a)
            succ[a].append(b)
        indeg = {i: len(preds[i]) for i in ids}
        order = [i for i in ids if indeg[i] == 0]
        layer = {i: 0 for i in ids}
        k = 0
        while k < len(order):
            a = order[k]
            k += 1
            for b in succ[a]:
                layer[b] = max(layer[b], layer[a] + 1)
                indeg[b] -= 1
                if indeg[b] == 0:
                    order.append(b)
        rows: dict = {}
        for i in order:
            rows.setdefault(layer[i], []).append(i)
        by = {n.id: n for n in self.nodes}
        size = {}
        for n in self.nodes:
            lines = [n.title] + n.lines
            size[n.id] = (max(len(s) for s in lines) * 6.6 + 18, 15 * len(lines) + 10)
        pos: dict = {}
        y = 16.0
        width = 0.0
        extent = {}
        for r in sorted(rows):
            row = rows[r]
            if r:  # barycenter of the predecessors: fewer crossings
                row.sort(key=lambda i: np.mean([pos[p][0] for p in preds[i]]) if preds[i] else 0)
            x = 16.0
            h = max(size[i][1] for i in row)
            for i in row:
                w = size[i][0]
                pos[i] = (x + w / 2, y, w, size[i][1])
                x += w + 24
            extent[r] = x
            width = max(width, x)
            y += h + 46
        for r, row in rows.items():  # center each row
            dx = (width - extent[r]) / 2
            for i in row:
                cx, top, w, h = pos[i]
                pos[i] = (cx + dx, top, w, h)
        height = y
        out = [
            (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
            'font-size="11">'),
            ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
            "</defs>"),
        ]
        for a, b in self.edges:
            xa, ya, _, ha = pos[a]
            xb, yb, _, _ = pos[b]
            out.append(f'<line class="edge" x1="{xa:.1f}" y1="{ya + ha:.1f}" x2="{xb:.1f}" '
                       f'y2="{yb:.1f}" stroke="#555" marker-end="url(#arrow)"/>')
        fills = {"leaf": "#cfe8ff", "op": "#e8e8e8", "output": "#d5f5c8", "group": "#fff3c4",
                 "tensor": "#ffffff"}
        for i in ids:
            n = by[i]
            cx, top, w, h = pos[i]
            out.append(f'<g id="{i}" class="node"><title>{i}</title>')
            out.append(f'<rect x="{cx - w / 2:.1f}" y="{top:.1f}" width="{w:.1f}" height="{h:.1f}" '
                       f'rx="{6 if n.kind in ("leaf", "output") else 0}" fill="{fills[n.kind]}" '
                       'stroke="#333"/>')
            for j, s in enumerate([n.title] + n.lines):
                weight = ' font-weight="bold"' if j == 0 else ""
                out.append(f'<text x="{cx:.1f}" y="{top + 17 + 15 * j:.1f}" text-anchor="middle"'
                           f"{weight}>{_html.escape(s)}</text>")
            out.append("</g>")
        out.append("</svg>")
        return "\n".join(out)


def graph(*tensors: Tensor, params=None, show_values: bool = False, show_grads: bool = False,
          show_saved: bool = False, max_nodes: int = 150, collapse: bool | None = None,
          trace=None, title: str = "") -> Graph:
    """The computation graph that produced ``tensors``, as a ``Graph`` to print or draw.

    Args:
        params: names for leaves: a dict ``{name: tensor}`` or a module (its
            ``named_parameters()``). Without it, leaves are named by their ``name=`` at creation
            or by the caller's variable holding them.
        show_values: the forward value on each node (numbers for small tensors, else
            shape/norm/min/max/NaN count). Op values are freed by ``backward()`` unless
            ``retain_graph=True`` or the backward ran under ``chainrule.explain()`` (``trace``).
        show_grads: leaves' ``.grad`` and retained gradients, and, with ``trace``, the gradient
            that reached every op node.
        show_saved: the tensors each op saved for its backward and their bytes.
        max_nodes: above this many op nodes, linear chains of repeated structure (a stack of
            identical layers) collapse into one box ``k × [A → B → C]`` (``collapse`` forces it
            on or off).
        trace: a recorded ``chainrule.explain()`` session giving values and gradients of op nodes.

    Example:
        >>> g = chainrule.viz.graph(loss, params=model, show_grads=True)
        >>> g.render("loss.svg")
    """
    names = _user_locals()
    names.update(_param_names(params))
    roots = []
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"viz.graph: expected Tensors, got {type(t).__name__}")
        if t.grad_fn is not None:
            roots.append(t.grad_fn)
        elif t._rg:
            roots.append(accumulate_node(t))
    return _build(roots, list(tensors), names, show_values, show_grads, show_saved, max_nodes,
                  collapse, trace, title)


def _walk(roots: Iterable) -> list:
    """Graph objects reachable from ``roots``, breadth first (no recursion)."""
    seen = set()
    order = []
    q = deque()
    for r in roots:
        if id(r) not in seen:
            seen.add(id(r))
            q.append(r)
    while q:
        n = q.popleft()
        order.append(n)
        for e in n.next:
            if e is not None and id(e[0]) not in seen:
                seen.add(id(e[0]))
                q.append(e[0])
    return order


def _build(roots, outputs, names, show_values, show_grads, show_saved, max_nodes, collapse,
           trace, title) -> Graph:
    order = _walk(roots)
    ids: dict = {}
    nodes: list = []
    edges: list = []
    for k, n in enumerate(order):
        ids[id(n)] = f"n{k}"
    known = {id(t.grad_fn): t.data for t in outputs  # values the graph freed but outputs keep
             if isinstance(t, Tensor) and t.grad_fn is not None and t.grad_fn.n_out == 1}
    for n in order:
        nid = ids[id(n)]
        if type(n) is AccumulateGrad:
            v = n.variable
            nm = tensor_name(v, names)
            lines = [f"{_shape(v.data)} {v.dtype}".replace("chainrule.", "")]
            if show_values:
                lines.append("value " + summarize(v.data))
            if show_grads:
                rec = trace.grad_of(n) if trace is not None else None  # .grad as recorded
                lines.append("grad " + summarize(rec[0] if rec else v._grad))
            nodes.append(GNode(nid, "leaf", nm or "leaf", lines, n))
            ids[id(v)] = nid
            continue
        lines = _op_lines(n, show_values, show_grads, show_saved, trace, known.get(id(n)))
        nodes.append(GNode(nid, "op", n.name(), lines, n))
        for e in n.next:
            if e is not None:
                edges.append((ids[id(e[0])], nid))
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            continue
        oid = f"o{i}"
        nm = tensor_name(t, names) or "output"
        lines = [f"{_shape(t.data)} {t.dtype}".replace("chainrule.", "")]
        if show_values:
            lines.append("value " + summarize(t.data))
        if t.grad_fn is not None:
            nodes.append(GNode(oid, "output", nm, lines, t))
            edges.append((ids[id(t.grad_fn)], oid))
            ids.setdefault(id(t), oid)
        elif not t._rg:
            nodes.append(GNode(oid, "tensor", nm, lines + ["(no grad: not in any graph)"], t))
            ids.setdefault(id(t), oid)
    g = Graph(nodes, edges, ids, title)
    n_ops = sum(1 for n in nodes if n.kind == "op")
    if collapse or (collapse is None and n_ops > max_nodes):
        _collapse(g)
    return g


def _op_lines(n, show_values, show_grads, show_saved, trace, known=None) -> list:
    lines = []
    if show_values:
        out = trace.value_of(n) if trace is not None else None
        if out is None:
            out = n.out if n.out is not None else known
        if out is None:
            lines.append("value (freed by backward)")
        elif isinstance(out, tuple):
            lines += [f"value[{i}] {summarize(o)}" for i, o in enumerate(out)]
        else:
            lines.append("value " + summarize(out))
    if show_grads:
        gs = trace.grad_of(n) if trace is not None else None
        if gs is None and n.x is not None and n.x.get("retain"):
            gs = [None] * n.n_out
            for nr, ref in n.x["retain"].items():
                t = ref()
                if t is not None:
                    gs[nr] = t._grad
        if gs is not None:
            if len(gs) == 1:
                lines.append("grad " + summarize(gs[0]))
            else:
                lines += [f"grad[{i}] {summarize(g)}" for i, g in enumerate(gs)]
    if show_saved:
        lines += _saved_lines(n)
    return lines


def _saved_lines(n) -> list:
    op = n.op
    if type(n) is not Node:
        return ["saved: (custom Function: see its ctx)"]
    if n.saved is None:
        return ["saved: (freed by backward)"]
    pn = _input_names(op) or [f"tensors[{i}]" for i in range(len(n.saved))]
    idx = range(len(n.saved)) if op.saves is None else op.saves
    lines = []
    total = 0
    for i in idx:
        x = n.saved[i]
        if isinstance(x, Tensor):
            total += x.data.nbytes
            lines.append(f"saved {pn[i] if i < len(pn) else i}: {_shape(x.data)} "
                         f"{x.dtype} {_bytes(x.data.nbytes)}".replace("chainrule.", ""))
    if op.saves_out and n.out is not None:
        outs = n.out if isinstance(n.out, tuple) else (n.out,)
        b = sum(o.nbytes for o in outs)
        total += b
        lines.append(f"saved result: {_bytes(b)}")
    lines.append(f"saved total {_bytes(total)}" if lines else "saved: nothing")
    return lines


# ---- collapsing repeated structure -----------------------------------------------------------
def _compress(names: list) -> str:
    """``['l.0.w', 'l.1.w', 'l.2.w']`` → ``'l.{0–2}.w'`` (first number of each name)."""
    groups: dict = {}
    for nm in names:
        m = re.search(r"\d+", nm)
        if m is None:
            groups.setdefault(nm, [])
            continue
        key = nm[: m.start()] + "{}" + nm[m.end():]
        groups.setdefault(key, []).append(int(m.group()))
    parts = []
    for key, nums in groups.items():
        if not nums:
            parts.append(key)
        elif len(nums) == 1:
            parts.append(key.replace("{}", str(nums[0])))
        else:
            parts.append(key.replace("{}", "{" + f"{min(nums)}–{max(nums)}" + "}"))
    return ", ".join(parts)


_MAX_BLOCK = 32  # the longest repeated block looked for (ops per layer)


def _repeats(seq: list) -> tuple[int, int, int]:
    """``(start, period, count)`` of the longest run of a repeated block in ``seq`` (count ≥ 2),
    preferring the shortest block; ``(0, len, 1)`` when nothing repeats."""
    best = (0, len(seq), 1)
    cover = 0
    for p in range(1, min(len(seq) // 2, _MAX_BLOCK) + 1):
        for o in range(min(p, len(seq) - 2 * p) + 1):
            k = 1
            while o + (k + 1) * p <= len(seq) and seq[o + k * p:o + (k + 1) * p] == seq[o:o + p]:
                k += 1
            if k >= 2 and k * p > cover:
                best, cover = (o, p, k), k * p
    return best


def _chain_text(seq: list) -> str:
    o, p, k = _repeats(seq)
    if k < 2:
        return " → ".join(seq[:3]) + (f" → … ({len(seq)} ops)" if len(seq) > 3 else "")
    parts = seq[:o] + [f"{k} × [{' → '.join(seq[o:o + p])}]"]
    rest = seq[o + k * p:]
    parts += rest if len(rest) <= 2 else rest[:1] + [f"… ({len(rest) - 1} more)"]
    return " → ".join(parts)


def _collapse(g: Graph, min_chain: int = 4) -> None:
    """Fold linear chains of op nodes (one op input, one consumer) into group boxes: a run of a
    repeated block (k identical layers) becomes one box ``k × [A → B → C]``; what comes before
    and after stays visible (or, when long, becomes a box of its own).

    Ops that only prepare a parameter (a reshape or transpose of a weight: one leaf input, one
    consumer that also has another op input) travel with their consumer, like the parameters themselves, so that the layers of a
    network form chains.
    """
    kind = {n.id: n.kind for n in g.nodes}
    ins: dict = {n.id: [] for n in g.nodes}
    outs: dict = {n.id: [] for n in g.nodes}
    for a, b in g.edges:
        ins[b].append(a)
        outs[a].append(b)
    side = {i for i in kind if kind[i] == "op" and len(ins[i]) == 1 and kind[ins[i][0]] == "leaf"
            and len(outs[i]) == 1 and kind[outs[i][0]] == "op"
            and any(a != i and kind[a] == "op" for a in ins[outs[i][0]])}

    def op_ins(i):
        return [a for a in ins[i] if kind[a] in ("op", "group") and a not in side]

    def link(a):  # the op a flows only into, when that op has a as its only op input
        if kind[a] != "op" or a in side or len(outs[a]) != 1:
            return None
        b = outs[a][0]
        return b if kind[b] == "op" and op_ins(b) == [a] else None

    has_pred = {link(a) for a in kind if link(a) is not None}
    by = {n.id: n for n in g.nodes}
    fold = _Fold(ins, outs, kind, side, by)
    for start in [n.id for n in g.nodes if n.kind == "op" and n.id not in has_pred
                  and n.id not in side]:
        chain = [start]
        while True:
            nxt = link(chain[-1])
            if nxt is None:
                break
            chain.append(nxt)
        if len(chain) < min_chain:
            continue
        # the chain runs in data-flow order (toward the output)
        o, p, reps = _repeats([by[i].title for i in chain])
        if reps < 2:
            fold(chain)
            continue
        for seg in (chain[:o], chain[o + reps * p:]):  # short ends stay visible, for context
            if len(seg) > 3 * min_chain:
                fold(seg)
        fold(chain[o:o + reps * p])
    if not fold.drop:
        return
    remap = fold.remap
    edges = []
    seen = set()
    for a, b in g.edges:
        a2, b2 = remap.get(a, a), remap.get(b, b)
        if a2 == b2 or (a2, b2) in seen:
            continue
        seen.add((a2, b2))
        edges.append((a2, b2))
    g.nodes = [n for n in g.nodes if n.id not in fold.drop] + fold.nodes
    g.edges = edges
    g.ids = {k2: remap.get(v, v) for k2, v in g.ids.items()}


class _Fold:
    """Replaces a chain of op nodes (with the parameter-side ops and the leaves only it uses) by
    one group box."""

    def __init__(self, ins, outs, kind, side, by) -> None:
        self.ins, self.outs, self.kind, self.side, self.by = ins, outs, kind, side, by
        self.drop: set = set()
        self.remap: dict = {}
        self.nodes: list = []

    def __call__(self, chain: list) -> None:
        ins, by = self.ins, self.by
        helpers = [a for i in chain for a in ins[i] if a in self.side]
        inside = set(chain) | set(helpers)
        leaves = list(dict.fromkeys(
            a for i in chain + helpers for a in ins[i]
            if self.kind[a] == "leaf" and all(c in inside for c in self.outs[a])))
        lines = [f"{len(chain)} ops collapsed"]
        if helpers:
            lines[0] += f" (+{len(helpers)} on parameters)"
        if leaves:
            lines.append("params: " + _compress([by[a].title for a in leaves]))
        gid = f"g{len(self.nodes)}"
        self.nodes.append(GNode(gid, "group", _chain_text([by[i].title for i in chain]), lines,
                                [by[i].obj for i in chain]))
        for i in chain + helpers + leaves:
            self.drop.add(i)
            self.remap[i] = gid


# ---- plain text ----------------------------------------------------------------------------
def tree(*tensors: Tensor, params=None, show_values: bool = False, show_grads: bool = False,
         trace=None) -> str:
    """The graph of ``tensors`` as an indented text tree, from the output back to the leaves.

    A node reached twice is printed once; later it is referred to as ``(see #k)``.

    Example:
        >>> print(chainrule.viz.tree(z))
        z (1,) float32 ← NormBackward1 #0
        └─ AddBackward0 #1
           └─ MulBackward0 #2
              └─ x (1, 4) float32 leaf #3
    """
    names = _user_locals()
    names.update(_param_names(params))
    lines: list = []
    for t in tensors:
        root = t.grad_fn if t.grad_fn is not None else (accumulate_node(t) if t._rg else None)
        nm = tensor_name(t, names) or "output"
        head = f"{nm} {_shape(t.data)} {t.dtype}".replace("chainrule.", "")
        if root is None:
            lines.append(head + "  (does not require grad: no graph)")
            continue
        order = _walk([root])
        ids = {id(n): k for k, n in enumerate(order)}
        shown: set = set()
        stack = [(root, "", "", True)]
        first = True
        while stack:
            n, prefix, branch, _ = stack.pop()
            if n is _Const:
                lines.append(f"{prefix}{branch}(constant or input that needs no grad)")
                continue
            k = ids[id(n)]
            text = _tree_label(n, names, show_values, show_grads, trace) + f" #{k}"
            if first:
                text = f"{head} ← {text}" if type(n) is not AccumulateGrad else head + " (leaf)"
                first = False
            if id(n) in shown:
                lines.append(f"{prefix}{branch}(see #{k} {n.name()})")
                continue
            shown.add(id(n))
            lines.append(prefix + branch + text)
            kids = list(n.next)
            child_prefix = prefix + ("" if not branch else ("   " if branch == "└─ " else "│  "))
            if len(child_prefix) > 3 * _MAX_INDENT:  # deep graphs: restart the indentation
                lines.append(f"{child_prefix[:3 * _MAX_INDENT]}┆ (deeper: indentation restarts)")
                child_prefix = ""
            items = []
            for j, e in enumerate(kids):
                last = j == len(kids) - 1
                items.append((e, child_prefix, "└─ " if last else "├─ "))
            for e, cp, br in reversed(items):
                if e is None:
                    stack.append((_Const, cp, br, False))
                else:
                    stack.append((e[0], cp, br, False))
    return "\n".join(lines)


_Const = object()  # marks an input that needs no grad in the text tree
_MAX_INDENT = 24  # levels of indentation before the text tree starts again at the left


def _tree_label(n, names, show_values, show_grads, trace) -> str:
    if type(n) is AccumulateGrad:
        v = n.variable
        s = f"{tensor_name(v, names) or 'leaf'} {_shape(v.data)} {v.dtype} leaf"
        s = s.replace("chainrule.", "")
        if show_values:
            s += f"  value={summarize(v.data)}"
        if show_grads:
            s += f"  grad={summarize(v._grad)}"
        return s
    extra = _op_lines(n, show_values, show_grads, False, trace)
    return n.name() + ("  " + "  ".join(extra) if extra else "")
