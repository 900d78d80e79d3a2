"""Collapsing repeated structure: a stack of identical layers becomes one box ``k × [A → B]``."""

from __future__ import annotations

import re

from ._draw import GNode, Graph


def _compress(names: list) -> str:
    """``['l.0.w', 'l.1.w', 'l.2.w']`` → ``'l.{0–2}.w'`` (first number of each name)."""
    groups: dict = {}
    for nm in names:
        m = re.search(r"\d+", nm)
        if m is None:
            groups.setdefault(nm, [])
            continue
        key = nm[: m.start()] + "{}" + nm[m.end():]
        groups.setdefault(key, []).append(int(m.group()))
    parts = []
    for key, nums in groups.items():
        if not nums:
            parts.append(key)
        elif len(nums) == 1:
            parts.append(key.replace("{}", str(nums[0])))
        else:
            parts.append(key.replace("{}", "{" + f"{min(nums)}–{max(nums)}" + "}"))
    return ", ".join(parts)


_MAX_BLOCK = 32  # the longest repeated block looked for (ops per layer)


def _repeats(seq: list) -> tuple[int, int, int]:
    """``(start, period, count)`` of the longest run of a repeated block in ``seq`` (count ≥ 2),
    preferring the shortest block; ``(0, len, 1)`` when nothing repeats."""
    best = (0, len(seq), 1)
    cover = 0
    for p in range(1, min(len(seq) // 2, _MAX_BLOCK) + 1):
        for o in range(min(p, len(seq) - 2 * p) + 1):
            k = 1
            while o + (k + 1) * p <= len(seq) and seq[o + k * p:o + (k + 1) * p] == seq[o:o + p]:
                k += 1
            if k >= 2 and k * p > cover:
                best, cover = (o, p, k), k * p
    return best


def _chain_text(seq: list) -> str:
    o, p, k = _repeats(seq)
    if k < 2:
        return " → ".join(seq[:3]) + (f" → … ({len(seq)} ops)" if len(seq) > 3 else "")
    parts = seq[:o] + [f"{k} × [{' → '.join(seq[o:o + p])}]"]
    rest = seq[o + k * p:]
    parts += rest if len(rest) <= 2 else rest[:1] + [f"… ({len(rest) - 1} more)"]
    return " → ".join(parts)


def _collapse(g: Graph, min_chain: int = 4) -> None:
    """Fold linear chains of op nodes (one op input, one consumer) into group boxes: a run of a
    repeated block (k identical layers) becomes one box ``k × [A → B → C]``; what comes before
    and after stays visible (or, when long, becomes a box of its own).

    Ops that only prepare a parameter (a reshape or transpose of a weight: one leaf input, one
    consumer that also has another op input) travel with their consumer, like the parameters themselves, so that the layers of a
    network form chains.
    """
    kind = {n.id: n.kind for n in g.nodes}
    ins: dict = {n.id: [] for n in g.nodes}
    outs: dict = {n.id: [] for n in g.nodes}
    for a, b in g.edges:
        ins[b].append(a)
        outs[a].append(b)
    side = {i for i in kind if kind[i] == "op" and len(ins[i]) == 1 and kind[ins[i][0]] == "leaf"
            and len(outs[i]) == 1 and kind[outs[i][0]] == "op"
            and any(a != i and kind[a] == "op" for a in ins[outs[i][0]])}

    def op_ins(i):
        return [a for a in ins[i] if kind[a] in ("op", "group") and a not in side]

    def link(a):  # the op a flows only into, when that op has a as its only op input
        if kind[a] != "op" or a in side or len(outs[a]) != 1:
            return None
        b = outs[a][0]
        return b if kind[b] == "op" and op_ins(b) == [a] else None

    has_pred = {link(a) for a in kind if link(a) is not None}
    by = {n.id: n for n in g.nodes}
    fold = _Fold(ins, outs, kind, side, by)
    for start in [n.id for n in g.nodes if n.kind == "op" and n.id not in has_pred
                  and n.id not in side]:
        chain = [start]
        while True:
            nxt = link(chain[-1])
            if nxt is None:
                break
            chain.append(nxt)
        if len(chain) < min_chain:
            continue
        # the chain runs in data-flow order (toward the output)
        o, p, reps = _repeats([by[i].title for i in chain])
        if reps < 2:
            fold(chain)
            continue
        for seg in (chain[:o], chain[o + reps * p:]):  # short ends stay visible, for context
            if len(seg) > 3 * min_chain:
                fold(seg)
        fold(chain[o:o + reps * p])
    if not fold.drop:
        return
    remap = fold.remap
    edges = []
    seen = set()
    for a, b in g.edges:
        a2, b2 = remap.get(a, a), remap.get(b, b)
        if a2 == b2 or (a2, b2) in seen:
            continue
        seen.add((a2, b2))
        edges.append((a2, b2))
    g.nodes = [n for n in g.nodes if n.id not in fold.drop] + fold.nodes
    g.edges = edges
    g.ids = {k2: remap.get(v, v) for k2, v in g.ids.items()}


class _Fold:
    """Replaces a chain of op nodes (with the parameter-side ops and the leaves only it uses) by
    one group box."""

    def __init__(self, ins, outs, kind, side, by) -> None:
        self.ins, self.outs, self.kind, self.side, self.by = ins, outs, kind, side, by
        self.drop: set = set()
        self.remap: dict = {}
        self.nodes: list = []

    def __call__(self, chain: list) -> None:
        ins, by = self.ins, self.by
        helpers = [a for i in chain for a in ins[i] if a in self.side]
        inside = set(chain) | set(helpers)
        leaves = list(dict.fromkeys(
            a for i in chain + helpers for a in ins[i]
            if self.kind[a] == "leaf" and all(c in inside for c in self.outs[a])))
        lines = [f"{len(chain)} ops collapsed"]
        if helpers:
            lines[0] += f" (+{len(helpers)} on parameters)"
        if leaves:
            lines.append("params: " + _compress([by[a].title for a in leaves]))
        gid = f"g{len(self.nodes)}"
        self.nodes.append(GNode(gid, "group", _chain_text([by[i].title for i in chain]), lines,
                                [by[i].obj for i in chain]))
        for i in chain + helpers + leaves:
            self.drop.add(i)
            self.remap[i] = gid
