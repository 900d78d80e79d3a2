"""Drawing a ``Graph``: Graphviz DOT text, SVG/PNG/PDF through the ``dot`` program, and a
built-in SVG layout that needs nothing."""

from __future__ import annotations

import html as _html
import os
import shutil
import subprocess

import numpy as np


class GraphvizNotFound(RuntimeError):
    """Raised by ``Graph.svg``/``render`` when the Graphviz ``dot`` program is not installed."""


def dot_available() -> bool:
    """Whether the Graphviz ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


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
