"""In-place ops (``add_``, ``mul_``, ``x[i] = v``, ...) and their version-counter bookkeeping.

One mechanism serves them all: the op runs out of place through the dispatcher on an alias of
the tensor (same history, its own version counter, its own copy of the data where the backward
reads it), the result is written into the tensor's memory with ``np.copyto``, the version counter
is bumped, and the graph is rebased:

- on a tensor that is not a view, its ``grad_fn`` becomes the op's node (torch's rebase_history);
- on a view, the base's history gets a ``CopySlices`` node (base with the view's elements replaced
  by the op's result; the view's elements are located in the base's memory from the strides), and
  the view's ``grad_fn`` becomes a gather of its elements from the new base.

Saved tensors that are later modified in place are caught before backward by ``Node.check_versions``
with torch's message; ops whose backward does not read a value (``add``) do not complain, as torch.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype, _ns
from .._tensor import Tensor, _make
from .._context import ctx as _state
from ._public import PUBLIC, public
from ._index_checks import torch_index
from ._table import TABLE, _reads, defop
from .copy_slices import _copy_slices, _copy_slices_fwd, _positions, _refresh_view, _root

def _tname(npd) -> str:
    return _dtype.torch_name(np.dtype(npd))


def _check_target(self: Tensor, base) -> None:
    """Torch's refusals: a leaf (or a view of one) that requires grad; overlapping memory."""
    if _state.enabled:
        if self._requires_grad and self.grad_fn is None and base is None:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
        if base is not None and base._requires_grad and base.grad_fn is None:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an "
                "in-place operation."
            )
    d = self._array
    if not d.flags.writeable or any(s == 0 and n > 1 for s, n in zip(d.strides, d.shape)):
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation."
        )


def _alias(self: Tensor, copy: bool) -> Tensor:
    """A tensor standing for ``self`` before the op: same history, own version counter."""
    a = _make(self._array.copy() if copy else self._array, self.grad_fn, self._output_nr)
    a._requires_grad = self._requires_grad
    if self._extra_state and self._extra_state.get("fw"):
        a._extra_state = {"fw": dict(self._extra_state["fw"])}
    return a


def _wants_graph(self: Tensor, args, kw) -> bool:
    if not _state.enabled:
        return False
    if self._requires_grad:
        return True
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            return True
    for a in kw.values():
        if isinstance(a, Tensor) and a._requires_grad:
            return True
    return False


def _run_inplace(self: Tensor, fn, args=(), kw=None, *, reads_self: bool = True) -> Tensor:
    """Apply ``fn(self_before, *args, **kw)`` (out of place) and write the result into ``self``."""
    kw = kw or {}
    if not isinstance(self, Tensor):
        raise TypeError(f"in-place op expected a Tensor, got {type(self).__name__}")
    base = _root(self)
    if base is not None and _state.enabled:
        _refresh_view(self)
    graph = _wants_graph(self, args, kw)
    _check_target(self, base)
    src = _alias(self, copy=graph and reads_self)
    res = fn(src, *args, **kw)
    rd = res._array
    if rd.dtype != self._array.dtype and not _can_cast(rd.dtype, self._array.dtype):
        raise RuntimeError(
            f"result type {_tname(rd.dtype)} can't be cast to the desired output type "
            f"{_tname(self._array.dtype)}"
        )
    if rd.shape != self._array.shape:
        raise RuntimeError(
            f"output with shape {list(self._array.shape)} doesn't match the broadcast shape "
            f"{list(rd.shape)}"
        )
    np.copyto(self._array, rd, casting="unsafe")
    self._bump()
    if self._extra_state is not None and "ver" in self._extra_state:
        self._extra_state["ver"] = self._version_counter[0]  # its history is set right below
    node = res.grad_fn
    if node is not None:
        if node.out is rd and rd.dtype == self._array.dtype and _reads_out(node):
            # the node keeps the tensor itself as its saved output (as torch): no extra copy, and a
            # later in-place change of it is caught by the version check
            node.out = self._array
            node.outv = (self._version_counter, self._version_counter[0])
        old = self.grad_fn, self._output_nr
        if base is None:
            self.grad_fn, self._output_nr, self._requires_grad = res.grad_fn, res._output_nr, True
        else:
            _copy_slices(self, base, res)
        if self._extra_state is not None and self._extra_state.get("retains_grad") and old[0] is not None:
            _move_retain(self, *old)
    rfw = res._extra_state.get("fw") if res._extra_state else None
    if base is not None and (rfw or (base._extra_state and base._extra_state.get("fw"))):
        _view_tangents(self, base, rfw or {})
    if rfw:
        self._extra()["fw"] = dict(rfw)
    elif self._extra_state and self._extra_state.get("fw"):
        self._extra_state.pop("fw")
    return self


def _view_tangents(view: Tensor, base: Tensor, rfw: dict) -> None:
    """Forward mode through an in-place op on a view: the base's tangent takes the view's."""
    bfw = base._extra().setdefault("fw", {})
    pos = _positions(base._array, view._array)
    for level in set(bfw) | set(rfw):
        bt = bfw.get(level)
        bt = np.zeros_like(base._array) if bt is None else bt._array
        rt = rfw.get(level)
        rt = np.zeros(view._array.shape, base._array.dtype) if rt is None else rt._array
        bfw[level] = _make(_copy_slices_fwd(bt, rt, pos).astype(base._array.dtype, copy=False))


_OUT_READERS: dict = {}


def _reads_out(node) -> bool:
    """Whether the backward rules this node will run read its output (torch saves ``result``)."""
    op = node.op
    if op.vjp is None:
        return op.saves_out
    key = (op.name, tuple(e is not None for e in node.next))
    r = _OUT_READERS.get(key)
    if r is None:
        r = False
        for rule, need in zip(op.vjp, key[1]):
            if need and rule is not None:
                names = _reads(rule)
                r = r or names is None or "out" in names
        _OUT_READERS[key] = r
    return r


def _move_retain(t: Tensor, node, nr: int) -> None:
    """retain_grad follows the tensor to its new history: .grad is w.r.t. its latest value."""
    import weakref

    x = node.x
    if x is not None and x.get("retain"):
        x["retain"].pop(nr, None)
    t.grad_fn._add_retain(t._output_nr, weakref.ref(t))


def _can_cast(src: np.dtype, dst: np.dtype) -> bool:
    return _dtype._CAT[np.dtype(src)] <= _dtype._CAT[np.dtype(dst)]


# ---- the in-place ops -------------------------------------------------------------------------
def _out_of_place(name: str):
    def fn(*a, **k):
        f = PUBLIC.get(name) or getattr(_ns, name)
        return f(*a, **k)

    return fn


_SELF_READERS: dict = {}


def _reads_self(name: str, self: Tensor, args) -> bool:
    """Whether the backward rules that will run read ``self``'s value (then it is copied first)."""
    op = TABLE.get(name)
    if op is None or op.saves is None or op.vjp is None or op.nin < 1:
        return op is None or op.saves is None or 0 in op.saves
    if 0 not in op.saves:
        return False
    ins = (self, *args)[: op.nin]
    needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in ins)
    key = (name, needs)
    r = _SELF_READERS.get(key)
    if r is None:
        code = getattr(op.vjp[0], "__code__", None)
        first = code.co_varnames[3] if code is not None and code.co_argcount > 3 else None
        r = False
        for rule, need in zip(op.vjp, needs):
            if need and rule is not None:
                names = _reads(rule)
                r = r or names is None or first is None or first in names
        _SELF_READERS[key] = r
    return r


def _make_inplace(name: str, doc: str | None = None):
    oop = _out_of_place(name)

    def inplace(self, *args, **kw):
        return _run_inplace(self, oop, args, kw, reads_self=_reads_self(name, self, args))

    inplace.__name__ = inplace.__qualname__ = name + "_"
    inplace.__doc__ = doc or f"In-place ``{name}``: writes the result into ``self`` and returns it."
    return inplace


_UFUNC = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide}


def _make_arith_inplace(name: str):
    """add_/sub_/mul_/div_: with no graph and no tangents, one NumPy ufunc writing in place."""
    generic = _make_inplace(name)
    uf = _UFUNC[name]

    def inplace(self, other, *args, **kw):
        if (
            args
            or (kw and set(kw) != {"alpha"})
            or _state.fw_visible
            or (_state.enabled and (self._requires_grad or (isinstance(other, Tensor) and other._requires_grad)))
        ):
            return generic(self, other, *args, **kw)
        o = other._array if isinstance(other, Tensor) else other
        alpha = kw.get("alpha", 1)
        d = self._array
        dk = d.dtype.kind
        if not (
            dk == "f"
            and (
                type(o) is float
                or type(o) is int
                or (type(o) is np.ndarray and o.dtype.kind == "f")
            )
        ):
            rt = _dtype.result_type([d, o])
            if name == "div" and rt is not None and rt.kind != "f":
                rt = _dtype.default_np()
            if rt is not None and rt != d.dtype and not _can_cast(rt, d.dtype):
                raise RuntimeError(
                    f"result type {_tname(rt)} can't be cast to the desired output type "
                    f"{_tname(d.dtype)}"
                )
        if not d.flags.writeable or 0 in d.strides:
            _check_target(self, None)
        if alpha != 1:
            o = o * alpha
        try:
            uf(d, o, out=d, casting="unsafe")
        except ValueError:
            from .._dispatch import _broadcast_message

            msg = _broadcast_message([d, np.asarray(o)])  # shapes that do not broadcast at all
            raise RuntimeError(msg or (
                f"output with shape {list(d.shape)} doesn't match the broadcast shape "
                f"{list(np.broadcast_shapes(d.shape, np.shape(o)))}")) from None
        self._bump()
        return self

    inplace.__name__ = inplace.__qualname__ = name + "_"
    inplace.__doc__ = generic.__doc__
    return inplace


_REQUIRED = (
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "clamp",
    "relu",
    "sigmoid",
    "tanh",
    "exp",
    "masked_fill",
    "index_put",
    "index_add",
    "scatter",
    "index_copy",
    "index_fill",
    "masked_scatter",
    "scatter_add",
    "scatter_reduce",
)
_OPTIONAL = (
    "put",
    "neg",
    "abs",
    "sqrt",
    "rsqrt",
    "log",
    "log1p",
    "log2",
    "log10",
    "expm1",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "asinh",
    "acosh",
    "atanh",
    "floor",
    "ceil",
    "round",
    "trunc",
    "frac",
    "sign",
    "square",
    "reciprocal",
    "clip",
    "clamp_min",
    "clamp_max",
    "fmod",
    "remainder",
    "lerp",
    "addcmul",
    "addcdiv",
    "hypot",
    "atan2",
    "true_divide",
    "floor_divide",
    "maximum",
    "minimum",
    "erf",
    "erfc",
    "erfinv",
    "sinc",
    "nan_to_num",
    "logit",
    "digamma",
    "lgamma",
    "exp2",
    "xlogy",
    "copysign",
    "tril",
    "triu",
    "leaky_relu",
    "elu",
    "hardtanh",
    "silu",
    "mish",
    "hardsigmoid",
    "hardswish",
    "selu",
    "celu",
    "threshold",
    "relu6",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "t",
    "transpose",
    "squeeze",
    "unsqueeze",
)
_META = {"t", "transpose", "squeeze", "unsqueeze"}  # metadata in-place ops: not through copyto

for _n in _REQUIRED + tuple(n for n in _OPTIONAL if n in TABLE or n in PUBLIC):
    if _n in _META:
        continue
    _f = _make_arith_inplace(_n) if _n in _UFUNC else _make_inplace(_n)
    public(_n + "_", function=False)(_f)
    setattr(_ns, _n + "_", _f)

for _alias_name, _target in (("subtract_", "sub_"), ("multiply_", "mul_"), ("divide_", "div_")):
    public(_alias_name, function=False)(getattr(_ns, _target))


# torch also exposes these functional in-place spellings at top level
for _n in ("relu_", "sigmoid_", "tanh_", "exp_", "clamp_", "clip_"):
    if hasattr(_ns, _n):
        PUBLIC[_n] = getattr(_ns, _n)


def _fill(x, value):
    if isinstance(value, np.ndarray) and value.ndim:
        raise RuntimeError(
            f"fill_ only supports 0-dimension value tensor but got tensor with "
            f"{value.ndim} dimensions."
        )
    return np.full(x.shape, value, dtype=x.dtype)


# the overwritten values get a zero gradient (not None), as torch
defop(
    "fill",
    _fill,
    (lambda m, g, out, x, value: m.zeros_like(g), lambda m, g, out, x, value: m.sum(g)),
    (lambda m, t, out, x, value: None, lambda m, t, out, x, value: t),
    nin=2,
    dtype="keep",
    saves=(),
    saves_out=False,
    public=False,
    method=False,
    formula=("fill: no gradient to the overwritten values", "fill: the sum of the gradient"),
)


def _copy(x, src):
    try:
        b = np.broadcast_to(src, x.shape)
    except ValueError:
        raise RuntimeError(
            f"output with shape {list(x.shape)} doesn't match the broadcast shape "
            f"{list(np.broadcast_shapes(x.shape, np.shape(src)))}"
        ) from None
    return b.astype(x.dtype, copy=True)


defop(
    "copy",
    _copy,
    (lambda m, g, out, x, src: m.zeros_like(g), lambda m, g, out, x, src: g),
    (lambda m, t, out, x, src: None, lambda m, t, out, x, src: t),
    nin=2,
    dtype="keep",
    saves=(),
    saves_out=False,
    public=False,
    method=False,
    formula=("copy_: no gradient to the overwritten values", "copy_: the gradient, cast back"),
)


@public("fill_", function=False)
def fill_(input: Tensor, value) -> Tensor:
    """Fill with ``value`` (a number or a 0-dim tensor, which then receives the summed gradient)."""
    return _run_inplace(input, _ns.fill, (value,), reads_self=False)


@public("zero_")
def zero_(input: Tensor) -> Tensor:
    """Fill with zeros in place; the old values get no gradient."""
    return _run_inplace(input, _ns.fill, (0,), reads_self=False)


@public("copy_", function=False)
def copy_(input: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast to ``input``'s dtype) into ``input``; ``src`` gets the
    gradient.
    """
    if not isinstance(src, Tensor):
        src = Tensor(src)
    return _run_inplace(input, _ns.copy, (src,), reads_self=False)


def setitem(input: Tensor, index, value) -> None:
    """``input[index] = value`` (a number or a tensor broadcast to the indexed shape)."""
    from .indexing import _is_basic, put_into

    index = torch_index(index)
    if isinstance(value, (list, tuple, np.ndarray)):
        value = Tensor(value, dtype=input.dtype)
    if (
        isinstance(value, Tensor)
        and value._array.dtype != input._array.dtype
        and value.ndim
        and not _is_basic(index)
    ):
        raise RuntimeError(
            f"Index put requires the source and destination dtypes match, got "
            f"{_tname(input._array.dtype)} for the destination and {_tname(value._array.dtype)} for "
            "the source."
        )
    if not _wants_graph(input, (value,), {}) and not _has_tangent(input, value):
        # fast path, no graph: write the indexed elements only
        _check_target(input, _root(input))
        v = value._array if isinstance(value, Tensor) else value
        put_into(input._array, index, v)
        input._bump()
        return
    _run_inplace(
        input, lambda a, v: _ns.index_put(a, _cast_like(v, a), index), (value,), reads_self=False
    )


def _cast_like(v, a):
    if isinstance(v, Tensor) and v._array.dtype != a._array.dtype and not v._requires_grad:
        return Tensor(v._array.astype(a._array.dtype))
    if isinstance(v, Tensor) and v._array.dtype != a._array.dtype:
        return _ns.to_dtype(v, a.dtype)
    return v


def _has_tangent(*ts) -> bool:
    if not _state.fw_visible:
        return False
    return any(isinstance(t, Tensor) and t._extra_state and t._extra_state.get("fw") for t in ts)


_ns.setitem = setitem
_ns.fill_ = fill_
_ns.zero_ = zero_
_ns.copy_ = copy_
