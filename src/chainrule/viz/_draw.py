"""Drawing a ``Graph``: Graphviz DOT text, SVG/PNG/PDF through the ``dot`` program, and a
built-in SVG layout that needs nothing."""

from __future__ import annotations

import html as _html
import os
import shutil
import subprocess


class GraphvizNotFound(RuntimeError):
    """Raised by ``Graph.svg``/``render`` when the Graphviz ``dot`` program is not installed."""


def dot_available() -> bool:
    """Whether the Graphviz ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


# ---- the graph -----------------------------------------------------------------------------
class GNode:
    """One box of the picture: a leaf, an op (``MulBackward0``), an output, or a collapsed group."""

    __slots__ = ("id", "kind", "lines", "name", "obj", "title")

    def __init__(self, id: str, kind: str, title: str, lines: list, obj=None) -> None:
        self.id = id
        self.kind = kind  # "leaf" | "op" | "output" | "group" | "tensor" | "const"
        self.title = title
        self.lines = lines
        self.obj = obj
        self.name = None  # the variable an op's result was bound to (drawn beside its title)

    @property
    def header(self) -> str:
        """The first line drawn: the title, the result's name, and the node id the tables use."""
        if self.kind == "const":
            return self.title
        nm = f" ({self.name})" if self.name else ""
        return f"{self.title}{nm}  #{self.id}"

    @property
    def label(self) -> str:
        return "\n".join([self.header] + self.lines)

    def __repr__(self) -> str:
        return f"<GNode {self.id} {self.kind} {self.title!r}>"


_STYLE = {
    "leaf": 'fillcolor="#cfe8ff" shape=box style="filled,rounded"',
    "op": 'fillcolor="#e8e8e8" shape=box style="filled"',
    "output": 'fillcolor="#d5f5c8" shape=box style="filled,rounded"',
    "group": 'fillcolor="#fff3c4" shape=box3d style="filled"',
    "tensor": 'fillcolor="#ffffff" shape=box style="dashed"',
    "const": 'fillcolor="#ffffff" shape=box style="dashed,rounded" fontsize=10 width=0.3 '
             'height=0.25',
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
        out.append(f'  legend [id="legend" shape=plaintext fontsize=10 fontcolor="#444444" '
                   f'label="{_esc(LEGEND)}"];')
        if self.nodes:  # the legend sits under the picture
            sinks = {n.id for n in self.nodes} - {a for a, _ in self.edges}
            for t in sorted(sinks)[:1]:
                out.append(f"  {t} -> legend [style=invis];")
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
    def layout(self) -> dict:
        """The built-in layout: ``boxes`` {id: (x0, y0, x1, y1)}, ``routes`` [(from, to,
        path points)], ``width``, ``height`` (see ``_layout``)."""
        from ._layout import MARGIN, box_size, layout

        sizes = {n.id: box_size([n.header] + n.lines) for n in self.nodes}
        top = MARGIN + (24 if self.title else 0)
        lay = layout([n.id for n in self.nodes], self.edges, sizes, top)
        lay["height"] += 20  # the legend
        lay["width"] = max(lay["width"], len(LEGEND) * 5.6 + 32,
                           len(self.title) * 8.5 + 32 if self.title else 0)
        return lay

    def builtin_svg(self) -> str:
        """An SVG picture laid out without Graphviz: layers as ``dot`` makes them, edges routed
        around the boxes, the title on top and a legend saying which way gradients flow."""
        from ._layout import path_d

        lay = self.layout()
        width, height = lay["width"], lay["height"]
        out = [
            (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
             'font-size="11">'),
            ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
             "</defs>"),
        ]
        if self.title:
            out.append(f'<text class="title" x="{width / 2:.1f}" y="26" text-anchor="middle" '
                       f'font-size="14" font-weight="bold">{_html.escape(self.title)}</text>')
        for a, b, pts in lay["routes"]:
            out.append(f'<path class="edge" data-from="{a}" data-to="{b}" d="{path_d(pts)}" '
                       'fill="none" stroke="#555" marker-end="url(#arrow)"/>')
        by = {n.id: n for n in self.nodes}
        for i, (x0, y0, x1, y1) in lay["boxes"].items():
            n = by[i]
            cx = (x0 + x1) / 2
            dash = ' stroke-dasharray="4,3"' if n.kind in ("const", "tensor") else ""
            out.append(f'<g id="{i}" class="node"><title>{i}</title>')
            out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" '
                       f'height="{y1 - y0:.1f}" rx="{6 if n.kind in _ROUND else 0}" '
                       f'fill="{_FILLS[n.kind]}" stroke="#333"{dash}/>')
            for j, s in enumerate([n.header] + n.lines):
                weight = ' font-weight="bold"' if j == 0 and n.kind != "const" else ""
                out.append(f'<text x="{cx:.1f}" y="{y0 + 17 + 15 * j:.1f}" text-anchor="middle"'
                           f"{weight}>{_html.escape(s)}</text>")
            out.append("</g>")
        out.append(f'<text class="legend" x="16" y="{height - 10:.1f}" fill="#444">'
                   f"{_html.escape(LEGEND)}</text>")
        out.append("</svg>")
        return "\n".join(out)


#: what every picture says about its arrows
LEGEND = ("arrows: the forward pass (data flow); gradients flow backward, against the arrows, "
          "from the output to the leaves")

_ROUND = ("leaf", "output", "const")
_FILLS = {"leaf": "#cfe8ff", "op": "#e8e8e8", "output": "#d5f5c8", "group": "#fff3c4",
          "tensor": "#ffffff", "const": "#ffffff"}
