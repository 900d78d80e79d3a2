"""The self-contained HTML page of ``Explain.html``: the graph picture beside the steps; clicking
a node (or a row, or opening the page at ``#<node id>``) highlights the other."""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 20px; }}
#wrap {{ display: flex; gap: 24px; align-items: flex-start; flex-wrap: wrap; }}
#graph {{ border: 1px solid #ccc; padding: 8px; background: #fafafa; overflow: auto;
          max-width: 48%; }}
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
<table id="steps"><thead><tr>{head}</tr></thead><tbody>
{rows}
</tbody></table>
</div>
<script>
(function () {{
  var rows = Array.prototype.slice.call(document.querySelectorAll('#steps tbody tr'));
  var nodes = Array.prototype.slice.call(document.querySelectorAll('#graph g.node'));
  function select(id) {{
    var first = null;
    rows.forEach(function (r) {{
      var on = r.getAttribute('data-node') === id;
      r.classList.toggle('hl', on);
      if (on && !first) first = r;
    }});
    nodes.forEach(function (n) {{ n.classList.toggle('sel', n.id === id); }});
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
