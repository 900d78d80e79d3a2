"""The one graph node of a compiled region (``CompiledFunctionBackward``) and the replay call.

The region's outputs are ordinary Tensors whose ``grad_fn`` is this node; its edges lead to the
region's inputs and external tensors that require grad, exactly where eager's nodes would lead,
so ``backward()``, ``autograd.grad``, hooks, optimizers and accumulation work unchanged. Its
backward runs the planned program on the saved arrays; under ``create_graph=True`` it replays the
region's rows through the dispatcher (a differentiable graph) and differentiates that instead.
"""

from __future__ import annotations

import numpy as np

from .. import _dispatch
from .._tensor import Tensor, _make
from .._context import ctx as _ctx
from ..autograd.engine import _accumulate
from ..autograd.node import _FREED, AccumulateGrad, Node, _inplace_msg, accumulate_node


class _CompiledOp:
    """What code reading ``node.op`` (viz, explain, memory) finds on a compiled node."""

    __slots__ = ("cls", "doc", "formula", "name", "nondiff_out", "nout", "saves", "saves_out",
                 "program")

    def __init__(self, program) -> None:
        self.name = "compiled"
        self.cls = "CompiledFunction"
        self.formula = None
        self.nout = -1
        self.saves = ()
        self.saves_out = False
        self.nondiff_out = ()
        self.doc = f"compiled region of {program.name}: {len(program.rows)} rows"
        self.program = program


class CompiledNode(Node):
    __slots__ = ("prog", "checks", "argv", "tensors")

    def name(self) -> str:
        return "CompiledFunctionBackward"

    def release(self) -> None:
        self.saved = None
        self.argv = None
        self.tensors = None

    def check_versions(self) -> None:
        for vc, v, arr, what in self.checks:
            if vc[0] != v:
                raise RuntimeError(_inplace_msg(arr, what, vc[0], v))

    def _held_arrays(self) -> list:
        return [(f"saved slot {s}", a, False) for s, a in zip(self.prog.saved, self.saved or ())
                if isinstance(a, np.ndarray)]

    def run_backward(self, gs, create: bool, passed: set) -> list:
        if self.saved is None:
            raise RuntimeError(_FREED + " (while running CompiledFunctionBackward)")
        self.check_versions()
        if create:
            return self._differentiable(gs)
        prog = self.prog
        gs = [None if g is None else (g._array if isinstance(g, Tensor) else g) for g in gs]
        pattern = tuple(g is not None for g in gs)
        entry = prog.backward_fn(pattern)
        garg = [g for g in gs if g is not None]
        try:
            res = entry[0](garg, self.saved)
        except Exception:
            if entry[2] is None:
                raise
            # the fast program met a case its first run did not: interpret, checking everything
            res = prog.interpret(pattern, garg, self.saved, None)
        seen: set = set()
        for r in res:
            if r is not None:
                i = id(r)
                if i in seen or any(r is g for g in garg):
                    passed.add(i)  # also held elsewhere: the engine copies it before storing
                seen.add(i)
        direct = _ctx.leaf_direct if hasattr(_ctx, "leaf_direct") else None
        if direct is not None:
            # a plain backward(): a leaf without hooks fed by this edge only gets its gradient
            # added here, exactly as the engine's AccumulateGrad step would (saves its round)
            deps, buf = direct
            nxt = self.next
            for k, r in enumerate(res):
                if r is None:
                    continue
                acc = nxt[k][0]
                if type(acc) is AccumulateGrad and acc.x is None and deps.get(acc) == 1 \
                        and acc not in buf:
                    vx = acc.variable._extra_state
                    if vx is None or not (vx.get("hooks") or vx.get("post_hooks")):
                        _accumulate(acc, r, False, passed)
                        res[k] = None
        return res

    def _differentiable(self, gs) -> list:
        """Higher order: the rows again through the dispatcher, then ``autograd.grad``."""
        from ..autograd import grad as _grad
        from ..autograd.grad_mode import enable_grad

        prog = self.prog
        with enable_grad():
            vals = replay_tensors(prog, self.tensors)
        outs, gts = [], []
        for s, g in zip(prog.grad_outs, gs):
            if g is not None:
                outs.append(vals[s])
                gts.append(g if isinstance(g, Tensor) else _make(g))
        ins = [vals[s] for s in prog.grad_ins]
        res = _grad(outs, ins, gts, create_graph=True, allow_unused=True)
        return list(res)


def replay_tensors(prog, tensors) -> dict:
    """Run the trace's rows through the dispatcher on Tensors (a graph eager would build)."""
    from .. import _ns

    vals: dict = {}
    for s, t in zip(prog.in_slots + prog.ext_slots, tensors):
        vals[s] = t
    for s, a in prog.consts.items():
        vals[s] = _make(a)
    for s, k in enumerate(prog.kind):
        if k[0] == "alias" and k[1] in vals:
            vals[s] = _ns.detach(vals[k[1]])
    for row in prog.trace_rows:
        args = []
        for a in row.args:
            if a[0] == "s":
                v = vals.get(a[1])
                if v is None:  # an alias of an op's output
                    v = vals[a[1]] = _ns.detach(vals[prog.kind[a[1]][1]])
                args.append(v)
            else:
                args.append(a[1])
        kw = {k: _kw_value(v, vals) for k, v in row.kw.items()}
        if row.op.nin < 0:
            res = _dispatch.apply(row.op, args, **kw)
        else:
            res = _dispatch.apply(row.op, *args, **kw)
        if row.op.nout == 1:
            res = (res,)
        for s, t in zip(row.outs, res):
            vals[s] = t
    return vals


def _kw_value(v, vals):
    from ._trace import SlotRef, SlotSeq

    if type(v) is SlotRef:
        return vals[v.slot]
    if type(v) is SlotSeq:
        return v.type(vals[e.slot] if type(e) is SlotRef else e for e in v.items)
    return v


def run(prog, in_tensors: list, ext_tensors: list, grad: bool):
    """One replay: the forward program on the arrays; the outputs, with one node if needed."""
    argv = [t._array for t in in_tensors]
    argv += [t._array for t in ext_tensors]
    outs, saved = prog.fwd(*argv)
    node = None
    if grad:
        node = CompiledNode.__new__(CompiledNode)
        node.op = prog.op
        node.kw = {}
        node.out = None
        node.variant = 0
        node.x = None
        node.seq = next(Node._seq)
        node.ver = None
        node.outv = None
        node.meta = None
        node.prog = prog
        node.saved = saved
        node.argv = argv
        node.tensors = in_tensors + ext_tensors
        nxt = []
        tensors = node.tensors
        for k in prog.grad_in_pos:
            t = tensors[k]
            fn = t.grad_fn
            if fn is not None:
                nxt.append((fn, t._output_nr))
            else:
                ref = t._grad_accumulator
                acc = ref() if ref is not None else None
                nxt.append((acc if acc is not None else accumulate_node(t), 0))
        node.next = tuple(nxt)
        node.n_out = prog.n_grad_outs
        checks = []
        for k in prog.saved_in_pos:  # saved arrays of inputs/externals: torch's in-place check
            t = tensors[k]
            if t._version_counter is None:
                t._version_counter = [0]
            checks.append((t._version_counter, t._version_counter[0], t._array,
                           f"input {k} of CompiledFunctionBackward"))
        node.checks = checks
    res = []
    made: dict = {}
    tensors_at = prog.slot_pos
    all_t = None
    for j, s in enumerate(prog.out_slots):
        t = made.get(s)
        if t is None:
            kind = prog.kind[s][0]
            if kind in ("in", "ext"):
                if all_t is None:
                    all_t = in_tensors + ext_tensors
                t = all_t[tensors_at[s]]
            else:
                a = outs[j]
                if type(a) is not np.ndarray:
                    a = np.asarray(a)
                if kind == "const":
                    a = a.copy()
                if node is not None and s in prog.grad_out_nr:
                    t = _make(a, node, prog.grad_out_nr[s])
                else:
                    t = _make(a)
                r = prog.root[s]
                if r != s and prog.kind[r][0] in ("in", "ext"):
                    if all_t is None:
                        all_t = in_tensors + ext_tensors
                    src = all_t[tensors_at[r]]
                    if kind == "alias":  # detach(): the same version counter, not a view
                        if src._version_counter is None:
                            src._version_counter = [0]
                        t._version_counter = src._version_counter
                    else:
                        _dispatch._share_version(t, src)
                elif node is not None and (r in prog.saved_set or s in prog.saved_set):
                    t._version_counter = [0]
                    node.checks.append((t._version_counter, 0, a, f"output {j} of "
                                        "CompiledFunctionBackward"))
            made[s] = t
        res.append(t)
    return res
