"""Pictures of the computation graph: Graphviz DOT text (no dependency), SVG/PNG/PDF through the
Graphviz ``dot`` program, a built-in SVG layout (layered as ``dot`` does, edges routed around the
boxes), and a plain-text tree for terminals. Every box shows its id (``#n3``, the id the explain
tables use), constants and data inputs are drawn, results carry their variable's name, slices
their index, and a legend says that gradients flow back against the arrows.

Example:
    >>> x = chainrule.ones(1, 4, requires_grad=True)
    >>> z = chainrule.norm(2 * x + 1, 2, dim=1)
    >>> g = chainrule.viz.graph(z, params={"x": x})
    >>> print(g.dot)                  # digraph chainrule { ... label="NormBackward1" ... }
    >>> g.render("z.svg")             # needs Graphviz: apt-get install graphviz
    >>> print(chainrule.viz.tree(z))

Nothing here runs unless called: building a graph walks it once, iteratively.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd.graph import AccumulateGrad, Node, accumulate_node
from ._collapse import _collapse
from ._draw import GNode, Graph, GraphvizNotFound, dot_available

__all__ = ["GNode", "Graph", "GraphvizNotFound", "dot_available", "graph", "index_text",
           "summarize", "tensor_name", "tree"]

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the chainrule package


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
        a = a._array
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


def index_text(index) -> str:
    """An index as it is written in Python: ``[0]``, ``[1:3]``, ``[..., None, ::2]``.

    Example:
        >>> index_text((slice(1, 3), 0))
        '[1:3, 0]'
    """
    items = index if isinstance(index, tuple) else (index,)

    def one(i) -> str:
        if isinstance(i, slice):
            a = "" if i.start is None else str(i.start)
            b = "" if i.stop is None else str(i.stop)
            return f"{a}:{b}" + ("" if i.step is None else f":{i.step}")
        if i is Ellipsis:
            return "..."
        if i is None:
            return "None"
        if isinstance(i, (list, tuple, np.ndarray)) or hasattr(i, "_array"):
            a = np.asarray(getattr(i, "_array", i))
            return summarize(a) if a.size <= 8 else f"<{a.dtype} index {_shape(a)}>"
        return str(i)

    return "[" + ", ".join(one(i) for i in items) + "]"


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
                if v.grad_fn is not None:  # the op that produced it is drawn with its name
                    names.setdefault(("fn", id(v.grad_fn)), k)
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
    if t._extra_state and "name" in t._extra_state:
        return t._extra_state["name"]
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


def graph(*tensors: Tensor, params=None, show_values: bool = False, show_grads: bool = False,
          show_saved: bool = False, max_nodes: int = 150, collapse: bool | None = None,
          trace=None, title: str = "", show_constants: bool | None = None) -> Graph:
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
        show_constants: draw the inputs that need no grad (the 2 and 1 of ``2 * x + 1``) as
            small boxes; by default when the graph has at most 40 op nodes.

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
        elif t._requires_grad:
            roots.append(accumulate_node(t))
    return _build(roots, list(tensors), names, show_values, show_grads, show_saved, max_nodes,
                  collapse, trace, title, show_constants)


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
           trace, title, show_constants=None) -> Graph:
    order = _walk(roots)
    ids: dict = {}
    nodes: list = []
    edges: list = []
    for k, n in enumerate(order):
        ids[id(n)] = f"n{k}"
    known = {id(t.grad_fn): t._array for t in outputs  # values the graph freed but outputs keep
             if isinstance(t, Tensor) and t.grad_fn is not None and t.grad_fn.n_out == 1}
    for n in order:
        nid = ids[id(n)]
        if type(n) is AccumulateGrad:
            v = n.variable
            nm = tensor_name(v, names)
            lines = [f"{_shape(v._array)} {v.dtype}".replace("chainrule.", "")]
            if show_values:
                lines.append("value " + summarize(v._array))
            if show_grads:
                rec = trace.grad_of(n) if trace is not None else None  # .grad as recorded
                lines.append("grad " + summarize(rec[0] if rec else v._grad))
            nodes.append(GNode(nid, "leaf", nm or "leaf", lines, n))
            ids[id(v)] = nid
            continue
        lines = _op_lines(n, show_values, show_grads, show_saved, trace, known.get(id(n)))
        kw = getattr(n, "kw", None)
        if getattr(getattr(n, "op", None), "name", "") in ("basic_index", "index") and kw \
                and "index" in kw:
            lines.insert(0, "index " + index_text(kw["index"]))
        gn = GNode(nid, "op", n.name(), lines, n)
        gn.name = names.get(("fn", id(n))) or (trace._node_names.get(id(n)) if trace is not None
                                               and hasattr(trace, "_node_names") else None)
        nodes.append(gn)
        for e in n.next:
            if e is not None:
                edges.append((ids[id(e[0])], nid))
    n_ops = sum(1 for n in nodes if n.kind == "op")
    collapsing = collapse or (collapse is None and n_ops > max_nodes)
    if show_constants is None:  # a collapsed picture is a summary: no constants there
        show_constants = n_ops <= 40 and not collapsing
    if show_constants:
        _constants(order, ids, nodes, edges, names, trace)
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            continue
        oid = f"o{i}"
        nm = tensor_name(t, names) or "output"
        lines = [f"{_shape(t._array)} {t.dtype}".replace("chainrule.", "")]
        if show_values:
            lines.append("value " + summarize(t._array))
        if t.grad_fn is not None:
            nodes.append(GNode(oid, "output", nm, lines, t))
            edges.append((ids[id(t.grad_fn)], oid))
            ids.setdefault(id(t), oid)
        elif not t._requires_grad:
            nodes.append(GNode(oid, "tensor", nm, lines + ["(no grad: not in any graph)"], t))
            ids.setdefault(id(t), oid)
    g = Graph(nodes, edges, ids, title)
    if collapsing:
        _collapse(g)
    return g


def _constants(order, ids, nodes, edges, names, trace) -> None:
    """A small box per tensor input that needs no grad (a constant, or data), with its value."""
    k = 0
    for n in order:
        if type(n) is AccumulateGrad or not any(e is None for e in n.next):
            continue
        rec = trace.constants_of(n) if trace is not None and hasattr(trace, "constants_of") \
            else None
        saved = n.saved if type(n) is Node else None
        for i, e in enumerate(n.next):
            if e is not None:
                continue
            if rec is not None:
                a = rec.get(i)
            elif saved is not None and i < len(saved) and isinstance(
                    saved[i], (Tensor, int, float, np.ndarray)) and not isinstance(saved[i], bool):
                a = saved[i]
            else:
                continue
            if a is None:
                continue
            nm = tensor_name(a, names) if isinstance(a, Tensor) else None
            arr = a._array if isinstance(a, Tensor) else np.asarray(a)
            text = summarize(arr) if arr.size <= 4 else f"{_shape(arr)} {arr.dtype}"
            cid = f"c{k}"
            k += 1
            nodes.append(GNode(cid, "const", nm or text, [text] if nm else [], None))
            edges.append((cid, ids[id(n)]))


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
            total += x._array.nbytes
            lines.append(f"saved {pn[i] if i < len(pn) else i}: {_shape(x._array)} "
                         f"{x.dtype} {_bytes(x._array.nbytes)}".replace("chainrule.", ""))
    if op.saves_out and n.out is not None:
        outs = n.out if isinstance(n.out, tuple) else (n.out,)
        b = sum(o.nbytes for o in outs)
        total += b
        lines.append(f"saved result: {_bytes(b)}")
    lines.append(f"saved total {_bytes(total)}" if lines else "saved: nothing")
    return lines


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
        root = t.grad_fn if t.grad_fn is not None else (accumulate_node(t) if t._requires_grad else None)
        nm = tensor_name(t, names) or "output"
        head = f"{nm} {_shape(t._array)} {t.dtype}".replace("chainrule.", "")
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
        s = f"{tensor_name(v, names) or 'leaf'} {_shape(v._array)} {v.dtype} leaf"
        s = s.replace("chainrule.", "")
        if show_values:
            s += f"  value={summarize(v._array)}"
        if show_grads:
            s += f"  grad={summarize(v._grad)}"
        return s
    extra = _op_lines(n, show_values, show_grads, False, trace)
    return n.name() + ("  " + "  ".join(extra) if extra else "")
