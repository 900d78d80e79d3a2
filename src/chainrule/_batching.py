"""Batching: a ``Batched`` tensor hides one leading batch dimension, and every op on it runs once
on the whole batch (NumPy broadcasting over the batch axis) by a batching rule keyed by the op.

This single layer serves ``vmap``, batched backward passes (``autograd.grad(...,
is_grads_batched=True)``, ``jacrev``, ``jacobian(vectorize=True)``: the cotangent is a Batched
tensor and the rules run on it) and batched forward mode (``jacfwd``: the tangent is Batched).

A ``Batched(value, level)`` has the *logical* shape ``value.shape[1:]``; dim 0 of ``value`` is the
batch dimension of ``level``. Levels nest: the value of a Batched tensor may itself be Batched at a
lower (outer) level, never a higher one. The dispatcher sends an op with a Batched input here
(``batched_apply``); the rule unwraps the inputs of the highest level, calls the op on the values
(which recurses into outer levels) and wraps the result. Graph and tangents of the values are
kept, so transforms outside the batching see ordinary ops.

Rules (``RULES[name]`` or by kind): elementwise ops broadcast after the batched inputs are padded
to a common logical rank; ops with ``dim``/``shape`` parameters shift them by one; matmul lifts
vectors to matrices. An op with no rule runs in a Python loop over the batch (exact, slow) and
warns once, naming the op.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from . import _context, _dispatch, _ns
from ._context import ctx as _ctx
from ._tensor import Tensor
from .ops._table import TABLE
from .ops.linalg import _LETTERS, _parse
from .ops.loss import cross_entropy as _cross_entropy

# The open levels (level -> batch size) are ``_ctx.batch_sizes``, per thread; the levels opened
# by vmap ``_ctx.vmapped``; ``_ctx.batch_no_record`` is set while a batched backward pass runs
# without create_graph (the ops on values record no graph).
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
            f"available inside a batched function (tried to read its values: .{name}); use tensor ops",
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


# ---- levels ----------------------------------------------------------------------------------
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


def _apply(name, *args, **kw):
    return _dispatch.apply(TABLE[name], *args, **kw)


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
    p = _apply("reshape", p, ones + logical)
    return _apply("expand", p, tuple(_ctx.batch_sizes[lv] for lv in levels) + logical)


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
    return _apply("permute", t, tuple(perm))


def lift(t: Tensor, level: int) -> Tensor:
    """``t`` (logical shape S) as a tensor of logical shape (B, *S) where B is the batch dim of
    ``level``, still batched at the other levels of ``t`` (``t`` is expanded if not batched)."""
    if isinstance(t, Batched) and t.level == level:
        return t.value
    if isinstance(t, Batched) and t.level > level:
        return Batched(movedim(lift(t.value, level), 0, 1), t.level)
    return _apply("expand", _apply("unsqueeze", t, 0), (_ctx.batch_sizes[level],) + tuple(t.shape))


def lower(t: Tensor, level: int) -> Tensor:
    """Inverse of ``lift``: logical dim 0 of ``t`` becomes the batch dim of ``level``."""
    if isinstance(t, Batched) and t.level > level:
        return Batched(lower(movedim(t.value, 1, 0), level), t.level)
    return Batched(t, level)


# ---- the dispatcher's entry --------------------------------------------------------------------
def batched_apply(op, tensors, kw):
    level = 0
    for a in tensors:
        if type(a) is Batched and a.level > level:
            level = a.level
    if not level:
        return NotImplemented
    if level not in _ctx.batch_sizes:
        raise RuntimeError(
            f"{op.name}(): a batched tensor escaped the vmap/jacobian that created it (level {level} "
            "is closed); return it from the transformed function instead of storing it"
        )
    prev = _ctx.enabled
    if _ctx.batch_no_record:
        _ctx.enabled = False
    try:
        rule = None if op.name in NO_RULE else RULES.get(op.name) or _by_kind(op)
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
    return _apply("reshape", v, (v.shape[0],) + (1,) * (to - nd) + tuple(v.shape[1:]))


def _call(op, args, kw):
    return _dispatch.apply(op, args, **kw) if op.nin < 0 else _dispatch.apply(op, *args, **kw)


# ---- rules -------------------------------------------------------------------------------------
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


def _wrap_dim(d, nd: int) -> int:
    n = max(nd, 1)
    if not -n <= d < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})"
        )
    return d % n


def _reduce(op, tensors, kw, level):
    (x,) = tensors
    v, nd = x.value, x.ndim
    kw = dict(kw)
    dim = kw.get("dim")
    if nd == 0:
        v = _apply("reshape", v, (v.shape[0], 1))
        kw["dim"] = 1
        if "keepdim" in op.params:
            kw["keepdim"] = False
        return _call(op, [v], kw)
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        kw["dim"] = tuple(range(1, nd + 1))
    elif isinstance(dim, (int, np.integer)):
        kw["dim"] = _wrap_dim(int(dim), nd) + 1
    else:
        kw["dim"] = tuple(_wrap_dim(int(d), nd) + 1 for d in dim)
    if op.name in ("max_dim", "min_dim") and not isinstance(kw["dim"], int):
        return None
    return _call(op, [v], kw)


def _all_reduce(op, tensors, kw, level):  # max_all / min_all
    (x,) = tensors
    v, nd = x.value, x.ndim
    if nd == 0:
        return _apply("clone", v)
    name = "amax" if op.name == "max_all" else "amin"
    return _apply(name, v, dim=tuple(range(1, nd + 1)), keepdim=False)


def _softmax_like(op, tensors, kw, level):
    (x,) = tensors
    kw = dict(kw)
    if kw.get("dim") is None:
        return None
    kw["dim"] = _wrap_dim(kw["dim"], x.ndim) + 1
    if x.ndim == 0:
        return None
    return _call(op, [x.value], kw)


def _shape_arg(x, shape):
    return (x.value.shape[0],) + tuple(shape)


def _reshape(op, tensors, kw, level):
    (x,) = tensors
    return _apply("reshape", x.value, _shape_arg(x, kw["shape"]))


def _expand(op, tensors, kw, level):
    (x,) = tensors
    shape = tuple(kw["shape"])
    v = _pad(x.value, x.ndim, len(shape))
    return _apply("expand", v, (v.shape[0],) + shape)


def _sum_to_size(op, tensors, kw, level):
    (x,) = tensors
    shape = tuple(kw["shape"])
    b = x.value.shape[0]
    padded = (b,) + (1,) * (x.ndim - len(shape)) + shape
    r = _apply("sum_to_size", x.value, padded)
    return _apply("reshape", r, (b,) + shape) if padded != (b,) + shape else r


def _transpose(op, tensors, kw, level):
    (x,) = tensors
    nd = x.ndim
    if nd == 0:
        return _apply("clone", x.value)
    return _apply("transpose", x.value, _wrap_dim(kw["dim0"], nd) + 1, _wrap_dim(kw["dim1"], nd) + 1)


def _permute(op, tensors, kw, level):
    (x,) = tensors
    dims = tuple(_wrap_dim(d, x.ndim) + 1 for d in kw["dims"])
    if len(dims) != x.ndim:
        return None  # let the op raise its own error
    return _apply("permute", x.value, (0,) + dims)


def _squeeze(op, tensors, kw, level):
    (x,) = tensors
    dim = kw.get("dim")
    shape = x.shape
    if dim is None:
        dims = tuple(i + 1 for i, s in enumerate(shape) if s == 1)
    elif isinstance(dim, (int, np.integer)):
        dims = (_wrap_dim(int(dim), x.ndim) + 1,)
    else:
        dims = tuple(_wrap_dim(int(d), x.ndim) + 1 for d in dim)
    if x.ndim == 0:
        return _apply("clone", x.value)
    return _apply("squeeze", x.value, dims)


def _unsqueeze(op, tensors, kw, level):
    (x,) = tensors
    d = _wrap_dim(kw["dim"], x.ndim + 1)
    return _apply("unsqueeze", x.value, d + 1)


def _expand_to_batch(v, b: bool, level: int):
    if b:
        return v
    shape = tuple(v.shape)
    return _apply("expand", _apply("unsqueeze", v, 0), (_ctx.batch_sizes[level],) + shape)


def _catstack(op, tensors, kw, level):
    vals, nds, bs = _split(tensors, level)
    args = [_expand_to_batch(v, b, level) for v, b in zip(vals, bs)]
    nd = max(nds) + (1 if op.name == "stack" else 0)
    kw = dict(kw)
    kw["dim"] = _wrap_dim(kw.get("dim", 0), nd) + 1
    return _dispatch.apply(op, args, **kw)


def _matmul(op, tensors, kw, level):
    vals, nds, bs = _split(tensors, level)
    if min(nds) == 0:
        return None
    (x, y), (nx, ny) = vals, nds
    bx, by = bs
    squeeze = []
    if nx == 1:  # lift vectors to matrices: x (k) -> (1, k); y (k) -> (k, 1)
        x = _apply("unsqueeze", x, -2) if bx else _apply("unsqueeze", x, 0)
        nx = 2
        squeeze.append(-2)
    if ny == 1:
        y = _apply("unsqueeze", y, -1)
        ny = 2
        squeeze.append(-1)
    to = max(nx, ny)
    x = _pad(x, nx, to) if bx else x
    y = _pad(y, ny, to) if by else y
    if bx != by and (y if bx else x).ndim == 2:
        r = _fold_matmul(x, y, bx)
    else:
        r = _apply("matmul", x, y)
    if squeeze:
        r = _apply("squeeze", r, (-2, -1) if len(squeeze) == 2 else squeeze[0])
    return r


def _fold_matmul(x, y, x_batched: bool):
    """Batched (B, …, n, k) @ plain (k, m) as ONE (B·…·n, k) @ (k, m) product (and the mirror
    case through transposes): a stack of matrix-vector products would not use BLAS-3."""
    if x_batched:
        lead = tuple(x.shape[:-1])
        r = _apply("matmul", _apply("reshape", x, (-1, x.shape[-1])), y)
        return _apply("reshape", r, lead + (y.shape[-1],))
    yt = _apply("transpose", y, -1, -2)  # (B, …, m, k)
    lead = tuple(yt.shape[:-1])
    r = _apply("matmul", _apply("reshape", yt, (-1, yt.shape[-1])), _apply("transpose", x, 0, 1))
    return _apply("transpose", _apply("reshape", r, lead + (x.shape[0],)), -1, -2)


def _index_items(index):
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if isinstance(i, Batched):
            return None
    return items


def _advanced_ok(items) -> bool:
    """Whether prefixing ``slice(None)`` keeps the batch dim first (advanced indices adjacent)."""
    adv = [k for k, i in enumerate(items)
           if isinstance(i, (Tensor, np.ndarray, list)) or (
               isinstance(i, (int, np.integer)) and not isinstance(i, bool))]
    has_array = any(isinstance(items[k], (Tensor, np.ndarray, list)) for k in adv)
    if not has_array:
        return True
    return adv == list(range(adv[0], adv[-1] + 1))


def _getitem(op, tensors, kw, level):
    (x,) = tensors
    items = _index_items(kw["index"])
    if items is None or not _advanced_ok(items):
        return None
    return _apply(op.name, x.value, index=(slice(None),) + tuple(items))


def _index_backward(op, tensors, kw, level):
    (g,) = tensors
    items = _index_items(kw["index"])
    if items is None or not _advanced_ok(items):
        return None
    b = g.value.shape[0]
    return _apply("index_backward", g.value, (slice(None),) + tuple(items), (b,) + tuple(kw["shape"]))


def _along(op, tensors, kw, level):
    """take_along_dim / put_along_dim: indices are a parameter (maybe Batched)."""
    (x,) = tensors
    kw = dict(kw)
    idx = kw["indices"]
    if kw.get("dim") is None:
        return None
    b = _ctx.batch_sizes[level]
    if isinstance(idx, Batched):
        if idx.level != level:
            return None
        iv = idx.value
    else:
        iv = idx if isinstance(idx, Tensor) else Tensor(np.asarray(idx))
        iv = Tensor(np.broadcast_to(iv._array, (b,) + iv._array.shape).copy())
    if op.name == "take_along_dim":
        nd = x.ndim
        v = x.value
    else:
        nd = len(kw["shape"])
        v = x.value
        kw["shape"] = (b,) + tuple(kw["shape"])
    if iv.ndim - 1 != nd or v.ndim - 1 != nd:
        return None
    kw["dim"] = _wrap_dim(kw["dim"], nd) + 1
    kw["indices"] = iv
    return _call(op, [v], kw)


def _where(op, tensors, kw, level):
    return _elementwise(op, tensors, kw, level)


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
        warnings.warn(
            f"vmap: there is no batching rule for op {op.name!r}, so it runs as a Python loop "
            "over the batch (exact but slow)",
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
        return _apply("stack", outs, 0)
    return tuple(_apply("stack", [o[j] for o in outs], 0) for j in range(len(outs[0])))


RULES: dict = {
    "sum": _reduce, "mean": _reduce, "var": _reduce, "std": _reduce, "amax": _reduce,
    "amin": _reduce, "max_dim": _reduce, "min_dim": _reduce, "norm": _reduce,
    "max_all": _all_reduce, "min_all": _all_reduce,
    "softmax": _softmax_like, "log_softmax": _softmax_like,
    "reshape": _reshape, "view": _reshape, "expand": _expand, "sum_to_size": _sum_to_size,
    "transpose": _transpose, "permute": _permute, "squeeze": _squeeze, "unsqueeze": _unsqueeze,
    "cat": _catstack, "stack": _catstack, "matmul": _matmul,
    "basic_index": _getitem, "index": _getitem, "index_backward": _index_backward,
    "take_along_dim": _along, "put_along_dim": _along, "where": _where,
    "to_dtype": _unary, "clone": _unary,
}
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


def _matrix_unary(op, tensors, kw, level):
    """Linear-algebra ops on the last two dims, leading dims batched: the batch dim is one more."""
    if len(tensors) != 1 or tensors[0].ndim < 2:
        return None
    return _call(op, [tensors[0].value], kw)


def _repeat(op, tensors, kw, level):
    (x,) = tensors
    reps = tuple(int(r) for r in kw["repeats"])
    if len(reps) < x.ndim:
        return None
    return _apply("repeat", _pad(x.value, x.ndim, len(reps)), (1,) + reps)


def _constant_pad(op, tensors, kw, level):
    (x,) = tensors
    if len(kw["pad"]) // 2 > x.ndim:
        return None
    return _call(op, [x.value], kw)


def _fold_first(op, tensors, kw, level):
    """N-first ops (convolution): fold the batch into N when only the input is batched."""
    vals, nds, bs = _split(tensors, level)
    if not bs[0] or any(bs[1:]) or not isinstance(vals[1], Tensor) or nds[0] != vals[1].ndim:
        return None
    v = vals[0]
    b, n = v.shape[0], v.shape[1]
    outs = _call(op, [_apply("reshape", v, (b * n,) + tuple(v.shape[2:]))] + vals[1:], kw)
    res = []
    for o in outs if op.nout != 1 else (outs,):
        if o.ndim == 0 or o.shape[0] != b * n:
            return None
        res.append(_apply("reshape", o, (b, n) + tuple(o.shape[1:])))
    return res[0] if op.nout == 1 else tuple(res)


RULES.update({
    "split": lambda op, ts, kw, lvl: _shift_dims(op, ts, kw, lvl),
    "flip": lambda op, ts, kw, lvl: _shift_dims(op, ts, kw, lvl, ("dims",)),
    "roll": lambda op, ts, kw, lvl: _shift_dims(op, ts, kw, lvl, ("dims",)),
    "diagonal": lambda op, ts, kw, lvl: _shift_dims(op, ts, kw, lvl, ("dim1", "dim2")),
    "diag_embed": lambda op, ts, kw, lvl: _shift_dims(op, ts, kw, lvl, ("dim1", "dim2"), 1),
    "repeat": _repeat, "constant_pad": _constant_pad, "conv": _fold_first,
})
for _n in ("tril", "triu", "inv", "det", "slogdet", "cholesky", "qr", "eigh", "svd", "matrix_exp",
           "pinv", "svd_uvh"):
    RULES[_n] = _matrix_unary

#: elementwise ops with no backward rule (so not marked ELEMENTWISE in the table)
ELEMENTWISE_NAMES = {
    "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and", "logical_or", "logical_xor",
    "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "isnan", "isinf", "isfinite",
    "isposinf", "isneginf", "signbit", "floor_divide", "isclose",
}


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


def _by_kind(op):
    if op.name in ELEMENTWISE_NAMES:
        return _elementwise
    if op.name in NO_RULE or op.name.endswith("_"):
        return None
    if any(p in _SHAPE_PARAMS for p in op.params):
        return None
    if op.vjp is not None and op.jvp is op.vjp and op.nin >= 0 and "dim" not in op.params:
        return _elementwise
    if op.nin == 1 and "dim" in op.params:
        return _dim_shift
    return None


#: ops the generic kinds above would get wrong (checked by tests/test_vmap.py over the op database)
NO_RULE: set = {"masked_fill", "masked_fill_", "masked_select", "masked_scatter", "nonzero"}


# ---- index-parameter ops: the index is a plain (unbatched) parameter ---------------------------
def _plain_index(idx):
    """The index parameter as a NumPy array, or None when it is batched (then: the loop)."""
    if isinstance(idx, Batched):
        return None
    if isinstance(idx, Tensor):
        return np.asarray(idx._array)
    return np.asarray(idx)


def _batch_both(tensors, level, nin):
    """The first ``nin`` inputs (tensor or Python scalar) with the batch dim present on tensors."""
    vals, nds, bs = _split(tensors, level)
    out = []
    for v, b in zip(vals[:nin], bs[:nin]):
        out.append(_expand_to_batch(v, b, level) if isinstance(v, Tensor) else v)
    return out, nds, bs


def _gather_like(op, tensors, kw, level):
    """gather / scatter / scatter_add / scatter_reduce: the index has the input's rank; it gets
    the batch dim too (broadcast) and ``dim`` shifts by one."""
    idx = _plain_index(kw["index"])
    if idx is None:
        return None
    nin = 1 if op.name == "gather" else 2
    vals, nds, bs = _batch_both(tensors, level, nin)
    if nds[0] == 0 or idx.ndim != nds[0]:
        return None
    if nin == 2 and isinstance(vals[1], Tensor) and nds[1] not in (0, nds[0]):
        return None
    if nin == 2 and isinstance(vals[1], Tensor) and nds[1] == 0:
        if not bs[1]:
            vals[1] = tensors[1]  # an unbatched 0-d src broadcasts as before
        else:
            return None
    b = _ctx.batch_sizes[level]
    kw = dict(kw)
    kw["dim"] = _wrap_dim(kw["dim"], nds[0]) + 1
    kw["index"] = np.ascontiguousarray(np.broadcast_to(idx, (b,) + idx.shape))
    return _call(op, vals, kw)


def _index_dim(op, tensors, kw, level):
    """index_select / index_add / index_copy / index_fill: a vector index along ``dim``; the
    batch dim leaves it alone and ``dim`` shifts by one."""
    idx = _plain_index(kw["index"])
    if idx is None or idx.ndim > 1:
        return None
    nin = 1 if op.name == "index_select" else 2
    vals, nds, bs = _batch_both(tensors, level, nin)
    if nds[0] == 0:
        return None
    if nin == 2:
        if op.name == "index_fill":
            if bs[1]:  # a per-example fill value: where(selected positions, value, x)
                return _index_fill_value(tensors, kw, idx, level)
            vals[1] = tensors[1]
        elif nds[1] != nds[0]:
            return None
    kw = dict(kw)
    kw["dim"] = _wrap_dim(kw["dim"], nds[0]) + 1
    return _call(op, vals, kw)


def _index_fill_value(tensors, kw, idx, level):
    x, value = tensors
    if value.ndim != 0 or not isinstance(x, Tensor) or x.dtype != value.dtype or x.ndim == 0:
        return None
    d = _wrap_dim(kw["dim"], x.ndim)
    mask = np.zeros(tuple(x.shape), bool)
    np.moveaxis(mask, d, 0)[idx.reshape(-1)] = True
    return _elementwise(TABLE["where"], [Tensor(mask), value, x], {}, level)


def _take(op, tensors, kw, level):
    """take on a batched input: take_along_dim over the flattened (B, N) input."""
    (x,) = tensors
    idx = _plain_index(kw["index"])
    if idx is None:
        return None
    v = x.value
    b = v.shape[0]
    flat = _apply("reshape", v, (b, -1))
    bidx = np.ascontiguousarray(np.broadcast_to(idx.reshape(1, -1), (b, idx.size)))
    return _apply("reshape", _apply("take_along_dim", flat, bidx, 1), (b,) + idx.shape)


def _embedding(op, tensors, kw, level):
    """Batched weight (B, V, D): one embedding of the (B·V, D) table at indices shifted by b·V
    (repeat counts per example are unchanged, so scale_grad_by_freq stays exact)."""
    (w,) = tensors
    idx = _plain_index(kw["indices"])
    if idx is None or w.ndim != 2 or kw.get("padding_idx") is not None:
        return None
    v = w.value
    b, n = v.shape[0], v.shape[1]
    shifted = (idx % n)[None] + (np.arange(b) * n).reshape((b,) + (1,) * idx.ndim)
    kw = dict(kw)
    kw["indices"] = shifted
    return _call(op, [_apply("reshape", v, (b * n,) + tuple(v.shape[2:]))], kw)


def _embedding_backward(op, tensors, kw, level):
    """Batched gradient (B, *I, D): one scatter-add into a (B·V, D) table, then (B, V, D)."""
    (g,) = tensors
    idx = _plain_index(kw["indices"])
    if idx is None:
        return None
    v = g.value
    b, n = v.shape[0], int(kw["num_weights"])
    shifted = (idx % n)[None] + (np.arange(b) * n).reshape((b,) + (1,) * idx.ndim)
    kw = dict(kw)
    pad = kw.get("padding_idx")
    kw["indices"] = shifted
    kw["num_weights"] = b * n
    kw["padding_idx"] = None
    r = _call(op, [v], kw)
    r = _apply("reshape", r, (b, n) + tuple(r.shape[1:]))
    if pad is not None:
        keep = np.ones((1, n) + (1,) * (r.ndim - 2), np.result_type(r._array))
        keep[0, pad] = 0
        r = r * Tensor(keep)
    return r


def _einsum(op, tensors, kw, level):
    vals, nds, bs = _split(tensors, level)
    eq = kw["equation"]
    subs, out = _parse(eq, tuple(nds))
    used = set("".join(subs) + out)
    z = next(c for c in _LETTERS if c not in used)
    subs = [z + s if b else s for s, b in zip(subs, bs)]
    kw = dict(kw)
    kw["equation"] = ",".join(subs) + "->" + z + out
    return _call(op, vals, kw)


def _solve_rule(op, tensors, kw, level):
    """solve / solve_triangular: matrices in the last two dims; both inputs get the batch dim
    and the same rank (a vector right-hand side of solve is made a column and back)."""
    vals, nds, bs = _batch_both(tensors, level, 2)
    na, nb = nds
    if na < 2 or nb < 1:
        return None
    a, b = vals
    vec = False
    if op.name == "solve":
        la, lb = tuple(tensors[0].shape), tuple(tensors[1].shape)
        if nb == 1 or (nb == na - 1 and lb == la[:-1]):
            if not kw.get("left", True):
                return None
            vec = True
            b = _apply("unsqueeze", b, -1)
            nb += 1
    elif nb < 2:
        return None
    to = max(na, nb)
    a, b = _pad(a, na, to), _pad(b, nb, to)
    r = _call(op, [a, b], kw)
    return _apply("squeeze", r, -1) if vec else r


RULES.update({
    "gather": _gather_like, "scatter": _gather_like, "scatter_add": _gather_like,
    "scatter_reduce": _gather_like,
    "index_select": _index_dim, "index_add": _index_dim, "index_copy": _index_dim,
    "index_fill": _index_dim, "take": _take,
    "embedding": _embedding, "embedding_backward": _embedding_backward,
    "einsum": _einsum, "solve": _solve_rule, "solve_triangular": _solve_rule,
})


# ---- pooling and im2col: ops over trailing spatial dims, any (or N-first) leading dims --------
def _trailing(op, tensors, kw, level):
    """max_pool / adaptive_max_pool: act on the trailing dims, any leading dims: one more."""
    if len(tensors) != 1:
        return None
    return _call(op, [tensors[0].value], kw)


def _batched_param(p, level):
    """A tensor parameter (indices) as a plain tensor with the batch dim, or None."""
    if isinstance(p, Batched):
        if p.level != level or isinstance(p.value, Batched):
            return None
        return p.value
    a = np.asarray(p._array if isinstance(p, Tensor) else p)
    return Tensor(np.ascontiguousarray(np.broadcast_to(a, (_ctx.batch_sizes[level],) + a.shape)))


def _pool_index_op(op, tensors, kw, level):
    """pool_scatter(g, indices, shape, nd) / pool_gather(t, indices, nd): the flat spatial indices
    get the batch dim (a leading dim like any other)."""
    (x,) = tensors
    idx = _batched_param(kw["indices"], level)
    if idx is None:
        return None
    vals, _, bs = _split(tensors, level)
    v = _expand_to_batch(vals[0], bs[0], level)
    kw = dict(kw)
    kw["indices"] = idx
    if op.name == "pool_scatter":
        kw["shape"] = (_ctx.batch_sizes[level],) + tuple(kw["shape"])
    return _call(op, [v], kw)


def _fold_n(op, tensors, kw, level):
    """im2col / col2im: (N, …) inputs; the batch folds into N and back."""
    (x,) = tensors
    v = x.value
    if v.ndim < 2:
        return None
    b, n = v.shape[0], v.shape[1]
    r = _call(op, [_apply("reshape", v, (b * n,) + tuple(v.shape[2:]))], kw)
    return _apply("reshape", r, (b, n) + tuple(r.shape[1:]))


RULES.update({
    "max_pool": _trailing, "adaptive_max_pool": _trailing,
    "pool_scatter": _pool_index_op, "pool_gather": _pool_index_op,
    "im2col": _fold_n, "col2im": _fold_n,
})


def _conv_grouped(op, tensors, kw, level):
    """conv with a batched weight (per-example weights, batched weight tangents): one grouped
    convolution; the batch goes into the channels and ``groups`` is multiplied by B."""
    r = _fold_first(op, tensors, kw, level)
    if r is not None:
        return r
    vals, nds, bs = _split(tensors, level)
    x, w, bias = vals
    if not bs[1] or nds[1] < 3 or nds[0] != nds[1]:
        return None
    nb = _ctx.batch_sizes[level]
    g = int(kw["groups"])
    x = _expand_to_batch(x, bs[0], level)  # (B, N, C, *sp)
    n, c, sp = x.shape[1], x.shape[2], tuple(x.shape[3:])
    x = _apply("reshape", movedim(x, 0, 1), (n, nb * c) + sp)
    o = w.shape[1]
    w = _apply("reshape", w, (nb * o,) + tuple(w.shape[2:]))
    if bias is not None:
        bias = _apply("reshape", _expand_to_batch(bias, bs[2], level), (nb * o,))
    kw = dict(kw)
    kw["groups"] = g * nb
    y = _call(op, [x, w, bias], kw)  # (N, B·O, *out)
    y = _apply("reshape", y, (n, nb, o) + tuple(y.shape[2:]))
    return movedim(y, 1, 0)


RULES["conv"] = _conv_grouped


def _diagonal_backward(op, tensors, kw, level):
    (g,) = tensors
    shape = tuple(kw["shape"])
    if len(shape) < 2:
        return None
    kw = dict(kw)
    kw["dim1"] = _wrap_dim(kw["dim1"], len(shape)) + 1
    kw["dim2"] = _wrap_dim(kw["dim2"], len(shape)) + 1
    kw["shape"] = (g.value.shape[0],) + shape
    return _call(op, [g.value], kw)


def _cross(op, tensors, kw, level):
    vals, nds, bs = _batch_both(tensors, level, 2)
    if nds[0] != nds[1] or nds[0] == 0:
        return None
    kw = dict(kw)
    kw["dim"] = _wrap_dim(kw.get("dim", -1), nds[0]) + 1
    return _call(op, vals, kw)


RULES.update({"diagonal_backward": _diagonal_backward, "cross": _cross})


def _diag_dims(defaults, out_extra=0):
    def rule(op, tensors, kw, level):
        kw = dict(kw)
        for n, d in zip(("dim1", "dim2"), defaults):
            if kw.get(n) is None:
                kw[n] = d
        return _shift_dims(op, tensors, kw, level, ("dim1", "dim2"), out_extra)
    return rule


RULES.update({"diagonal": _diag_dims((0, 1)), "diag_embed": _diag_dims((-2, -1), 1)})


def _argmax_like(op, tensors, kw, level):
    """argmax / argmin: ``dim=None`` is the flat index within one example."""
    (x,) = tensors
    v, nd = x.value, x.ndim
    kw = dict(kw)
    if kw.get("dim") is None:
        b = v.shape[0]
        r = _call(op, [_apply("reshape", v, (b, -1))], {**kw, "dim": 1, "keepdim": False})
        return _apply("reshape", r, (b,) + (1,) * nd) if kw.get("keepdim") else r
    if nd == 0:
        return None
    kw["dim"] = _wrap_dim(kw["dim"], nd) + 1
    return _call(op, [v], kw)


for _n in ("prod", "nansum", "all", "any", "count_nonzero", "logsumexp"):
    RULES[_n] = _reduce
RULES.update({"argmax": _argmax_like, "argmin": _argmax_like})


def _standardize(op, tensors, kw, level):
    """standardize(x, weight, bias, dims, eps) (layer/group/batch/instance norm): ``dims`` shift by
    one; a batched weight or bias is padded to x's rank so it broadcasts per example."""
    vals, nds, bs = _split(tensors, level)
    nd = nds[0]
    if nd == 0 or any(isinstance(v, Tensor) and d > nd for v, d in zip(vals[1:], nds[1:])):
        return None
    x = _expand_to_batch(vals[0], bs[0], level)
    rest = [_pad(v, d, nd) if b else v for v, d, b in zip(vals[1:], nds[1:], bs[1:])]
    kw = dict(kw)
    dims = kw["dims"]
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    kw["dims"] = tuple(_wrap_dim(int(d), nd) + 1 for d in dims)
    return _call(op, [x] + rest, kw)


RULES["standardize"] = _standardize


def _roll(op, tensors, kw, level):
    """roll: ``dims`` shift by one; ``dims=None`` rolls each example's flattened values."""
    (x,) = tensors
    if kw.get("dims") is not None:
        return _shift_dims(op, tensors, kw, level, ("dims",))
    shifts = kw["shifts"]
    shifts = (int(shifts),) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if len(shifts) != 1:
        return None
    v = x.value
    b = v.shape[0]
    r = _call(op, [_apply("reshape", v, (b, -1))], {**kw, "shifts": shifts, "dims": (1,)})
    return _apply("reshape", r, tuple(v.shape))


def _scan(op, tensors, kw, level):
    """cumsum / cumprod: a 0-d example is a 1-element scan."""
    (x,) = tensors
    if x.ndim:
        return _dim_shift(op, tensors, kw, level)
    _wrap_dim(kw["dim"], 0)
    v = x.value
    r = _call(op, [_apply("reshape", v, (v.shape[0], 1))], {**kw, "dim": 1})
    return _apply("reshape", r, (v.shape[0],))


def _masked_fill(op, tensors, kw, level):
    """masked_fill(x, mask, value): x and mask broadcast per example; a batched (per-example)
    fill value is a ``where`` with the value padded to x's rank (same dtype only)."""
    vals, nds, bs = _split(tensors, level)
    if not bs[2]:
        to = max(nds[:2])
        args = [_pad(v, d, to) if b else v for v, d, b in zip(vals[:2], nds[:2], bs[:2])]
        return _call(op, args + [vals[2]], kw)
    x, value = tensors[0], tensors[2]
    if nds[2] != 0 or not isinstance(x, Tensor) or x.dtype != value.dtype:
        return None
    return _elementwise(TABLE["where"], [tensors[1], value, x], {}, level)


RULES.update({"roll": _roll, "cumsum": _scan, "cumprod": _scan, "masked_fill": _masked_fill,
              "matrix_norm_sv": _reduce})
NO_RULE.discard("masked_fill")


def _sdpa(op, tensors, kw, level):
    """scaled_dot_product_attention(q, k, v): matrices in the last two dims, leading dims
    broadcast: batched inputs are padded to a common rank (an unbatched mask/bias broadcasts)."""
    if any(isinstance(kw.get(n), Batched) for n in ("keep", "bias")):
        return None
    vals, nds, bs = _split(tensors, level)
    if min(nds) < 2:
        return None
    to = max(nds)
    return _call(op, [_pad(v, d, to) if b else v for v, d, b in zip(vals, nds, bs)], kw)


RULES["sdpa"] = _sdpa


# ---- cross entropy with class indices ----------------------------------------------------------
def _ce_idx(op, tensors, kw, level):
    """``cross_entropy_idx`` with batched logits (B, N, C, …) and per-example index parameters:
    the batch folds into N (reduction 'none'), then each example reduces with its own divisor."""
    (x,) = tensors
    if type(x) is not Batched or any(type(v) is Batched for v in kw.values()):
        return None
    v = x.value
    b = v.shape[0]
    red = kw["reduction"]
    tg = np.asarray(kw["target"])
    reps = (b,) + (1,) * (tg.ndim - 1)
    kwf = dict(kw, target=np.tile(tg, reps), hot=np.tile(np.asarray(kw["hot"]), reps),
               keep=np.tile(np.asarray(kw["keep"]), reps), reduction="none")
    loss, logp = _call(op, [_apply("reshape", v, (b * v.shape[1],) + tuple(v.shape[2:]))], kwf)
    loss = _apply("reshape", loss, (b,) + tuple(tg.shape))
    logp = _apply("reshape", logp, tuple(v.shape))
    if red != "none":
        loss = _apply("sum", loss, dim=tuple(range(1, loss.ndim)))
        if red == "mean":
            loss = loss / float(kw["denom"])
    return loss, logp


RULES["cross_entropy_idx"] = _ce_idx


def cross_entropy_batched(input, target, weight, ignore_index, reduction, label_smoothing):
    """``F.cross_entropy`` with a batched class-index ``target`` (per-example labels under
    ``vmap``): the batch folds into the sample dim N of one fused call, each example then
    reduces with its own weighted count. Returns None when it does not apply."""
    level = max((a.level for a in (input, target) if type(a) is Batched), default=0)
    if not level or type(weight) is Batched or level not in _ctx.batch_sizes or input.ndim < 1:
        return None
    if reduction not in ("none", "mean", "sum"):
        return None
    b = _ctx.batch_sizes[level]

    def phys(t):
        if type(t) is Batched and t.level == level:
            return t.value
        return _apply("expand", _apply("unsqueeze", t, 0), (b,) + tuple(t.shape))

    xs, ts = tuple(input.shape), tuple(target.shape)
    want = xs[:1] + xs[2:] if len(xs) >= 2 else ()
    if ts != want or target.is_floating_point():
        return None
    xv, tv = phys(input), phys(target)
    if len(xs) >= 2:
        xv = _apply("reshape", xv, (b * xs[0],) + xs[1:])
        tv = _apply("reshape", tv, (b * ts[0],) + ts[1:])
    ln = _cross_entropy(xv, tv, weight, ignore_index=ignore_index, reduction="none",
                         label_smoothing=label_smoothing)
    ln = _apply("reshape", ln, (b,) + ts)
    if reduction != "none" and ts:
        ln = _apply("sum", ln, dim=tuple(range(1, ln.ndim)))
    if reduction == "mean":
        t2 = _apply("reshape", tv, (b,) + ts)
        keep = t2 != ignore_index
        if weight is None:
            wt = _apply("to_dtype", keep, ln.dtype)
        else:
            safe = _ns.where(keep, t2, _ns.zeros_like(t2))
            wt = weight.detach()[safe] * _apply("to_dtype", keep, weight.dtype)
        if ts:
            wt = _apply("sum", wt, dim=tuple(range(1, wt.ndim)))
        ln = ln / wt
    return Batched(ln, level)


# ---- median of all elements --------------------------------------------------------------------
def _median_all_rule(op, tensors, kw, level):
    """``median_all``/``nanmedian_all``: each example flattened to a row, the lower median per row
    (``*_dim`` picks the same value, NaN rules included); the gradient is then shared evenly among
    the row's elements equal to it, as the unbatched op does (not sent to one index)."""
    (x,) = tensors
    v = x.value
    b = v.shape[0]
    n = int(np.prod(v.shape[1:], dtype=np.int64))
    if n == 0:
        return None
    flat = _apply("reshape", v, (b, n))
    vals = _apply("median_dim" if op.name == "median_all" else "nanmedian_dim", flat.detach(), 1)[0]
    if not flat.is_floating_point():
        return vals
    vd = _apply("unsqueeze", vals, 1)
    mask = flat == vd
    cnt = _apply("sum", mask, dim=1)
    zero = _ns.zeros_like(flat.detach())
    # amax over the elements equal to the median (the rest filled below them) has the value and
    # the tie-sharing gradient/tangent of median_all: [x_i = median] / #ties
    hi = _apply("amax", _apply("where", mask, flat, zero - float("inf")), dim=1)
    lo = _apply("amin", _apply("where", mask, flat, zero + float("inf")), dim=1)  # median -inf
    picked = _apply("where", vals == float("-inf"), lo, hi)
    # no element equals the median (a NaN median): value and derivatives NaN, as 0/0 is unbatched
    good = cnt > 0
    bad = _apply("where", _apply("unsqueeze", good, 1), zero, zero + float("nan"))
    return _apply("where", good, picked, _apply("sum", flat * bad, dim=1))


RULES.update({"median_all": _median_all_rule, "nanmedian_all": _median_all_rule})
_context.proc.batch_calls["cross_entropy"] = cross_entropy_batched
