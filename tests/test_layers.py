"""The package's layers import only downward: no import (module level or inside a function)
reaches a higher layer, and no group of modules imports itself in a circle.

The layer map is ARCHITECTURE.md's; ``LAYERS`` below is its executable form. Module-level
imports and imports inside functions count alike (a lazy import is still a dependency); an
import of a package's face (``from ..autograd import grad``) counts as an import of that face.
Python's implicit import of a parent package is not counted: every package ``__init__`` is a
face that imports only its own members.
"""

from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(__file__), os.pardir, "src")
PKG = "chainrule"

#: (floor, module-name prefixes); the first matching prefix decides, longest listed first
LAYERS = [
    (0, ["_dtype", "_format", "_ns", "_hooks", "_context", "_device", "_settings"]),
    (1, ["_operators", "_tensor", "_creation", "_dispatch"]),
    (2, ["ops", "linalg", "special"]),
    (3, ["_batching"]),
    (4, ["autograd.grad_mode", "autograd.node", "autograd.record", "autograd.saved_tensors",
         "autograd.memory", "autograd.graph", "autograd.engine", "autograd.api",
         "autograd.forward_ad", "autograd.function", "autograd.numerical",
         "autograd.anomaly_mode", "autograd.why"]),
    (5, ["func"]),
    (6, ["autograd.functional", "autograd.gradcheck", "autograd"]),
    (7, ["nn", "optim", "utils", "serialization", "amp", "cuda", "backends", "testing",
         "distributed"]),
    (8, ["viz", "explain", "_compile"]),
    (9, ["torchcompat", ""]),  # chainrule itself: the top face, and the import hook onto it
]

#: (importer, imported) -> why the edge is allowed although it goes up or closes a circle
ALLOWED: dict = {
    ("chainrule.autograd.function", "chainrule.autograd.numerical"):
        "a Function with numerical = True differentiates by finite differences (NumericalOp), "
        "and NumericalOp's result is itself a Function: the two define each other",
    ("chainrule", "chainrule.torchcompat"):
        "the face offers the import hook's entry point (chainrule.as_torch()), and the hook maps "
        "torch.* onto that face: both are the top, and the face imports the hook only when called",
}


def _modules() -> dict:
    mods = {}
    for dp, _, files in os.walk(os.path.join(ROOT, PKG)):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dp, f)
                name = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                mods[name[: -len(".__init__")] if name.endswith(".__init__") else name] = path
    return mods


MODS = _modules()


def _targets(mod: str, node, is_pkg: bool) -> list:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == PKG]
    if node.level:
        parts = (mod if is_pkg else mod.rsplit(".", 1)[0]).split(".")
        base = ".".join(parts[: len(parts) - (node.level - 1)])
        full = base + ("." + node.module if node.module else "")
    else:
        full = node.module or ""
    if full.split(".")[0] != PKG:
        return []
    return [full + "." + a.name if full + "." + a.name in MODS else full for a in node.names]


def _edges() -> set:
    edges = set()
    for mod, path in MODS.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for t in _targets(mod, node, path.endswith("__init__.py")):
                    while t not in MODS and "." in t:
                        t = t.rsplit(".", 1)[0]
                    if t != mod:
                        edges.add((mod, t))
    return edges


def floor(mod: str) -> int:
    rel = mod[len(PKG) + 1:] if mod != PKG else ""
    best = None
    for f, prefixes in LAYERS:
        for p in prefixes:
            if rel == p or rel.startswith(p + ".") or (p == "" and rel == ""):
                if best is None or len(p) > best[1]:
                    best = (f, len(p))
    if best is None:
        raise AssertionError(f"{mod} is in no layer of LAYERS (add it to ARCHITECTURE.md too)")
    return best[0]


EDGES = _edges()


def test_every_module_has_a_layer():
    for m in MODS:
        floor(m)


def test_no_import_goes_up():
    up = sorted(f"{a} (layer {floor(a)}) imports {b} (layer {floor(b)})"
                for a, b in EDGES if floor(b) > floor(a) and (a, b) not in ALLOWED)
    assert not up, "imports that reach a higher layer:\n" + "\n".join(up)


def test_no_import_cycle():
    graph: dict = {}
    for a, b in EDGES:
        if (a, b) not in ALLOWED:
            graph.setdefault(a, set()).add(b)
    index, low, stack, on, cycles = {}, {}, [], set(), []
    counter = [0]

    def strongconnect(v):  # Tarjan, iterative over an explicit stack of iterators
        work = [(v, iter(sorted(graph.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        cycles.append(sorted(comp))
            elif nxt not in index:
                index[nxt] = low[nxt] = counter[0]
                counter[0] += 1
                stack.append(nxt)
                on.add(nxt)
                work.append((nxt, iter(sorted(graph.get(nxt, ())))))
            elif nxt in on:
                low[node] = min(low[node], index[nxt])

    for v in sorted(MODS):
        if v not in index:
            strongconnect(v)
    assert not cycles, "modules that import each other in a circle:\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("edge", sorted(ALLOWED), ids=lambda e: f"{e[0]}->{e[1]}")
def test_allowed_edges_exist_and_say_why(edge):
    assert edge in EDGES, f"{edge} is allowed but no longer imported: drop it from ALLOWED"
    assert len(ALLOWED[edge]) > 20, f"{edge}: say why the edge is needed"


BUDGET = 600  # lines per source file (GUIDE: split along a seam before a file grows past it)


def test_files_within_budget():
    over = []
    for path in sorted(MODS.values()):
        with open(path, encoding="utf-8") as f:
            n = sum(1 for _ in f)
        if n > BUDGET:
            over.append(f"{os.path.relpath(path, ROOT)}: {n} lines")
    assert not over, f"files over the {BUDGET}-line budget:\n" + "\n".join(over)
