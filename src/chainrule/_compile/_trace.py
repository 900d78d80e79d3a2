"""The tracer: a mode on the funnel's stack that records one eager call as a flat list of rows.

Each slot is one array of the region: an input, an external tensor read by reference (module
parameters, closure constants), a constant (factory results), an alias (``detach``) or an op's
output. A row is one rule-table op: its argument slots (or inline Python scalars), the casts the
dispatcher's dtype promotion applied, its parameters and its output slots. Anything the replay
could not reproduce exactly is a *graph break* (``Trace.breaks``): the call still ran eagerly, and
the guard entry will run eagerly from then on.
"""

from __future__ import annotations

import numpy as np

from .. import _context, _dispatch
from .._context import Mode
from .._tensor import Tensor
from ..autograd.grad_mode import _site, _state

_SCALARS = (int, float, bool, type(None), complex)
_RANDOM = {"rand", "randn", "randint", "randperm"}


class GraphBreak(RuntimeError):
    """Raised under ``fullgraph=True`` where the region cannot be captured as one graph."""


class Row:
    __slots__ = ("op", "args", "casts", "kw", "outs", "site", "grad")

    def __init__(self, op, args, casts, kw, outs, site, grad):
        self.op = op
        self.args = args  # per tensor argument: ("s", slot) or ("c", python value)
        self.casts = casts  # {position: numpy dtype} applied by the dispatcher's promotion
        self.kw = kw
        self.outs = outs  # output slots
        self.site = site  # the user's file:line
        self.grad = grad  # whether eager recorded a graph node for it


class SlotRef:
    """A tensor parameter of a row (an index tensor passed by keyword): the slot it reads."""

    __slots__ = ("slot",)

    def __init__(self, slot: int) -> None:
        self.slot = slot


class SlotSeq:
    """A tuple/list parameter holding tensors (``SlotRef``) and plain values."""

    __slots__ = ("type", "items")

    def __init__(self, type_, items) -> None:
        self.type, self.items = type_, items


def kw_slots(kw: dict) -> list:
    out = []
    for v in kw.values():
        if type(v) is SlotRef:
            out.append(v.slot)
        elif type(v) is SlotSeq:
            out.extend(e.slot for e in v.items if type(e) is SlotRef)
    return out


class _RngSpy:
    """Stands for the default generator's NumPy rng while tracing: any draw is a graph break."""

    def __init__(self, real, tracer):
        self._real, self._tracer = real, tracer

    def __getattr__(self, name):
        self._tracer.brk(f"random draw (default generator .{name})")
        return getattr(self._real, name)


class Tracer(Mode):
    def __init__(self, name: str, fullgraph: bool, candidates) -> None:
        self.name = name
        self.fullgraph = fullgraph
        self._candidates_fn = candidates
        self._candidates = None
        self.slot_of: dict = {}  # id(tensor) -> slot
        self.tensors: list = []  # per slot: the tensor seen (kept alive: ids stay unique)
        self.meta: list = []  # per slot: (shape, dtype)
        self.rg: list = []  # per slot: requires_grad
        self.kind: list = []  # per slot: ("in", k) | ("ext", guard) | ("const",) | ("alias", s)
        # | ("op", row, j)
        self.versions: list = []
        self.hooks: list = []
        self.root: list = []  # per slot: the slot whose memory it views (itself if none)
        self.consts: dict = {}  # slot -> array
        self.rows: list = []
        self.breaks: list = []  # (what, site)
        self._pending = None

    # ---- slots ----------------------------------------------------------------------------
    def _slot(self, t: Tensor, kind, root=None) -> int:
        s = len(self.tensors)
        self.slot_of[id(t)] = s
        self.tensors.append(t)
        self.meta.append((t._array.shape, t._array.dtype))
        self.rg.append(t._requires_grad)
        self.kind.append(kind)
        self.versions.append(t._version)
        x = t._extra_state
        self.hooks.append(_hook_count(x))
        self.root.append(s if root is None else root)
        return s

    def add_input(self, t: Tensor, k: int) -> int:
        return self._slot(t, ("in", k))

    def candidates(self) -> dict:
        if self._candidates is None:
            self._candidates = self._candidates_fn()
        return self._candidates

    def brk(self, what: str) -> None:
        site = _site()
        if self.fullgraph:
            raise GraphBreak(f"chainrule.compile(fullgraph=True): graph break in {self.name} at "
                             f"{site}: {what}")
        self.breaks.append((what, site))

    def _lookup(self, t: Tensor, op) -> int | None:
        s = self.slot_of.get(id(t))
        if s is not None:
            return s
        # detach(): a new tensor on the same memory and version counter, outside autograd
        vc = t._version_counter
        if vc is not None and not t._requires_grad:
            for k, u in enumerate(self.tensors):
                if u._version_counter is vc and u._array is t._array:
                    return self._slot(t, ("alias", k), self.root[k])
        cand = self.candidates().get(id(t))
        if cand is not None and cand[-1] is t:
            return self._slot(t, ("ext", cand))
        arr = t._array
        shared = any(u._array is arr or (arr.base is not None and arr.base is u._array)
                     for u in self.tensors)
        self.brk(f"{op.name}() reads a tensor{list(arr.shape)} made outside the traced ops ("
                 + ("an alias made by an in-place op" if shared else
                    "a constant made from values, a tensor constructor, or a global the tracer "
                    "cannot see") + ")")
        return None

    # ---- events ---------------------------------------------------------------------------
    def process(self, op, tensors, kw):
        self._pending = None
        if self.breaks:
            return NotImplemented
        if _context.ctx.modes[-1] is not self or getattr(_dispatch, "FW_LEVELS", (0,))[0] or \
                getattr(_dispatch, "VMAP", (0,))[0]:
            self.brk(f"{op.name}() runs under another transform (vmap / forward-mode AD)")
            return NotImplemented
        args = []
        arrays = []
        for a in tensors:
            if isinstance(a, Tensor):
                s = self._lookup(a, op)
                if s is None:
                    return NotImplemented
                args.append(("s", s))
                arrays.append(a._array)
            elif isinstance(a, _SCALARS):
                args.append(("c", a))
                arrays.append(a)
            else:
                try:
                    arr = np.array(_dispatch._as_input(a, op))
                except TypeError:
                    return NotImplemented  # eager raises
                args.append(("k", arr))
                arrays.append(arr)
        kw = dict(kw)
        for k, v in kw.items():
            if isinstance(v, Tensor):
                s = self._lookup(v, op)
                if s is None:
                    return NotImplemented
                kw[k] = SlotRef(s)
            elif isinstance(v, (list, tuple)) and any(isinstance(e, Tensor) for e in v):
                items = []
                for e in v:
                    if isinstance(e, Tensor):
                        s = self._lookup(e, op)
                        if s is None:
                            return NotImplemented
                        e = SlotRef(s)
                    items.append(e)
                kw[k] = SlotSeq(type(v), items)
        casts = {}
        if op.policy != "keep":
            try:
                prom = _dispatch._promote(list(arrays), op.policy, op)
            except Exception:
                return NotImplemented
            for i, (a, p) in enumerate(zip(arrays, prom)):
                if p is not a:
                    if args[i][0] == "s":
                        casts[i] = p.dtype
                    else:
                        args[i] = ("k", np.array(p))
        self._pending = (op, tensors, args, casts, kw)
        return NotImplemented

    def after(self, op, tensors, kw, outs):
        p = self._pending
        self._pending = None
        if p is None or p[0] is not op or p[1] is not tensors or self.breaks:
            return
        _, _, args, casts, kw = p
        r = len(self.rows)
        root = None
        if op.view and args and args[0][0] == "s":
            root = self.root[args[0][1]]
        out_slots = tuple(self._slot(o, ("op", r, j), root) for j, o in enumerate(outs))
        grad = any(o._requires_grad for o in outs)
        self.rows.append(Row(op, tuple(args), casts, kw, out_slots, _site(), grad))

    def on_escape(self, tensor, how):
        self.brk(f"Tensor.{how}() hands a tensor's values to Python (data-dependent)")

    def on_create(self, tensor, how):
        if how in _RANDOM:
            self.brk(f"random factory {how}()")
        elif tensor._requires_grad:
            self.brk(f"{how}(requires_grad=True) makes a new leaf on every call")
        elif how in ("from_numpy", "as_tensor"):
            self.brk(f"{how}() shares memory with a NumPy array the tracer cannot guard")
        elif not self.breaks:
            s = self._slot(tensor, ("const",))
            self.consts[s] = tensor._array

    # ---- the end of the call ----------------------------------------------------------------
    def finish(self, result_tensors, grad_mode: bool) -> None:
        """Checks that need the whole call: in-place changes, hooks, requires_grad toggles."""
        if self.breaks:
            return
        if _state.enabled != grad_mode:
            self.brk("grad mode changed inside the region and was not restored")
        for s, t in enumerate(self.tensors):
            if t._version != self.versions[s]:
                self.brk(f"in-place modification of a tensor{list(t._array.shape)} "
                         f"(version {self.versions[s]} -> {t._version})")
                return
            if t._requires_grad != self.rg[s]:
                self.brk(f"requires_grad of a tensor{list(t._array.shape)} changed in the region")
                return
            if _hook_count(t._extra_state) != self.hooks[s]:
                self.brk("a hook or retain_grad registered inside the region")
                return
            fn = t.grad_fn
            if self.kind[s][0] == "op" and fn is not None and fn.x is not None and any(
                    k in fn.x for k in ("tensor_hooks", "retain", "pre", "post")):
                self.brk(f"a hook or retain_grad on an intermediate ({fn.name()}) in the region")
                return
        for t in result_tensors:
            if id(t) not in self.slot_of:
                self.brk(f"returns a tensor{list(t._array.shape)} made outside the traced ops")
                return
        for s in self.consts:  # a private copy: a returned constant may be changed by the user
            self.consts[s] = self.consts[s].copy()


def _hook_count(x) -> int:
    if not x:
        return 0
    return len(x.get("hooks") or ()) + len(x.get("post_hooks") or ()) + bool(x.get("retains_grad"))


def backward_observer(tracer: Tracer):
    def obs(node, gs, outs):
        tracer.brk("backward() / autograd.grad runs inside the region")

    return obs


def spy_rng(tracer: Tracer):
    """Swap the default generator's rng for a spy; returns the function that restores it."""
    from .._creation import default_generator as gen

    real = gen.rng
    spy = _RngSpy(real, tracer)
    gen.rng = spy

    def restore():
        if gen.rng is spy:
            gen.rng = real

    return restore
