"""The built-in layered layout (the method of Graphviz ``dot``, in small): layers by longest path,
a dummy point for every layer a long edge passes, crossings reduced by barycenter sweeps, and
edges routed through the gaps between boxes, so that no edge is drawn across a box.

Every box of a layer is top-aligned in the layer's band; an edge leaves its box downward, runs
vertically below it to the band's bottom, crosses each gap between bands as a curve whose height
only grows (it cannot enter a band), and runs vertically through each band it passes at its
dummy's place, which the packing keeps clear of boxes.
"""

from __future__ import annotations

CHAR_W = 6.6  # px per character at font-size 11 (Helvetica), generous
LINE_H = 15
GAP_X = 24  # between boxes of one layer
DUMMY_W = 10  # the room a passing edge takes in a layer
GAP_Y = 44  # between layers
MARGIN = 16


def box_size(lines: list) -> tuple[float, float]:
    return max(len(s) for s in lines) * CHAR_W + 18, LINE_H * len(lines) + 10


def layout(ids: list, edges: list, sizes: dict, top: float = MARGIN) -> dict:
    """Positions and routes: ``boxes`` {id: (x0, y0, x1, y1)}, ``routes`` [(a, b, path)], where a
    path is a list of SVG path commands' points, ``width``, ``height``."""
    preds: dict = {i: [] for i in ids}
    succ: dict = {i: [] for i in ids}
    for a, b in edges:
        preds[b].append(a)
        succ[a].append(b)
    layer = _layers(ids, preds, succ)
    # dummies: a long edge gets one point per layer it passes
    chains = []
    nodes = list(ids)
    w = {i: sizes[i][0] for i in ids}
    h = {i: sizes[i][1] for i in ids}
    up: dict = {i: [] for i in ids}
    down: dict = {i: [] for i in ids}
    k = 0
    for a, b in edges:
        seq = [a]
        for lv in range(layer[a] + 1, layer[b]):
            d = ("dummy", k)
            k += 1
            layer[d] = lv
            w[d], h[d] = DUMMY_W, 0
            up[d], down[d] = [], []
            nodes.append(d)
            seq.append(d)
        seq.append(b)
        for p, q in zip(seq, seq[1:]):
            down[p].append(q)
            up[q].append(p)
        chains.append((a, b, seq))
    n_layers = max(layer.values(), default=0) + 1
    rows: list = [[] for _ in range(n_layers)]
    for i in nodes:
        rows[layer[i]].append(i)
    _order(rows, up, down)
    x = _coordinates(rows, up, down, w)
    # y: each layer a band as tall as its tallest box
    band = []
    y = top
    for r in rows:
        hh = max((h[i] for i in r), default=0)
        band.append((y, y + hh))
        y += hh + GAP_Y
    height = y - GAP_Y + MARGIN
    width = max((x[i] + w[i] / 2 for i in nodes), default=0) + MARGIN
    boxes = {i: (x[i] - w[i] / 2, band[layer[i]][0], x[i] + w[i] / 2, band[layer[i]][0] + h[i])
             for i in ids}
    routes = []
    twins: dict = {}
    for a, b, _ in chains:
        twins[(a, b)] = twins.get((a, b), 0) + 1
    nth: dict = {}
    for a, b, seq in chains:
        k = nth[(a, b)] = nth.get((a, b), -1) + 1
        dx = (k - (twins[(a, b)] - 1) / 2) * 6  # y * y: two edges side by side, not one on another

        def px(i, dx=dx):
            return x[i] + dx

        pts = [("M", px(a), boxes[a][3]), ("L", px(a), band[layer[a]][1])]
        for p, q in zip(seq, seq[1:]):
            y0 = band[layer[p]][1]
            y1 = band[layer[q]][0]
            mid = (y0 + y1) / 2
            pts.append(("C", px(p), mid, px(q), mid, px(q), y1))
            if q != b:  # through the band of a dummy
                pts.append(("L", px(q), band[layer[q]][1]))
        routes.append((a, b, pts))
    return {"boxes": boxes, "routes": routes, "width": width, "height": height}


def _layers(ids, preds, succ) -> dict:
    """Longest path from the sources; then every node moves down to just above its first
    consumer (a leaf, a constant, or an op on a weight drawn beside the op that reads it, not at
    the top of the picture)."""
    indeg = {i: len(preds[i]) for i in ids}
    order = [i for i in ids if indeg[i] == 0]
    layer = {i: 0 for i in ids}
    k = 0
    while k < len(order):
        a = order[k]
        k += 1
        for b in succ[a]:
            layer[b] = max(layer[b], layer[a] + 1)
            indeg[b] -= 1
            if indeg[b] == 0:
                order.append(b)
    for i in reversed(order):  # as late as possible: each node just above its first consumer
        if succ[i]:
            layer[i] = max(layer[i], min(layer[s] for s in succ[i]) - 1)
    return layer


def _order(rows, up, down, sweeps: int = 6) -> None:
    """Barycenter heuristic, down and up: fewer crossings."""
    pos = {i: k for r in rows for k, i in enumerate(r)}
    for s in range(sweeps):
        seq = range(1, len(rows)) if s % 2 == 0 else range(len(rows) - 2, -1, -1)
        for lv in seq:
            nb = up if s % 2 == 0 else down

            def key(i, nb=nb):
                ps = nb[i]
                return (sum(pos[p] for p in ps) / len(ps)) if ps else pos[i]

            rows[lv].sort(key=key)
            for k, i in enumerate(rows[lv]):
                pos[i] = k


def _coordinates(rows, up, down, w, sweeps: int = 8) -> dict:
    """x of each box's center: packed left to right, then pulled toward the mean of its
    neighbours' x in alternate sweeps, never closer than the gap to the next box."""
    x: dict = {}
    for r in rows:
        cur = MARGIN
        for i in r:
            x[i] = cur + w[i] / 2
            cur += w[i] + GAP_X
    for s in range(sweeps):
        seq = list(range(1, len(rows))) if s % 2 == 0 else list(range(len(rows) - 2, -1, -1))
        nb = up if s % 2 == 0 else down
        for lv in seq:
            r = rows[lv]
            want = [(sum(x[p] for p in nb[i]) / len(nb[i])) if nb[i] else x[i] for i in r]
            _pack(r, want, x, w)
    lo = min((x[i] - w[i] / 2 for r in rows for i in r), default=MARGIN)
    for i in x:
        x[i] += MARGIN - lo
    return x


def _pack(r, want, x, w) -> None:
    """Place the row's boxes as near ``want`` as the order and the gaps allow."""
    n = len(r)
    if not n:
        return
    pos = list(want)
    for k in range(1, n):  # push right where two would overlap
        need = pos[k - 1] + (w[r[k - 1]] + w[r[k]]) / 2 + GAP_X
        pos[k] = max(pos[k], need)
    shift = sum(a - b for a, b in zip(want, pos)) / n  # then slide the row back by the mean
    if shift < 0:
        pos = [p + shift for p in pos]
        for k in range(n - 2, -1, -1):  # …without a box overtaking its left neighbour
            pos[k] = min(pos[k], pos[k + 1] - (w[r[k]] + w[r[k + 1]]) / 2 - GAP_X)
    for i, p in zip(r, pos):
        x[i] = p


def sample(pts: list, n: int = 16) -> list:
    """Points along a route (for tests that check it never enters a box)."""
    out = []
    cx, cy = None, None
    for p in pts:
        if p[0] == "M":
            cx, cy = p[1], p[2]
            out.append((cx, cy))
        elif p[0] == "L":
            for t in range(1, n + 1):
                out.append((cx + (p[1] - cx) * t / n, cy + (p[2] - cy) * t / n))
            cx, cy = p[1], p[2]
        else:
            x1, y1, x2, y2, x3, y3 = p[1:]
            for t in (k / n for k in range(1, n + 1)):
                u = 1 - t
                out.append((u ** 3 * cx + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t ** 3 * x3,
                            u ** 3 * cy + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t ** 3 * y3))
            cx, cy = x3, y3
    return out


def path_d(pts: list) -> str:
    return " ".join(p[0] + " " + " ".join(f"{v:.1f}" for v in p[1:]) for p in pts)
