"""``chainrule.testing``: ``assert_close`` with torch's default tolerances, rules and message.

Example:
    >>> chainrule.testing.assert_close(chainrule.tensor([1.0, 2.0]), chainrule.tensor([1.0, 2.0]))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._tensor import Tensor

# torch's defaults (rtol, atol) per dtype; integers and bool compare exactly
_TOL = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
        np.dtype(np.float64): (1e-7, 1e-7)}


def _leaf(x):
    if isinstance(x, Tensor):
        return x._array, True
    if isinstance(x, np.ndarray):
        return x, True
    if isinstance(x, (bool, int, float, np.generic)):
        return np.asarray(x), False
    return None, False


def _fail(msg, default: str, path: str):
    text = default + (f"\n\nThe failure occurred for item {path}" if path else "")
    if callable(msg):
        text = msg(text)
    elif msg is not None:
        text = msg
    raise AssertionError(text)


def _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, path) -> None:
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            _fail(msg, f"The keys of the mappings do not match: {sorted(map(str, actual))} != "
                       f"{sorted(map(str, expected))}", path)
        for k in actual:
            _compare(actual[k], expected[k], rtol, atol, equal_nan, check_dtype, msg,
                     f"{path}[{k!r}]")
        return
    seq = (Sequence,)
    if isinstance(actual, seq) and isinstance(expected, seq) and not isinstance(actual, str):
        if len(actual) != len(expected):
            _fail(msg, f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
                  path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, rtol, atol, equal_nan, check_dtype, msg, f"{path}[{i}]")
        return
    a, a_tensor = _leaf(actual)
    e, e_tensor = _leaf(expected)
    if a is None or e is None:
        raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and "
                        f"{type(expected)}.")
    if type(actual) is not type(expected) and (a_tensor or e_tensor):
        if not (isinstance(actual, Tensor) and isinstance(expected, Tensor)):
            _fail(msg, f"Type mismatch: {type(actual)} != {type(expected)}", path)
    if a.shape != e.shape:
        _fail(msg, f"The values for attribute 'shape' do not match: {list(a.shape)} != "
                   f"{list(e.shape)}.", path)
    if a_tensor and check_dtype and a.dtype != e.dtype:
        from . import _dtype

        _fail(msg, f"The values for attribute 'dtype' do not match: "
                   f"{_dtype.from_np(a.dtype)} != {_dtype.from_np(e.dtype)}.", path)
    if rtol is None:
        dt = np.promote_types(a.dtype, e.dtype) if a_tensor else np.dtype(np.float64)
        rtol, atol = _TOL.get(dt, (0.0, 0.0)) if (a_tensor or dt.kind == "f") else (0.0, 0.0)
        if not a_tensor and isinstance(actual, float):
            rtol, atol = _TOL[np.dtype(np.float64)]
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    close = np.isclose(a64, e64, rtol=rtol, atol=atol, equal_nan=equal_nan) | (a64 == e64)
    if close.all():
        return
    bad = ~close
    nbad, n = int(bad.sum()), a.size
    with np.errstate(all="ignore"):
        diff = np.abs(a64 - e64)
        rel = diff / np.abs(e64)
    diff = np.where(bad, np.nan_to_num(diff, nan=np.inf), 0)
    rel = np.where(bad, np.nan_to_num(rel, nan=np.inf), 0)
    ia = np.unravel_index(int(np.argmax(diff)), a.shape) if a.ndim else ()
    ir = np.unravel_index(int(np.argmax(rel)), a.shape) if a.ndim else ()
    kind = "Tensor-likes" if a_tensor else "Scalars"
    if not a.ndim:
        text = (f"{kind} are not close!\n\nExpected {e.item()} but got {a.item()}.\n"
                f"Absolute difference: {diff.max()} (up to {atol} allowed)\n"
                f"Relative difference: {rel.max()} (up to {rtol} allowed)")
    else:
        text = (f"{kind} are not close!\n\nMismatched elements: {nbad} / {n} "
                f"({100 * nbad / n:.1f}%)\n"
                f"Greatest absolute difference: {diff.max()} at index {tuple(map(int, ia))} "
                f"(up to {atol} allowed)\n"
                f"Greatest relative difference: {rel.max()} at index {tuple(map(int, ir))} "
                f"(up to {rtol} allowed)")
    _fail(msg, text, path)


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg=None) -> None:
    """Raise ``AssertionError`` unless ``|actual − expected| ≤ atol + rtol·|expected|`` everywhere,
    with torch's default tolerances for the dtype (float32: rtol 1.3e-6, atol 1e-5), shapes and
    dtypes equal; sequences and mappings are compared item by item."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'rtol' if rtol is None else 'atol'}.")
    _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, "")
