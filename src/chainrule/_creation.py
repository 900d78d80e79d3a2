"""Tensor creation: ``tensor``, ``zeros``, ``randn`` … and the global random generator."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _device, _dtype
from ._context import created as _created, ctx as _ctx
from ._tensor import Tensor, _make, _size, _to_array


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
    if device is not None:
        _device.check(device)


def _fdt(dtype) -> np.dtype:
    return _dtype.default_np() if dtype is None else _dtype.to_np(dtype)


def zeros(*args, size=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor of zeros. Example: ``chainrule.zeros(2, 3)``."""
    _check_device(device)
    _need_size("zeros", args, size)
    return _new(np.zeros(_size(args, size, "zeros"), _fdt(dtype)), requires_grad, "zeros")


def ones(*args, size=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor of ones. Example: ``chainrule.ones(1, 4, requires_grad=True)``."""
    _check_device(device)
    _need_size("ones", args, size)
    return _new(np.ones(_size(args, size, "ones"), _fdt(dtype)), requires_grad, "ones")


def empty(*args, size=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialized tensor (zero-filled here, so it is never garbage)."""
    _check_device(device)
    _need_size("empty", args, size)
    return _new(np.zeros(_size(args, size, "empty"), _fdt(dtype)), requires_grad, "empty")


def _need_size(name: str, args, size) -> None:
    # zeros() is not a 0-d tensor in torch (that is zeros(()))
    if not args and size is None:
        raise TypeError(f'{name}() missing 1 required positional arguments: "size"')


def _no_bool_kernel(name: str, dtype) -> None:
    if dtype is not None and _dtype.to_np(dtype) == np.bool_:
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool' ({name}(dtype=bool))")


def _arange_size(lo, hi, st, npd: np.dtype) -> None:
    # torch computes the length in int64 (exactly, for integers): beyond it, or beyond what a
    # storage can address, is its RuntimeError (NumPy would return [] or raise ValueError)
    if all(isinstance(v, (int, np.integer)) for v in (lo, hi, st)):
        if not all(-(2**63) <= int(v) < 2**63 for v in (lo, hi, st)):
            raise RuntimeError(f"arange: value cannot be converted to type int64_t without "
                               f"overflow (start={lo}, end={hi}, step={st})")
        n = -((int(lo) - int(hi)) // int(st))
    else:
        n = math.ceil((hi - lo) / st)
    if n * npd.itemsize >= 2**63:
        raise RuntimeError(f"Storage size calculation overflowed with sizes=[{n}] "
                           f"(arange(start={lo}, end={hi}, step={st}))")


def _scalar_dtype(v) -> np.dtype:
    if isinstance(v, bool):
        return np.dtype(np.bool_)
    if isinstance(v, (int, np.integer)):
        return np.dtype(np.int64)
    return _dtype.default_np()


def full(size, fill_value, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
         pin_memory: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from it, as torch)."""
    _check_device(device)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    npd = _scalar_dtype(fill_value) if dtype is None else _dtype.to_np(dtype)
    return _new(np.full(_size((size,) if isinstance(size, int) else tuple(size)), fill_value, npd),
                requires_grad, "full")


def arange(start, end=None, step=1, *, dtype=None, layout=None, device=None,
           requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 for integer arguments."""
    _check_device(device)
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    lo, hi, st = vals
    _no_bool_kernel("arange", dtype)
    if st == 0 or st != st:  # a NaN step too, as torch
        raise RuntimeError("arange: step must be nonzero")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"arange: unsupported range: {lo} -> {hi}")
    if (hi - lo) * st < 0:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                           f"(start={lo}, end={hi}, step={st})")
    if dtype is None:
        npd = np.dtype(np.int64) if all(isinstance(v, (int, np.integer)) for v in vals) \
            else _dtype.default_np()
    else:
        npd = _dtype.to_np(dtype)
    _arange_size(lo, hi, st, npd)
    try:
        a = np.arange(*vals)
    except (ValueError, MemoryError) as e:  # more elements than memory holds: torch's type
        raise RuntimeError(f"arange(start={lo}, end={hi}, step={st}): {e}") from None
    return _new(a.astype(npd), requires_grad, "arange")


def linspace(start, end, steps: int, *, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    _check_device(device)
    _check_steps("linspace", steps)
    if steps:
        _no_bool_kernel("linspace", dtype)
    return _new(np.linspace(start, end, steps).astype(_fdt(dtype)), requires_grad, "linspace")


def _check_steps(name: str, steps) -> None:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"{name}(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError(f"{name}(): number of steps must be non-negative (got {steps})")


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    _check_device(device)
    _check_steps("logspace", steps)
    if steps:
        _no_bool_kernel("logspace", dtype)
    return _new(np.logspace(start, end, steps, base=base).astype(_fdt(dtype)), requires_grad, "logspace")


def eye(n: int, m: int | None = None, *, dtype=None, layout=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """The identity matrix (``n`` × ``m``)."""
    _check_device(device)
    for k, v in (("n", n), ("m", m)):
        if v is not None and v < 0:
            raise RuntimeError(f"eye(): {k} must be greater or equal to 0, got {v}")
    return _new(np.eye(n, m, dtype=_fdt(dtype)), requires_grad, "eye")


def _like(fn, t: Tensor, dtype, requires_grad, *extra, device=None):
    _check_device(device)
    npd = t._array.dtype if dtype is None else _dtype.to_np(dtype)
    return _new(fn(t._array.shape, *extra, npd), requires_grad, "like")


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    return _like(lambda s, d: np.zeros(s, d), input, dtype, requires_grad, device=device)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    return _like(lambda s, d: np.ones(s, d), input, dtype, requires_grad, device=device)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    return _like(lambda s, d: np.zeros(s, d), input, dtype, requires_grad, device=device)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    return _like(lambda s, v, d: np.full(s, v, d), input, dtype, requires_grad, fill_value,
                 device=device)


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


def rand(*args, size=None, generator=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    _check_device(device)
    shape = _size(args, size, "rand")
    return _new(_gen(generator).random(shape).astype(_fdt(dtype)), requires_grad, "rand")


def randn(*args, size=None, generator=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Standard normal samples."""
    _check_device(device)
    shape = _size(args, size, "randn")
    return _new(_gen(generator).standard_normal(shape).astype(_fdt(dtype)), requires_grad, "randn")


def randint(low, high=None, size=None, *, generator=None, dtype=None, layout=None, device=None,
            requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Integers uniformly drawn from [low, high); int64 by default."""
    _check_device(device)
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    npd = np.dtype(np.int64) if dtype is None else _dtype.to_np(dtype)
    return _new(_gen(generator).integers(low, high, _size(tuple(size))).astype(npd),
                requires_grad, "randint")


def randperm(n: int, *, generator=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    _check_device(device)
    npd = np.dtype(np.int64) if dtype is None else _dtype.to_np(dtype)
    return _new(_gen(generator).permutation(n).astype(npd), requires_grad, "randperm")


def rand_like(input: Tensor, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    return rand(*input.shape, generator=generator, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)


def randn_like(input: Tensor, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad: bool = False, memory_format=None) -> Tensor:
    return randn(*input.shape, generator=generator, dtype=dtype or input.dtype, device=device,
                 requires_grad=requires_grad)


def randint_like(input: Tensor, low, high=None, *, generator=None, dtype=None, layout=None,
                 device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    return randint(low, high, tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                   device=device, requires_grad=requires_grad)
