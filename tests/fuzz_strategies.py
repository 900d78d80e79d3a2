"""Hypothesis strategies for the differential fuzzer: shapes (0-d, empty, size-1), all dtypes,
values with NaN/±inf/huge entries, non-contiguous layouts, dims and indices in and out of range."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from fuzz_core import T

BOOL = ["bool"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]
FLOATS = ["float16", "float32", "float64"]
ALL = BOOL + INTS + FLOATS
# mostly the common dtypes, so most calls are valid; every dtype still appears
COMMON_F = ["float32", "float64", "float32", "float64"] + FLOATS + ["int64", "int32", "bool"]
ANY = ["float32", "float64", "int64"] + ALL

_HUGE = {"float16": 6.0e4, "float32": 3.0e38, "float64": 1.0e308}


@st.composite
def shapes(draw, min_dims=0, max_dims=3, max_side=4, min_side=0):
    nd = draw(st.integers(min_dims, max_dims))
    return tuple(draw(st.integers(min_side, max_side)) for _ in range(nd))


def values(rng: np.random.Generator, dtype: str, shape, special: bool, lo=None, hi=None):
    n = int(np.prod(shape, dtype=np.int64))
    d = np.dtype(dtype)
    if d.kind == "b":
        return rng.random(n).reshape(shape) < 0.5
    if d.kind in "iu":
        info = np.iinfo(d)
        lo = (0 if d.kind == "u" else -5) if lo is None else lo
        hi = 5 if hi is None else hi
        a = rng.integers(max(lo, info.min), min(hi, info.max) + 1, n)
        if special and n:
            k = rng.integers(0, n + 1)
            a[rng.integers(0, n, k)] = rng.choice([info.min, info.max], k)
        return a.astype(d).reshape(shape)
    a = rng.standard_normal(n) * 2
    if special and n:
        pool = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, _HUGE[dtype], -_HUGE[dtype], 1e-30])
        k = rng.integers(0, max(1, n // 2) + 1)
        a[rng.integers(0, n, k)] = rng.choice(pool, k)
    with np.errstate(over="ignore"):
        return a.astype(d).reshape(shape)


@st.composite
def arrays(draw, dtype, shape, special=None, lo=None, hi=None):
    seed = draw(st.integers(0, 2**16))
    sp = draw(st.integers(0, 3)) == 3 if special is None else special
    return values(np.random.default_rng(seed), dtype, shape, sp, lo, hi)


@st.composite
def tensors(draw, dtypes=COMMON_F, shape=None, min_dims=0, max_dims=3, max_side=4, grad=True,
            special=None, layout=True, lo=None, hi=None, min_side=0):
    dt = draw(st.sampled_from(dtypes)) if isinstance(dtypes, (list, tuple)) else dtypes
    shp = draw(shapes(min_dims, max_dims, max_side, min_side)) if shape is None else tuple(shape)
    a = draw(arrays(dt, shp, special, lo, hi))
    lay = "c"
    if layout and a.ndim >= 1:
        lay = draw(st.sampled_from(["c", "c", "t", "s"] if a.ndim >= 2 else ["c", "c", "s"]))
    g = grad and np.dtype(dt).kind == "f" and draw(st.booleans())
    return T(a, lay, g)


def dims(nd: int):
    """A dim: mostly valid (negative too), sometimes one past either end, rarely far out."""
    k = max(nd, 1)
    return st.one_of(st.integers(-k, k - 1), st.integers(-k - 1, k),
                     st.sampled_from([k + 2, -k - 3]))


@st.composite
def index_tensors(draw, size: int, shape, dtype=None):
    """Int64 indices for a dim of ``size``: in range mostly, sometimes -size-1 … size."""
    dt = dtype or draw(st.sampled_from(["int64"] * 6 + ["int32", "float32", "int16"]))
    bad = draw(st.integers(0, 3)) == 0
    lo, hi = (-size - 1, size) if bad else (0, max(size - 1, 0))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape, dtype=np.int64))
    a = rng.integers(lo, hi + 1, n).reshape(shape) if (size or bad) else np.zeros(shape, int)
    return T(a.astype(dt), "c", False)


scalars = st.one_of(st.integers(-3, 3), st.floats(-3, 3, allow_nan=False, width=32),
                    st.sampled_from([0.5, -1.5, float("nan"), float("inf"), True, 2**63]))


def kw_options(draw, **options):
    """Keyword arguments, each present or absent: name=strategy."""
    out = {}
    for k, v in options.items():
        if draw(st.booleans()):
            out[k] = draw(v)
    return out
