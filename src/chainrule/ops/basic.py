"""Rule-table rows: casts, copies, comparisons and logical ops (no grad through the latter)."""

from __future__ import annotations

import numpy as np

from .. import _dtype, _ns
from .._creation import ones_like as _ones_like_t
from .._creation import zeros_like as _zeros_like_t
from .._tensor import Tensor, _make
from .._context import _detached
from ._public import public
from ._table import LINEAR, A, defop, sum_to_shape

# ---- casts and copies ---------------------------------------------------------------------
defop("to_dtype", lambda x, dtype: x.astype(_dtype.to_np(dtype), copy=False),
      lambda m, g, out, x, dtype: g,  # the engine casts the gradient back to x's dtype
      LINEAR, dtype="keep", cls="ToCopy", method=False, public=False)
defop("clone", lambda x: x.copy(), lambda m, g, out, x: g, LINEAR, dtype="keep")
defop("sum_to_size", lambda x, shape: sum_to_shape(x, tuple(shape)),
      lambda m, g, out, x, shape: m.expand(g, x.shape), LINEAR, dtype="keep", cls="SumToSize")


@public("to")
def to(input: Tensor, *args, dtype=None, device=None, copy: bool = False,
       non_blocking: bool = False, memory_format=None) -> Tensor:
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` as torch: a cast
    (differentiable); the CPU is the only device, any other fails with torch's error."""
    from .._device import check as _check_device, is_device

    for a in args:
        if isinstance(a, (_dtype.dtype, type, np.dtype)):
            dtype = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
        elif a is None or is_device(a):
            device = a
        elif isinstance(a, int) and not isinstance(a, bool):
            device = f"cuda:{a}"  # torch: an int is a CUDA device index
        else:
            raise TypeError(f"to() received an invalid combination of arguments: got "
                            f"{type(a).__name__} {a!r}; expected a dtype, a device or a Tensor")
    _check_device(device, "Tensor.to")
    if dtype is None or input._array.dtype == _dtype.to_np(dtype):
        return _ns.clone(input) if copy else input
    return _ns.to_dtype(input, dtype)


for _n, _d in (("float", "float32"), ("double", "float64"), ("half", "float16"), ("long", "int64"),
               ("int", "int32"), ("bool", "bool"), ("short", "int16"), ("byte", "uint8")):
    public(_n, function=False)(lambda self, _d=_d: to(self, _dtype._by_name(_d)))


# zeros_like is a creation function on Tensors and np.zeros_like on arrays (no graph)
A.zeros_like = np.zeros_like
A.ones_like = np.ones_like
_ns.zeros_like = _zeros_like_t
_ns.ones_like = _ones_like_t


@public("detach")
def detach(input: Tensor) -> Tensor:
    """A new tensor sharing ``input``'s data, cut from the graph (and from forward-AD tangents)."""
    t = _make(input._array)
    if input._version_counter is None:
        input._version_counter = [0]
    t._version_counter = input._version_counter  # shares the version counter, as torch
    if input._requires_grad:
        _detached(input, t)  # remembered for autograd.why
    return t


# ---- comparisons and logic: bool results, never differentiable --------------------------------
for _name, _f in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                  ("gt", np.greater), ("ge", np.greater_equal)):
    defop(_name, lambda x, y, _f=_f: _f(x, y), nin=2, dtype="bool")
for _alias, _name in (("greater", "gt"), ("less", "lt"), ("greater_equal", "ge"),
                      ("less_equal", "le"), ("not_equal", "ne")):
    public(_alias)(lambda *a, _n=_name, **k: getattr(_ns, _n)(*a, **k))

defop("logical_not", lambda x: np.logical_not(x), dtype="bool")
for _name, _f in (("logical_and", np.logical_and), ("logical_or", np.logical_or),
                  ("logical_xor", np.logical_xor)):
    defop(_name, lambda x, y, _f=_f: _f(x, y), nin=2, dtype="bool")


def _int_only(f, name):
    def fwd(*xs):
        for x in xs:
            if isinstance(x, np.ndarray) and x.dtype.kind == "f":
                raise RuntimeError(f"\"{name}_cpu\" not implemented for '{_dtype.from_np(x.dtype).name}'")
        return f(*xs)

    return fwd


defop("bitwise_not", _int_only(np.invert, "bitwise_not"), dtype="same")
for _name, _f in (("bitwise_and", np.bitwise_and), ("bitwise_or", np.bitwise_or),
                  ("bitwise_xor", np.bitwise_xor)):
    defop(_name, _int_only(_f, _name), nin=2, dtype="same")



def _shift(left: bool):
    name = "lshift" if left else "rshift"

    def fwd(x, y):
        for a in (x, y):
            if isinstance(a, float) or (isinstance(a, np.ndarray) and a.dtype.kind == "f"):
                d = a.dtype if isinstance(a, np.ndarray) else _dtype.default_np()
                raise NotImplementedError(
                    f'"{name}_cpu" not implemented for \'{_dtype.torch_name(d)}\'')
        dt = next(a.dtype for a in (x, y) if isinstance(a, np.ndarray))
        xa, ya = np.asarray(x, dt), np.asarray(y, dt)
        bits = dt.itemsize * 8
        # torch: a shift by a negative amount or by the bit width or more gives 0 (−1 for a
        # right shift of a negative number), where NumPy's is undefined
        ok = (ya >= 0) & (ya < bits)
        k = np.where(ok, ya, 0)
        if left:
            return np.where(ok, np.left_shift(xa, k), 0).astype(dt, copy=False)
        return np.where(ok, np.right_shift(xa, k), np.where(xa < 0, -1, 0)).astype(dt, copy=False)

    return fwd


defop("bitwise_left_shift", _shift(True), nin=2, cls="BitwiseLeftShift")
defop("bitwise_right_shift", _shift(False), nin=2, cls="BitwiseRightShift")


@public("sum_to_size", function=False)
def sum_to_size(input: Tensor, *size) -> Tensor:
    """Sum ``input`` down to ``size`` (the shape it was broadcast from)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    from .._dispatch import apply
    from ._table import TABLE, broadcastable_to

    if not broadcastable_to(tuple(size), tuple(input.shape)):
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(input.shape)}}}.")
    return apply(TABLE["sum_to_size"], input, shape=tuple(size))


# ---- Tensor.new_* and type_as: same dtype as self unless told otherwise ---------------------
public("type_as", function=False)(lambda self, other: to(self, other.dtype))


def _new_factory(name: str, make):
    def fn(self, *size, dtype=None, device=None, requires_grad: bool = False, layout=None,
           pin_memory: bool = False):
        from .. import _creation

        _creation._check_device(device)

        t = make(_creation, self, size, dtype if dtype is not None else self.dtype)
        return t.requires_grad_(True) if requires_grad else t

    fn.__name__ = name
    public(name, function=False)(fn)


_new_factory("new_zeros", lambda c, s, size, d: c.zeros(*size, dtype=d))
_new_factory("new_ones", lambda c, s, size, d: c.ones(*size, dtype=d))
_new_factory("new_empty", lambda c, s, size, d: c.empty(*size, dtype=d))
_new_factory("new_full", lambda c, s, size, d: c.full(size[0], size[1], dtype=d))
_new_factory("new_tensor", lambda c, s, size, d: c.tensor(size[0], dtype=d))
