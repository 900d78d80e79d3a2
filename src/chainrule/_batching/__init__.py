"""Batching (vmap's machinery): ``core`` holds the Batched tensor, the levels, the dispatch entry
and the registry; each other file registers the rules of one ops family."""

from __future__ import annotations

from . import indexing, linalg, nn, reduction, shape  # noqa: F401  (they register their rules)
from .core import (
    RULES,
    STILL_LOOPING,
    Batched,
    BatchedDataError,
    _by_kind,
    _elementwise,
    _warned,
    batched_apply,
    close_level,
    levels_of,
    lift,
    lower,
    movedim,
    new_level,
    register,
    to_physical,
    warn_loop,
    wrap,
)

__all__ = ["RULES", "STILL_LOOPING", "Batched", "BatchedDataError", "batched_apply", "close_level",
           "levels_of", "lift", "lower", "movedim", "new_level", "register", "to_physical",
           "warn_loop", "wrap"]
