"""Local Jacobians of recorded steps, and how to write them down.

A step's local Jacobian J (rows: the output's entries, columns: the input's entries, both
flattened) is read off its backward rule while the engine still holds the saved values: one rule
call per output entry (e_k · J is row k), or one call for an elementwise op (its J is diagonal).
Big Jacobians are not built; they keep their shape and the reason, so that a chain can say what
it left out.
"""

from __future__ import annotations

import numpy as np

from .. import viz

#: a local Jacobian is built row by row only up to this many output entries (one rule call each)
MAX_ROWS = 64
#: … and up to this many entries in all
MAX_ENTRIES = 16384
#: matrices up to this many rows and columns are printed with every number
PRINT_ROWS = 6
PRINT_COLS = 8


class LocalJacobian:
    """The Jacobian of one output of a node with respect to one of its inputs.

    ``kind``: ``"diag"`` (``value`` holds the diagonal), ``"dense"`` (``value`` is the rows×cols
    matrix) or ``"shape"`` (not built: ``why`` says why).
    """

    __slots__ = ("cols", "kind", "rows", "value", "why")

    def __init__(self, rows: int, cols: int, kind: str, value=None, why: str = "") -> None:
        self.rows, self.cols, self.kind, self.value, self.why = rows, cols, kind, value, why

    @property
    def known(self) -> bool:
        return self.kind != "shape"

    def matrix(self) -> np.ndarray | None:
        if self.kind == "dense":
            return self.value
        if self.kind == "diag":
            return np.diag(self.value.reshape(-1))
        return None

    def left(self, v: np.ndarray) -> np.ndarray:
        """v · J for a row vector v (rows entries)."""
        if self.kind == "diag":
            return v * self.value.reshape(-1)
        return v @ self.value

    def right(self, t: np.ndarray) -> np.ndarray:
        """J · t for a column t (cols entries)."""
        if self.kind == "diag":
            return self.value.reshape(-1) * t
        return self.value @ t

    def size_text(self) -> str:
        return f"{self.rows}×{self.cols}"

    def text(self) -> str:
        """The matrix as it is printed in a chain: ``I``, ``2I``, ``diag(1, 2)``, ``[[…]]``, or a
        summary by shape when it is big (or was not built)."""
        if self.kind == "shape":
            return f"J[{self.size_text()}]"
        d = self.value.reshape(-1) if self.kind == "diag" else _diagonal_of(self.value)
        if d is not None:
            if d.size and np.all(d == d[0]):
                c = d[0].item()
                return "I" if c == 1 else ("−I" if c == -1 else f"{viz._num(c)}I")
            if d.size <= PRINT_COLS:
                return "diag(" + ", ".join(viz._num(c.item()) for c in d) + ")"
            return f"diag[{d.size}: {viz.summarize(d)}]"
        m = self.value + 0.0  # −0 prints as 0
        if m.shape[0] <= PRINT_ROWS and m.shape[1] <= PRINT_COLS:
            return _matrix_text(m)
        return f"[{self.size_text()} matrix, {viz.summarize(m).split('] ', 1)[-1]}]"


def _diagonal_of(m: np.ndarray) -> np.ndarray | None:
    """The diagonal of a square matrix with nothing off it (a 1×1 matrix is not shown as diag)."""
    if m.shape[0] != m.shape[1] or m.shape[0] < 2:
        return None
    d = np.diag(m)
    return d if np.array_equal(m, np.diag(d)) else None


def _matrix_text(m: np.ndarray) -> str:
    return "[" + ", ".join("[" + ", ".join(viz._num(c.item()) for c in r) + "]" for r in m) + "]"


def vector_text(a: np.ndarray, shape=None) -> str:
    """A gradient or product in its tensor's shape (numbers up to 8 entries, else a summary)."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        a = a + 0.0  # −0 prints as 0
    if shape is not None:
        a = a.reshape(shape)
    return viz.summarize(a)


def local_jacobians(node, out, gs, rules, elementwise_diag) -> dict:
    """``{(output nr, input i): LocalJacobian}`` for every input that needs a gradient.

    ``rules(gs)`` reruns the node's backward rule on the gradients ``gs`` (one per output);
    ``elementwise_diag``: the diagonal per input (from one rule call with ones) when the op is
    elementwise on equal shapes, else None.
    """
    outs = out if isinstance(out, tuple) else (out,)
    need = [i for i, e in enumerate(node.next) if e is not None]
    res: dict = {}
    for nr, o in enumerate(outs):
        if o is None or (len(outs) > 1 and (gs[nr] is None)):
            continue
        m = int(np.asarray(o).size)
        if elementwise_diag is not None and len(outs) == 1:
            for i in need:
                d = elementwise_diag[i]
                if d is not None and d.size == m:
                    res[(nr, i)] = LocalJacobian(m, m, "diag", np.asarray(d, float).reshape(-1))
        todo = [i for i in need if (nr, i) not in res]
        if not todo:
            continue
        rows: dict = {i: [] for i in todo}
        cols: dict = {}
        why = ""
        if m > MAX_ROWS:
            why = f"not built: over {MAX_ROWS} rows"
        else:
            for k in range(m):
                e = np.zeros(np.shape(o), dtype=np.asarray(o).dtype)
                e.reshape(-1)[k] = 1
                g = [None] * len(outs)
                g[nr] = e
                try:
                    r = rules(g)
                except Exception as ex:  # noqa: BLE001  (a rule that cannot rerun here)
                    why = f"not built: its rule did not rerun ({type(ex).__name__})"
                    break
                for i in todo:
                    ri = r[i] if r is not None and i < len(r) else None
                    if ri is None:
                        continue
                    ri = np.asarray(ri, dtype=float).reshape(-1)
                    cols[i] = ri.size
                    if m * ri.size > MAX_ENTRIES:
                        why = f"not built: over {MAX_ENTRIES} entries"
                        break
                    rows[i].append(ri)
                if why:
                    break
        for i in todo:
            n = cols.get(i, _in_size(node, i))
            if not why and len(rows[i]) == m:
                res[(nr, i)] = LocalJacobian(m, n, "dense", np.array(rows[i]).reshape(m, n))
            else:
                res[(nr, i)] = LocalJacobian(m, n, "shape", why=why or "not built")
    return res


def _in_size(node, i) -> int:
    s = node.saved[i] if node.saved is not None and i < len(node.saved) else None
    a = getattr(s, "_array", None)
    return int(a.size) if a is not None else 0
