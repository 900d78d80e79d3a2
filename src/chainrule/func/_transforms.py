"""The two primitives every transform is built on: a vector-Jacobian product (reverse mode, one
backward pass, batched when the cotangent is) and a Jacobian-vector product (forward mode, one
forward pass, batched when the tangent is).

Under ``vmap`` the reverse transforms work on *physical* tensors: every differentiated input is
laid out with the batch dimensions of all active vmap levels in front (an input that is not
batched is expanded), differentiated there, and the result wrapped back. Examples of a vmap
never interact, so the gradient of the physical graph holds every example's gradient.
"""

from __future__ import annotations

import numpy as np

from contextlib import contextmanager

from .. import _batching as B
from .. import _ns
from .._batching import Batched
from .._context import ctx as _ctx
from .._tensor import Tensor, _make
from ..autograd import forward_ad as fwad
from ..autograd.api import grad as _grad


@contextmanager
def transform():
    """The block is one func transform (``_ctx.transform_depth``: nested transforms build graph
    for the outer ones)."""
    _ctx.transform_depth += 1
    try:
        yield
    finally:
        _ctx.transform_depth -= 1


# ---- pytrees (tuples, lists, dicts of tensors) ---------------------------------------------------
def tree_flatten(tree) -> tuple[list, object]:
    if isinstance(tree, (tuple, list)):
        leaves, specs = [], []
        for t in tree:
            lv, sp = tree_flatten(t)
            leaves.extend(lv)
            specs.append((len(lv), sp))
        return leaves, (type(tree), specs)
    if isinstance(tree, dict):
        leaves, specs = [], []
        for k, t in tree.items():
            lv, sp = tree_flatten(t)
            leaves.extend(lv)
            specs.append((k, len(lv), sp))
        return leaves, (dict, specs)
    return [tree], None


def tree_unflatten(leaves: list, spec):
    if spec is None:
        return leaves[0]
    kind, specs = spec
    if kind is dict:
        out, i = {}, 0
        for k, n, sp in specs:
            out[k] = tree_unflatten(leaves[i:i + n], sp)
            i += n
        return out
    out, i = [], 0
    for n, sp in specs:
        out.append(tree_unflatten(leaves[i:i + n], sp))
        i += n
    if kind is tuple or kind is list:
        return kind(out)
    return kind(*out)  # namedtuple


def _check_tensors(leaves, what: str) -> None:
    for x in leaves:
        if not isinstance(x, Tensor):
            raise ValueError(
                f"{what}: Expected all elements to be Tensors, but got {type(x).__name__}"
            )


def _want_graph(create) -> bool:
    """Whether a transform's backward must build graph: asked for, or an outer transform or a
    forward-AD level will differentiate its result."""
    if create is not None:
        return bool(create)
    return _ctx.enabled and (_ctx.transform_depth > 1 or _ctx.fw_visible > 0)


# ---- reverse mode ------------------------------------------------------------------------------
def _leaf(x: Tensor, levels: list) -> tuple[Tensor, Tensor]:
    """(what the function sees, what we differentiate with respect to) for input ``x``."""
    p = B.to_physical(x, levels) if levels else x
    if isinstance(p, Batched):  # levels of a closed vmap cannot occur here
        raise RuntimeError("internal: physical tensor is batched")
    if p._requires_grad:  # keep the graph to p: an outer transform differentiates through us
        a = _ns.view(p, tuple(p.shape))
    else:
        a = _make(p._array)
        a._requires_grad = True
        fw = fwad._fw(p)
        if fw:  # forward over reverse: the leaf keeps its tangents
            a._extra()["fw"] = dict(fw)
    return (B.wrap(a, levels) if levels else a), a


class VJP:
    """The state of one ``vjp``: the physical outputs and the inputs to differentiate."""

    def __init__(self, f, primals: tuple, create, has_aux: bool = False) -> None:
        self.levels = sorted(_ctx.vmapped)
        self.create = create
        self.created = False
        self.aux = None
        flat, self.in_spec = tree_flatten(primals)
        _check_tensors(flat, "vjp(f, *primals)")
        seen, self.targets = [], []
        for x in flat:
            s, a = _leaf(x, self.levels)
            seen.append(s)
            self.targets.append(a)
        out = f(*tree_unflatten(seen, self.in_spec))
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError(
                    "vjp(f, *primals): output of function f should be a tuple: (output, aux) "
                    "if has_aux is True"
                )
            out, self.aux = out
        self.out = out
        self.out_flat, self.out_spec = tree_flatten(out)
        _check_tensors(self.out_flat, "vjp(f, *primals)")
        self.phys = [B.to_physical(o, self.levels) if self.levels else o for o in self.out_flat]

    def any_graph_outside(self) -> bool:
        """Whether an input was itself differentiable (regular autograd outside the transform)."""
        return any(a.grad_fn is not None for a in self.targets)

    def __call__(self, cotangents, retain_graph: bool = True):
        """Gradients for a cotangent per output (each may be batched at new levels)."""
        cts = cotangents
        if len(cts) != len(self.phys):
            raise RuntimeError(
                f"Expected pytree structure of cotangents to be the same as pytree structure of "
                f"outputs to the function: {len(cts)} cotangents for {len(self.phys)} outputs"
            )
        V = self.levels
        new: list = []
        for c in cts:
            for lv in B.levels_of(c):
                if lv not in V and lv not in new:
                    new.append(lv)
        new.sort()
        allv = sorted(V + new)
        roots, gs = [], []
        for o, c in zip(self.phys, cts):
            if not isinstance(c, Tensor):
                raise ValueError("vjp: cotangents must be Tensors")
            if not o._requires_grad:
                continue
            g = _to_root(c, V, new, allv)
            roots.append(o)
            gs.append(g)
        create = _want_graph(self.create) or self.any_graph_outside()
        self.created = create
        if not roots:
            res = [None] * len(self.targets)
        else:
            batched = bool(new)
            if batched and not create:
                _ctx.batch_no_record += 1
            try:
                res = _grad(roots, self.targets, gs, retain_graph=retain_graph,
                            create_graph=create or batched, allow_unused=True)
            except B.BatchedDataError as e:
                if e.level != new[-1]:
                    raise
                return self._loop(cotangents, new[-1])
            finally:
                if batched and not create:
                    _ctx.batch_no_record -= 1
        out = []
        for r, a in zip(res, self.targets):
            if r is None:
                r = _ns.expand(_zeros(a), tuple(a.shape))
                r = B.wrap(r, V)
            else:
                r = _from_root(r, V, new, allv)
            out.append(r)
        return out


    def _loop(self, cotangents, lvl: int) -> list:
        """A backward rule read the cotangent's values: one backward pass per row of ``lvl``."""
        B.warn_loop("a backward rule reads the values of its gradient")
        rows = []
        for b in range(_ctx.batch_sizes[lvl]):
            cts = [_apply_index(c, b) if isinstance(c, Batched) and c.level == lvl else c
                   for c in cotangents]
            rows.append(self(cts))
        return [Batched(_ns.stack([r[i] for r in rows], 0), lvl)
                for i in range(len(self.targets))]


def _apply_index(c: Batched, b: int) -> Tensor:
    from .. import _ns

    return _ns.getitem(c.value, b)


def _zeros(a: Tensor) -> Tensor:
    from .._creation import zeros_like

    return zeros_like(a)


def _to_root(c: Tensor, V: list, new: list, allv: list) -> Tensor:
    """Cotangent of logical shape S → tensor batched at ``new`` with logical shape (V…, S)."""
    if not new:
        return B.to_physical(c, V) if V else c
    p = B.to_physical(c, allv)
    # p dims: allv ascending, then S; bring the new levels' dims first
    pos_new = [allv.index(lv) for lv in new]
    pos_v = [allv.index(lv) for lv in V]
    perm = tuple(pos_new + pos_v + list(range(len(allv), p.ndim)))
    if perm != tuple(range(p.ndim)):
        p = _ns.permute(p, perm)
    return B.wrap(p, new)


def _from_root(r: Tensor, V: list, new: list, allv: list) -> Tensor:
    if not new:
        return B.wrap(r, V) if V else r
    p = B.to_physical(r, new)  # dims: new…, V…, logical
    k, nv = len(new), len(V)
    # target order: allv ascending
    src_order = new + V
    perm = tuple(src_order.index(lv) for lv in allv) + tuple(range(k + nv, p.ndim))
    if perm != tuple(range(p.ndim)):
        p = _ns.permute(p, perm)
    return B.wrap(p, allv)


def strip_level(t: Tensor, level: int):
    """The value of ``t`` at its outermost level ``level`` (None when ``t`` is not batched there)."""
    if isinstance(t, Batched) and t.level == level:
        return t.value
    return None


# ---- forward mode ------------------------------------------------------------------------------
def jvp_core(f, primals: tuple, tangents: tuple, has_aux: bool = False):
    """(outputs, output tangents[, aux]) by one forward pass with dual tensors."""
    flat_p, spec = tree_flatten(primals)
    flat_t, _ = tree_flatten(tangents)
    _check_tensors(flat_p, "jvp(f, primals, tangents)")
    _check_tensors(flat_t, "jvp(f, primals, tangents)")
    if len(flat_p) != len(flat_t):
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals and tangents to have the same python "
            f"structure, got {len(flat_p)} primals and {len(flat_t)} tangents"
        )
    with fwad.dual_level() as lvl:
        duals = []
        for p, t in zip(flat_p, flat_t):
            if tuple(p.shape) != tuple(t.shape):
                raise RuntimeError(
                    "jvp(f, primals, tangents): Expected primals and tangents to have the same "
                    f"shape, got primal shape {list(p.shape)} and tangent shape {list(t.shape)}"
                )
            duals.append(fwad.make_dual(p, t, level=lvl))
        out = f(*tree_unflatten(duals, spec))
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError(
                    "jvp(f, primals, tangents): output of function f should be a tuple: "
                    "(output, aux) if has_aux is True"
                )
            out, aux = out
        flat_o, ospec = tree_flatten(out)
        _check_tensors(flat_o, "jvp(f, primals, tangents)")
        po, to = [], []
        for o in flat_o:
            pr, tg = fwad.unpack_dual(o, level=lvl)
            po.append(pr)
            to.append(tg)
    to = [_zeros(p) if t is None else t for p, t in zip(po, to)]
    return tree_unflatten(po, ospec), tree_unflatten(to, ospec), aux


def basis(shapes: list, dtype, level: int, rows: tuple | None = None):
    """One Batched tangent per shape: together the rows of the identity (n = Σ numel), or only
    rows ``rows = (start, stop)`` of it (the batch of ``level`` then has stop − start)."""
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    n = sum(sizes)
    a, b = rows if rows is not None else (0, n)
    eye = np.eye(n, dtype=dtype)[a:b]
    out, off = [], 0
    for s, k in zip(shapes, sizes):
        part = np.ascontiguousarray(eye[:, off:off + k]).reshape((b - a,) + tuple(s))
        out.append(Batched(_make(part), level))
        off += k
    return out, sizes
