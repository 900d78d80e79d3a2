"""The chain rule, step by step, with the actual numbers.

``with chainrule.explain() as ex: loss.backward()`` records every step the engine ran: the node,
its op, the local derivative as a formula (from the rule table), the gradient that came in, what
was passed to each input and where it went (into a leaf's ``.grad``, or summed with another
path), and each step's local Jacobian (small ones in full). Print ``ex.table()``, the chain rule
with the numbers ``ex.chain(x)`` (v · J_n · … · J_1; ``order="forward"`` for J_n · (… (J_1 · e_j))),
write ``ex.markdown()`` or a page ``ex.html()`` with the graph and the Jacobians as heat maps.

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

import numpy as np

from .. import viz
from .._tensor import Tensor
from ..autograd import engine as _engine
from ..autograd.graph import AccumulateGrad, Node
from ._accumulation import Accumulation, accumulation
from ._chain import chain as _chain_text
from ._jacobian import LocalJacobian, local_jacobians
from ._page import _PAGE, chains, jacobian_figures

__all__ = ["Accumulation", "Explain", "LocalJacobian", "Step", "accumulation"]

def _arr(g):
    if g is None:
        return None
    return np.array(g._array if isinstance(g, Tensor) else g)  # a copy: later steps add in place


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
        "jac",
        "kind",
        "leaf",
        "local",
        "node",
        "pass_no",
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
        self._frame = None  # the engine frame of the backward pass being recorded
        self._first = 0
        self.passes = 0
        self._id_cache = None
        self._consts: dict = {}

    # ---- recording ------------------------------------------------------------------------
    def __enter__(self) -> Explain:  # noqa: PYI034
        if self._active:
            raise RuntimeError("explain(): this recording is already active")
        self._active = True
        _engine.add_observer(self._observe)
        return self

    def __exit__(self, *exc) -> None:
        self._active = False
        self._frame = None
        _engine.remove_observer(self._observe)
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
        f = sys._getframe(1)  # the engine's run_backward: a new one is a new backward pass
        if f is not self._frame:
            self._frame = f
            self.passes += 1
            self._count = {}
            self._had = {}
            self._first = len(self.steps)
        st = Step()
        st.index = len(self.steps) - self._first + 1
        st.pass_no = self.passes
        st.node = node
        st.g = [_arr(g) for g in gs]
        if type(node) is AccumulateGrad:
            st.kind = "accumulate"
            st.leaf = node.variable
            st.grad_after = _arr(node.variable._grad)
            self._grads[node] = [st.grad_after]
            st.paths = self._count.get((node, 0), 0)
            st.had_grad = self._had.get(node, False)
            st.passed = st.local = st.formula = st.dest = st.inputs = st.jac = None
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
        st.jac = self._jacobians(node, st) if self.local else None
        if type(node) is Node and node.saved is not None and None in node.next:
            self._consts[node] = {i: node.saved[i] for i, e in enumerate(node.next)
                                  if e is None and i < len(node.saved)
                                  and isinstance(node.saved[i], (Tensor, int, float, np.ndarray))
                                  and not isinstance(node.saved[i], bool)}
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
                if isinstance(x, Tensor) and x._array.shape != out.shape:
                    return None
        try:
            res = _engine._call_rules(node, [np.ones_like(out)], False, set())
        except Exception:  # noqa: BLE001  (a rule that cannot rerun here: show the vJ only)
            return None
        return [None if r is None else np.array(r) for r in res]

    def _jacobians(self, node, st) -> dict | None:
        """Each input's local Jacobian, read off the rule while the saved values are still held."""
        if type(node) is not Node or node.out is None:
            return None
        diag = None
        if st.elementwise and st.local is not None and not isinstance(node.out, tuple):
            diag = [None if d is None or np.shape(d) != node.out.shape else d for d in st.local]

        def rules(gs):
            return _engine._call_rules(node, gs, False, set())

        return local_jacobians(node, node.out, st.g, rules, diag)

    # ---- for viz.graph(trace=...) -------------------------------------------------------------
    def value_of(self, node):
        return self._values.get(node)

    def grad_of(self, node):
        return self._grads.get(node)

    def constants_of(self, node) -> dict:
        """{input index: Tensor} of the node's inputs that needed no grad (constants, data)."""
        return self._consts.get(node, {})

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

    def _label(self, st: Step) -> str | int:
        return st.index if self.passes == 1 else f"{st.pass_no}.{st.index}"

    def _node_label(self, node) -> str:
        """``TanhBackward0 (y) #n2``: the name of its result, and the id the picture shows."""
        nm = self._node_names.get(id(node))
        return (f"{node.name()} ({nm})" if nm else node.name()) + f" #{self._nid(node)}"

    def rows(self) -> list[dict]:
        """The steps as rows: one per (step, input), plus one per leaf accumulation."""
        out = []
        for st in self.steps:
            if st.kind == "accumulate":
                nm = self._name(st.leaf)
                verb = "+=" if st.had_grad else "="
                via = f" (sum of {st.paths} paths)" if st.paths > 1 else ""
                out.append({"step": self._label(st), "node": f"AccumulateGrad #{self._nid(st.node)}",
                            "nid": st.node, "input": nm,
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
                out.append({"step": self._label(st) if first else "",
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

    def chain(self, x: Tensor, order: str = "reverse") -> str:
        """d(output)/dx as the chain rule writes it, with the recorded numbers.

        Reverse order (the default, what ``backward`` does): the gradient v the backward started
        from times each step's local Jacobian, from the output side, v · J_n · … · J_1, with each
        partial product; ``order="forward"``: the whole Jacobian J_n · … · J_1 built from the
        input side, one pass J_n · ( … (J_1 · e_j)) per entry of x. Several paths from the output
        to x are summed. A graph of scalars gives one line, ``dz/dx = (a · b) + (c) = …``.

        Small Jacobians are printed as matrices (``I``, ``2I``, ``diag(…)`` for diagonal ones);
        big ones by their shape, and the text says what it left out.

        Example:
            >>> x = chainrule.ones(1, 4, requires_grad=True)
            >>> with chainrule.explain() as ex:
            ...     z = chainrule.norm(2 * x + 1, 2, dim=1)
            ...     z.backward(chainrule.ones(1))
            >>> print(ex.chain(x).splitlines()[0])
            v · dz/dx = v · J_norm(z) · J_add · J_mul = [1] · [[0.5, 0.5, 0.5, 0.5]] · I · 2I
            = [[1, 1, 1, 1]]
        """
        return _chain_text(self, x, order)

    def _nid(self, node) -> str:
        """The node's id in the picture and on the page (``n3``)."""
        return self._ids().get(id(node), "?")

    def _ids(self) -> dict:
        if self._id_cache is None or self._id_cache[0] != len(self.steps):
            roots = self._roots()
            self._id_cache = (len(self.steps), {id(n): f"n{k}" for k, n in
                                                enumerate(viz._walk(roots))})
        return self._id_cache[1]

    def _roots(self) -> list:
        kids = {e[0] for n in self._nodes for e in n.next if e is not None}
        roots = [n for n in self._nodes if n not in kids]
        for st in self.steps:  # a backward that started at a leaf
            if st.kind == "accumulate" and not self._nodes and st.node not in roots:
                roots.append(st.node)
        return roots

    def graph(self, **kw) -> viz.Graph:
        """The recorded graph with values and gradients on every node (see ``viz.graph``)."""
        kw.setdefault("show_values", True)
        kw.setdefault("show_grads", True)
        roots = self._roots()
        names = dict(self._names)
        names.update(viz._param_names(kw.pop("params", None)))
        return viz._build(roots, [], names, kw.pop("show_values"), kw.pop("show_grads"),
                          kw.pop("show_saved", False), kw.pop("max_nodes", 150),
                          kw.pop("collapse", None), self, kw.pop("title", ""))

    def html(self, path: str | None = None, title: str = "chainrule: the backward pass, step by "
             "step") -> str:
        """A self-contained page: the graph picture and the steps (clicking a node or a row
        highlights the other), the chain rule written out with the numbers for every leaf
        reached, and each step's local Jacobian as a heat map. Written to ``path`` when given;
        the HTML text is returned."""
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
                            n=len(self.steps), chain=chains(self),
                            jacobians=jacobian_figures(self, g))
        if path is not None:
            import os

            d = os.path.dirname(path)
            if d:
                os.makedirs(d, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(page)
        return page


class _ExplainModule(types.ModuleType):
    """``chainrule.explain`` is this module and, called, a new recording (``Explain``)."""

    def __call__(self, params=None, local: bool = True) -> Explain:
        return Explain(params=params, local=local)


sys.modules[__name__].__class__ = _ExplainModule
