"""A trace turned into flat NumPy programs: one generated Python function for the forward (array
calls on local variables, no Tensor objects, no dispatch) and, per pattern of incoming gradients,
one for the backward, planned once: reverse order, rules of the inputs that need a gradient only,
saved values only where a rule reads them, broadcast reductions and casts only where the first
run found them needed.
"""

from __future__ import annotations

import math

import numpy as np

from ..ops._table import A, _reads, broadcastable_to, sum_to_shape
from ._templates import NS as _TNS, TEMPLATES
from ._trace import SlotRef, SlotSeq, kw_slots

_ND = np.ndarray
#: rule function -> the names its bytecode reads (``ops._table._reads``), computed once
_READS: dict = {}


def _name(ns: dict, prefix: str, obj, key=None) -> str:
    """One global name per distinct object (a program of 10^5 rows has few distinct rules)."""
    intern = ns.setdefault("__intern__", {})
    k = (prefix, id(obj) if key is None else key)
    n = intern.get(k)
    if n is None:
        n = intern[k] = f"{prefix}{len(intern)}"
        ns[n] = obj
    return n


def _lit(v, ns: dict, tag: str) -> str:
    """Python source for constant ``v``: a literal where exact, else a name in ``ns``; slot
    references of tensor parameters become the slot's variable."""
    if type(v) is SlotRef:
        return f"s{v.slot}"
    if type(v) is SlotSeq:
        items = [_lit(e, ns, f"{tag}_{j}") for j, e in enumerate(v.items)]
        ns[f"T{tag}"] = v.type
        return f"T{tag}(({', '.join(items)}{',' if items else ''}))"
    if v is None or type(v) is bool or type(v) is int:
        return repr(v)
    if type(v) is float and math.isfinite(v):
        return repr(v)
    name = f"K{tag}"
    ns[name] = v
    return name


class Program:
    """The compiled form of one trace (one guard entry)."""

    def __init__(self, tr, out_slots: list, name: str, rows=None, fused=()) -> None:
        self.name = name
        self.trace_rows = tr.rows  # as traced (the differentiable replay runs these)
        self.rows = tr.rows if rows is None else rows
        self.meta = tr.meta
        self.kind = tr.kind
        self.rg = tr.rg
        self.root = tr.root
        self.n_slots = len(tr.meta)
        self.in_slots = [s for s, k in enumerate(tr.kind) if k[0] == "in"]
        self.ext_slots = [s for s, k in enumerate(tr.kind) if k[0] == "ext"]
        self.consts = tr.consts
        self.out_slots = out_slots  # the slots returned (in the order of the result's tensors)
        # gradient outputs: distinct returned slots that require grad and come from an op
        self.grad_outs = []
        for s in out_slots:
            if tr.rg[s] and tr.kind[s][0] == "op" and s not in self.grad_outs:
                self.grad_outs.append(s)
        self.grad_ins = [s for s in self.in_slots + self.ext_slots if tr.rg[s]]
        self.grad = bool(self.grad_outs) and bool(self.grad_ins)
        self.fused = list(fused)  # numba backend: (row names, jit seconds) per fused kernel
        self.saved = self._saved_slots() if self.grad else []
        self.bwd: dict = {}  # pattern -> [function, flags, source of the fast one]
        ordered = self.in_slots + self.ext_slots
        self.slot_pos = {s: k for k, s in enumerate(ordered)}
        self.saved_set = set(self.saved)
        self.saved_inputs = [s for s in self.saved if s in self.slot_pos]
        self.grad_out_nr = {s: k for k, s in enumerate(self.grad_outs)} if self.grad else {}
        self.grad_in_pos = [self.slot_pos[s] for s in self.grad_ins]
        self.saved_in_pos = [self.slot_pos[s] for s in self.saved_inputs]
        self.n_grad_outs = len(self.grad_outs)
        from ._node import _CompiledOp

        self.op = _CompiledOp(self)
        self.fwd, self.fwd_src = self._gen_forward()

    # ---- which rows / rules the backward runs ------------------------------------------------
    def _active(self, pattern) -> tuple:
        """Slots that receive a gradient and rows that run, for the given incoming pattern."""
        has = set(s for s, p in zip(self.grad_outs, pattern) if p)
        rows = []
        for r in range(len(self.rows) - 1, -1, -1):
            row = self.rows[r]
            if not row.grad or not any(o in has for o in row.outs):
                continue
            rows.append(r)
            for a in row.args:
                if a[0] == "s" and self.rg[a[1]] and self.kind[a[1]][0] not in ("alias", "const"):
                    has.add(a[1])
        return has, rows

    def _needs(self, row) -> list:
        return [a[0] == "s" and self.rg[a[1]] and self.kind[a[1]][0] not in ("alias", "const")
                for a in row.args]

    def _rule_reads(self, row, needs) -> tuple:
        """(input positions read, whether ``out`` is read) by the rules that will run."""
        op = row.op
        if op.vjp_all is not None:
            rules = [op.vjp_all]
            offset = 3
        else:
            rules = [r for r, n in zip(op.vjp, needs) if n]
            offset = 3
        ins: set = set()
        out = False
        for rule in rules:
            names = _READS.get(rule, False)
            if names is False:
                names = _READS[rule] = _reads(rule)
            code = rule.__code__
            argn = code.co_varnames[: code.co_argcount]
            if names is None:
                return set(range(len(row.args))), True
            if len(argn) > 2 and argn[2] in names:
                out = True
            if op.nin < 0:
                if len(argn) > offset and argn[offset] in names:
                    ins.update(range(len(row.args)))
            else:
                for i in range(len(row.args)):
                    if offset + i < len(argn) and argn[offset + i] in names:
                        ins.add(i)
                if code.co_flags & 0x04:  # *args: cannot tell which
                    ins.update(range(len(row.args)))
        return ins, out

    def _saved_slots(self) -> list:
        _, rows = self._active((True,) * len(self.grad_outs))
        saved: set = set()
        for r in rows:
            row = self.rows[r]
            ins, out = self._rule_reads(row, self._needs(row))
            saved.update(kw_slots(row.kw))
            for i in ins:
                a = row.args[i]
                if a[0] == "s":
                    saved.add(a[1])
            if out:
                saved.update(row.outs)
        return sorted(saved)

    # ---- forward --------------------------------------------------------------------------
    def _gen_forward(self):
        ns: dict = {"asarray": np.asarray, "ND": _ND, "MATMUL": np.matmul, "SUM": np.sum,
                    "MEAN": np.mean, **_TNS}
        params = [f"s{s}" for s in self.in_slots + self.ext_slots]
        lines = [f"def fwd({', '.join(params)}):"]
        for s, arr in self.consts.items():
            ns[f"s{s}"] = arr
        self.line_row = {}
        alias_at = {s: k[1] for s, k in enumerate(self.kind) if k[0] == "alias"}
        emitted: set = set()
        for r, row in enumerate(self.rows):
            for u in [a[1] for a in row.args if a[0] == "s"] + kw_slots(row.kw):
                if u in alias_at and u not in emitted:
                    lines.append(f"    s{u} = s{alias_at[u]}")
                    emitted.add(u)
            args = []
            tm = TEMPLATES.get(row.op.name)
            sdt = _scalar_dtype(row, self.meta) if tm is not None else None
            for i, a in enumerate(row.args):
                if a[0] == "s":
                    src = f"s{a[1]}"
                    if i in row.casts:
                        src = f"{src}.astype({_name(ns, 'D', row.casts[i], str(row.casts[i]))})"
                else:
                    src = _typed(a[1], sdt, ns) if sdt is not None else None
                    if src is None:
                        src = _lit(a[1], ns, f"{r}_{i}")
                args.append(src)
            call = f"[{', '.join(args)}]" if row.op.nin < 0 else ", ".join(args)
            kws = ", ".join(f"{k}={_lit(v, ns, f'{r}_{k}')}" for k, v in row.kw.items())
            expr = tm[0](args, row.kw) if tm is not None and not row.op.nin < 0 else None
            if expr is None and _mm2d(row, self.meta):
                expr = f"MATMUL({args[0]}, {args[1]})"
            elif expr is None and _full_reduce(row, self.meta):
                expr = f"{row.op.name.upper()}({args[0]})"
            if expr is None:
                fname = _name(ns, "F", row.op.fwd)
                expr = f"{fname}({call}{', ' if kws and call else ''}{kws})"
            outs = row.outs
            if row.op.nout == 1:
                lines.append(f"    s{outs[0]} = {expr}")
            else:
                lines.append(f"    {', '.join(f's{o}' for o in outs)}, = {expr}")
            self.line_row[len(lines)] = r
            for o in outs:
                if row.op.nout != 1 or self.meta[o][0] == ():
                    lines.append(f"    if type(s{o}) is not ND: s{o} = asarray(s{o})")
        for s in self.out_slots:
            if self.kind[s][0] == "alias" and s not in emitted:
                lines.append(f"    s{s} = s{alias_at[s]}")
                emitted.add(s)
        outs = ", ".join(f"s{s}" for s in self.out_slots)
        saved = ", ".join(f"s{s}" for s in self.saved)
        lines.append(f"    return ({outs}{',' if self.out_slots else ''}), "
                     f"({saved}{',' if self.saved else ''})")
        src = "\n".join(lines)
        exec(compile(src, f"<chainrule.compile forward of {self.name}>", "exec"), ns)
        return ns["fwd"], src

    # ---- backward -------------------------------------------------------------------------
    def backward_fn(self, pattern: tuple):
        """``[function, flags, source]`` for ``pattern`` (which gradient outputs got one): the
        first run interprets the rows, recording which results need a fix-up; the second
        generates the fast program from what the first found."""
        entry = self.bwd.get(pattern)
        if entry is None:
            flags: dict = {}
            entry = self.bwd[pattern] = [
                lambda g, sv: self.interpret(pattern, g, sv, flags), flags, None]
        elif entry[2] is None:
            entry[0], entry[2] = self._gen_backward(pattern, entry[1], None)
        return entry

    def interpret(self, pattern, g, sv, record) -> list:
        """The backward, row by row (no code generated), exactly as the generated one."""
        fx = _fixer(record) if record is not None else _fix
        vals = dict(zip(self.saved, sv))
        grads: dict = {}
        k = 0
        for s, p in zip(self.grad_outs, pattern):
            if p:
                grads[s] = g[k]
                k += 1
        for r in range(len(self.rows) - 1, -1, -1):
            row = self.rows[r]
            if not row.grad or not any(grads.get(o) is not None for o in row.outs):
                continue
            needs = self._needs(row)
            if not any(needs):
                continue
            op = row.op
            if op.nout == 1:
                gg = grads[row.outs[0]]
            else:
                gg = tuple(grads[o] if grads.get(o) is not None else np.zeros(*self.meta[o])
                           for o in row.outs)
            ins, out_read = self._rule_reads(row, needs)
            out = None
            if out_read:
                out = vals[row.outs[0]] if op.nout == 1 else tuple(vals[o] for o in row.outs)
            argv = [(vals.get(a[1]) if i in ins else None) if a[0] == "s" else a[1]
                    for i, a in enumerate(row.args)]
            if op.nin < 0:
                argv = [tuple(argv)]
            kw = {kk: _kw_eval(v, vals) for kk, v in row.kw.items()}
            if op.vjp_all is not None:
                res = op.vjp_all(A, gg, out, *argv, needs=needs, **kw)
                pairs = [(i, res[i]) for i, n in enumerate(needs) if n]
            else:
                pairs = [(i, op.vjp[i](A, gg, out, *argv, **kw)) for i, n in enumerate(needs) if n]
            for i, res_i in pairs:
                s = row.args[i][1]
                res_i = fx(res_i, (*self.meta[s], op.name, i), (r, i))
                if res_i is not None:
                    old = grads.get(s)
                    grads[s] = res_i if old is None else old + res_i
        return [grads.get(s) for s in self.grad_ins]

    def _templated(self, rule, gexpr, oexpr, argv, row, ns, dyn) -> str:
        """A template rule's source; Python numbers as 0-d arrays of the gradient's dtype where
        that gives the same bits (checked per call: the gradient's dtype is only known then)."""
        expr = rule(gexpr, oexpr, argv)
        if row.op.name == "tanh" and oexpr.startswith("s"):
            dt = self.meta[row.outs[0]][1]
            if dt.kind == "f":
                one = _typed(1, dt, ns)
                return f"({gexpr} * ({one} - {oexpr} * {oexpr}))"
        sdt = _scalar_dtype(row, self.meta)
        if dyn or sdt is None or not gexpr.startswith("g"):
            return expr
        typed = [(_typed(a[1], sdt, ns) or lit) if a[0] != "s" else lit
                 for a, lit in zip(row.args, argv)]
        texpr = rule(gexpr, oexpr, typed)
        if texpr == expr:
            return expr
        return f"({texpr} if {gexpr}.dtype is {_name(ns, 'D', sdt, str(sdt))} else {expr})"

    def _gen_backward(self, pattern, flags, record):
        """``flags`` None: a checked program, every rule result through ``FX`` (recording into
        ``record`` whether it was None, needed a fix-up or was fine); else the fast program, with
        ``FX`` only where the checked run needed it."""
        dyn = flags is None
        ns: dict = {"A": A, "FX": _fixer(record) if dyn else _fix, "zeros": np.zeros,
                    "MATMUL": np.matmul, "ND": _ND, "BCAST": np.broadcast_to, **_TNS}
        lines = ["def bwd(g, sv):"]
        if self.saved:
            lines.append(f"    {', '.join(f's{s}' for s in self.saved)}, = sv")
        got: set = set()
        nullable: set = set()
        k = 0
        for s, p in zip(self.grad_outs, pattern):
            if p:
                lines.append(f"    g{s} = g[{k}]")
                got.add(s)
                k += 1
        saved = set(self.saved)
        declared: dict = {}
        for r in range(len(self.rows) - 1, -1, -1):
            row = self.rows[r]
            if not row.grad:
                continue
            live = [o for o in row.outs if o in got]
            needs = self._needs(row)
            if not live or not any(needs):
                continue
            op = row.op
            ind = "    "
            if all(o in nullable for o in live):
                lines.append(f"    if {' or '.join(f'g{o} is not None' for o in live)}:")
                ind = "        "
            if op.nout == 1:
                gexpr = f"g{row.outs[0]}"
            else:
                parts = []
                for o in row.outs:
                    z = _name(ns, "Z", self.meta[o], repr(self.meta[o]))
                    if o not in got:
                        parts.append(f"zeros(*{z})")
                    elif o in nullable:
                        parts.append(f"(g{o} if g{o} is not None else zeros(*{z}))")
                    else:
                        parts.append(f"g{o}")
                gexpr = f"({', '.join(parts)},)"
            ins, out_read = self._rule_reads(row, needs)
            if not out_read:
                oexpr = "None"
            elif op.nout == 1:
                oexpr = f"s{row.outs[0]}"
            else:
                oexpr = f"({', '.join(f's{o}' for o in row.outs)},)"
            argv = []
            for i, a in enumerate(row.args):
                if a[0] == "s":
                    argv.append(f"s{a[1]}" if i in ins and a[1] in saved else "None")
                else:
                    argv.append(_lit(a[1], ns, f"b{r}_{i}"))
            if op.nin < 0:
                argv = [f"({', '.join(argv)},)"]
            kws = "".join(f", {kk}={_lit(v, ns, f'b{r}_{kk}')}" for kk, v in row.kw.items())
            base = f"A, {gexpr}, {oexpr}, {', '.join(argv)}"
            if op.vjp_all is not None:
                vname = _name(ns, "V", op.vjp_all)
                lines.append(f"{ind}res = {vname}({base}, needs={needs!r}{kws})")
                calls = [(i, f"res[{i}]") for i, n in enumerate(needs) if n]
            else:
                calls = []
                tm = TEMPLATES.get(op.name)
                if tm is not None and tm[0](argv, row.kw) is None:
                    tm = None
                mm = not dyn and _mm2d(row, self.meta) and all(
                    i in ins and a[1] in saved for i, a in enumerate(row.args))
                red = not dyn and _full_reduce(row, self.meta)
                for i, n in enumerate(needs):
                    if n:
                        if red:  # _expand_back's broadcast of the gradient (and / count)
                            xs = self.meta[row.args[0][1]][0]
                            b = f"BCAST({gexpr}, {_name(ns, 'H', xs, repr(xs))})"
                            calls.append((i, b if op.name == "sum" else
                                          f"({b} / {math.prod(xs)})"))
                            continue
                        if mm:  # the rule's own products on 2-D operands, without its checks
                            x, y = argv
                            calls.append((i, f"MATMUL({gexpr}, {y}.T)" if i == 0
                                          else f"MATMUL({x}.T, {gexpr})"))
                            continue
                        if tm is not None:
                            calls.append((i, self._templated(tm[1][i], gexpr, oexpr, argv, row,
                                                             ns, dyn)))
                            continue
                        vname = _name(ns, "V", op.vjp[i])
                        calls.append((i, f"{vname}({base}{kws})"))
            if not dyn and len(calls) == 2 and calls[0][1] == calls[1][1] and tm is not None \
                    and calls[0][1].startswith("("):
                # one expression for both inputs (x * x): a pure ufunc expression gives the same
                # bits twice, so it is computed once
                lines.append(f"{ind}c = {calls[0][1]}")
                calls = [(i, "c") for i, _ in calls]
            for i, expr in calls:
                s = row.args[i][1]
                key = (r, i)
                meta = (*self.meta[s], op.name, i)
                mname = _name(ns, "M", meta, repr(meta))
                fl = "fix" if dyn else flags.get(key, "fix")
                if fl == "none":
                    continue
                null = dyn or s in nullable
                if type(fl) is tuple:  # a broadcast sum the checked run found: done directly
                    shp = _name(ns, "H", fl[0], repr(fl[0]))
                    lines.append(f"{ind}r = {expr}")
                    lines.append(f"{ind}r = {_sum_src(fl, ns)} if type(r) is ND and r.shape == "
                                 f"{shp} and r.dtype is {_name(ns, 'D', fl[2], str(fl[2]))} "
                                 f"else FX(r, {mname}, {key!r})")
                elif fl == "fix":
                    lines.append(f"{ind}r = FX({expr}, {mname}, {key!r})")
                elif not dyn and s not in got and ind == "    ":
                    lines.append(f"    g{s} = {expr}")  # the common case: one line
                    got.add(s)
                    continue
                else:
                    lines.append(f"{ind}r = {expr}")
                if dyn:
                    lines.append(f"{ind}if r is not None:")
                    lines.append(f"{ind}    g{s} = r if g{s} is None else g{s} + r")
                elif s in got:
                    lines.append(f"{ind}g{s} = r if g{s} is None else g{s} + r" if null
                                 else f"{ind}g{s} = g{s} + r")
                elif ind != "    ":  # inside a branch that may not run: g{s} may stay unset
                    lines.append(f"{ind}g{s} = r if g{s} is None else g{s} + r")
                    nullable.add(s)
                else:
                    lines.append(f"{ind}g{s} = r")
                if dyn:
                    nullable.add(s)
                if dyn or s in nullable:
                    declared[s] = None
                got.add(s)
        given = {o for o, p in zip(self.grad_outs, pattern) if p}
        head = [f"    g{s} = None" for s in declared if s not in given]
        lines[1:1] = head
        rets = ", ".join(f"g{s}" if s in got else "None" for s in self.grad_ins)
        lines.append(f"    return [{rets}]")
        src = "\n".join(lines)
        exec(compile(src, f"<chainrule.compile backward of {self.name}>", "exec"), ns)
        return ns["bwd"], src


def _mm2d(row, meta) -> bool:
    """A matmul of two 2-D slots without casts: ``np.matmul`` directly (the row's own call,
    minus its checks, which the guarded shapes make moot)."""
    if row.op.name != "matmul" or row.kw or row.casts or len(row.args) != 2:
        return False
    return all(a[0] == "s" and len(meta[a[1]][0]) == 2 for a in row.args)


def _full_reduce(row, meta) -> bool:
    """``sum(x)`` / ``mean(x)`` over everything of a float array: ``np.sum`` / ``np.mean``
    directly (``_sum`` / ``_mean`` with nothing to decide)."""
    if row.op.name not in ("sum", "mean") or row.kw or row.casts or len(row.args) != 1:
        return False
    a = row.args[0]
    return a[0] == "s" and len(meta[a[1]][0]) >= 1 and meta[a[1]][1].kind == "f"


def _scalar_dtype(row, meta):
    """The float dtype of the one slot operand of a templated row whose other operands are
    Python numbers, else None. NumPy converts a Python number to the array's dtype (NEP 50), so a
    0-d array of that dtype gives the same bits, without the per-call scalar conversion."""
    dt = None
    for i, a in enumerate(row.args):
        if a[0] == "s":
            if dt is not None or i in row.casts:
                return None
            dt = meta[a[1]][1]
    return dt if dt is not None and dt.kind == "f" else None


def _typed(v, dt, ns):
    """The name of ``v`` as a 0-d array of float dtype ``dt`` where that is exact, else None."""
    if type(v) is int:
        if abs(v) > 2 ** 24:
            return None
    elif type(v) is not float or not math.isfinite(v):
        return None
    with np.errstate(all="ignore"):
        c = np.array(v, dtype=dt)
    if not np.isfinite(c):
        return None
    return _name(ns, "C", c, (repr(v), type(v), str(dt)))


def _kw_eval(v, vals):
    if type(v) is SlotRef:
        return vals[v.slot]
    if type(v) is SlotSeq:
        return v.type(vals[e.slot] if type(e) is SlotRef else e for e in v.items)
    return v


def _fix(r, meta, key):
    """What ``engine._raw_rules`` does to each rule result: array, input's shape and dtype."""
    if r is None:
        return None
    shape, dtype, name, i = meta
    if type(r) is not _ND:
        r = np.asarray(r, dtype=dtype)
    if r.shape != shape:
        if not broadcastable_to(shape, r.shape):
            raise RuntimeError(
                f"Function {name} (compiled) returned an invalid gradient at index {i} - got "
                f"{list(r.shape)} but expected shape compatible with {list(shape)}")
        r = sum_to_shape(r, shape)
    if r.dtype != dtype:
        r = r.astype(dtype)
    return r


def _fixer(record: dict):
    def fx(r, meta, key):
        if r is None:
            record.setdefault(key, "none")
            return None
        shape, dtype = meta[0], meta[1]
        prev = record.get(key, "ok")
        if type(r) is _ND and r.shape == shape and r.dtype == dtype and shape != () \
                and prev == "ok":
            record[key] = "ok"
            return r
        plan = _sum_plan(r, shape, dtype)
        record[key] = plan if plan is not None and prev in ("ok", plan) else "fix"
        return _fix(r, meta, key)

    return fx


def _sum_plan(r, shape, dtype):
    """``(r's shape, sum axes, dtype, reshape)`` when ``_fix`` only sums a broadcast ``r`` of
    the right dtype down to ``shape``, else None."""
    if type(r) is not _ND or r.dtype != dtype or dtype.kind not in "fc" or shape == () or \
            r.shape == shape or \
            not broadcastable_to(shape, r.shape):
        return None
    lead = r.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and r.shape[i + lead] != 1)
    if not axes:
        return None
    return (r.shape, axes, r.dtype, shape if lead else None)


def _sum_src(plan, ns) -> str:
    """``sum_to_shape``'s own calls for ``plan`` (the same reduction, so the same bits)."""
    rshape, axes, _, shape = plan
    if shape is None:  # the kept dims are the shape already
        return f"r.sum(axis={axes!r}, keepdims=True)"
    if axes == tuple(range(len(rshape) - len(shape))):  # leading dims only: no reshape (view)
        return f"r.sum(axis={axes!r})"
    return f"r.sum(axis={axes!r}, keepdims=True).reshape({_name(ns, 'H', shape, repr(shape))})"
