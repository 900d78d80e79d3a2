"""Tensor creation: ``tensor``, ``zeros``, ``randn`` … and the global random generator."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _dtype
from ._context import created as _created, ctx as _ctx
from ._tensor import Tensor, _make


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


def _new(a: np.ndarray, requires_grad: bool, how: str = "tensor") -> Tensor:
    t = _make(a)
    if requires_grad:
        t.requires_grad_(True)
    if _ctx.modes:  # a tracer records a constant (or, for a random draw, a graph break)
        _created(t, how)
    return t


def tensor(data: Any, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False, name: str | None = None) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (Python floats → the default dtype).

    Example:
        >>> chainrule.tensor([1.0, 2.0], requires_grad=True)
        tensor([1., 2.], requires_grad=True)
    """
    _check_device(device)
    t = _new(_to_array(data, dtype, copy=True), requires_grad)
    if name is not None:  # shown by chainrule.viz / explain / autograd.why
        t._extra()["name"] = str(name)
    return t


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or Tensor of the same dtype."""
    _check_device(device)
    if isinstance(data, Tensor) and (dtype is None or data._array.dtype == _dtype.to_np(dtype)):
        return data
    return _new(_to_array(data, dtype, copy=False), False, "as_tensor")


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing memory with NumPy array ``a``."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    _dtype.from_np(a.dtype)
    t = _make(a)
    if _ctx.modes:
        _created(t, "from_numpy")
    return t


def _check_device(device) -> None:
    if device is not None and str(device) not in ("cpu", "cpu:0"):
        raise RuntimeError(f"chainrule runs on the CPU only (device={device!r})")


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"size must be a tuple of ints, but got {type(s).__name__} in {size}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return tuple(int(s) for s in size)


def _fdt(dtype) -> np.dtype:
    return _dtype.default_np() if dtype is None else _dtype.to_np(dtype)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros. Example: ``chainrule.zeros(2, 3)``."""
    return _new(np.zeros(_size(size), _fdt(dtype)), requires_grad, "zeros")


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones. Example: ``chainrule.ones(1, 4, requires_grad=True)``."""
    return _new(np.ones(_size(size), _fdt(dtype)), requires_grad, "ones")


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialized tensor (zero-filled here, so it is never garbage)."""
    return _new(np.zeros(_size(size), _fdt(dtype)), requires_grad, "empty")


def _scalar_dtype(v) -> np.dtype:
    if isinstance(v, bool):
        return np.dtype(np.bool_)
    if isinstance(v, (int, np.integer)):
        return np.dtype(np.int64)
    return _dtype.default_np()


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from it, as torch)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    npd = _scalar_dtype(fill_value) if dtype is None else _dtype.to_np(dtype)
    return _new(np.full(_size((size,) if isinstance(size, int) else tuple(size)), fill_value, npd),
                requires_grad, "full")


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 for integer arguments."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        npd = np.dtype(np.int64) if all(isinstance(v, (int, np.integer)) for v in vals) \
            else _dtype.default_np()
    else:
        npd = _dtype.to_np(dtype)
    return _new(np.arange(*vals).astype(npd), requires_grad, "arange")


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    return _new(np.linspace(start, end, steps).astype(_fdt(dtype)), requires_grad, "linspace")


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, requires_grad=False) -> Tensor:
    return _new(np.logspace(start, end, steps, base=base).astype(_fdt(dtype)),
                requires_grad, "logspace")


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The identity matrix (``n`` × ``m``)."""
    return _new(np.eye(n, m, dtype=_fdt(dtype)), requires_grad, "eye")


def _like(fn, t: Tensor, dtype, requires_grad, *extra):
    npd = t._array.dtype if dtype is None else _dtype.to_np(dtype)
    return _new(fn(t._array.shape, *extra, npd), requires_grad, "like")


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    return _like(lambda s, d: np.zeros(s, d), input, dtype, requires_grad)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    return _like(lambda s, d: np.ones(s, d), input, dtype, requires_grad)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    return _like(lambda s, d: np.zeros(s, d), input, dtype, requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    return _like(lambda s, v, d: np.full(s, v, d), input, dtype, requires_grad, fill_value)


# ---- random numbers -------------------------------------------------------------------------
class Generator:
    """A seeded random source (NumPy's PCG64), like ``torch.Generator``."""

    def __init__(self, device: str = "cpu") -> None:
        self._seed = 67280421310721
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the global generator (used by ``rand``, ``randn``, dropout, init …)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    s = int(np.random.SeedSequence().entropy % (2**63))
    default_generator.manual_seed(s)
    return s


def initial_seed() -> int:
    return default_generator.initial_seed()


def _gen(generator) -> np.random.Generator:
    return (generator or default_generator).rng


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    return _new(_gen(generator).random(_size(size)).astype(_fdt(dtype)), requires_grad, "rand")


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    return _new(_gen(generator).standard_normal(_size(size)).astype(_fdt(dtype)),
                requires_grad, "randn")


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers uniformly drawn from [low, high); int64 by default."""
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    npd = np.dtype(np.int64) if dtype is None else _dtype.to_np(dtype)
    return _new(_gen(generator).integers(low, high, _size(tuple(size))).astype(npd),
                requires_grad, "randint")


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    npd = np.dtype(np.int64) if dtype is None else _dtype.to_np(dtype)
    return _new(_gen(generator).permutation(n).astype(npd), requires_grad, "randperm")


def rand_like(input: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return rand(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return randn(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randint_like(input: Tensor, low, high=None, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype,
                   requires_grad=requires_grad)
