"""The Tensor: data, autograd metadata and delegation. No math lives here."""

from __future__ import annotations

import warnings
import weakref
from typing import Any

import numpy as np

from . import _dtype
from . import _ns as F
from ._context import ctx as _ctx, escape as _escape
from ._format import format_tensor


class Size(tuple):
    """A tensor shape, like ``torch.Size``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"chainrule.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n



class ArrayOperand(TypeError):
    """An array, list or tuple where an op wants a Tensor: shown and pickled as a TypeError."""

    def __reduce__(self):
        return (TypeError, self.args)


ArrayOperand.__module__, ArrayOperand.__name__, ArrayOperand.__qualname__ = (
    "builtins", "TypeError", "TypeError")


def _operand(o):
    return _make(np.asarray(o)) if isinstance(o, np.ndarray) else o


class Tensor:
    """A NumPy array with the autograd bookkeeping PyTorch's Tensor has.

    Example:
        >>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4.])
    """

    # _array: the values (np.ndarray); _output_nr: which output of grad_fn this is;
    # _version_counter: [count] shared with views, or None until first needed;
    # _grad_accumulator: weakref to this leaf's AccumulateGrad;
    # _extra_state: dict of rarely used state (hooks, tangents, view base, cut marks) or None
    __slots__ = ("_array", "_requires_grad", "_grad", "grad_fn", "_output_nr", "_version_counter",
                 "_grad_accumulator", "_extra_state", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, data: Any = None, *, requires_grad: bool = False, dtype=None) -> None:
        from ._creation import _to_array

        self._array = _to_array([] if data is None else data, dtype)
        self._requires_grad = False
        self._grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._version_counter = None
        self._grad_accumulator = None
        self._extra_state = None
        if requires_grad:
            self.requires_grad_(True)

    # ---- autograd metadata -------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use "
                    "a computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach()."
                )
            return self
        if requires_grad and self._array.dtype.kind not in "fc":
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients "
                f"(this tensor has dtype {self.dtype})"
            )
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def data(self) -> Tensor:
        """This tensor's values as a new Tensor outside autograd, sharing storage (as torch's
        ``.data``): changes through it are not seen by autograd's version checks."""
        if _ctx.modes:
            _escape(self, "data")
        return _make(self._array)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        self._array = value._array

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def grad(self) -> Tensor | None:
        if self._grad is None and self.grad_fn is not None and not self.retains_grad:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed want "
                "the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the "
                "non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you access "
                "the leaf Tensor instead.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: grad {tuple(value.shape)}, "
                    f"tensor {tuple(self.shape)}"
                )
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return bool(self._extra_state and self._extra_state.get("retains_grad"))

    def _extra(self) -> dict:
        if self._extra_state is None:
            self._extra_state = {}
        return self._extra_state

    def retain_grad(self) -> None:
        """Populate ``.grad`` of this non-leaf tensor during backward (accumulating, as torch)."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self.retains_grad:
            return
        self._extra()["retains_grad"] = True
        ref = weakref.ref(self)
        self.grad_fn._add_retain(self._output_nr, ref)

    def register_hook(self, hook):
        """Register ``hook(grad) -> Tensor | None``, called with this tensor's gradient."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        from .autograd.graph import RemovableHandle

        if self.grad_fn is None:
            hooks = self._extra().setdefault("hooks", {})
        else:
            hooks = self.grad_fn._tensor_hooks(self._output_nr)
        return RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Register ``hook(tensor)``, called after ``.grad`` of this leaf was accumulated."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        from .autograd.graph import RemovableHandle

        return RemovableHandle(self._extra().setdefault("post_hooks", {}), hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) — times ``gradient`` (vJ) for non-scalars — into leaves' ``.grad``."""
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """A new tensor sharing data, cut from the graph."""
        return F.detach(self)

    def detach_(self) -> Tensor:
        if self._extra_state and self._extra_state.get("is_view"):
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._requires_grad = False
        self._output_nr = 0
        return self

    @property
    def _version(self) -> int:
        return 0 if self._version_counter is None else self._version_counter[0]

    def _bump(self) -> None:
        if self._version_counter is None:
            self._version_counter = [0]
        self._version_counter[0] += 1

    # ---- array-like metadata -------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._array.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._array.shape)
        return self._array.shape[_wrap_dim(dim, self._array.ndim, "size")]

    @property
    def ndim(self) -> int:
        return self._array.ndim

    def dim(self) -> int:
        return self._array.ndim

    ndimension = dim

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype.from_np(self._array.dtype)

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def is_cuda(self) -> bool:
        return False

    def is_floating_point(self) -> bool:
        return self._array.dtype.kind == "f"

    def numel(self) -> int:
        return self._array.size

    nelement = numel

    def element_size(self) -> int:
        return self._array.itemsize

    def stride(self, dim: int | None = None):
        st = tuple(s // self._array.itemsize for s in self._array.strides)
        return st if dim is None else st[_wrap_dim(dim, self._array.ndim, "stride")]

    def is_contiguous(self) -> bool:
        return bool(self._array.flags.c_contiguous)

    def contiguous(self) -> Tensor:
        return self if self._array.flags.c_contiguous else F.clone(self)

    def data_ptr(self) -> int:
        return self._array.__array_interface__["data"][0]

    def item(self):
        if _ctx.modes:
            _escape(self, "item")
        if self._array.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._array.size} elements cannot be converted to Scalar"
            )
        return self._array.reshape(()).item()

    def tolist(self):
        if _ctx.modes:
            _escape(self, "tolist")
        return self._array.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if _ctx.modes:
            _escape(self, "numpy")
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        return self._array

    def __array__(self, dtype=None, copy=None):
        if _ctx.modes:
            _escape(self, "__array__")
        if dtype is None:
            return self._array
        return self._array.astype(dtype, copy=bool(copy))

    def __len__(self) -> int:
        if self._array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._array.shape[0]

    def __iter__(self):
        if self._array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(F.unbind(self, 0))

    def __bool__(self) -> bool:
        if _ctx.modes:
            _escape(self, "bool")
        if self._array.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous (shape {tuple(self.shape)})"
            )
        return bool(self._array.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if _ctx.modes:
            _escape(self, "index")
        if self._array.ndim != 0 or self._array.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._array)

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        if _ctx.modes:
            _escape(self, "repr")
        return format_tensor(self)

    def __format__(self, spec: str) -> str:
        if self._array.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)

    def __reduce_ex__(self, protocol):
        raise TypeError("chainrule tensors are saved with chainrule.save, never pickled")

    def __deepcopy__(self, memo) -> Tensor:
        # copy.deepcopy(model.state_dict()) is common; a leaf copy with its own data, as torch
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol at the moment.")
        if id(self) not in memo:
            new = _make(self._array.copy())
            new.requires_grad_(self._requires_grad)
            if self._grad is not None:
                new._grad = self._grad.__deepcopy__(memo)
            memo[id(self)] = new
        return memo[id(self)]

    # ---- in-place helpers that do not touch the graph ------------------------------------
    def zero_(self) -> Tensor:
        return F.zero_(self)

    def clone(self, *, memory_format=None) -> Tensor:
        return F.clone(self)

    @property
    def T(self) -> Tensor:
        return F.permute(self, tuple(range(self._array.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        return F.transpose(self, -2, -1)

    def type(self, dtype=None):
        if dtype is None:
            return f"chainrule.{type(self).__name__}[{self.dtype.name}]"
        return F.to(self, dtype)

    # ---- operators: each delegates to the op namespace ----------------------------------
    # (they take a NumPy array as the other operand, as torch's; the functions refuse arrays)
    def __add__(self, o):
        try:
            return F.add(self, o)
        except ArrayOperand:
            return F.add(self, _operand(o))

    def __radd__(self, o):
        try:
            return F.add(o, self)
        except ArrayOperand:
            return F.add(_operand(o), self)

    def __sub__(self, o):
        try:
            return F.sub(self, o)
        except ArrayOperand:
            return F.sub(self, _operand(o))

    def __rsub__(self, o):
        try:
            return F.sub(o, self)
        except ArrayOperand:
            return F.sub(_operand(o), self)

    def __mul__(self, o):
        try:
            return F.mul(self, o)
        except ArrayOperand:
            return F.mul(self, _operand(o))

    def __rmul__(self, o):
        try:
            return F.mul(o, self)
        except ArrayOperand:
            return F.mul(_operand(o), self)

    def __truediv__(self, o):
        try:
            return F.div(self, o)
        except ArrayOperand:
            return F.div(self, _operand(o))

    def __rtruediv__(self, o):
        try:
            return F.div(o, self)
        except ArrayOperand:
            return F.div(_operand(o), self)

    def __floordiv__(self, o):
        try:
            return F.floor_divide(self, o)
        except ArrayOperand:
            return F.floor_divide(self, _operand(o))

    def __rfloordiv__(self, o):
        try:
            return F.floor_divide(o, self)
        except ArrayOperand:
            return F.floor_divide(_operand(o), self)

    def __mod__(self, o):
        try:
            return F.remainder(self, o)
        except ArrayOperand:
            return F.remainder(self, _operand(o))

    def __rmod__(self, o):
        try:
            return F.remainder(o, self)
        except ArrayOperand:
            return F.remainder(_operand(o), self)

    def __pow__(self, o):
        try:
            return F.pow(self, o)
        except ArrayOperand:
            return F.pow(self, _operand(o))

    def __rpow__(self, o):
        try:
            return F.pow(o, self)
        except ArrayOperand:
            return F.pow(_operand(o), self)

    def __matmul__(self, o):
        try:
            return F.matmul(self, o)
        except ArrayOperand:
            return F.matmul(self, _operand(o))

    def __rmatmul__(self, o):
        try:
            return F.matmul(o, self)
        except ArrayOperand:
            return F.matmul(_operand(o), self)

    def __neg__(self):
        return F.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return F.abs(self)

    def __invert__(self):
        return F.logical_not(self) if self._array.dtype == np.bool_ else F.bitwise_not(self)

    def __and__(self, o):
        return F.logical_and(self, o) if self._array.dtype == np.bool_ else F.bitwise_and(self, o)

    def __or__(self, o):
        return F.logical_or(self, o) if self._array.dtype == np.bool_ else F.bitwise_or(self, o)

    def __xor__(self, o):
        return F.logical_xor(self, o) if self._array.dtype == np.bool_ else F.bitwise_xor(self, o)

    __rand__ = __and__
    __ror__ = __or__
    __rxor__ = __xor__

    def __eq__(self, o):  # type: ignore[override]
        try:
            return F.eq(self, o)
        except ArrayOperand:
            return F.eq(self, _operand(o))

    def __ne__(self, o):  # type: ignore[override]
        try:
            return F.ne(self, o)
        except ArrayOperand:
            return F.ne(self, _operand(o))

    def __lt__(self, o):
        try:
            return F.lt(self, o)
        except ArrayOperand:
            return F.lt(self, _operand(o))

    def __le__(self, o):
        try:
            return F.le(self, o)
        except ArrayOperand:
            return F.le(self, _operand(o))

    def __gt__(self, o):
        try:
            return F.gt(self, o)
        except ArrayOperand:
            return F.gt(self, _operand(o))

    def __ge__(self, o):
        try:
            return F.ge(self, o)
        except ArrayOperand:
            return F.ge(self, _operand(o))

    def __getitem__(self, index):
        return F.getitem(self, index)

    def __setitem__(self, index, value):
        F.setitem(self, index, value)

    def __iadd__(self, o):
        return F.add_(self, o)

    def __isub__(self, o):
        return F.sub_(self, o)

    def __imul__(self, o):
        return F.mul_(self, o)

    def __itruediv__(self, o):
        return F.div_(self, o)


def _wrap_dim(dim: int, ndim: int, op: str = "") -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
            + (f" in {op}" if op else "")
        )
    return dim % n



# <<, >> and their reflected / in-place forms (integer tensors, as torch)
for _d, _n, _r in (("lshift", "bitwise_left_shift", False),
                   ("rlshift", "bitwise_left_shift", True),
                   ("rshift", "bitwise_right_shift", False),
                   ("rrshift", "bitwise_right_shift", True),
                   ("ilshift", "bitwise_left_shift_", False),
                   ("irshift", "bitwise_right_shift_", False)):
    setattr(Tensor, f"__{_d}__", (lambda n, r: lambda self, o: (
        getattr(F, n)(o, self) if r else getattr(F, n)(self, o)))(_n, _r))


def _make(data: np.ndarray, grad_fn=None, nr: int = 0) -> Tensor:
    """Fast constructor for results: no conversion, no checks."""
    t = object.__new__(Tensor)
    t._array = data
    t._requires_grad = grad_fn is not None
    t._grad = None
    t.grad_fn = grad_fn
    t._output_nr = nr
    t._version_counter = None
    t._grad_accumulator = None
    t._extra_state = None
    return t
