"""Rule-table rows: matrix products."""

from __future__ import annotations

import numpy as np

from ._table import defop


def _matmul(x, y):
    if x.ndim == 0 or y.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {x.ndim}D and {y.ndim}D"
        )
    try:
        return np.matmul(x, y)
    except ValueError:
        a = "x".join(map(str, x.shape if x.ndim > 1 else (1,) + x.shape))
        b = "x".join(map(str, y.shape if y.ndim > 1 else y.shape + (1,)))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a} and {b})") from None


def _mm_dx(m, g, out, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * y
    if y.ndim == 1:  # out (..., n): outer product with y
        return m.unsqueeze(g, -1) * y
    if x.ndim == 1:  # out (..., p); the engine sums the batch dims away
        return m.squeeze(m.matmul(m.unsqueeze(g, -2), m.transpose(y, -1, -2)), -2)
    return m.matmul(g, m.transpose(y, -1, -2))


def _mm_dy(m, g, out, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * x
    if x.ndim == 1:
        return m.unsqueeze(x, -1) * m.unsqueeze(g, -2)
    if y.ndim == 1:
        return m.squeeze(m.matmul(m.unsqueeze(g, -2), x), -2)
    return m.matmul(m.transpose(x, -1, -2), g)


defop("matmul", _matmul, (_mm_dx, _mm_dy),
      (lambda m, t, out, x, y: m.matmul(t, y), lambda m, t, out, x, y: m.matmul(x, t)),
      nin=2, cls="Matmul", variant=lambda a, kw: 0,
      formula=("d(UV)/dU: G·Vᵀ", "d(UV)/dV: Uᵀ·G"))
