"""Rule-table rows: cumulative ops (cumsum, cumprod exact with zeros, cummax/cummin,
logcumsumexp)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import _dtype
from .._dispatch import apply
from .._tensor import _wrap_dim
from ._public import public
from ._table import LINEAR, TABLE, defop
from .reduction import return_types


def _cum_dim(x, dim, name):
    d = _wrap_dim(dim, x.ndim, name)  # a 0-d tensor takes dim -1 or 0, as in torch
    return d if x.ndim else 0


def _logcumsumexp(x, dim):
    d = _cum_dim(x, dim, "logcumsumexp")
    if x.ndim == 0:
        return x.copy()
    return np.logaddexp.accumulate(x, axis=d)


def _rev_cumsum(m, a, d):
    return m.flip(m.cumsum(m.flip(a, (d,)), d), (d,))


def _rev_lcse(m, a, d):
    return m.flip(m.logcumsumexp(m.flip(a, (d,)), d), (d,))


def _lcse_dx(m, g, out, x, dim):
    # Σ_{j≥i} g_j exp(x_i − out_j), in log space with g split by sign (stable, as torch)
    if x.ndim == 0:
        return g
    d = dim % x.ndim
    pos, neg = g > 0, g < 0
    # a finite floor instead of log 0 = -inf keeps the second derivative free of inf - inf
    dt = g.dtype if isinstance(g, np.ndarray) else g._array.dtype
    floor = -float(np.finfo(dt).max) / 4
    lp = m.where(pos, m.log(m.where(pos, g, 1.0)), floor)
    ln = m.where(neg, m.log(m.where(neg, -g, 1.0)), floor)
    return m.exp(x + _rev_lcse(m, lp - out, d)) - m.exp(x + _rev_lcse(m, ln - out, d))


def _lcse_t(m, t, out, x, dim):
    # Σ_{i≤j} t_i exp(u_i − lcse(u)_j), in log space with t split by sign (stable)
    if x.ndim == 0:
        return t
    d = dim % x.ndim
    pos, neg = t > 0, t < 0
    dt = t.dtype if isinstance(t, np.ndarray) else t._array.dtype
    floor = -float(np.finfo(dt).max) / 4
    lp = m.where(pos, m.log(m.where(pos, t, 1.0)), floor)
    ln = m.where(neg, m.log(m.where(neg, -t, 1.0)), floor)
    return m.exp(m.logcumsumexp(lp + x, d) - out) - m.exp(m.logcumsumexp(ln + x, d) - out)


defop(
    "logcumsumexp",
    _logcumsumexp,
    _lcse_dx,
    _lcse_t,
    dtype="floating",
    formula="d lcse(u)_j/du_i = exp(u_i − lcse(u)_j) for i ≤ j",
)


# ---- cumulative sums and products ----------------------------------------------------------------
def _cumsum(x, dim, dtype=None):
    d = _cum_dim(x, dim, "cumsum")
    if dtype is not None:
        x = x.astype(_dtype.to_np(dtype))
    elif x.dtype.kind in "biu":
        x = x.astype(np.int64)
    return np.cumsum(x, axis=d) if x.ndim else x.copy()


defop(
    "cumsum",
    _cumsum,
    lambda m, g, out, x, dim, dtype=None: g if x.ndim == 0 else _rev_cumsum(m, g, dim % x.ndim),
    LINEAR,
    dtype="keep",
    saves=(),
    formula="d cumsum(u)_j/du_i = [i ≤ j]",
)


def _cumprod(x, dim, dtype=None):
    d = _cum_dim(x, dim, "cumprod")
    if dtype is not None:
        x = x.astype(_dtype.to_np(dtype))
    elif x.dtype.kind in "biu":
        x = x.astype(np.int64)
    return np.cumprod(x, axis=d) if x.ndim else x.copy()


def _cumprod_parts(m, x, d):
    zero = x == 0
    nz = m.cumsum(zero, d)
    before = nz == 0  # positions before the first zero of their slice
    first = m.logical_and(zero, nz == 1)  # the first zero
    safe = m.where(before, x, 1.0)
    skip_first = m.cumprod(m.where(first, 1.0, x), d)  # Π_{k≤j, k≠first zero} u_k
    return before, first, nz, safe, skip_first


def _cumprod_dx(m, g, out, x, dim, dtype=None):
    # exact with zeros (as torch): before the first zero Σ_{j≥i} g_j out_j / u_i; at the first zero
    # Σ_{j≥i} g_j Π_{k≤j, k≠i} u_k; after it 0
    if x.ndim == 0:
        return g
    d = dim % x.ndim
    before, first, _nz, safe, skip_first = _cumprod_parts(m, x, d)
    a = _rev_cumsum(m, g * out, d) / safe
    b = _rev_cumsum(m, g * skip_first, d)
    return m.where(before, a, m.where(first, b, 0.0))


def _cumprod_t(m, t, out, x, dim, dtype=None):
    if x.ndim == 0:
        return t
    d = dim % x.ndim
    before, first, nz, safe, skip_first = _cumprod_parts(m, x, d)
    a = out * m.cumsum(m.where(before, t / safe, 0.0), d)
    tz = m.sum(m.where(first, t, 0.0), d, True)
    return a + m.where(nz > 0, skip_first, 0.0) * tz


defop(
    "cumprod",
    _cumprod,
    _cumprod_dx,
    _cumprod_t,
    dtype="keep",
    formula="d cumprod(u)_j/du_i = Π_{k≤j, k≠i} u_k for i ≤ j (exact with zeros)",
)


def _cumext(acc, name, ge):
    def fwd(x, dim):
        d = _cum_dim(x, dim, name)
        if x.size == 0 or x.ndim == 0:
            return x.copy(), np.zeros(x.shape, np.int64)
        vals = acc.accumulate(x, axis=d)
        n = x.shape[d]
        shp = [1] * x.ndim
        shp[d] = n
        ar = np.arange(n).reshape(shp)
        prev = np.concatenate(
            [np.take(vals, [0], axis=d), np.take(vals, range(n - 1), axis=d)], axis=d
        )
        # ties: the latest index reaching the running extreme (torch's >= / <=); NaN propagates
        with np.errstate(invalid="ignore"):
            new = np.isnan(x) | ge(x, prev) if x.dtype.kind == "f" else ge(x, prev)
        new = new | (ar == 0)
        idx = np.maximum.accumulate(np.where(new, ar, 0), axis=d)
        return vals, idx.astype(np.int64)

    return fwd


def _take_rule(m, gs, out, x, needs, dim):
    g, idx = gs[0], out[1]
    if x.ndim == 0:
        return (g,)
    return (m.put_along_dim(g, idx, tuple(x.shape), dim % x.ndim),)


def _take_tangent(m, ts, out, x, dim):
    t = ts[0]
    return (t if x.ndim == 0 else m.take_along_dim(t, out[1], dim % x.ndim), None)


for _n, _acc, _ge in (
    ("cummax", np.fmax if False else np.maximum, np.greater_equal),
    ("cummin", np.minimum, np.less_equal),
):
    defop(
        _n,
        _cumext(_acc, _n, _ge),
        vjp_all=_take_rule,
        jvp_all=_take_tangent,
        nout=2,
        nondiff_out=(1,),
        dtype="keep",
        formula=f"{_n}: the gradient goes to the index picked",
    )

return_types.cummax = namedtuple("cummax", ["values", "indices"])
return_types.cummin = namedtuple("cummin", ["values", "indices"])
for _n in ("cummax", "cummin"):
    public(_n)(lambda input, dim, _n=_n: getattr(return_types, _n)(*apply(TABLE[_n], input, dim)))
