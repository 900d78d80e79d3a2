"""``chainrule.compile.explain(fn, *args)``: what a trace of ``fn`` records, what it depends on,
where and why it breaks, what numba would fuse; and ``to_dot`` drawing the trace."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._tensor import Tensor


@dataclass
class ExplainOutput:
    """The report (``print`` it). Field names follow ``torch._dynamo.explain``'s where they
    mean the same: ``graph_count``, ``graph_break_count``, ``break_reasons``, ``op_count``."""

    name: str
    rows: list = field(default_factory=list)  # (slot outs, op name, args, shapes, site)
    guards: list = field(default_factory=list)
    break_reasons: list = field(default_factory=list)  # (what, file:line)
    fused: list = field(default_factory=list)  # (row names, jit seconds)
    saved: list = field(default_factory=list)
    program: object = None

    @property
    def graph_count(self) -> int:
        return 0 if self.break_reasons else 1

    @property
    def graph_break_count(self) -> int:
        return len(self.break_reasons)

    @property
    def op_count(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        out = [f"chainrule.compile.explain({self.name}): {self.op_count} rows, "
               f"{self.graph_break_count} graph breaks"]
        out.append("guards:")
        out += [f"  {g}" for g in self.guards]
        if self.break_reasons:
            out.append("graph breaks (this guard entry runs eagerly):")
            out += [f"  {site}: {what}" for what, site in self.break_reasons]
        out.append("trace:")
        for outs, name, args, shapes, site in self.rows:
            out.append(f"  {outs} = {name}({args})  -> {shapes}   # {site}")
        if self.saved:
            out.append(f"saved for backward: slots {self.saved}")
        if self.fused:
            out.append("fused by numba:")
            out += [f"  one kernel: {' → '.join(names)}" for names, _ in self.fused]
        return "\n".join(out)

    __repr__ = __str__

    def to_dot(self) -> str:
        """The trace as Graphviz source: one node per row (a fused kernel as one node listing its
        rows), an edge per slot read."""
        lines = ["digraph trace {", "  rankdir=LR; node [shape=box, fontname=monospace];"]
        prog = self.program
        if prog is None:
            return "\n".join(lines + ["}"])
        producer = {}
        for r, row in enumerate(prog.rows):
            names = getattr(row.op, "rows", None)
            label = ("fused kernel\\n" + "\\n".join(names)) if names else row.op.name
            lines.append(f'  r{r} [label="{label}"{", style=filled" if names else ""}];')
            for a in row.args:
                if a[0] == "s":
                    src = producer.get(a[1])
                    if src is None:
                        lines.append(f'  s{a[1]} [label="{prog.kind[a[1]][0]} '
                                     f'{list(prog.meta[a[1]][0])}", shape=ellipse];')
                        producer[a[1]] = f"s{a[1]}"
                        src = producer[a[1]]
                    lines.append(f"  {src} -> r{r};")
            for o in row.outs:
                producer[o] = f"r{r}"
        return "\n".join(lines + ["}"])


def explain(fn, args, kwargs) -> ExplainOutput:
    from ._api import CompiledFunction, OptimizedModule, _flatten, trace_call
    from ._program import Program

    backend = "numpy"
    root = None
    name = getattr(fn, "__qualname__", type(fn).__name__)
    if isinstance(fn, OptimizedModule):
        fn = fn._compiled
    if isinstance(fn, CompiledFunction):
        backend, root, name = fn.backend, fn._root, fn._name
        fn = fn.fn
    from ..nn.modules.module import Module

    if isinstance(fn, Module):
        root, fn = fn, fn.__call__
    tensors: list = []
    parts: list = []
    _flatten(args, tensors, parts)
    _flatten(kwargs, tensors, parts)
    result, tr, out_tensors = trace_call(fn, args, kwargs, tensors, name, False,
                                         fn if root is None else root)
    rep = ExplainOutput(name)
    from ..autograd.grad_mode import _state

    rep.guards.append(f"grad mode {'enabled' if _state.enabled else 'disabled'}")
    for k, t in enumerate(tensors):
        rep.guards.append(f"argument tensor {k}: shape {list(t._array.shape)}, dtype "
                          f"{t._array.dtype}, requires_grad={t._requires_grad}")
    for p in parts:
        if isinstance(p, tuple) and len(p) == 2 and p[0] in (int, float, bool, str):
            rep.guards.append(f"argument value {p[1]!r} ({p[0].__name__})")
    for kd in tr.kind:
        if kd[0] == "ext":
            cont, key, t = kd[1]
            rep.guards.append(f"external tensor {key!r}: same object, shape "
                              f"{list(t._array.shape)}, dtype {t._array.dtype}, "
                              f"requires_grad={t._requires_grad}")
    rep.break_reasons = list(tr.breaks)
    for row in tr.rows:
        args_s = ", ".join(f"s{a[1]}" if a[0] == "s" else repr(a[1]) for a in row.args)
        kw = ", ".join(f"{k}={v!r}" for k, v in row.kw.items())
        shapes = ", ".join(str(list(tr.meta[o][0])) for o in row.outs)
        rep.rows.append((", ".join(f"s{o}" for o in row.outs), row.op.name,
                         args_s + (", " + kw if kw and args_s else kw), shapes, row.site))
    if not tr.breaks:
        out_slots = [tr.slot_of[id(t)] for t in out_tensors if isinstance(t, Tensor)]
        rows, fused = None, ()
        if backend == "numba":
            from . import _numba

            rows, fused = _numba.fuse(tr.rows, tr.meta, tr.rg, tr.kind, out_slots)
        prog = Program(tr, out_slots, name, rows, fused)
        rep.program = prog
        rep.fused = list(prog.fused)
        rep.saved = list(prog.saved)
    return rep
