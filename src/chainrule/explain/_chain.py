"""``Explain.chain``: the chain rule written out with the recorded numbers.

Reverse accumulation multiplies from the output side, v · J_n · … · J_1 (v: the gradient the
backward started from, J_k: each step's local Jacobian); forward accumulation from the input
side, J_n · ( … (J_1 · e_j)), one column of the whole Jacobian per input entry. A graph with
several paths from the output to ``x`` sums one such product per path.
"""

from __future__ import annotations

import numpy as np

from ._jacobian import LocalJacobian, vector_text

#: the paths from the output to x written out one by one (the sum is always over all of them)
MAX_PATHS = 16
#: columns of the forward order written out (one forward pass each)
MAX_COLUMNS = 8


class ChainPath:
    """One path from the output to x: its steps, each step's local Jacobian and its name."""

    __slots__ = ("jacs", "names", "steps")

    def __init__(self, steps, jacs, names) -> None:
        self.steps, self.jacs, self.names = steps, jacs, names

    @property
    def known(self) -> bool:
        return all(j is not None and j.known for j in self.jacs)

    def product_left(self, v: np.ndarray) -> list:
        """v, v·J_n, v·J_n·J_n-1, … (reverse accumulation's partial products)."""
        out = [v]
        for j in self.jacs:
            out.append(j.left(out[-1]))
        return out

    def jacobian(self) -> np.ndarray:
        """The path's whole Jacobian J_n · … · J_1 (rows: output entries, columns: x's)."""
        m = self.jacs[0].matrix()
        for j in self.jacs[1:]:
            m = m @ j.matrix()
        return m


def _paths(ex, root, nr0, target, steps):
    """Every path (up to a bound) from ``(root, nr0)`` to ``target`` (a (node, nr) edge), and the
    number of all paths."""
    count: dict = {}

    def n_paths(node, nr):  # iterative count of the paths below (node, nr) that reach the target
        stack = [(node, nr, False)]
        while stack:
            n, r, done = stack.pop()
            if (n, r) in count:
                continue
            st = steps.get(n)
            kids = [e for e in n.next if e is not None] if st is not None else []
            if not done:
                stack.append((n, r, True))
                for c, cr in kids:
                    if (c, cr) == target:
                        continue
                    if (c, cr) not in count:
                        stack.append((c, cr, False))
                continue
            count[(n, r)] = sum(1 if (c, cr) == target else count.get((c, cr), 0)
                                for c, cr in kids)
        return count[(node, nr)]

    total = 1 if (root, nr0) == target else n_paths(root, nr0)
    found = []
    stack = [((root, nr0), [])]
    while stack and len(found) < MAX_PATHS:
        (n, r), hops = stack.pop()
        if (n, r) == target:
            found.append(hops)
            continue
        st = steps.get(n)
        if st is None:
            continue
        for i in reversed(range(len(n.next))):
            e = n.next[i]
            if e is None or (e != target and count.get(e, 0) == 0):
                continue
            stack.append((e, hops + [(st, r, i)]))
    return found, total


def _jname(ex, st, r, seen: dict) -> str:
    op = getattr(st.node.op, "name", None) or st.node.name()
    nm = ex._node_names.get(id(st.node))
    if op == "basic_index" and st.node.kw and "index" in st.node.kw:
        from ..viz import index_text

        op = "index" + index_text(st.node.kw["index"])
    base = f"J_{op}" + (f"({nm})" if nm else "")
    k = seen.setdefault(base, {})
    if st.node not in k:
        k[st.node] = len(k)
    return base if len(k) == 1 and k[st.node] == 0 else f"{base}#{ex._nid(st.node)}"


def chain(ex, x, order: str = "reverse") -> str:
    if order not in ("reverse", "forward"):
        raise ValueError(f"chain(): order must be 'reverse' or 'forward', got {order!r}")
    last = [st for st in ex.steps if st.pass_no == ex.passes]  # the last backward pass
    if not last:
        raise ValueError("chain(): nothing was recorded (run backward inside the with block)")
    steps = {st.node: st for st in last if st.kind == "op"}
    if x.grad_fn is not None:
        target = (x.grad_fn, x._output_nr)
    elif x._grad_accumulator is not None and x._grad_accumulator() is not None:
        target = (x._grad_accumulator(), 0)
    else:
        raise ValueError("chain(): this tensor was not reached by the recorded backward")
    root_st = last[0]
    root = root_st.node
    nr0 = next((k for k, g in enumerate(root_st.g) if g is not None), 0)
    v = np.asarray(root_st.g[nr0], dtype=float)
    found, total = _paths(ex, root, nr0, target, steps)
    if total == 0 and (root, nr0) != target:
        raise ValueError("chain(): this tensor was not reached by the recorded backward")
    seen: dict = {}
    paths = []
    for hops in found:
        jacs = [(st.jac or {}).get((r, i)) for st, r, i in hops]
        jacs = [j if j is not None else LocalJacobian(0, 0, "shape", why="not recorded")
                for j in jacs]
        paths.append(ChainPath([h[0] for h in hops], jacs, [_jname(ex, st, r, seen)
                                                             for st, r, i in hops]))
    xs = x._array.shape
    nm = ex._name(x) if x.grad_fn is None else (ex._node_names.get(id(x.grad_fn)) or "x")
    head_out = ex._node_names.get(id(root), root.name())
    got = _received(ex, last, target, x)
    scalar = v.size == 1 and all(j.known and j.rows == j.cols == 1 for p in paths
                                 for j in p.jacs) and total == len(paths)
    if scalar:
        return _scalar_text(head_out, nm, v, paths)
    if order == "forward":
        return _forward_text(head_out, nm, v, paths, total, xs, got)
    return _reverse_text(head_out, nm, v, paths, total, xs, got, root_st)


def _received(ex, last, target, x):
    """What the recorded pass sent to x (the sum over all paths), or None."""
    node, nr = target
    if x.grad_fn is None:
        st = next((s for s in last if s.node is node), None)
        return None if st is None or st.g[0] is None else np.asarray(st.g[0], float)
    st = next((s for s in last if s.node is node), None)
    if st is None or st.g[nr] is None:
        return None
    return np.asarray(st.g[nr], float)


def _scalar_text(head_out, nm, v, paths) -> str:
    seed = float(v.reshape(-1)[0])
    parts, tot = [], 0.0
    for p in paths:
        prod = seed
        fs = []
        for j in p.jacs:
            c = float(j.value.reshape(-1)[0])
            prod *= c
            fs.append(f"{c:.6g}")
        tot += prod
        parts.append(" · ".join(fs) or "1")
    s = " + ".join(f"({p})" for p in parts) if len(parts) > 1 else (parts[0] if parts else "0")
    seedtxt = "" if seed == 1 else f"{seed:.6g} · "
    return f"d{head_out}/d{nm} = {seedtxt}{s} = {tot:.6g}"


def _sum_note(paths, total) -> str:
    if total > len(paths):
        return (f"  ({len(paths)} of {total} paths written out, at most {MAX_PATHS}; the sum "
                "below is over all of them, as recorded)")
    return ""


def _missing(paths) -> list:
    out = []
    for p in paths:
        for nm, j in zip(p.names, p.jacs):
            if not j.known and f"{nm} [{j.size_text()}]" not in " ".join(out):
                out.append(f"{nm} [{j.size_text()}] {j.why}")
    return out


def _reverse_text(head_out, nm, v, paths, total, xs, got, root_st) -> str:
    head = f"v · d{head_out}/d{nm}"
    vt = vector_text(v)
    lines = []
    results = []
    for p in paths:
        rhs = " · ".join(["v"] + p.names)
        if p.known:
            r = p.product_left(v.reshape(-1))[-1]
            results.append(r)
            nums = " · ".join([vt] + [j.text() for j in p.jacs])
            lines.append(f"{rhs} = {nums} = {vector_text(r, xs)}")
        else:
            nums = " · ".join([vt] + [j.text() if j.known else f"J[{j.size_text()}]"
                                      for j in p.jacs])
            lines.append(f"{rhs} = {nums}")
    if len(paths) == 1 and total == 1:
        p = paths[0]
        res = results[0] if results else got
        first = f"{head} = {lines[0]}"
        if not results and got is not None:
            first += f" = {vector_text(got, xs)} (as recorded)"
        out = [first]
        out.append("reverse accumulation multiplies from the output side: "
                   + "(" * (len(p.names) - 1) + "v · " + ") · ".join(p.names))
        part = p.product_left(v.reshape(-1)) if p.known else None
        for k, (jn, j) in enumerate(zip(p.names, p.jacs)):
            pref = "  v" if k == 0 else "   "
            if part is not None:
                val = vector_text(part[k + 1], xs if k == len(p.jacs) - 1 else None)
            else:  # a single path: what each step passed on is exactly this partial product
                val = vector_text(p.steps[k + 1].g[0]) if k + 1 < len(p.steps) else (
                    vector_text(res, xs) if res is not None else "?")
            out.append(f"{pref} · {jn} [{j.size_text()}] = {val}")
    else:
        out = [f"{head} = Σ over {total} paths of v · J · … · J" + _sum_note(paths, total)]
        out += [f"  path {k + 1}: {s}" for k, s in enumerate(lines)]
        tot = got if got is not None else (sum(results) if len(results) == total else None)
        if tot is not None:
            out.append(f"  sum = {vector_text(tot, xs)}")
    miss = _missing(paths)
    if miss:
        out.append("left out (too big to write or build): " + "; ".join(miss))
    if root_st.g[0] is not None and len(root_st.g) == 1 and v.size > 1:
        out.append(f"v = the gradient given to backward ({vector_text(v)}), shape "
                   f"{tuple(np.shape(root_st.g[0]))}")
    return "\n".join(out)


def _forward_text(head_out, nm, v, paths, total, xs, got) -> str:
    head = f"d{head_out}/d{nm}"
    if total > len(paths) or not all(p.known for p in paths):
        why = _missing(paths) or [f"{total} paths, only {len(paths)} kept"]
        return (f"{head}: forward accumulation needs every local Jacobian on every path; "
                "left out: " + "; ".join(why))
    n = int(np.prod(xs)) if xs else 1
    J = sum(p.jacobian() for p in paths)
    out = []
    names = " + ".join(" · ".join(p.names) for p in paths)
    nums = " + ".join(" · ".join(j.text() for j in p.jacs) for p in paths)
    if len(paths) <= 2:
        out.append(f"{head} = {names} = {nums} = {_mat(J)}")
    else:
        out.append(f"{head} = Σ over {len(paths)} paths of J · … · J = {_mat(J)}")
    for p in paths[:1] if len(paths) == 1 else []:
        out.append("forward accumulation multiplies from the input side: "
                   + " · (".join(p.names) + " · e_j" + ")" * (len(p.names) - 1)
                   + f", one pass per entry of {nm} (j = 1 … {n})")
    if len(paths) > 1:
        out.append(f"forward accumulation: one pass per entry of {nm} (j = 1 … {n}), each path's "
                   "J_1 · e_j first, the paths summed")
    for jj in range(min(n, MAX_COLUMNS)):
        e = np.zeros(n)
        e[jj] = 1
        cells = []
        col = np.zeros(J.shape[0])
        for p in paths:
            t = e
            parts = []
            for jn, j in zip(reversed(p.names), reversed(p.jacs)):
                t = j.right(t)
                parts.append(f"{jn}·… = {vector_text(t)}")
            col = col + t
            cells.append("; ".join(parts))
        if len(paths) == 1:
            out.append(f"  pass {jj + 1}: e_{jj + 1} → " + cells[0])
        else:
            out.append(f"  pass {jj + 1}: e_{jj + 1} → column {jj + 1} = {vector_text(col)}")
    if n > MAX_COLUMNS:
        out.append(f"  … {n - MAX_COLUMNS} more passes not written out (at most {MAX_COLUMNS})")
    res = v.reshape(-1) @ J
    out.append(f"then v · {head} = {vector_text(v)} · {_mat(J)} = {vector_text(res, xs)}")
    return "\n".join(out)


def _mat(m: np.ndarray) -> str:
    return LocalJacobian(m.shape[0], m.shape[1], "dense", m).text()
