"""The op database: every rule-table op's sample inputs, driving the generic tests.

An ``OpInfo`` calls chainrule through the public API with a function ``fn(m, *args, **kwargs)``,
where ``m`` is the ``chainrule`` module (or ``torch`` for the parity tests: the same code runs
on both). ``covers`` names the rule-table rows it exercises; ``test_op_db_covers_table`` fails when
a row has no entry. Family files under ``tests/opdb/`` each define ``OPS``. ``error_inputs``
lists bad calls ``(fn(m), exception type, regex)``: ``tests/test_semantics_index.py`` checks that
torch and chainrule both raise that type with those words.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class S:
    """One sample: positional args (float arrays become tensors that require grad, integer/bool
    arrays become plain tensors, anything else is passed as is) and keyword args."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    nograd: tuple = ()  # positions of float arrays that must not require grad

    def __init__(self, *args, nograd=(), **kwargs):
        self.args = args
        self.kwargs = kwargs
        self.nograd = tuple(nograd)

    def __repr__(self) -> str:
        parts = [f"array{a.shape}:{a.dtype}" if isinstance(a, np.ndarray) else repr(a) for a in self.args]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return "S(" + ", ".join(parts) + ")"


#: the OpInfo flags that switch a generic check off (each needs a reason)
SKIP_FLAGS = ("torch", "grad", "second_order", "fwd_ad", "float32")


@dataclass
class OpInfo:
    name: str
    fn: Callable[..., Any]
    samples: Callable[[np.random.Generator], list]
    covers: tuple = ()
    torch_fn: Callable | None = None  # when the torch spelling differs
    ref: Callable | None = None  # NumPy reference for the forward: ref(*arrays, **kwargs)
    # Checks that run for every entry; an entry switches one off by giving the reason as a string
    # (e.g. ``grad="boolean outputs"``): the flag then reads False and ``skipped`` keeps the reason.
    torch: bool | str = True  # compare with torch
    grad: bool | str = True  # differentiable: run the reverse/forward/second-order checks
    second_order: bool | str = True
    fwd_ad: bool | str = True
    atol: float = 1e-5
    rtol: float = 1e-4
    float32: bool | str = True  # also compare dtypes/values vs torch in float32
    #: flag -> why this entry skips that check
    skipped: dict = field(default_factory=dict)
    # calls that must raise: (fn(m), exception type, regex on chainrule's message); torch must
    # raise the same type (test_semantics_dtype / test_semantics_index run them)
    error_inputs: list = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.covers:
            self.covers = (self.name,)
        for flag in SKIP_FLAGS:
            v = getattr(self, flag)
            if v is True:
                continue
            if not isinstance(v, str) or len(v) < 10:
                raise ValueError(f"OpInfo {self.name!r}: {flag}={v!r} skips a check without a "
                                 f"reason; pass {flag}='why it cannot run'")
            self.skipped[flag] = v
            setattr(self, flag, False)

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(zlib.crc32(self.name.encode()))


def randn(rng, *shape):
    return np.asarray(rng.standard_normal(shape))


def pos(rng, *shape, low=0.5, high=2.0):
    return np.asarray(rng.uniform(low, high, shape))


def away(rng, *shape, gap=0.2):
    """Normal samples kept at least ``gap`` away from 0 (for kinks at 0)."""
    a = np.asarray(rng.standard_normal(shape))
    return np.asarray(np.where(np.abs(a) < gap, np.sign(a + 1e-12) * (gap + np.abs(a)), a))


def distinct(rng, *shape):
    """Values with no ties (for max/min/sort-like ops)."""
    n = int(np.prod(shape)) if shape else 1
    return (rng.permutation(n).astype(np.float64) * 0.37 + rng.uniform(0, 0.1, n)).reshape(shape) - n * 0.15


def _collect() -> list:
    from opdb import (activation, basic, conv, indexing, inplace, linalg, loss, nn, norm, pointwise,
                      reduction, shape)

    ops: list = []
    for mod in (basic, pointwise, activation, reduction, shape, indexing, inplace, linalg, nn, conv,
                loss, norm):
        ops.extend(mod.OPS)
    names = [o.name for o in ops]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"duplicate OpInfo names: {sorted(dup)}")
    return ops


OPS: list = _collect()
