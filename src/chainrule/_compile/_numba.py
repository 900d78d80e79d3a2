"""The numba backend: runs of elementwise rows fused into single compiled loops.

A run is a stretch of consecutive rows whose ops have an inline template (``_templates``), whose
tensor operands all share one shape and float dtype (Python numbers allowed), with no casts. It
becomes one pseudo-row: a forward kernel computing, per element, every row of the run and
writing only the values used after it; and a backward kernel that recomputes the run's forward
per element (nothing inside the run is saved) and then applies the rows' rules in reverse. The
existing program generator handles the pseudo-row like any multi-output op.

Values may differ from eager in the last bit (scalar libm calls instead of NumPy's vector loops).
"""

from __future__ import annotations

import time

import numpy as np

from ._templates import TEMPLATES
from ._trace import Row

_MIN_RUN = 2
#: numba's compile time grows with the kernel: runs are cut at _MAX_RUN rows, and a program
#: fuses at most _MAX_FUSED rows in all (a 10^5-op chain stays a NumPy program)
_MAX_RUN = 256
_MAX_FUSED = 512
_SCALAR_NS = "np"


def available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _fusable(row, meta, shape, dtype) -> bool:
    op = row.op
    tm = TEMPLATES.get(op.name)
    if tm is None or op.nout != 1 or op.nin < 0 or row.casts or row.kw and op.name not in (
            "add", "sub"):
        return False
    argsrc = [f"a{i}" for i in range(len(row.args))]
    if tm[0](argsrc, row.kw) is None:
        return False
    for a in row.args:
        if a[0] == "s":
            if meta[a[1]] != (shape, dtype):
                return False
        elif a[0] != "c" or type(a[1]) not in (int, float):
            return False
    return meta[row.outs[0]] == (shape, dtype)


class _FusedOp:
    """The rule-table face of a fused run (what the program generator and explain read)."""

    __slots__ = ("name", "cls", "fwd", "vjp", "vjp_all", "jvp", "nin", "nout", "policy", "diff",
                 "view", "variant", "nondiff_out", "saves", "saves_out", "formula", "rows",
                 "kernel_src", "params")

    def __repr__(self) -> str:
        return f"<fused kernel of {len(self.rows)} rows>"


def _lit(v, dt: str) -> str:
    return f"{dt}({float(v)!r})"


def _scalar_templates(src: str) -> str:
    return (src.replace("EXP(", "np.exp(").replace("TANH(", "np.tanh(")
            .replace("SIN(", "np.sin(").replace("COS(", "np.cos(")
            .replace("MAXIMUM(", "np.maximum(").replace("SQUARE(", "np.square("))


def _build_run(rows, later_used: set, meta, rg_of, kind_of):
    """One fused pseudo-row for ``rows`` (consecutive), or None."""
    import numba

    shape, dtype = meta[rows[0].outs[0]]
    dt = f"np.{np.dtype(dtype).name}"
    produced = {r.outs[0] for r in rows}
    ext: list = []  # slots read from outside the run, in first-use order
    for r in rows:
        for a in r.args:
            if a[0] == "s" and a[1] not in produced and a[1] not in ext:
                ext.append(a[1])
    outs = [r.outs[0] for r in rows if r.outs[0] in later_used]
    if not outs:
        outs = [rows[-1].outs[0]]
    name = {s: f"x{k}" for k, s in enumerate(ext)}
    body = []  # per element: the forward on scalars
    for r in rows:
        tm = TEMPLATES[r.op.name]
        args = [name[a[1]] if a[0] == "s" else _lit(a[1], dt) for a in r.args]
        v = f"v{r.outs[0]}"
        body.append(f"{v} = {dt}({_scalar_templates(tm[0](args, r.kw))})")
        name[r.outs[0]] = v
    loads = [f"{name[s]} = i{k}[j]" for k, s in enumerate(ext)]
    ins_p = [f"i{k}" for k in range(len(ext))]
    fw = [f"def kf({', '.join(ins_p + [f'o{k}' for k in range(len(outs))])}):",
          "    for j in range(o0.shape[0]):"]
    fw += [f"        {ln}" for ln in loads + body]
    fw += [f"        o{k}[j] = {name[s]}" for k, s in enumerate(outs)]
    # backward: recompute, then the rules in reverse; needs per external input
    needs = [bool(rg_of[s]) and kind_of[s][0] not in ("alias", "const") for s in ext]
    grad = any(r.grad for r in rows)
    params = ins_p + [f"g{k}" for k in range(len(outs))] + [f"d{k}" for k in range(len(ext))]
    bw = [f"def kb({', '.join(params)}):",
          "    for j in range(g0.shape[0]):"]
    bw += [f"        {ln}" for ln in loads + body]
    gname: dict = {}
    acc = []
    for k, s in enumerate(outs):
        acc.append(f"h{s} = g{k}[j]")
        gname[s] = f"h{s}"
    zero = f"{dt}(0.0)"
    for r in reversed(rows):
        o = r.outs[0]
        if o not in gname:
            continue
        tm = TEMPLATES[r.op.name]
        args = [name[a[1]] if a[0] == "s" else _lit(a[1], dt) for a in r.args]
        for i, a in enumerate(r.args):
            if a[0] != "s":
                continue
            s = a[1]
            if s in ext and not needs[ext.index(s)]:
                continue
            if s not in ext and not rg_of[s]:
                continue
            e = _scalar_templates(tm[1][i](gname[o], name[o], args))
            if s in gname:
                acc.append(f"{gname[s]} = {gname[s]} + {dt}({e})")
            else:
                acc.append(f"h{s} = {dt}({e})")
                gname[s] = f"h{s}"
    bw += [f"        {ln}" for ln in acc]
    bw += [f"        d{k}[j] = {gname.get(s, zero)}" for k, s in enumerate(ext)]
    ns: dict = {"np": np}
    src = "\n".join(fw) + "\n\n" + "\n".join(bw)
    exec(compile(src, "<chainrule.compile numba kernel>", "exec"), ns)
    sig_arr = f"{np.dtype(dtype).name}[::1]"
    t0 = time.perf_counter()
    kf = numba.njit(f"void({', '.join([sig_arr] * (len(ext) + len(outs)))})",
                    cache=False)(ns["kf"])
    kb = numba.njit(f"void({', '.join([sig_arr] * (len(ext) + len(outs) + len(ext)))})",
                    cache=False)(ns["kb"]) if grad else None
    jit_s = time.perf_counter() - t0
    n_out = len(outs)

    def fwd(*ins):
        flat = [np.ascontiguousarray(a).reshape(-1) for a in ins]
        res = [np.empty(shape, dtype) for _ in range(n_out)]
        kf(*flat, *[r.reshape(-1) for r in res])
        return res[0] if n_out == 1 else tuple(res)

    def vjp_all(m, g, out, *ins, needs):
        flat = [np.ascontiguousarray(a).reshape(-1) for a in ins]
        gs = [np.ascontiguousarray(x).reshape(-1) for x in ((g,) if n_out == 1 else g)]
        res = [np.empty(shape, dtype) for _ in ins]
        kb(*flat, *gs, *[r.reshape(-1) for r in res])
        return [r if n else None for r, n in zip(res, needs)]

    op = _FusedOp()
    op.name = "fused"
    op.cls = "FusedKernel"
    op.fwd = fwd
    op.vjp = None
    op.vjp_all = vjp_all if grad else None
    op.jvp = None
    op.nin = len(ext)
    op.nout = n_out
    op.policy = "keep"
    op.diff = grad
    op.view = False
    op.variant = None
    op.nondiff_out = ()
    op.saves = None
    op.saves_out = False
    op.formula = None
    op.rows = [r.op.name for r in rows]
    op.kernel_src = src
    op.params = ()
    row = Row(op, tuple(("s", s) for s in ext), {}, {}, tuple(outs), rows[0].site, grad)
    return row, jit_s


def fuse(rows: list, meta, rg, kind, out_slots) -> tuple:
    """Rows with elementwise runs replaced by fused pseudo-rows; (rows, [(names, jit s)])."""
    from ._trace import kw_slots

    last_use: dict = {s: len(rows) for s in out_slots}  # slot -> last row reading it
    for r in range(len(rows) - 1, -1, -1):
        row = rows[r]
        for s in [a[1] for a in row.args if a[0] == "s"] + kw_slots(row.kw):
            last_use.setdefault(s, r)
    new: list = []
    report: list = []
    budget = _MAX_FUSED
    r = 0
    while r < len(rows):
        row = rows[r]
        shape, dtype = meta[row.outs[0]] if row.outs else ((), None)
        ok = (row.outs and dtype is not None and np.dtype(dtype).kind == "f"
              and _fusable(row, meta, shape, dtype))
        if not ok:
            new.append(row)
            r += 1
            continue
        e = r + 1
        while e < len(rows) and e - r < _MAX_RUN and rows[e].grad == row.grad and \
                _fusable(rows[e], meta, shape, dtype):
            e += 1
        if budget < e - r:
            new.append(row)
            r += 1
            continue
        budget -= e - r
        if e - r < _MIN_RUN:
            new.append(row)
            r += 1
            continue
        run = rows[r:e]
        later = {o for x in run for o in x.outs if last_use.get(o, -1) >= e}
        fused, jit_s = _build_run(run, later, meta, rg, kind)
        new.append(fused)
        report.append((fused.op.rows, jit_s))
        r = e
    return new, report
