"""``chainrule.autograd.why(x, loss)``: why is ``x.grad`` None (or zero)?

Walks from ``loss`` toward ``x`` and names the first break: an integer tensor, a tensor that does
not require grad (detached, created under ``no_grad`` or by a non-differentiable op: where), a
non-leaf without ``retain_grad``, a tensor on no path to ``loss``, or a gradient that a
relu/clamp/where mask turned into zeros.

Where a graph was cut, the dispatcher leaves a small mark (``_context._cut``); that happens only when an
input requires grad and no graph is recorded, so the ordinary paths pay nothing.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

import numpy as np

from .._tensor import Tensor
from .._context import _PKG
from .._context import ctx as _ctx

#: ops whose backward multiplies by a 0/1 mask (the usual reason for a zero gradient)
MASK_OPS = ("relu", "clamp", "clamp_min", "clamp_max", "where", "threshold", "hardtanh",
            "relu6", "maximum", "minimum", "amax", "amin", "max", "min", "abs", "masked_fill")


@dataclass
class Diagnosis:
    """The answer of ``why``: ``kind`` (one word), ``message`` (a sentence), ``where`` (file:line)."""

    kind: str
    message: str
    where: str | None = None
    ops: list = field(default_factory=list)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"why: [{self.kind}] {self.message}"


def _name(t: Tensor) -> str:
    """The tensor's ``name=``, else the caller's variable bound to it, else its shape."""
    if t._extra_state and "name" in t._extra_state:
        return t._extra_state["name"]
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_PKG):
        f = f.f_back
    if f is not None:
        for k, v in f.f_locals.items():
            if v is t and k.isidentifier() and not k.startswith("_"):
                return k
    return f"tensor of shape {list(t.shape)}"


def _where(mark: tuple) -> str:
    kind, op, site = mark
    at = f" at {site}" if site else ""
    if kind == "detached":
        return f"was detached{at} (.detach() returns a tensor cut from the graph)"
    if kind == "no_grad":
        return f"went through {op} under no_grad (grad mode was turned off{at})"
    return f"went through {op}{at}, which is not differentiable (its result carries no gradient)"


def _hint() -> str:
    site = _ctx.off_at
    return "" if site is None else (f". If it went through no_grad: grad mode was last turned "
                                    f"off at {site}, and results computed there carry no gradient")


def _first_cut(loss: Tensor):
    """Walking back from loss (breadth first): the first input that needs no grad and carries a
    cut mark — ``(node, input index, tensor, mark)`` — while the graph still holds its inputs."""
    from collections import deque

    seen = {loss.grad_fn}
    q = deque([loss.grad_fn])
    while q:
        n = q.popleft()
        saved = getattr(n, "saved", None)
        for i, e in enumerate(n.next):
            if e is None:
                t = saved[i] if type(saved) is tuple and i < len(saved) else None
                if isinstance(t, Tensor) and t._extra_state and "cut" in t._extra_state:
                    return n, i, t, t._extra_state["cut"]
            elif e[0] not in seen:
                seen.add(e[0])
                q.append(e[0])
    return None


def _reach(loss: Tensor) -> tuple[dict, set]:
    """Nodes of loss's graph: node -> set of (child, nr) edges; and the set of reached keys."""
    edges: dict = {}
    keys = set()
    root = loss.grad_fn
    if root is None:
        return edges, keys
    stack = [root]
    edges[root] = ()
    while stack:
        n = stack.pop()
        out = tuple(e for e in n.next if e is not None)
        edges[n] = out
        for c, nr in out:
            keys.add((c, nr))
            if c not in edges:
                edges[c] = ()
                stack.append(c)
    return edges, keys


def why(x: Tensor, loss: Tensor) -> Diagnosis:
    """Say why ``x.grad`` is None (or zero) after ``loss.backward()``: the first break on the path.

    Example:
        >>> x = chainrule.tensor([1.0, -2.0], requires_grad=True)
        >>> loss = (x.detach() * 3).sum()
        >>> print(chainrule.autograd.why(x, loss))
        x was detached at example.py:2 (.detach() returns a tensor cut from the graph) ...
    """
    if not isinstance(x, Tensor) or not isinstance(loss, Tensor):
        raise TypeError("why(x, loss): both arguments must be Tensors")
    nx = _name(x)
    d = _why(x, loss, nx)
    nl = _name(loss)
    if nl != "loss" and nx != "loss" and not nl.startswith("tensor of"):
        d.message = re.sub(r"\bloss\b", nl, d.message)  # the caller's name for it
    return d


def _why(x: Tensor, loss: Tensor, nx: str) -> Diagnosis:
    if x._array.dtype.kind not in "fc":
        return Diagnosis("integer", f"{nx} is an integer tensor ({x.dtype}): only floating point "
                         "and complex tensors can require gradients; convert it with .float() "
                         "before the computation (an index or count has no gradient)")
    if not x._requires_grad:
        mark = x._extra_state.get("cut") if x._extra_state else None
        if mark is not None:
            return Diagnosis(mark[0].replace("-", "_"), f"{nx} does not require grad: it "
                             f"{_where(mark)}. Use the tensor it was computed from, outside "
                             "no_grad, or compute the gradient with respect to that one.",
                             mark[2], [mark[1]])
        return Diagnosis("no_requires_grad", f"{nx} does not require grad: create it with "
                         "requires_grad=True or call .requires_grad_() before using it")
    uses = x._extra_state.get("cut_use") if x._extra_state else None
    if loss.grad_fn is None:
        if loss is x:
            return Diagnosis("ok", f"loss is {nx} itself (a leaf): its gradient is 1")
        lmark = loss._extra_state.get("cut") if loss._extra_state else None
        if lmark is not None:
            return Diagnosis(lmark[0].replace("-", "_"), f"loss does not require grad: it "
                             f"{_where(lmark)}, so nothing flows back to {nx}", lmark[2],
                             [lmark[1]])
        if uses is not None:
            return Diagnosis(uses[0].replace("-", "_"), f"loss does not require grad, and {nx} "
                             f"{_where(uses)}; the path from {nx} to loss breaks there",
                             uses[2], [uses[1]])
        return Diagnosis("loss_no_grad", "loss does not require grad: no tensor that requires grad "
                         f"was used to compute it (is {nx} part of the computation?)" + _hint())
    edges, keys = _reach(loss)
    key = (x.grad_fn, x._output_nr) if x.grad_fn is not None else (
        x._grad_accumulator() if x._grad_accumulator is not None else None, 0)
    if key not in keys and not (x is loss):
        if uses is not None:
            return Diagnosis(uses[0].replace("-", "_"), f"{nx} is not on any path to loss: it "
                             f"{_where(uses)}; the path from {nx} to loss breaks there",
                             uses[2], [uses[1]])
        brk = _first_cut(loss)
        if brk is not None:
            node, i, _t, mark = brk
            return Diagnosis(mark[0].replace("-", "_"), f"{nx} is not on any path to loss: walking "
                             f"back from loss, the graph stops at input {i} of {node.name()}, a "
                             f"tensor that {_where(mark)}", mark[2], [mark[1]])
        leaves = [_name(n.variable) for n in edges if type(n).__name__ == "AccumulateGrad"]
        return Diagnosis("not_on_path", f"{nx} is not on any path to loss: loss was computed "
                         f"from the leaves {', '.join(leaves) or '(none)'}, not from {nx}"
                         + _hint())
    if x.grad_fn is not None and not x.retains_grad:
        op = getattr(x.grad_fn.op, "name", "")
        if op in ("to_dtype", "clone", "contiguous"):
            hint = (f". A cast or copy after requires_grad=True (e.g. .double()) makes a new "
                    f"non-leaf: create {nx} with dtype= and requires_grad=True instead")
        elif op in ("sub", "add", "mul", "div"):
            hint = (f". If {nx} is a parameter that was updated with `{nx} = {nx} - lr * "
                    f"{nx}.grad`, that made a new non-leaf: update it in place under no_grad "
                    f"({nx} -= lr * {nx}.grad)")
        else:
            hint = ""
        return Diagnosis("non_leaf", f"{nx} is a non-leaf tensor (grad_fn={x.grad_fn.name()}): "
                         ".grad is only filled for leaves. Call "
                         f"{nx}.retain_grad() before backward, or use "
                         f"chainrule.autograd.grad(loss, {nx})" + hint)
    return _zero(x, nx, loss, edges)


def _zero(x: Tensor, nx: str, loss: Tensor, edges: dict) -> Diagnosis:
    """x is on the path: is its gradient zero, and which mask made it so?"""
    freed = any(getattr(n, "saved", ()) is None for n in edges)
    masks = [n for n in edges if getattr(getattr(n, "op", None), "name", None) in MASK_OPS]
    if freed:
        g = x._grad
        if g is None:
            return Diagnosis("ok", f"{nx} is on the path to loss; its .grad is None only because "
                             "this backward did not reach it (was backward called with inputs=?)")
        if np.any(g._array != 0):
            return Diagnosis("ok", f"{nx} is on the path to loss and has a nonzero gradient")
        names = ", ".join(sorted({n.name() for n in masks})) or "none found"
        return Diagnosis("zero", f"the gradient of {nx} is zero everywhere; masking ops on the "
                         f"path: {names}. Call why() before backward (or backward with "
                         "retain_graph=True) to find the exact one", ops=[n.name() for n in masks])
    target = x.grad_fn if x.grad_fn is not None else x._grad_accumulator()
    parents: dict = {}
    for n, es in edges.items():
        for c, _ in es:
            parents.setdefault(c, []).append(n)
    leads = {target}  # the nodes from which x can be reached
    stack = [target]
    while stack:
        for p in parents.get(stack.pop(), ()):
            if p not in leads:
                leads.add(p)
                stack.append(p)
    g, steps = _probe(loss, leads, target, x._output_nr if x.grad_fn is not None else 0)
    if g is None or np.any(g != 0):
        return Diagnosis("ok", f"{nx} is on the path to loss and its gradient is nonzero "
                         f"({int(np.count_nonzero(g))} of {g.size} entries)")
    # the mask is the first node (engine order) that turns a nonzero gradient into zeros
    for node, gs, outs in steps:
        if node not in leads or outs is None:
            continue
        if not any(gi is not None and np.any(gi != 0) for gi in gs):
            continue
        toward = [i for i, e in enumerate(node.next) if e is not None and e[0] in leads]
        if toward and all(outs[i] is None or not np.any(outs[i] != 0) for i in toward):
            f = node.op.formula
            f = f[toward[0]] if isinstance(f, tuple) and toward[0] < len(f) else f
            why_ = f" ({f})" if f else ""
            return Diagnosis("zero", f"the gradient of {nx} is zero because {node.name()} "
                             f"({node.op.name}) masks it: the gradient reaching it is nonzero but "
                             f"it passes zero in every entry toward {nx}{why_}",
                             ops=[node.name()])
    return Diagnosis("zero", f"the gradient of {nx} is zero (loss does not change with {nx} here)")


def _probe(loss: Tensor, leads: set, target, nr: int):
    """d loss/dx (vJ with ones for a non-scalar loss) by running the backward rules of the nodes
    that lead to x, in dependency order; no hooks run and no ``.grad`` is touched."""
    from .engine import _call_rules
    from .graph import Node

    deps: dict = {}
    for n in leads:
        for e in n.next:
            if e is not None and e[0] in leads:
                deps[e[0]] = deps.get(e[0], 0) + 1
    root = loss.grad_fn
    buf = {root: [None] * root.n_out}
    buf[root][loss._output_nr] = np.ones_like(loss._array)
    ready = [root]
    steps: list = []
    result = None
    while ready:
        n = ready.pop()
        gs = buf.pop(n, None)
        if n is target:
            result = None if gs is None else gs[nr]
            continue
        outs = None
        if gs is not None and any(g is not None for g in gs):
            if type(n) is Node:
                outs = _call_rules(n, gs, False, set())
            else:  # a custom Function's node
                outs = [None if o is None else (o._array if isinstance(o, Tensor) else o)
                        for o in n.run_backward(gs, False, set())]
            steps.append((n, gs, outs))
        for i, e in enumerate(n.next):
            if e is None or e[0] not in leads:
                continue
            c, cnr = e
            if outs is not None and outs[i] is not None:
                b = buf.setdefault(c, [None] * c.n_out)
                b[cnr] = outs[i] if b[cnr] is None else b[cnr] + outs[i]
            deps[c] -= 1
            if deps[c] == 0:
                ready.append(c)
    if result is None:
        result = np.zeros(target.variable.shape if type(target).__name__ == "AccumulateGrad"
                          else (), dtype=loss._array.dtype)
    return result, steps
