"""Batching: a ``Batched`` tensor hides one leading batch dimension, and every op on it runs once
on the whole batch (NumPy broadcasting over the batch axis) by a batching rule keyed by the op.

This single layer serves ``vmap``, batched backward passes (``autograd.grad(...,
is_grads_batched=True)``, ``jacrev``, ``jacobian(vectorize=True)``: the cotangent is a Batched
tensor and the rules run on it) and batched forward mode (``jacfwd``: the tangent is Batched).

A ``Batched(value, level)`` has the *logical* shape ``value.shape[1:]``; dim 0 of ``value`` is the
batch dimension of ``level``. Levels nest: the value of a Batched tensor may itself be Batched at a
lower (outer) level, never a higher one. While a level is open the batching mode is on the mode
stack and sends an op with a Batched input here (``batched_apply``); the rule unwraps the inputs of
the highest level, calls the op on the values (which recurses into outer levels) and wraps the
result. Graph and tangents of the values are kept, so transforms outside the batching see ordinary
ops.

Rules: a rule registered for the op (``register``, once per op, in the file named after the op's
family), else a generic kind: elementwise ops broadcast after the batched inputs are padded to a
common logical rank, one-input ops along ``dim`` shift it by one. An op with no rule runs in a
Python loop over the batch (exact, slow) and warns once, naming the op; the ops that still do are
listed in ``STILL_LOOPING`` with the reason (the tests fail on a loop of any other op).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from .. import _context, _dispatch, _ns
from .._context import ctx as _ctx
from .._tensor import Tensor

# The open levels (level -> batch size) are ``_ctx.batch_sizes``, per thread; the levels opened
# by vmap ``_ctx.vmapped``; ``_ctx.batch_no_record`` is set while a batched backward pass runs
# without create_graph (the ops on values record no graph).

#: op name -> batching rule ``rule(op, tensors, kw, level)`` (None from a rule: loop this call)
RULES: dict = {}

#: ops that run per example under vmap, and why; every other op has a rule or a generic kind
STILL_LOOPING: dict = {
    "masked_select": "its output's shape depends on the mask's values",
    "nonzero": "its output's shape depends on the values",
    "unique": "its output's shape depends on the values (how many distinct ones each example has)",
    "masked_scatter": "how many source elements each example takes depends on its mask",
    "index_put": "no rule yet for per-example indices and values (setitem with a tensor index)",
    "copy_slices": "no rule yet: the backward of an in-place write into a view",
    "fill": "reached only through fill_/zero_, which vmap runs per example (in place)",
    "copy": "reached only through copy_, which vmap runs per example (in place)",
    "index": "a boolean mask index (data-dependent shape); integer indices have a rule",
    "embedding": "padding_idx with a batched weight: the padding row's gradient mask is not "
                 "carried by the folded table (otherwise the rule applies)",
}


def register(rule, *names: str) -> None:
    """Make ``rule`` the batching rule of the ops ``names``; a second rule for an op is an error."""
    for name in names:
        if name in RULES:
            raise ValueError(f"batching rule for op {name!r} registered twice "
                             f"({RULES[name].__name__} and {rule.__name__})")
        RULES[name] = rule


def register_call(name: str, rule) -> None:
    """Let ``rule(*args)`` take the public function ``name`` over as a whole while a batching
    level is open (None from the rule: the function runs op by op)."""
    calls = _context.proc.batch_calls
    if name in calls:
        raise ValueError(f"batched call rule for {name!r} registered twice")
    calls[name] = rule


_ids = itertools.count(1)


_warned: set = set()


class BatchedDataError(RuntimeError):
    """Code read the array of a batched tensor; ``vmap`` then runs the function per example."""

    def __init__(self, msg: str, level: int) -> None:
        super().__init__(msg)
        self.level = level


class _Meta:
    """What ``Batched._array`` gives: the logical shape and dtype (the values are per example)."""

    __slots__ = ("dtype", "level", "shape")

    def __init__(self, shape: tuple, dtype, level: int) -> None:
        self.shape = shape
        self.dtype = dtype
        self.level = level

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __getattr__(self, name):
        raise BatchedDataError(
            f"vmap: the data of a batched tensor (logical shape {list(self.shape)}) is not "
            f"available inside a batched function (tried to read its values: .{name}); "
            "use tensor ops",
            self.level,
        )

    def _refuse(self, *a, **k):
        self.__getattr__("<value>")

    __array__ = __lt__ = __le__ = __gt__ = __ge__ = __add__ = __radd__ = __sub__ = __rsub__ = \
        __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __neg__ = __abs__ = __bool__ = \
        __float__ = __int__ = __getitem__ = __iter__ = __len__ = _refuse


class Batched(Tensor):
    """A tensor with a hidden leading batch dimension (of ``level``): one value per example."""

    __slots__ = ("level", "value")

    def __init__(self, value: Tensor, level: int) -> None:
        self.value = value
        self.level = level
        self._requires_grad = False
        self._grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._version_counter = None
        self._grad_accumulator = None
        self._extra_state = None

    @property
    def _array(self) -> _Meta:  # type: ignore[override]
        v = self.value._array
        return _Meta(v.shape[1:], v.dtype, self.level)

    def __repr__(self) -> str:
        return f"BatchedTensor(lvl={self.level}, bdim=0, value={self.value!r})"

    def detach(self) -> Batched:
        return Batched(self.value.detach(), self.level)

    def item(self):
        raise RuntimeError(
            "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over "
            "calling .item() on a Tensor, please try to rewrite what you're doing with other "
            "operations."
        )

    def numpy(self, *a, **k):
        raise RuntimeError("vmap: cannot convert a batched tensor to NumPy inside vmap")

    def tolist(self):
        raise RuntimeError("vmap: cannot convert a batched tensor to a list inside vmap")

    def __bool__(self) -> bool:
        raise RuntimeError(
            "vmap: It looks like you're attempting to use a Tensor in some data-dependent control "
            "flow. We don't support that yet, please shout over at the issue tracker."
        )


class _Batching(_context.Mode):
    """The mode of batching, on the stack while this thread has an open level: an op with a
    Batched input runs once on the whole batch (``batched_apply``)."""

    def process(self, op, tensors, kw):
        return batched_apply(op, tensors, kw)


_BATCHING = _Batching()


def new_level(size: int, vmapped: bool = False) -> int:
    lvl = next(_ids)
    sizes = _ctx.batch_sizes
    if not sizes:
        _context.push(_BATCHING)
    sizes[lvl] = size
    if vmapped:
        _ctx.vmapped = _ctx.vmapped | {lvl}
    return lvl


def close_level(lvl: int) -> None:
    sizes = _ctx.batch_sizes
    sizes.pop(lvl, None)
    _ctx.vmapped = _ctx.vmapped - {lvl}
    if not sizes:
        _context.remove(_BATCHING)


def levels_of(t) -> list:
    """The levels ``t`` is batched at, outermost (lowest) first."""
    out = []
    while isinstance(t, Batched):
        out.append(t.level)
        t = t.value
    return out[::-1]


def to_physical(t: Tensor, levels: list) -> Tensor:
    """A plain tensor whose leading dims are the batch dims of ``levels`` (ascending, every one
    present: missing ones are expanded), followed by ``t``'s logical dims."""
    levels = sorted(levels)
    have = levels_of(t)
    extra = [lv for lv in have if lv not in levels]
    if extra:
        raise RuntimeError(f"to_physical: tensor is batched at levels {extra} not asked for")
    p = t
    while isinstance(p, Batched):
        p = p.value
    # p's dims: have (ascending) then logical; insert the missing levels
    if len(have) == len(levels):
        return p
    shape = tuple(p.shape)
    pos = {lv: i for i, lv in enumerate(have)}
    logical = shape[len(have):]
    ones = tuple(shape[pos[lv]] if lv in pos else 1 for lv in levels)
    p = _ns.reshape(p, ones + logical)
    return _ns.expand(p, tuple(_ctx.batch_sizes[lv] for lv in levels) + logical)


def wrap(p: Tensor, levels: list) -> Tensor:
    """Inverse of ``to_physical``: leading dims of ``p`` become the batch dims of ``levels``."""
    for lv in sorted(levels):
        p = Batched(p, lv)
    return p


def movedim(t: Tensor, src: int, dst: int) -> Tensor:
    nd = t.ndim
    src, dst = src % nd, dst % nd
    if src == dst:
        return t
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return _ns.permute(t, tuple(perm))


def lift(t: Tensor, level: int) -> Tensor:
    """``t`` (logical shape S) as a tensor of logical shape (B, *S) where B is the batch dim of
    ``level``, still batched at the other levels of ``t`` (``t`` is expanded if not batched)."""
    if isinstance(t, Batched) and t.level == level:
        return t.value
    if isinstance(t, Batched) and t.level > level:
        return Batched(movedim(lift(t.value, level), 0, 1), t.level)
    return _ns.expand(_ns.unsqueeze(t, 0), (_ctx.batch_sizes[level],) + tuple(t.shape))


def lower(t: Tensor, level: int) -> Tensor:
    """Inverse of ``lift``: logical dim 0 of ``t`` becomes the batch dim of ``level``."""
    if isinstance(t, Batched) and t.level > level:
        return Batched(lower(movedim(t.value, 1, 0), level), t.level)
    return Batched(t, level)


def batched_apply(op, tensors, kw):
    level = 0
    for a in tensors:
        if type(a) is Batched and a.level > level:
            level = a.level
    if not level:
        return NotImplemented
    if level not in _ctx.batch_sizes:
        raise RuntimeError(
            f"{op.name}(): a batched tensor escaped the vmap/jacobian that created it "
            f"(level {level} is closed); return it from the transformed function instead of "
            "storing it"
        )
    prev = _ctx.enabled
    if _ctx.batch_no_record:
        _ctx.enabled = False
    try:
        rule = RULES.get(op.name)
        if rule is None and op.name not in STILL_LOOPING:
            rule = _by_kind(op)
        outs = rule(op, tensors, kw, level) if rule is not None else None
        if outs is None:
            outs = _loop(op, tensors, kw, level)
    finally:
        _ctx.enabled = prev
    # graph and tangents live on the values (the ops above recorded and propagated them)
    if op.nout == 1:
        return Batched(outs, level)
    return tuple(Batched(o, level) for o in outs)


def _split(tensors, level):
    """(values, logical ndims, batched flags) of the op's tensor inputs at ``level``."""
    vals, nds, bs = [], [], []
    for a in tensors:
        if type(a) is Batched and a.level == level:
            vals.append(a.value)
            nds.append(a.ndim)
            bs.append(True)
        else:
            vals.append(a)
            nds.append(a.ndim if isinstance(a, Tensor) else np.ndim(a) if a is not None else 0)
            bs.append(False)
    return vals, nds, bs


def _pad(v: Tensor, nd: int, to: int) -> Tensor:
    if nd >= to:
        return v
    return _ns.reshape(v, (v.shape[0],) + (1,) * (to - nd) + tuple(v.shape[1:]))


def _call(op, args, kw):
    return _dispatch.apply(op, args, **kw) if op.nin < 0 else _dispatch.apply(op, *args, **kw)


def _wrap_dim(d, nd: int) -> int:
    n = max(nd, 1)
    if not -n <= d < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})"
        )
    return d % n


def _expand_to_batch(v, b: bool, level: int):
    if b:
        return v
    shape = tuple(v.shape)
    return _ns.expand(_ns.unsqueeze(v, 0), (_ctx.batch_sizes[level],) + shape)


def _batch_both(tensors, level, nin):
    """The first ``nin`` inputs (tensor or Python scalar) with the batch dim present on tensors."""
    vals, nds, bs = _split(tensors, level)
    out = []
    for v, b in zip(vals[:nin], bs[:nin]):
        out.append(_expand_to_batch(v, b, level) if isinstance(v, Tensor) else v)
    return out, nds, bs


def warn_loop(why: str) -> None:
    if why not in _warned:
        _warned.add(why)
        warnings.warn(
            f"batched pass: {why}, so it runs as a Python loop over the batch (exact but slow)",
            UserWarning, stacklevel=4,
        )


def _loop(op, tensors, kw, level):
    """Fallback: run the op once per example and stack (exact for every op; slow)."""
    if op.name not in _warned:
        _warned.add(op.name)
        why = STILL_LOOPING.get(op.name)
        warnings.warn(
            f"vmap: there is no batching rule for op {op.name!r} "
            + (f"({why})" if why else "(and it is not listed in STILL_LOOPING)")
            + ", so it runs as a Python loop over the batch (exact but slow)",
            UserWarning,
            stacklevel=4,
        )
    vals, _, bs = _split(tensors, level)
    kwb = dict(kw)
    batched_kw = {k: v for k, v in kw.items() if type(v) is Batched and v.level == level}
    outs = []
    for i in range(_ctx.batch_sizes[level]):
        args = [_ns.getitem(v, i) if b else v for v, b in zip(vals, bs)]
        for k, v in batched_kw.items():
            kwb[k] = _ns.getitem(v.value, i)
        outs.append(_call(op, args, kwb))
    if op.nout == 1:
        return _ns.stack(outs, 0)
    return tuple(_ns.stack([o[j] for o in outs], 0) for j in range(len(outs[0])))


def _elementwise(op, tensors, kw, level):
    vals, nds, bs = _split(tensors, level)
    to = max(nds)
    args = [_pad(v, d, to) if b else v for v, d, b in zip(vals, nds, bs)]
    return _call(op, args, kw)


def _unary(op, tensors, kw, level):
    """Ops whose only tensor input is batched and whose parameters don't name dims."""
    if len(tensors) != 1:
        return _elementwise(op, tensors, kw, level)
    return _call(op, [tensors[0].value], kw)


def _shift_dims(op, tensors, kw, level, names=("dim",), out_extra=0):
    """One batched input; parameters ``names`` are dims (ints or tuples) of the logical input
    (of the output when ``out_extra``: ops that add dims): shift them by one."""
    if len(tensors) != 1 or type(tensors[0]) is not Batched:
        return None
    (x,) = tensors
    nd = x.ndim + out_extra
    if x.ndim == 0:
        return None
    kw = dict(kw)
    for n in names:
        d = kw.get(n)
        if d is None:
            return None
        if isinstance(d, (int, np.integer)):
            kw[n] = _wrap_dim(int(d), nd) + 1
        else:
            kw[n] = tuple(_wrap_dim(int(e), nd) + 1 for e in d)
    return _call(op, [x.value], kw)


def _dim_shift(op, tensors, kw, level):
    """One tensor input, acting along ``dim`` (other dims independent): shift ``dim`` by one."""
    if len(tensors) != 1 or type(tensors[0]) is not Batched:
        return None
    (x,) = tensors
    d = kw.get("dim", _DEFAULT)
    if any(isinstance(v, (Tensor, np.ndarray, list)) for v in kw.values()):
        return None  # an index-like parameter would need the batch dim too (gather, scatter…)
    if d is _DEFAULT or d is None or not isinstance(d, (int, np.integer)) or x.ndim == 0:
        return None
    kw = dict(kw)
    kw["dim"] = _wrap_dim(int(d), x.ndim) + 1
    return _call(op, [x.value], kw)


_DEFAULT = object()


_SHAPE_PARAMS = ("shape", "dims", "size", "dim0", "dim1", "start_dim", "end_dim", "sizes")


#: elementwise ops with no backward rule (so not marked ELEMENTWISE in the table)
ELEMENTWISE_NAMES = {
    "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and", "logical_or", "logical_xor",
    "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "isnan", "isinf", "isfinite",
    "isposinf", "isneginf", "signbit", "floor_divide", "isclose", "bitwise_left_shift",
    "bitwise_right_shift",
}


def _by_kind(op):
    if op.name in ELEMENTWISE_NAMES:
        return _elementwise
    if op.name in STILL_LOOPING or op.name.endswith("_"):
        return None
    if any(p in _SHAPE_PARAMS for p in op.params):
        return None
    if op.vjp is not None and op.jvp is op.vjp and op.nin >= 0 and "dim" not in op.params:
        return _elementwise
    if op.nin == 1 and "dim" in op.params:
        return _dim_shift
    return None
