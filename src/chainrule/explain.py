"""The chain rule, step by step, with the actual numbers.

``with chainrule.explain() as ex: loss.backward()`` records every step the engine ran: the node,
its op, the local derivative as a formula (from the rule table), the gradient that came in, what
was passed to each input and where it went (into a leaf's ``.grad``, or summed with another
path). Print ``ex.table()``, write ``ex.markdown()`` or a page ``ex.html()`` with the graph.

``chainrule.explain.accumulation(f, x)`` puts forward accumulation (Jacobian-vector products from
the input side) and reverse accumulation (vector-Jacobian products from the output side) side by
side, with the passes and multiply-adds each needs for the whole Jacobian.

Example:
    >>> x = chainrule.tensor(0.5, requires_grad=True, name="x")
    >>> with chainrule.explain() as ex:
    ...     chainrule.tanh(3 * x).backward()
    >>> print(ex.table())

Nothing is recorded, and nothing costs, outside the ``with`` block.
"""

from __future__ import annotations

import html as _html
import re
import sys
import types
from collections.abc import Callable

import numpy as np
from typing_extensions import Self

from . import viz
from ._tensor import Tensor
from .autograd import engine as _engine
from .autograd.graph import AccumulateGrad, Node

__all__ = ["Accumulation", "Explain", "Step", "accumulation"]


def _arr(g):
    if g is None:
        return None
    return np.array(g.data if isinstance(g, Tensor) else g)  # a copy: later steps add in place


def _letter(formula: str | None, i: int, n: int) -> str:
    """The input's name in its formula (``d(u·v)/dv`` → ``v``), else ``input i``."""
    if formula and (isinstance(formula, str)):
        m = re.search(r"/d\s?([A-Za-zα-ω]+)", formula)
        if m and (n == 1 or formula.count("/d") == 1):
            return m.group(1)
    return "u" if n == 1 else f"input {i}"


def _cell(a) -> str:
    """A value for a table cell: the number(s), with the shape when it is not a scalar."""
    if a is None:
        return "—"
    a = np.asarray(a)
    if a.size == 1:
        return viz.summarize(a.reshape(()))
    s = viz.summarize(a)
    return s if s.startswith("[") and "‖" in s else f"{viz._shape(a)} {s}"


class Step:
    """One chain-rule step: ``node`` ran, or a leaf's ``.grad`` was accumulated.

    ``g``: the gradient(s) that came into the node (one per output); ``passed``: what it sent to
    each input (the vJ), ``local``: the local derivative's value per input where it is cheap to
    show (scalar outputs, elementwise ops), ``formula`` and ``dest`` per input.
    """

    __slots__ = (
        "dest",
        "elementwise",
        "formula",
        "g",
        "grad_after",
        "had_grad",
        "index",
        "inputs",
        "kind",
        "leaf",
        "local",
        "node",
        "passed",
        "paths",
    )

    def __repr__(self) -> str:
        return f"<Step {self.index} {self.node.name()}>"

    @property
    def name(self) -> str:
        return self.node.name()


class Explain:
    """A recording of backward passes; use as ``with chainrule.explain() as ex: ...``.

    Args:
        params: names for leaves (a dict or a module), as in ``chainrule.viz.graph``.
        local: also evaluate each node's local derivative where that is cheap to show (scalar
            outputs; the diagonal for elementwise ops). It reruns the node's backward rule once.
    """

    def __init__(self, params=None, local: bool = True) -> None:
        self.steps: list[Step] = []
        self.local = local
        self._params = params
        self._names: dict = {}
        self._values: dict = {}
        self._grads: dict = {}
        self._count: dict = {}
        self._had: dict = {}
        self._nodes: list = []
        self._node_names: dict = {}
        self._active = False

    # ---- recording ------------------------------------------------------------------------
    def __enter__(self) -> Self:
        if self._active:
            raise RuntimeError("explain(): this recording is already active")
        self._active = True
        _engine.OBSERVERS.append(self._observe)
        return self

    def __exit__(self, *exc) -> None:
        self._active = False
        try:
            _engine.OBSERVERS.remove(self._observe)
        except ValueError:
            pass
        f = sys._getframe(1)
        names = {("local", id(v)): k for k, v in f.f_locals.items()
                 if isinstance(v, Tensor) and k.isidentifier() and not k.startswith("_")}
        names.update(viz._param_names(self._params))
        self._names.update(names)
        self._node_names = {id(v.grad_fn): k for k, v in f.f_locals.items()
                            if isinstance(v, Tensor) and v.grad_fn is not None and k.isidentifier()
                            and not k.startswith("_")}

    def _name(self, t: Tensor) -> str:
        return viz.tensor_name(t, self._names) or "leaf"

    def _observe(self, node, gs, outs) -> None:
        st = Step()
        st.index = len(self.steps) + 1
        st.node = node
        st.g = [_arr(g) for g in gs]
        if type(node) is AccumulateGrad:
            st.kind = "accumulate"
            st.leaf = node.variable
            st.grad_after = _arr(node.variable._grad)
            self._grads[node] = [st.grad_after]
            st.paths = self._count.get((node, 0), 0)
            st.had_grad = self._had.get(node, False)
            st.passed = st.local = st.formula = st.dest = st.inputs = None
            st.elementwise = False
            self.steps.append(st)
            return
        st.kind = "op"
        op = node.op
        self._nodes.append(node)
        self._values[node] = node.out
        self._grads[node] = st.g
        st.passed = [_arr(o) for o in outs]
        n_in = len(node.next)
        f = op.formula
        if isinstance(f, tuple):
            st.formula = [f[i] if i < len(f) and f[i] else None for i in range(n_in)]
        else:
            st.formula = [f] * n_in
        st.inputs = [_letter(st.formula[i], i, n_in) for i in range(n_in)]
        vjp = getattr(op, "vjp", None)  # a custom Function's node has no rule-table row
        st.elementwise = vjp is not None and getattr(op, "jvp", None) is vjp
        st.dest = []
        st.paths = []
        for i, e in enumerate(node.next):
            if e is None:
                st.dest.append(None)
                st.paths.append(0)
                continue
            child, nr = e
            c = self._count.get((child, nr), 0) + 1
            self._count[(child, nr)] = c
            st.paths.append(c)
            if type(child) is AccumulateGrad:
                if c == 1:
                    self._had[child] = child.variable._grad is not None
                st.dest.append(child)
            else:
                st.dest.append(child)
        st.local = self._local(node, st) if self.local else None
        st.grad_after = None
        self.steps.append(st)

    def _local(self, node, st) -> list | None:
        """d out / d input_i at this point, for a scalar output or an elementwise op."""
        out = node.out
        if type(node) is not Node or isinstance(out, tuple) or out is None:
            return None
        scalar = out.size == 1
        if not scalar:
            if not st.elementwise:
                return None
            for x in node.saved:
                if isinstance(x, Tensor) and x.data.shape != out.shape:
                    return None
        try:
            res = _engine._call_rules(node, [np.ones_like(out)], False, set())
        except Exception:  # noqa: BLE001  (a rule that cannot rerun here: show the vJ only)
            return None
        return [None if r is None else np.array(r) for r in res]

    # ---- for viz.graph(trace=...) -------------------------------------------------------------
    def value_of(self, node):
        return self._values.get(node)

    def grad_of(self, node):
        return self._grads.get(node)

    # ---- reading ----------------------------------------------------------------------------
    def _dest_text(self, st: Step, i: int) -> str:
        d = st.dest[i]
        if d is None:
            return "— (needs no grad)"
        c = st.paths[i]
        if type(d) is AccumulateGrad:
            where = f"{self._name(d.variable)}.grad"
        else:
            where = self._node_label(d)
        if c > 1:
            return f"{where} (summed with {c - 1} earlier path{'s' if c > 2 else ''})"
        return where

    def _node_label(self, node) -> str:
        nm = self._node_names.get(id(node))
        return f"{node.name()} ({nm})" if nm else node.name()

    def rows(self) -> list[dict]:
        """The steps as rows: one per (step, input), plus one per leaf accumulation."""
        out = []
        for st in self.steps:
            if st.kind == "accumulate":
                nm = self._name(st.leaf)
                verb = "+=" if st.had_grad else "="
                via = f" (sum of {st.paths} paths)" if st.paths > 1 else ""
                out.append({"step": st.index, "node": "AccumulateGrad", "nid": st.node, "input": nm,
                                "formula": f"{nm}.grad {verb} incoming{via}", "g": _cell(st.g[0]),
                                "local": "", "passed": _cell(st.grad_after), "to": f"{nm}.grad"})
                continue
            g = st.g[0] if len(st.g) == 1 else None
            gtext = _cell(g) if len(st.g) == 1 else "; ".join(_cell(x) for x in st.g)
            first = True
            for i in range(len(st.dest)):
                if st.dest[i] is None:
                    continue
                loc = st.local[i] if st.local is not None else None
                if loc is not None and np.asarray(loc).size > 1 and st.elementwise:
                    ltxt = "diag " + _cell(loc)
                else:
                    ltxt = _cell(loc) if loc is not None else ""
                passed = st.passed[i]
                if g is not None and g.size > 1 and passed is not None and loc is None:
                    ptxt = f"vJ {viz._shape(g)}→{viz._shape(passed)}: {_cell(passed)}"
                else:
                    ptxt = _cell(passed)
                f = st.formula[i] or (
                    f"(no formula in the rule table for {st.node.op.name})"
                    if type(st.node) is Node else
                    f"(custom Function {st.node.op.name}: no `formula` attribute on the class)")
                out.append({"step": st.index if first else "",
                                "node": self._node_label(st.node) if first else "",
                                "nid": st.node, "input": st.inputs[i], "formula": f,
                                "g": gtext if first else "″", "local": ltxt, "passed": ptxt,
                                "to": self._dest_text(st, i)})
                first = False
        return out

    _HEAD = ("step", "node", "input", "local derivative", "incoming g", "local value",
             "passed on (g·local)", "goes to")
    _KEYS = ("step", "node", "input", "formula", "g", "local", "passed", "to")

    def table(self) -> str:
        """The steps as a plain-text table, in the order the engine ran them."""
        rows = [[str(r[k]) for k in self._KEYS] for r in self.rows()]
        w = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(self._HEAD)]
        line = "  ".join(h.ljust(w[j]) for j, h in enumerate(self._HEAD)).rstrip()
        out = [line, "  ".join("-" * x for x in w)]
        out += ["  ".join(c.ljust(w[j]) for j, c in enumerate(r)).rstrip() for r in rows]
        return "\n".join(out)

    __str__ = table

    def __repr__(self) -> str:
        return f"<chainrule.explain: {len(self.steps)} steps>"

    def markdown(self) -> str:
        """The steps as a Markdown table."""
        def esc(s):
            return str(s).replace("|", "\\|")

        out = ["| " + " | ".join(self._HEAD) + " |", "|" + "---|" * len(self._HEAD)]
        for r in self.rows():
            cells = [esc(r[k]) for k in self._KEYS]
            cells[3] = f"`{cells[3]}`" if cells[3] else ""
            out.append("| " + " | ".join(cells) + " |")
        return "\n".join(out) + "\n"

    def chain(self, leaf: Tensor) -> str:
        """For a graph of scalars: d(root)/d(leaf) as the sum over paths of the product of the
        local derivatives along each path — the chain rule written out with numbers."""
        acc = leaf._acc() if leaf._acc is not None else None
        steps = {st.node: st for st in self.steps if st.kind == "op"}
        root = self.steps[0].node if self.steps else None
        if acc is None or root is None:
            raise ValueError("chain(): this leaf was not reached by the recorded backward")
        terms = []
        stack = [(root, [])]
        while stack:
            node, factors = stack.pop()
            if node is acc:
                terms.append(factors)
                continue
            st = steps.get(node)
            if st is None or st.local is None:
                continue
            for i, e in enumerate(node.next):
                if e is not None and st.local[i] is not None:
                    if np.asarray(st.local[i]).size != 1:
                        raise ValueError("chain(): the path has non-scalar steps; see table()")
                    stack.append((e[0], factors + [(node.name(), float(st.local[i]))]))
            if len(terms) > 64:
                break
        seed = float(np.asarray(self.steps[0].g[0]).reshape(-1)[0])
        nm = self._name(leaf)
        parts, total = [], 0.0
        for fs in terms:
            p = seed
            for _, v in fs:
                p *= v
            total += p
            parts.append(" · ".join(f"{v:.6g}" for _, v in fs) or "1")
        s = " + ".join(f"({p})" for p in parts) if len(parts) > 1 else (parts[0] if parts else "0")
        head = f"d{self._node_names.get(id(root), root.name())}/d{nm}"
        seedtxt = "" if seed == 1 else f"{seed:.6g} · "
        return f"{head} = {seedtxt}{s} = {total:.6g}"

    def graph(self, **kw) -> viz.Graph:
        """The recorded graph with values and gradients on every node (see ``viz.graph``)."""
        kw.setdefault("show_values", True)
        kw.setdefault("show_grads", True)
        rec = set(self._nodes)
        kids = {e[0] for n in self._nodes for e in n.next if e is not None}
        roots = [n for n in self._nodes if n not in kids]
        for st in self.steps:  # a backward that started at a leaf
            if st.kind == "accumulate" and not rec and st.node not in roots:
                roots.append(st.node)
        names = dict(self._names)
        names.update(viz._param_names(kw.pop("params", None)))
        return viz._build(roots, [], names, kw.pop("show_values"), kw.pop("show_grads"),
                          kw.pop("show_saved", False), kw.pop("max_nodes", 150),
                          kw.pop("collapse", None), self, kw.pop("title", ""))

    def html(self, path: str | None = None, title: str = "chainrule: the backward pass, step by "
             "step") -> str:
        """A self-contained page: the graph picture and the steps; clicking a node (or a row)
        highlights the other. Written to ``path`` when given; the HTML text is returned."""
        g = self.graph()
        try:
            pic = g.svg() if viz.dot_available() else g.builtin_svg()
        except RuntimeError:  # dot failed: the built-in layout still draws the graph
            pic = g.builtin_svg()
        pic = pic[pic.find("<svg"):]
        rows = []
        for r in self.rows():
            nid = g.ids.get(id(r["nid"]), "")
            cells = "".join(f"<td>{_html.escape(str(r[k]))}</td>" for k in self._KEYS)
            rows.append(f'<tr data-node="{nid}">{cells}</tr>')
        head = "".join(f"<th>{_html.escape(h)}</th>" for h in self._HEAD)
        page = _PAGE.format(title=_html.escape(title), svg=pic, head=head, rows="\n".join(rows),
                            n=len(self.steps))
        if path is not None:
            import os

            d = os.path.dirname(path)
            if d:
                os.makedirs(d, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(page)
        return page


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


# ---- forward vs reverse accumulation -------------------------------------------------------------
class Accumulation:
    """Forward and reverse accumulation of the Jacobian of ``f`` at ``x``, side by side.

    ``n`` inputs, ``m`` outputs; ``chain``: the recorded ops with the size of each local Jacobian
    (rows × columns) on the path from ``x``; ``per_pass``: multiply-adds of one pass when every
    local Jacobian is applied as a dense matrix (Σ rows·cols); ``forward_madds = n · per_pass``
    (n Jacobian-vector products, one per input direction), ``reverse_madds = m · per_pass``
    (m vector-Jacobian products, one per output).
    """

    def __init__(self, n, m, chain, jac_fwd, jac_rev, columns, rows):
        self.n = n
        self.m = m
        self.chain = chain
        self.per_pass = sum(r * c for _, r, c in chain)
        self.forward_passes = n
        self.reverse_passes = m
        self.forward_madds = n * self.per_pass
        self.reverse_madds = m * self.per_pass
        self.jacobian_forward = jac_fwd
        self.jacobian_reverse = jac_rev
        self.columns = columns
        self.rows = rows
        if self.forward_madds < self.reverse_madds:
            self.cheaper = "forward"
        elif self.reverse_madds < self.forward_madds:
            self.cheaper = "reverse"
        else:
            self.cheaper = "equal"

    @property
    def jacobian(self) -> np.ndarray:
        return self.jacobian_reverse

    def table(self) -> str:
        n, m = self.n, self.m
        L = [
            f"f: R^{n} → R^{m}   (Jacobian J is {m}×{n})",
            "local Jacobians on the path (rows × cols): "
            + ", ".join(f"{nm} {r}×{c}" for nm, r, c in self.chain),
            f"one pass = Σ rows·cols = {self.per_pass} multiply-adds (dense local Jacobians)",
            "",
        ]
        left = [
            "FORWARD accumulation (正向积累)",
            "dy/du_k (du_k/du_k-1 ( … (du_1/dx · e_j)))",
            f"passes: {n} (one per input, e_j → column j of J)",
            f"multiply-adds: {n} × {self.per_pass} = {self.forward_madds}",
        ]
        left += [f"  pass {j + 1}: J e_{j + 1} = {viz.summarize(c)}" for j, c in
                 enumerate(self.columns[:8])]
        right = [
            "REVERSE accumulation (反向积累)",
            "((e_iᵀ dy/du_k) du_k/du_k-1) … du_1/dx",
            f"passes: {m} (one per output, e_i → row i of J)",
            f"multiply-adds: {m} × {self.per_pass} = {self.reverse_madds}",
        ]
        right += [f"  pass {i + 1}: e_{i + 1}ᵀ J = {viz.summarize(r)}" for i, r in
                  enumerate(self.rows[:8])]
        w = max(len(s) for s in left) + 4
        for a, b in zip(left + [""] * (len(right) - len(left)), right + [""] * (len(left) - len(right))):
            L.append(a.ljust(w) + b)
        verdict = {"forward": f"forward is cheaper (n = {n} < m = {m})",
                   "reverse": f"reverse is cheaper (m = {m} < n = {n})",
                   "equal": f"both cost the same (n = m = {n})"}[self.cheaper]
        L += ["", "cheaper: " + verdict,
              (f"both give the same J: max |J_fwd − J_rev| = "
              f"{float(np.max(np.abs(self.jacobian_forward - self.jacobian_reverse), initial=0)):.3g}")]
        return "\n".join(L)

    __str__ = table

    def __repr__(self) -> str:
        return (f"<Accumulation n={self.n} m={self.m} forward={self.forward_madds} "
                f"reverse={self.reverse_madds} cheaper={self.cheaper}>")


def accumulation(f: Callable, x: Tensor) -> Accumulation:
    """Forward vs reverse accumulation of the Jacobian of ``f`` at ``x``, side by side.

    Forward mode runs ``n = x.numel()`` passes of dual numbers (one per input direction e_j,
    giving column j of J); reverse mode runs ``m`` backward passes (one per output e_i, giving
    row i). Each pass costs Σ rows·cols of the local Jacobians on the path, so forward costs
    ``n·Σ`` and reverse ``m·Σ`` multiply-adds: reverse wins for many inputs and few outputs
    (a loss), forward for few inputs and many outputs.

    Example:
        >>> acc = chainrule.explain.accumulation(lambda x: chainrule.sin(x).sum(), x)  # x: (3,)
        >>> acc.cheaper, acc.forward_passes, acc.reverse_passes
        ('reverse', 3, 1)
    """
    from .autograd import forward_ad as fwad
    from .autograd import grad

    if not isinstance(x, Tensor) or x.data.dtype.kind != "f":
        raise TypeError("accumulation(f, x): x must be a floating point Tensor")
    x0 = x.detach()
    n = x0.data.size
    xr = Tensor(x0.data.copy())
    xr.requires_grad_(True)
    y = f(xr)
    if not isinstance(y, Tensor):
        raise TypeError(f"accumulation: f must return a Tensor, got {type(y).__name__}")
    m = y.data.size
    chain = _chain(y, xr)
    rows = []
    for i in range(m):
        v = np.zeros(y.data.shape, y.data.dtype)
        v.reshape(-1)[i] = 1
        if y.grad_fn is None:
            rows.append(np.zeros(n, x0.data.dtype))
            continue
        (gx,) = grad(y, xr, grad_outputs=Tensor(v), retain_graph=True, allow_unused=True)
        rows.append(np.zeros(n) if gx is None else gx.data.reshape(-1).copy())
    cols = []
    for j in range(n):
        t = np.zeros(x0.data.shape, x0.data.dtype)
        t.reshape(-1)[j] = 1
        with fwad.dual_level():
            xd = fwad.make_dual(Tensor(x0.data.copy()), Tensor(t))
            yd = f(xd)
            tan = fwad.unpack_dual(yd).tangent
        cols.append(np.zeros(m) if tan is None else tan.data.reshape(-1).copy())
    jr = np.array(rows).reshape(m, n)
    jf = np.array(cols).reshape(n, m).T
    return Accumulation(n, m, chain, jf, jr, cols, rows)


def _chain(y: Tensor, x: Tensor) -> list:
    """(node name, rows, cols) of each local Jacobian on a path from x to y, in data-flow order."""
    if y.grad_fn is None:
        return []
    order = viz._walk([y.grad_fn])
    target = x._acc() if x._acc is not None else None
    leads = {target}
    changed = True
    while changed:
        changed = False
        for n in order:
            if n not in leads and any(e is not None and e[0] in leads for e in n.next):
                leads.add(n)
                changed = True
    out = []
    for n in reversed(order):
        if type(n) is AccumulateGrad or n not in leads:
            continue
        outs = n.out if isinstance(n.out, tuple) else (n.out,)
        rows = sum(o.size for o in outs)
        for i, e in enumerate(n.next):
            if e is not None and e[0] in leads:
                s = n.saved[i]
                cols = s.data.size if isinstance(s, Tensor) else 1
                out.append((n.name(), rows, cols))
    return out


class _ExplainModule(types.ModuleType):
    """``chainrule.explain`` is this module and, called, a new recording (``Explain``)."""

    def __call__(self, params=None, local: bool = True) -> Explain:
        return Explain(params=params, local=local)


sys.modules[__name__].__class__ = _ExplainModule
