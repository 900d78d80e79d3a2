"""``repr`` of a Tensor in PyTorch's format (precision 4, shared width, sci mode when needed)."""

from __future__ import annotations

import numpy as np

from . import _dtype


def _float_formatter(a: np.ndarray):
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.4f}"
    absf = np.abs(finite)
    nz = absf[absf > 0]
    integral = bool(np.all(finite == np.round(finite)))
    big, small = (nz.max(), nz.min()) if nz.size else (0.0, 0.0)
    sci = nz.size > 0 and (big / small > 1000.0 or big > 1e8 or small < 1e-4)
    if integral and not sci:
        return lambda v: _special(v) or f"{v:.0f}."
    if sci:
        return lambda v: _special(v) or f"{v:.4e}"
    return lambda v: _special(v) or f"{v:.4f}"


def _special(v) -> str | None:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def format_data(a: np.ndarray, prefix: str = "tensor(") -> str:
    kind = a.dtype.kind
    if a.size == 0:
        return "[]"
    if kind == "f":
        fmt = _float_formatter(a.astype(np.float64))
        formatter = {"float_kind": fmt}
    elif kind == "b":
        formatter = {"bool": lambda v: "True" if v else "False"}
    else:
        formatter = {"int": lambda v: str(v)}
    fmt = next(iter(formatter.values()))
    if a.ndim == 0:
        return fmt(a.item())
    flat = a.reshape(-1)
    shown = flat if flat.size <= 1000 else np.concatenate([flat[:3], flat[-3:]])
    if kind == "f":  # torch sizes the common width by the finite values only
        shown = shown[np.isfinite(shown)]
    vals = shown.tolist()
    width = max((len(fmt(v)) for v in vals), default=0)  # right-aligned to a common width
    key = next(iter(formatter))
    formatter = {key: lambda v: fmt(v).rjust(width)}
    return np.array2string(
        a, separator=", ", prefix=prefix, formatter=formatter, threshold=1000, edgeitems=3,
        max_line_width=80,
    )


def format_tensor(t) -> str:
    a = t._array
    parts = [format_data(a)]
    if a.size == 0 and a.shape != (0,):
        parts.append(f"size={tuple(a.shape)}")
    d = _dtype.from_np(a.dtype)
    if d not in (_dtype.get_default_dtype(), _dtype.int64, _dtype.bool_):
        parts.append(f"dtype={d!r}")
    if t.grad_fn is not None:
        parts.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        parts.append("requires_grad=True")
    return f"tensor({', '.join(parts)})"
