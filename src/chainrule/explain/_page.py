"""The self-contained HTML page of ``Explain.html``: the graph picture beside the steps; clicking
a node (or a row, or opening the page at ``#<node id>``) highlights the other. Below them the
chain rule with the numbers (``Explain.chain``) and each step's local Jacobian as a heat map."""

from __future__ import annotations

import html as _html

import numpy as np

from .. import viz

#: Jacobians up to this many rows and columns are drawn cell by cell
HEAT_MAX = 16


def heatmap(m: np.ndarray, cell: int = 0) -> str:
    """A small SVG picture of a matrix: red for positive entries, blue for negative, white for
    zero, scaled by the largest magnitude; the numbers are written in the cells of small ones and
    each cell's title holds its value."""
    r, c = m.shape
    cell = cell or (28 if max(r, c) <= 8 else 14)
    big = float(np.max(np.abs(m), initial=0)) or 1.0
    out = [f'<svg class="heat" xmlns="http://www.w3.org/2000/svg" width="{c * cell + 2}" '
           f'height="{r * cell + 2}" font-size="9" font-family="Helvetica, Arial, sans-serif">']
    for i in range(r):
        for j in range(c):
            v = float(m[i, j])
            t = min(abs(v) / big, 1.0)
            shade = int(round(255 * (1 - t)))
            fill = f"rgb(255,{shade},{shade})" if v > 0 else f"rgb({shade},{shade},255)"
            out.append(f'<rect x="{1 + j * cell}" y="{1 + i * cell}" width="{cell}" '
                       f'height="{cell}" fill="{fill}" stroke="#bbb" stroke-width="0.5">'
                       f"<title>J[{i}, {j}] = {viz._num(v)}</title></rect>")
            if cell >= 28:
                color = "#fff" if t > 0.6 else "#222"
                out.append(f'<text x="{1 + j * cell + cell / 2}" y="{1 + i * cell + cell / 2 + 3}" '
                           f'text-anchor="middle" fill="{color}">{viz._num(v)}</text>')
    out.append("</svg>")
    return "".join(out)


def jacobian_figures(ex, g) -> str:
    """One figure per (step, input) of the last backward pass: the local Jacobian's heat map."""
    figs = []
    last = [st for st in ex.steps if st.pass_no == ex.passes and st.kind == "op"]
    for st in last:
        for (nr, i), j in sorted((st.jac or {}).items()):
            nid = g.ids.get(id(st.node), "")
            who = f"{ex._node_label(st.node)}, input {st.inputs[i]}" + (
                f", output {nr}" if st.node.n_out > 1 else "")
            cap = f"J = ∂out/∂{st.inputs[i]} of {who}: {j.size_text()}, {j.text()}"
            if j.known and j.rows <= HEAT_MAX and j.cols <= HEAT_MAX:
                pic = heatmap(j.matrix())
            else:
                pic = (f'<div class="big">{j.size_text()}: too big to draw '
                       f"(at most {HEAT_MAX}×{HEAT_MAX}){'; ' + j.why if j.why else ''}</div>")
            figs.append(f'<figure data-node="{nid}">{pic}<figcaption>{_html.escape(cap)}'
                        "</figcaption></figure>")
    return "\n".join(figs)


def chains(ex) -> str:
    """The chain rule written out for every leaf the last backward pass reached."""
    out = []
    last = [st for st in ex.steps if st.pass_no == ex.passes and st.kind == "accumulate"]
    for st in last:
        try:
            rev = ex.chain(st.leaf)
            fwd = ex.chain(st.leaf, order="forward")
        except ValueError as e:  # a leaf the chain cannot be written for: say so
            rev, fwd = f"({e})", ""
        out.append(f'<pre class="chain">{_html.escape(rev)}</pre>')
        if fwd and fwd != rev:
            out.append("<details><summary>forward accumulation order</summary>"
                       f'<pre class="chain fwd">{_html.escape(fwd)}</pre></details>')
    return "\n".join(out)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 20px; }}
#wrap {{ display: flex; gap: 24px; align-items: flex-start; flex-wrap: wrap; }}
#graph {{ border: 1px solid #ccc; padding: 8px; background: #fafafa; overflow: auto;
          flex: 1 1 420px; min-width: 300px; }}
#graph svg {{ width: 100%; height: auto; max-height: 90vh; }}
#stepsbox {{ flex: 1 1 520px; overflow-x: auto; }}
pre.chain {{ background: #f4f4f4; border: 1px solid #ddd; padding: 8px; font-size: 13px;
             white-space: pre-wrap; }}
#jacobians {{ display: flex; flex-wrap: wrap; gap: 16px; }}
#jacobians figure {{ margin: 0; max-width: 360px; font-size: 12px; }}
#jacobians figure.hl figcaption {{ background: #ffe08a; }}
#jacobians .big {{ border: 1px dashed #999; padding: 12px; color: #555; }}
#graph g.node {{ cursor: pointer; }}
#graph g.node.sel polygon, #graph g.node.sel rect, #graph g.node.sel path {{
  stroke: #d62728; stroke-width: 3px; }}
#steps {{ border-collapse: collapse; font-size: 13px; }}
#steps th, #steps td {{ border: 1px solid #ccc; padding: 3px 6px; text-align: left;
                        vertical-align: top; }}
#steps th {{ background: #eee; }}
#steps tr {{ cursor: pointer; }}
#steps tr.hl td {{ background: #ffe08a; }}
p.note {{ color: #555; font-size: 13px; }}
</style></head>
<body>
<h1>{title}</h1>
<p class="note">{n} steps, in the order the engine ran them. Each op passes on
<i>incoming gradient × local derivative</i> (the vector-Jacobian product) to each of its inputs.
Click a node of the graph or a row of the table.</p>
<div id="wrap">
<div id="graph">{svg}</div>
<div id="stepsbox"><table id="steps"><thead><tr>{head}</tr></thead><tbody>
{rows}
</tbody></table></div>
</div>
<h2>The chain rule, with the numbers</h2>
<p class="note">Reverse accumulation (what <code>backward</code> does): the gradient v the backward
started from, times each step's local Jacobian J, from the output side: v · J_n · … · J_1.
I is the identity, 2I twice it, diag(…) a diagonal Jacobian (an elementwise op).</p>
<div id="chain">{chain}</div>
<h2>Local Jacobians</h2>
<p class="note">Each step's Jacobian ∂output/∂input (rows: the output's entries, columns: the
input's, both flattened): red positive, blue negative, white zero.</p>
<div id="jacobians">{jacobians}</div>
<script>
(function () {{
  var rows = Array.prototype.slice.call(document.querySelectorAll('#steps tbody tr'));
  var nodes = Array.prototype.slice.call(document.querySelectorAll('#graph g.node'));
  var figs = Array.prototype.slice.call(document.querySelectorAll('#jacobians figure'));
  function select(id) {{
    var first = null;
    rows.forEach(function (r) {{
      var on = r.getAttribute('data-node') === id;
      r.classList.toggle('hl', on);
      if (on && !first) first = r;
    }});
    nodes.forEach(function (n) {{ n.classList.toggle('sel', n.id === id); }});
    figs.forEach(function (f) {{ f.classList.toggle('hl', f.getAttribute('data-node') === id); }});
    if (first && first.scrollIntoView) first.scrollIntoView({{block: 'nearest'}});
  }}
  nodes.forEach(function (n) {{ n.addEventListener('click', function () {{ select(n.id); }}); }});
  rows.forEach(function (r) {{
    r.addEventListener('click', function () {{ select(r.getAttribute('data-node')); }});
  }});
  var h = (location.hash || '').slice(1);
  if (h) select(h);
}})();
</script>
</body></html>
"""
