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
import weakref
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .._tensor import Tensor
from .._context import _PKG
from .. import _context
from .._context import ctx as _ctx

#: ops whose backward multiplies by a 0/1 mask (the usual reason for a zero gradient)
MASK_OPS = ("relu", "clamp", "clamp_min", "clamp_max", "where", "threshold", "hardtanh",
            "relu6", "maximum", "minimum", "amax", "amin", "max", "min", "abs", "masked_fill")


#: the latest cuts, for ``why``: the tensors a cut was made on are often temporaries, gone by the
#: time ``why`` asks (``(a * 2).detach() * 3``), so each cut keeps weak references to what it was
#: computed from: ``(mark, refs, result ref)``
_RECENT: deque = deque(maxlen=32)
_SEQ = None  # Node's creation counter (imported on first use)
_WALK = 16  # graph nodes a detach looks back over (it runs on every detach of a graph tensor)


def _remember(src, res, mark, walk: bool) -> None:
    """Keep weak references to the leaves and nodes ``src`` was computed from (``walk``: up to
    ``_WALK`` nodes back; else ``src`` and its node only)."""
    refs = [weakref.ref(src)]
    fn = src.grad_fn
    if fn is not None:
        seen = {fn}
        todo = [fn]
        while todo and len(seen) <= (_WALK if walk else 1):
            n = todo.pop()
            refs.append(weakref.ref(n))
            var = getattr(n, "variable", None)
            if var is not None:
                refs.append(weakref.ref(var))
            if not walk:
                break
            for e in n.next:
                if e is not None and e[0] not in seen:
                    seen.add(e[0])
                    todo.append(e[0])
    global _SEQ
    if _SEQ is None:  # the node counter orders cuts and graph nodes in time
        from .node import Node

        _SEQ = Node._seq
    _RECENT.append((mark, refs, None if res is None else weakref.ref(res), next(_SEQ)))


_context.proc.remember_cut = _remember


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
    if op == "to_dtype":
        return (f"was cast to an integer or bool dtype{at} (a whole number has no derivative, so "
                "the cast result carries no gradient)")
    return f"went through {op}{at}, which is not differentiable (its result carries no gradient)"


def _kind(mark: tuple) -> str:
    if mark[0] == "non-differentiable" and mark[1] == "to_dtype":
        return "integer_cast"
    return mark[0].replace("-", "_")


def _cut_sentence(mark: tuple, who: str) -> str:
    """One cut, as a learner reads it: what happened to ``who``, where, and why no gradient
    passes."""
    kind, op, site = mark
    at = f" at {site}" if site else ""
    if kind == "detached":
        return (f"{who} was detached{at}: .detach() returns a copy cut from the graph, so what "
                "is computed from that copy sends no gradient back")
    if kind == "no_grad":
        return (f"{who} came out of {op} under no_grad (grad mode was turned off{at}): it was "
                "not recorded in the graph")
    if op == "to_dtype":
        return (f"{who} was cast to an integer or bool dtype{at}: whole numbers have no "
                "derivative, so the cast result carries no gradient")
    return (f"{who} went through {op}{at}, which is not differentiable: its result carries no "
            "gradient")


def _recent_cuts(x: Tensor) -> list:
    """Cuts made (recently) on tensors computed from ``x``: ``[(mark, result or None)]``."""
    targets = {id(x)}
    if x.grad_fn is not None:
        targets.add(id(x.grad_fn))
    elif x._grad_accumulator is not None and x._grad_accumulator() is not None:
        targets.add(id(x._grad_accumulator()))
    found = []
    for mark, refs, _res, stamp in reversed(_RECENT):
        objs = [r() for r in refs]
        hit = any(o is not None and id(o) in targets for o in objs)
        direct = objs[0] is x
        if not hit:  # a node still alive may reach x further back than the walk went
            for o in objs:
                if o is not None and hasattr(o, "next") and _reaches(o, targets):
                    hit = True
                    break
        if hit and all(f[0] != mark for f in found):
            found.append((mark, stamp, direct))
    return found  # the latest first


def _reaches(node, targets: set, limit: int = 100_000) -> bool:
    seen = {id(node)}
    todo = [node]
    while todo and len(seen) < limit:
        n = todo.pop()
        var = getattr(n, "variable", None)
        if id(n) in targets or (var is not None and id(var) in targets):
            return True
        for e in n.next:
            if e is not None and id(e[0]) not in seen:
                seen.add(id(e[0]))
                todo.append(e[0])
    return False


def brk_any(loss: Tensor) -> bool:
    """Whether loss's graph has a marked cut or an unexplained input that needs no grad."""
    return bool(_all_cuts(loss)) or any(True for _ in _unexplained(loss))


def _all_cuts(loss: Tensor) -> list:
    """Walking back from loss: every input that needs no grad and carries a cut mark —
    ``[(node, input index, tensor, mark)]`` — while the graph still holds its inputs."""
    from collections import deque as _dq

    if loss.grad_fn is None:
        return []
    out = []
    seen = {loss.grad_fn}
    q = _dq([loss.grad_fn])
    while q:
        n = q.popleft()
        saved = getattr(n, "saved", None)
        for i, e in enumerate(n.next):
            if e is None:
                t = saved[i] if type(saved) is tuple and i < len(saved) else None
                if isinstance(t, Tensor) and t._extra_state and "cut" in t._extra_state:
                    out.append((n, i, t, t._extra_state["cut"]))
            elif e[0] not in seen:
                seen.add(e[0])
                q.append(e[0])
    return out


def _cuts_diagnosis(nx: str, lead: str, cuts: list, tail: str = "") -> Diagnosis:
    """``cuts``: [(mark, who)] in the order found; one sentence, every cut with its line."""
    marks = [m for m, _ in cuts]
    if len(cuts) == 1:
        (mark, who), = cuts
        msg = f"{lead}: {_cut_sentence(mark, who)}"
    else:
        parts = [f"({k + 1}) {_cut_sentence(m, who)}" for k, (m, who) in enumerate(cuts)]
        msg = f"{lead}, cut in {len(cuts)} places: " + "; ".join(parts)
    fix = {"detached": "remove the .detach() (or compute from the tensor before it)",
           "no_grad": "compute it outside the no_grad block",
           "non_differentiable": "use a differentiable op there (a comparison or argmax gives "
                                 "no gradient; a soft version such as sigmoid or softmax does)",
           "integer_cast": "keep it floating point (drop the .long()/.int()/.bool())"}
    fixes = list(dict.fromkeys(fix[_kind(m)] for m in marks if _kind(m) in fix))
    if fixes:
        msg += ". To let the gradient through: " + "; ".join(fixes)
    return Diagnosis(_kind(marks[0]), msg + tail, marks[0][2], [m[1] for m in marks])


def _hint() -> str:
    site = _ctx.off_at
    return "" if site is None else (f". If it went through no_grad: grad mode was last turned "
                                    f"off at {site}, and results computed there carry no gradient")


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
            return Diagnosis(_kind(lmark), f"loss does not require grad: it "
                             f"{_where(lmark)}, so nothing flows back to {nx}", lmark[2],
                             [lmark[1]])
        cuts = _gather(x, nx, uses, [], loss)
        if cuts:
            return _cuts_diagnosis(nx, f"loss does not require grad, so {nx} gets no gradient "
                                   f"from it: every path from {nx} to loss is cut", cuts)
        return Diagnosis("loss_no_grad", "loss does not require grad: only tensors that do not "
                         "require grad went into it, and no cut of a graph built from "
                         f"{nx} was seen (no detach, no non-differentiable op on it). Check "
                         f"that loss is computed from {nx}" + _hint())
    edges, keys = _reach(loss)
    key = (x.grad_fn, x._output_nr) if x.grad_fn is not None else (
        x._grad_accumulator() if x._grad_accumulator is not None else None, 0)
    if key not in keys and x is not loss:
        if uses is not None and uses[0] == "detached" and not brk_any(loss):
            return Diagnosis(_kind(uses), f"{nx} is not on any path to loss: it "
                             f"{_where(uses)}; the path from {nx} to loss breaks there",
                             uses[2], [uses[1]])
        brk = _all_cuts(loss)
        if len(brk) == 1 and uses is None and len(_gather(x, nx, uses, brk, loss)) == 1:
            node, i, _t, mark = brk[0]
            return Diagnosis(_kind(mark), f"{nx} is not on any path to loss: walking "
                             f"back from loss, the graph stops at input {i} of {node.name()}, a "
                             f"tensor that {_where(mark)}", mark[2], [mark[1]])
        cuts = _gather(x, nx, uses, brk, loss)
        if cuts:
            return _cuts_diagnosis(nx, f"{nx} is not on any path to loss", cuts)
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


def _gather(x: Tensor, nx: str, uses, brk: list, loss: Tensor) -> list:
    """Every cut between x and loss, ``[(mark, how it was found)]``, each once.

    Marked inputs of loss's graph are certain. A cut whose tensors are gone (a temporary, as in
    ``(a * 2).detach() * 3``) left no mark that loss's graph can reach; each input of that graph
    that needs no grad and carries no mark is matched with the latest cut made on a tensor
    computed from x before the node that reads it (for a loss without a graph: the latest one)."""
    cuts: list = []

    def add(mark, how):
        if all(m != mark for m, _ in cuts):
            cuts.append((mark, how))

    for node, i, _t, mark in brk:
        add(mark, f"input {i} of {node.name()} (walking back from loss)")
    recent = _recent_cuts(x)
    other = f"a tensor computed from {nx}"
    if loss.grad_fn is None:
        if recent:
            add(recent[0][0], nx if recent[0][2] else other)
        elif uses is not None:
            add(uses, nx)
        return cuts
    used = {m for m, _ in cuts}
    for node, i in _unexplained(loss):
        for mark, stamp, direct in recent:
            if mark not in used and stamp < node.seq:
                used.add(mark)
                add(mark, (nx if direct else other) + f", which input {i} of {node.name()} was "
                    "computed from,")
                break
    return cuts


def _unexplained(loss: Tensor) -> list:
    """Inputs of loss's graph that need no grad and carry no cut mark (constants, data, or a
    tensor computed from a cut whose own tensors are gone), oldest node first."""
    out = []
    seen = {loss.grad_fn}
    todo = [loss.grad_fn]
    while todo:
        n = todo.pop()
        saved = getattr(n, "saved", None)
        for i, e in enumerate(n.next):
            if e is None:
                t = saved[i] if type(saved) is tuple and i < len(saved) else None
                if isinstance(t, Tensor) and not (t._extra_state and "cut" in t._extra_state):
                    out.append((n, i))
            elif e[0] not in seen:
                seen.add(e[0])
                todo.append(e[0])
    out.sort(key=lambda p: p[0].seq)
    return out


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
