"""The Tensor: data, autograd metadata and delegation. No math lives here."""

from __future__ import annotations

import warnings
import weakref
from typing import Any

import numpy as np

from . import _dtype
from . import _ns
from . import _operators
from ._context import ctx as _ctx, escape as _escape
from ._device import CPU as _CPU, check as _check_device
from ._format import format_tensor
from ._hooks import RemovableHandle
from ._operators import TensorOperators


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


class Tensor(TensorOperators):
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

    def __init__(self, data: Any = None, *sizes: int, requires_grad: bool = False,
                 dtype=None) -> None:
        if sizes:  # torch's legacy ``Tensor(d0, d1, …)``: a default-dtype tensor of that shape
            shape = _size((data, *sizes), None, "Tensor")
            self._array = np.zeros(shape, _dtype.to_np(dtype) if dtype else _dtype.default_np())
        else:
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
        return RemovableHandle(self._extra().setdefault("post_hooks", {}), hook)

    # ``backward`` is attached by ``chainrule.autograd.api`` (autograd sits above this class)

    def detach(self) -> Tensor:
        """A new tensor sharing data, cut from the graph."""
        return _ns.detach(self)

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
    def device(self):
        return _CPU

    @property
    def is_cuda(self) -> bool:
        return False

    is_mps = is_meta = is_cuda

    def get_device(self) -> int:
        return -1  # torch's answer for a CPU tensor

    def cpu(self, memory_format=None) -> Tensor:
        return self

    # page-locked and shared memory matter for GPU transfers and worker processes, which
    # chainrule has neither of: these are the identity, as scripts call them unconditionally
    def pin_memory(self, device=None) -> Tensor:
        return self

    def is_pinned(self, device=None) -> bool:
        return False

    def share_memory_(self) -> Tensor:
        return self

    def is_shared(self) -> bool:
        return False

    @property
    def nbytes(self) -> int:
        return self._array.nbytes

    @property
    def itemsize(self) -> int:
        return self._array.itemsize

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
        if isinstance(device, int) and not isinstance(device, bool):
            device = f"cuda:{device}"
        _check_device("cuda" if device is None else device, "Tensor.cuda")
        return self

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
        return self if self._array.flags.c_contiguous else _ns.clone(self)

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
        return iter(_ns.unbind(self, 0))

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
        return _ns.zero_(self)

    def clone(self, *, memory_format=None) -> Tensor:
        return _ns.clone(self)

    @property
    def T(self) -> Tensor:
        return _ns.permute(self, tuple(range(self._array.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        return _ns.transpose(self, -2, -1)

    def type(self, dtype=None):
        if dtype is None:
            return f"chainrule.{type(self).__name__}[{self.dtype.name}]"
        return _ns.to(self, dtype)


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
        getattr(_ns, n)(o, self) if r else getattr(_ns, n)(self, o)))(_n, _r))


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


_operators._make = _make


# ---- data to arrays (the constructor, factories, the funnel's non-Tensor inputs) ---------------
def _size(size, kw=None, op: str = "") -> tuple:
    if kw is not None:  # torch's keyword form: zeros(size=(2, 3))
        if size:
            raise TypeError(f"{op}() received an invalid combination of arguments: the size was "
                            f"given both positionally {size} and as size={kw}")
        size = (kw,) if isinstance(kw, (int, np.integer)) else tuple(kw)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"size must be a tuple of ints, but got {type(s).__name__} in {size}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return tuple(int(s) for s in size)


def _to_array(data: Any, dtype=None, copy: bool = True) -> np.ndarray:
    npd = None if dtype is None else _dtype.to_np(dtype)
    if isinstance(data, Tensor):
        a = data._array
    elif isinstance(data, np.ndarray):
        a = data
    elif isinstance(data, np.generic):
        a = np.asarray(data)
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in _flat(data)):
            data = _detach_nested(data)
        try:
            a = np.array(data)
        except ValueError as e:
            raise ValueError(f"could not make a tensor from {type(data).__name__}: {e}") from None
        if a.dtype.kind == "O" or a.dtype == np.uint64 or (
                a.dtype == np.float64 and not _has_float(data)):  # Python ints beyond int64
            a = _wide_ints(data, npd)
        if a.dtype == np.float64 and npd is None and not _has_np_float64(data):
            a = a.astype(_dtype.default_np())
    if a.dtype.kind in "OUSV":
        raise TypeError(f"can't convert data of type {a.dtype} ({type(data).__name__}) to a tensor")
    if a.dtype.kind == "c":
        raise TypeError("chainrule does not support complex tensors")
    if npd is not None and a.dtype != npd:
        return a.astype(npd)
    if a.dtype not in _dtype._FROM_NP:
        a = a.astype(_dtype.from_np(np.promote_types(a.dtype, np.int64)).np) if a.dtype.kind in "iu" \
            else a.astype(np.float64)
    return a.copy() if copy and (a is data or (isinstance(data, Tensor) and a is data._array)) else a


def _wide_ints(data, npd) -> np.ndarray:
    """Data with a Python int outside int64: a float tensor when floats are asked for or present,
    else torch's overflow error (NumPy would make uint64, float64 or object arrays)."""
    vals = list(_flat(data))
    if (npd is not None and npd.kind == "f") or any(isinstance(v, float) for v in vals):
        return np.array(data, dtype=np.float64 if npd is None else npd)
    if any(isinstance(v, int) and not -2**63 <= v < 2**63 for v in vals):
        raise ValueError("Overflow when unpacking long long: a Python int in the data is outside "
                         "the int64 range")
    return np.array(data)


def _has_float(data) -> bool:
    return any(isinstance(v, (float, np.floating, np.ndarray)) for v in _flat(data))


def _flat(x):
    stack = [x]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        else:
            yield v


def _detach_nested(x):
    if isinstance(x, (list, tuple)):
        return [_detach_nested(v) for v in x]
    return x._array if isinstance(x, Tensor) else x


def _has_np_float64(data) -> bool:
    for v in _flat(data):
        if isinstance(v, (np.floating, np.ndarray)) and np.asarray(v).dtype == np.float64:
            return True
    return False
