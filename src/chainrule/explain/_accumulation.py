"""Forward vs reverse accumulation of a Jacobian, side by side (the seed's 正向积累 / 反向积累)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import viz
from .._tensor import Tensor
from ..autograd.graph import AccumulateGrad


class Accumulation:
    """Forward and reverse accumulation of the Jacobian of ``f`` at ``x``, side by side.

    ``n`` inputs, ``m`` outputs; ``chain``: the recorded ops with the size of each local Jacobian
    (rows × columns) on the path from ``x``; ``per_pass``: multiply-adds of one pass when every
    local Jacobian is applied as a dense matrix (Σ rows·cols); ``forward_madds = n · per_pass``
    (n Jacobian-vector products, one per input direction), ``reverse_madds = m · per_pass``
    (m vector-Jacobian products, one per output).
    """

    def __init__(self, n, m, chain, jac_fwd, jac_rev, columns, rows):
        self.n = n
        self.m = m
        self.chain = chain
        self.per_pass = sum(r * c for _, r, c in chain)
        self.forward_passes = n
        self.reverse_passes = m
        self.forward_madds = n * self.per_pass
        self.reverse_madds = m * self.per_pass
        self.jacobian_forward = jac_fwd
        self.jacobian_reverse = jac_rev
        self.columns = columns
        self.rows = rows
        if self.forward_madds < self.reverse_madds:
            self.cheaper = "forward"
        elif self.reverse_madds < self.forward_madds:
            self.cheaper = "reverse"
        else:
            self.cheaper = "equal"

    @property
    def jacobian(self) -> np.ndarray:
        return self.jacobian_reverse

    def table(self) -> str:
        n, m = self.n, self.m
        L = [
            f"f: R^{n} → R^{m}   (Jacobian J is {m}×{n})",
            "local Jacobians on the path (rows × cols): "
            + ", ".join(f"{nm} {r}×{c}" for nm, r, c in self.chain),
            f"one pass = Σ rows·cols = {self.per_pass} multiply-adds (dense local Jacobians)",
            "",
        ]
        left = [
            "FORWARD accumulation (正向积累)",
            "dy/du_k (du_k/du_k-1 ( … (du_1/dx · e_j)))",
            f"passes: {n} (one per input, e_j → column j of J)",
            f"multiply-adds: {n} × {self.per_pass} = {self.forward_madds}",
        ]
        left += [f"  pass {j + 1}: J e_{j + 1} = {viz.summarize(c)}" for j, c in
                 enumerate(self.columns[:8])]
        right = [
            "REVERSE accumulation (反向积累)",
            "((e_iᵀ dy/du_k) du_k/du_k-1) … du_1/dx",
            f"passes: {m} (one per output, e_i → row i of J)",
            f"multiply-adds: {m} × {self.per_pass} = {self.reverse_madds}",
        ]
        right += [f"  pass {i + 1}: e_{i + 1}ᵀ J = {viz.summarize(r)}" for i, r in
                  enumerate(self.rows[:8])]
        w = max(len(s) for s in left) + 4
        for a, b in zip(left + [""] * (len(right) - len(left)), right + [""] * (len(left) - len(right))):
            L.append(a.ljust(w) + b)
        verdict = {"forward": f"forward is cheaper (n = {n} < m = {m})",
                   "reverse": f"reverse is cheaper (m = {m} < n = {n})",
                   "equal": f"both cost the same (n = m = {n})"}[self.cheaper]
        L += ["", "cheaper: " + verdict,
              (f"both give the same J: max |J_fwd − J_rev| = "
              f"{float(np.max(np.abs(self.jacobian_forward - self.jacobian_reverse), initial=0)):.3g}")]
        return "\n".join(L)

    __str__ = table

    def __repr__(self) -> str:
        return (f"<Accumulation n={self.n} m={self.m} forward={self.forward_madds} "
                f"reverse={self.reverse_madds} cheaper={self.cheaper}>")


def accumulation(f: Callable, x: Tensor) -> Accumulation:
    """Forward vs reverse accumulation of the Jacobian of ``f`` at ``x``, side by side.

    Forward mode runs ``n = x.numel()`` passes of dual numbers (one per input direction e_j,
    giving column j of J); reverse mode runs ``m`` backward passes (one per output e_i, giving
    row i). Each pass costs Σ rows·cols of the local Jacobians on the path, so forward costs
    ``n·Σ`` and reverse ``m·Σ`` multiply-adds: reverse wins for many inputs and few outputs
    (a loss), forward for few inputs and many outputs.

    Example:
        >>> acc = chainrule.explain.accumulation(lambda x: chainrule.sin(x).sum(), x)  # x: (3,)
        >>> acc.cheaper, acc.forward_passes, acc.reverse_passes
        ('reverse', 3, 1)
    """
    from ..autograd import forward_ad as fwad
    from ..autograd import grad

    if not isinstance(x, Tensor) or x._array.dtype.kind != "f":
        raise TypeError("accumulation(f, x): x must be a floating point Tensor")
    x0 = x.detach()
    n = x0._array.size
    xr = Tensor(x0._array.copy())
    xr.requires_grad_(True)
    y = f(xr)
    if not isinstance(y, Tensor):
        raise TypeError(f"accumulation: f must return a Tensor, got {type(y).__name__}")
    m = y._array.size
    chain = _chain(y, xr)
    rows = []
    for i in range(m):
        v = np.zeros(y._array.shape, y._array.dtype)
        v.reshape(-1)[i] = 1
        if y.grad_fn is None:
            rows.append(np.zeros(n, x0._array.dtype))
            continue
        (gx,) = grad(y, xr, grad_outputs=Tensor(v), retain_graph=True, allow_unused=True)
        rows.append(np.zeros(n) if gx is None else gx._array.reshape(-1).copy())
    cols = []
    for j in range(n):
        t = np.zeros(x0._array.shape, x0._array.dtype)
        t.reshape(-1)[j] = 1
        with fwad.dual_level():
            xd = fwad.make_dual(Tensor(x0._array.copy()), Tensor(t))
            yd = f(xd)
            tan = fwad.unpack_dual(yd).tangent
        cols.append(np.zeros(m) if tan is None else tan._array.reshape(-1).copy())
    jr = np.array(rows).reshape(m, n)
    jf = np.array(cols).reshape(n, m).T
    return Accumulation(n, m, chain, jf, jr, cols, rows)


def _chain(y: Tensor, x: Tensor) -> list:
    """(node name, rows, cols) of each local Jacobian on a path from x to y, in data-flow order."""
    if y.grad_fn is None:
        return []
    order = viz._walk([y.grad_fn])
    target = x._grad_accumulator() if x._grad_accumulator is not None else None
    leads = {target}
    changed = True
    while changed:
        changed = False
        for n in order:
            if n not in leads and any(e is not None and e[0] in leads for e in n.next):
                leads.add(n)
                changed = True
    out = []
    for n in reversed(order):
        if type(n) is AccumulateGrad or n not in leads:
            continue
        outs = n.out if isinstance(n.out, tuple) else (n.out,)
        rows = sum(o.size for o in outs)
        for i, e in enumerate(n.next):
            if e is not None and e[0] in leads:
                s = n.saved[i]
                cols = s._array.size if isinstance(s, Tensor) else 1
                out.append((n.name(), rows, cols))
    return out
