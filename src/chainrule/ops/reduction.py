"""Rule-table rows: reductions (sum, mean, var, std, max/min, amax/amin, norm)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import _dtype
from .._dispatch import apply
from .._tensor import _wrap_dim
from . import public
from ._table import LINEAR, TABLE, defop


def _axes(dim, ndim: int, op: str):
    """Torch's ``dim`` (None, int, or sequence; () means all) as a NumPy axis tuple or None."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if not dims:
        return None
    n = max(ndim, 1)
    out = []
    for d in dims:
        if not -n <= d < n:
            raise IndexError(
                f"{op}(): Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                f"but got {d})"
            )
        d = d % n
        if d in out:
            raise RuntimeError(f"{op}(): dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(out) if ndim else None


def _kept(g_shape_src, x_shape: tuple, dim, keepdim: bool) -> tuple:
    """Shape of the reduced result with keepdim=True (so it broadcasts against the input)."""
    ax = _axes(dim, len(x_shape), "reduce")
    if ax is None:
        return (1,) * len(x_shape)
    return tuple(1 if i in ax else s for i, s in enumerate(x_shape))


def _expand_back(m, g, x, dim, keepdim):
    """Broadcast a reduced gradient back over the reduced axes of ``x``."""
    if not keepdim or dim is None:
        g = m.reshape(g, _kept(None, tuple(x.shape), dim, keepdim))
    return m.expand(g, tuple(x.shape))


def _count(x, dim) -> int:
    ax = _axes(dim, x.ndim, "reduce")
    if ax is None:
        return int(np.prod(x.shape, dtype=np.int64))
    return int(np.prod([x.shape[a] for a in ax], dtype=np.int64))


# ---- sum and mean ------------------------------------------------------------------------------
def _sum(x, dim=None, keepdim=False, dtype=None):
    r = np.sum(x, axis=_axes(dim, x.ndim, "sum"), keepdims=keepdim)
    if dtype is not None:
        r = np.asarray(r).astype(_dtype.to_np(dtype))
    elif x.dtype.kind in "biu":
        r = np.asarray(r).astype(np.int64)
    return r


defop(
    "sum",
    _sum,
    lambda m, g, out, x, dim=None, keepdim=False, dtype=None: _expand_back(m, g, x, dim, keepdim),
    LINEAR,
    dtype="keep",
    variant=lambda a, kw: 0 if kw.get("dim") is None else 1,
    formula="d Σu/du_i = 1",
)


def _mean(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x.astype(_dtype.to_np(dtype))
    if x.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {_dtype.from_np(x.dtype).name.capitalize()}"
        )
    return np.mean(x, axis=_axes(dim, x.ndim, "mean"), keepdims=keepdim)


defop(
    "mean",
    _mean,
    lambda m, g, out, x, dim=None, keepdim=False, dtype=None: (
        _expand_back(m, g, x, dim, keepdim) / _count(x, dim)
    ),
    LINEAR,
    dtype="keep",
    variant=lambda a, kw: 0 if kw.get("dim") is None else 1,
    formula="d mean(u)/du_i = 1/N",
)


# ---- variance and standard deviation -----------------------------------------------------------
def _corr(unbiased, correction) -> float:
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if x.dtype.kind != "f":
        raise RuntimeError(
            f"var(): expected a floating point input, got {_dtype.from_np(x.dtype).name}"
        )
    with np.errstate(all="ignore"):
        return np.var(
            x, axis=_axes(dim, x.ndim, "var"), ddof=_corr(unbiased, correction), keepdims=keepdim
        )


def _std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    with np.errstate(all="ignore"):
        return np.sqrt(_var(x, dim, unbiased, keepdim, correction=correction))


def _centered(m, x, dim):
    return x - m.mean(x, dim=dim, keepdim=True)


def _var_dx(m, g, out, x, dim=None, unbiased=None, keepdim=False, correction=None):
    n = _count(x, dim) - _corr(unbiased, correction)
    return _expand_back(m, g, x, dim, keepdim) * _centered(m, x, dim) * (2.0 / n)


def _std_dx(m, g, out, x, dim=None, unbiased=None, keepdim=False, correction=None):
    n = _count(x, dim) - _corr(unbiased, correction)
    return _expand_back(m, g / out, x, dim, keepdim) * _centered(m, x, dim) * (1.0 / n)


def _var_t(m, t, out, x, dim=None, unbiased=None, keepdim=False, correction=None):
    n = _count(x, dim) - _corr(unbiased, correction)
    return m.sum(t * _centered(m, x, dim), dim=dim, keepdim=keepdim) * (2.0 / n)


defop("var", _var, _var_dx, _var_t, formula="d var(u)/du_i = 2(u_i − ū)/(N − c)")
defop(
    "std",
    _std,
    _std_dx,
    lambda m, t, out, x, dim=None, unbiased=None, keepdim=False, correction=None: (
        _var_t(m, t, out, x, dim, unbiased, keepdim, correction) / (2 * out)
    ),
    formula="d std(u)/du_i = (u_i − ū)/((N − c)·std(u))",
)


def _varstd(name):
    op = TABLE[name]

    def fn(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
        if isinstance(dim, bool):  # legacy var(input, unbiased)
            dim, unbiased = None, dim
        return apply(op, input, dim=dim, unbiased=unbiased, keepdim=keepdim, correction=correction)

    fn.__name__ = name
    fn.__doc__ = (
        f"{name} over ``dim`` with Bessel's correction by default (``correction=1``), as torch."
    )
    return fn


public("var")(_varstd("var"))
public("std")(_varstd("std"))


# ---- max / min / amax / amin ---------------------------------------------------------------------
def _share_ties(m, g, out, x, dim, keepdim):
    # the gradient is split evenly among the elements that attain the extreme value (torch's rule)
    o = (
        out
        if (keepdim or dim is None and x.ndim == 0)
        else m.reshape(out, _kept(None, tuple(x.shape), dim, keepdim))
    )
    mask = x == o
    cnt = m.sum(mask, dim=dim, keepdim=True)
    return _expand_back(m, g, x, dim, keepdim) * mask / cnt


def _amax(x, dim=None, keepdim=False):
    return np.amax(x, axis=_axes(dim, x.ndim, "amax"), keepdims=keepdim)


def _amin(x, dim=None, keepdim=False):
    return np.amin(x, axis=_axes(dim, x.ndim, "amin"), keepdims=keepdim)


def _ties_rule(m, g, out, x, dim=None, keepdim=False):
    return _share_ties(m, g, out, x, dim, keepdim)


def _ties_tangent(m, t, out, x, dim=None, keepdim=False):
    o = (
        out
        if keepdim or dim is None and x.ndim == 0
        else m.reshape(out, _kept(None, tuple(x.shape), dim, keepdim))
    )
    mask = x == o
    return m.sum(t * mask, dim=dim, keepdim=keepdim) / m.sum(mask, dim=dim, keepdim=keepdim)


defop("amax", _amax, _ties_rule, _ties_tangent, formula="d max(u)/du_i = [u_i = max] / #ties")
defop("amin", _amin, _ties_rule, _ties_tangent, formula="d min(u)/du_i = [u_i = min] / #ties")
defop(
    "max_all",
    lambda x: np.max(x),
    lambda m, g, out, x: _share_ties(m, g, out, x, None, False),
    lambda m, t, out, x: _ties_tangent(m, t, out, x),
    cls="Max",
    variant=lambda a, kw: 1,
    public=False,
    method=False,
    formula="d max(u)/du_i = [u_i = max] / #ties",
)
defop(
    "min_all",
    lambda x: np.min(x),
    lambda m, g, out, x: _share_ties(m, g, out, x, None, False),
    lambda m, t, out, x: _ties_tangent(m, t, out, x),
    cls="Min",
    variant=lambda a, kw: 1,
    public=False,
    method=False,
    formula="d min(u)/du_i = [u_i = min] / #ties",
)


def _arg_fwd(reduce_arg):
    def fwd(x, dim, keepdim=False):
        d = _axes(dim, x.ndim, "max")
        d = 0 if d is None else d[0]
        if x.ndim and x.shape[d] == 0:
            raise IndexError(f"max(): Expected reduction dim {d} to have non-zero size.")
        idx = reduce_arg(x, axis=d, keepdims=True) if x.ndim else np.zeros((), np.int64)
        vals = np.take_along_axis(x, idx, axis=d) if x.ndim else x
        if not keepdim and x.ndim:
            idx, vals = np.squeeze(idx, d), np.squeeze(vals, d)
        return vals, idx.astype(np.int64)

    return fwd


def _sel_rule(m, gs, out, x, dim, keepdim=False):
    # the gradient goes to the index the forward picked (torch's value_selecting_reduction_backward)
    g, idx = gs[0], out[1]
    if x.ndim == 0:
        return (g,)
    d = dim % x.ndim
    if not keepdim:
        g, idx = m.unsqueeze(g, d), m.unsqueeze(idx, d)
    return (m.put_along_dim(g, idx, tuple(x.shape), d, True),)


def _sel_tangent(m, ts, out, x, dim, keepdim=False):
    idx = out[1]
    t = ts[0]
    d = dim % max(x.ndim, 1)
    i = idx if keepdim or x.ndim == 0 else m.unsqueeze(idx, d)
    r = m.take_along_dim(t, i, d) if x.ndim else t
    return (r if keepdim or x.ndim == 0 else m.squeeze(r, d), None)


defop(
    "max_dim",
    _arg_fwd(np.argmax),
    vjp_all=lambda m, g, out, x, needs, **kw: _sel_rule(m, g, out, x, **kw),
    jvp_all=_sel_tangent,
    nout=2,
    nondiff_out=(1,),
    cls="Max",
    public=False,
    method=False,
)
defop(
    "min_dim",
    _arg_fwd(np.argmin),
    vjp_all=lambda m, g, out, x, needs, **kw: _sel_rule(m, g, out, x, **kw),
    jvp_all=_sel_tangent,
    nout=2,
    nondiff_out=(1,),
    cls="Min",
    public=False,
    method=False,
)

return_types = type("return_types", (), {})
return_types.max = namedtuple("max", ["values", "indices"])
return_types.min = namedtuple("min", ["values", "indices"])


def _maxmin(kind: str):
    all_op, dim_op, pair = TABLE[f"{kind}_all"], TABLE[f"{kind}_dim"], f"{kind}imum"
    rt = getattr(return_types, kind)

    def fn(input, dim=None, keepdim=False, *, out=None):
        from .._tensor import Tensor

        if isinstance(dim, Tensor):  # max(a, b) is maximum(a, b)
            return apply(TABLE[pair], input, dim)
        if dim is None:
            if input.data.size == 0:
                raise RuntimeError(
                    f"{kind}(): Expected reduction dim to be specified for input.numel() == 0. "
                    "Specify the reduction dim with the 'dim' argument."
                )
            return apply(all_op, input)
        return rt(*apply(dim_op, input, dim=dim, keepdim=keepdim))

    fn.__name__ = kind
    fn.__doc__ = (
        f"``{kind}(x)``: the {kind}imum (gradient shared among ties); ``{kind}(x, dim)``: "
        f"(values, indices), the gradient going to the chosen index; ``{kind}(a, b)``: "
        f"{pair}."
    )
    return fn


public("max")(_maxmin("max"))
public("min")(_maxmin("min"))


# ---- norms ---------------------------------------------------------------------------------------
def _norm_fwd(x, p=2, dim=None, keepdim=False):
    ax = _axes(dim, x.ndim, "norm")
    a = np.abs(x)
    if p == 2:
        return np.sqrt(np.sum(x * x, axis=ax, keepdims=keepdim))
    if p == 1:
        return np.sum(a, axis=ax, keepdims=keepdim)
    if p == float("inf"):
        return np.amax(a, axis=ax, keepdims=keepdim)
    if p == -float("inf"):
        return np.amin(a, axis=ax, keepdims=keepdim)
    if p == 0:
        return np.sum(a != 0, axis=ax, keepdims=keepdim).astype(x.dtype)
    with np.errstate(all="ignore"):
        return np.sum(a**p, axis=ax, keepdims=keepdim) ** (1.0 / p)


def _norm_dx(m, g, out, x, p=2, dim=None, keepdim=False):
    o = out if keepdim else m.reshape(out, _kept(None, tuple(x.shape), dim, keepdim))
    ge = _expand_back(m, g, x, dim, keepdim)
    if p == 2:  # x/|x|, and 0 where the norm is 0 (torch's subgradient)
        return ge * m.where(o == 0, 0.0, x / m.where(o == 0, 1.0, o))
    if p == 1:
        return ge * m.sign(x)
    if p == 0:
        return ge * 0
    if p in (float("inf"), -float("inf")):
        mask = m.abs(x) == o
        return ge * m.sign(x) * mask / m.sum(mask, dim=dim, keepdim=True)
    ax = m.abs(x)
    return ge * m.sign(x) * ax ** (p - 1) / m.where(o == 0, 1.0, o) ** (p - 1) * (o != 0)


def _norm_t(m, t, out, x, p=2, dim=None, keepdim=False):
    return m.sum(
        t * _norm_dx(m, m.ones_like(out), out, x, p, dim, keepdim), dim=dim, keepdim=keepdim
    )


defop(
    "norm",
    _norm_fwd,
    _norm_dx,
    _norm_t,
    dtype="float",
    variant=lambda a, kw: 1 if kw.get("dim") is not None else 0,
    formula="d ‖u‖₂/du = u/‖u‖₂ (0 at 0); ‖·‖₁: sign(u); ‖·‖∞: sign(u)·[|u_i| = max]/#ties",
)


@public("norm")
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (all elements by default); p = 1, 2, inf, -inf, 0 or any float."""
    if p in ("fro", None):
        p = 2
    if p == "nuc":  # the nuclear norm of a matrix (dim: its two dimensions)
        r = matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim)
        return r if dtype is None else r.to(dtype)
    if isinstance(p, str):
        raise RuntimeError(f"norm(): unsupported p={p!r}; use 'fro', 'nuc' or a number")  # noqa: TRY004
    r = apply(TABLE["norm"], input, p=float(p) if p not in (1, 2) else p, dim=dim, keepdim=keepdim)
    return r if dtype is None else r.to(dtype)


# ---- NaN-ignoring sums and means, prod -----------------------------------------------------------
def _nansum(x, dim=None, keepdim=False, dtype=None):
    r = np.nansum(x, axis=_axes(dim, x.ndim, "nansum"), keepdims=keepdim)
    if dtype is not None:
        return np.asarray(r).astype(_dtype.to_np(dtype))
    return np.asarray(r).astype(np.int64) if x.dtype.kind in "biu" else r


def _notnan(x):
    return x == x  # noqa: PLR0124  (False exactly at NaN; works on arrays and Tensors)


defop(
    "nansum",
    _nansum,
    lambda m, g, out, x, dim=None, keepdim=False, dtype=None: (
        _expand_back(m, g, x, dim, keepdim) * _notnan(x)
    ),
    lambda m, t, out, x, dim=None, keepdim=False, dtype=None: m.sum(
        m.where(_notnan(x), t, 0.0), dim=dim, keepdim=keepdim
    ),
    dtype="keep",
    formula="d nansum(u)/du_i = [u_i is not NaN]",
)


@public("nanmean")
def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Mean over the non-NaN elements."""
    if input.data.dtype.kind != "f" and dtype is None:
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{input.dtype}"
        )
    from .. import _ns

    n = _ns.sum(
        _ns.logical_not(_ns.isnan(input)) if hasattr(_ns, "isnan") else input == input,  # noqa: PLR0124
        dim=dim,
        keepdim=keepdim,
    )
    return _ns.nansum(input, dim=dim, keepdim=keepdim, dtype=dtype) / n


def _prod(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x.astype(_dtype.to_np(dtype))
    r = np.prod(x, axis=_axes(dim, x.ndim, "prod"), keepdims=keepdim)
    return np.asarray(r).astype(np.int64) if x.dtype.kind in "biu" and dtype is None else r


def _excl(m, x, d, n):
    # exclusive cumulative product along d: (1, x_0, x_0 x_1, …)
    pads = (0, 0) * (x.ndim - 1 - d) + (1, 0)
    head = m.getitem(x, (slice(None),) * d + (slice(0, n - 1),))
    return m.cumprod(m.constant_pad(head, pads, 1.0), d)


def _prod_dx(m, g, out, x, dim=None, keepdim=False, dtype=None):
    # Π_{j≠i} u_j as (product before i)·(product after i): exact with any number of zeros, and its
    # own derivative (through cumprod's rule) is exact too (torch's prod_safe_zeros_backward)
    xs = x if dim is not None and x.ndim else m.reshape(x, (-1,))
    d = _axes(dim, x.ndim, "prod")[0] if dim is not None and x.ndim else 0
    n = xs.shape[d]
    if n == 0:
        return _expand_back(m, g, x, dim, keepdim) * 0.0
    left = _excl(m, xs, d, n)
    right = m.flip(_excl(m, m.flip(xs, (d,)), d, n), (d,))
    others = m.reshape(left * right, tuple(x.shape))
    return _expand_back(m, g, x, dim, keepdim) * others


defop(
    "prod",
    _prod,
    _prod_dx,
    lambda m, t, out, x, dim=None, keepdim=False, dtype=None: m.sum(
        t * _prod_dx(m, m.ones_like(out), out, x, dim, keepdim), dim=dim, keepdim=keepdim
    ),
    dtype="keep",
    variant=lambda a, kw: 0 if kw.get("dim") is None else 1,
    formula="d Πu/du_i = Π_{j≠i} u_j (exact with zeros)",
)


# ---- arg reductions, logical reductions, counts --------------------------------------------------
def _argext(f, name):
    def fwd(x, dim=None, keepdim=False):
        if x.size == 0:
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
            )
        if dim is None:
            r = np.asarray(f(x.reshape(-1)))
            return r.reshape((1,) * x.ndim) if keepdim else r
        d = _axes(dim, x.ndim, name)
        return f(x, axis=d[0], keepdims=keepdim) if d is not None else np.asarray(0)

    return fwd


# ties: the first index attaining the extreme (as torch); NaN counts as the extreme
defop("argmax", _argext(np.argmax, "argmax"), dtype="int")
defop("argmin", _argext(np.argmin, "argmin"), dtype="int")


def _logical(f, name):
    def fwd(x, dim=None, keepdim=False):
        r = f(x, axis=_axes(dim, x.ndim, name), keepdims=keepdim)
        return np.asarray(r) if x.dtype != np.uint8 else np.asarray(r).astype(np.uint8)

    return fwd


defop("all", _logical(np.all, "all"), dtype="keep")
defop("any", _logical(np.any, "any"), dtype="keep")


def _count_nonzero(x, dim=None):
    return np.asarray(np.count_nonzero(x, axis=_axes(dim, x.ndim, "count_nonzero"))).astype(
        np.int64
    )


defop("count_nonzero", _count_nonzero, dtype="int")


# ---- var_mean, std_mean --------------------------------------------------------------------------
def _pair(name):
    def fn(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
        from .. import _ns

        if isinstance(dim, bool):
            dim, unbiased = None, dim
        v = apply(
            TABLE[name], input, dim=dim, unbiased=unbiased, keepdim=keepdim, correction=correction
        )
        return v, _ns.mean(input, dim=dim, keepdim=keepdim)

    fn.__name__ = name + "_mean"
    fn.__doc__ = f"``({name}, mean)`` over ``dim``, with the same arguments as ``{name}``."
    return fn


public("var_mean", method=False)(_pair("var"))
public("std_mean", method=False)(_pair("std"))


# ---- logsumexp and logcumsumexp ------------------------------------------------------------------
def _logsumexp(x, dim, keepdim=False):
    if x.dtype.kind != "f":
        x = x.astype(_dtype.default_np())
    ax = _axes(dim, x.ndim, "logsumexp")
    if x.size == 0:
        return np.log(np.sum(np.exp(x), axis=ax, keepdims=keepdim))
    mx = np.amax(x, axis=ax, keepdims=True)
    mx = np.where(np.isfinite(mx), mx, 0.0)
    with np.errstate(divide="ignore"):
        r = np.log(np.sum(np.exp(x - mx), axis=ax, keepdims=True)) + mx
    return r if keepdim else (np.squeeze(r, ax) if ax is not None else r.reshape(()))


def _lse_w(m, out, x, dim, keepdim):
    o = out if keepdim else m.reshape(out, _kept(None, tuple(x.shape), dim, keepdim))
    return m.exp(x - o)  # softmax weights


defop(
    "logsumexp",
    _logsumexp,
    lambda m, g, out, x, dim, keepdim=False: (
        _expand_back(m, g, x, dim, keepdim) * _lse_w(m, out, x, dim, keepdim)
    ),
    lambda m, t, out, x, dim, keepdim=False: m.sum(
        t * _lse_w(m, out, x, dim, keepdim), dim=dim, keepdim=keepdim
    ),
    dtype="float",
    formula="d logsumexp(u)/du_i = softmax(u)_i",
)


def _cum_dim(x, dim, name):
    return _wrap_dim(dim, x.ndim, name) if x.ndim else 0


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
    dt = g.dtype if isinstance(g, np.ndarray) else g.data.dtype
    floor = -float(np.finfo(dt).max) / 4
    lp = m.where(pos, m.log(m.where(pos, g, 1.0)), floor)
    ln = m.where(neg, m.log(m.where(neg, -g, 1.0)), floor)
    return m.exp(x + _rev_lcse(m, lp - out, d)) - m.exp(x + _rev_lcse(m, ln - out, d))


defop(
    "logcumsumexp",
    _logcumsumexp,
    _lcse_dx,
    lambda m, t, out, x, dim: (
        t
        if x.ndim == 0
        else m.exp(-out)
        * m.cumsum(t * m.exp(x - m.amax(x, dim, True)), dim)
        * m.exp(m.amax(x, dim, True))
    ),
    dtype="float",
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
        if x.ndim == 0:
            return x.copy(), np.zeros((), np.int64)
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


# ---- sorting and order statistics ----------------------------------------------------------------
def _sort_idx(x, d, descending, name="sort"):
    """Stable order along ``d``; NaN sorts as the largest (torch). Ties keep their original
    order.
    """
    if not descending:
        return np.argsort(x, axis=d, kind="stable")
    n = x.shape[d]
    rev = np.argsort(np.flip(x, d), axis=d, kind="stable")
    return (n - 1 - np.flip(rev, d)).astype(np.int64)


def _sort(x, dim=-1, descending=False, stable=False):
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    d = _wrap_dim(dim, x.ndim, "sort")
    idx = _sort_idx(x, d, descending).astype(np.int64)
    return np.take_along_axis(x, idx, d), idx


def _sel_dim_rule(m, gs, out, x, needs, dim=-1, keepdim=True, **kw):
    # the gradient goes to the index each value came from (value_selecting_reduction_backward)
    g, idx = gs[0], out[1]
    if x.ndim == 0:
        return (g,)
    d = dim % x.ndim
    if not keepdim:
        g, idx = m.unsqueeze(g, d), m.unsqueeze(idx, d)
    return (m.put_along_dim(g, idx, tuple(x.shape), d, True),)


def _sel_dim_tangent(m, ts, out, x, dim=-1, keepdim=True, **kw):
    t, idx = ts[0], out[1]
    if x.ndim == 0:
        return (t, None)
    d = dim % x.ndim
    i = idx if keepdim else m.unsqueeze(idx, d)
    r = m.take_along_dim(t, i, d)
    return (r if keepdim else m.squeeze(r, d), None)


defop(
    "sort",
    _sort,
    vjp_all=_sel_dim_rule,
    jvp_all=_sel_dim_tangent,
    nout=2,
    nondiff_out=(1,),
    dtype="keep",
    formula="sort: the gradient goes back to each value's original position",
)
return_types.sort = namedtuple("sort", ["values", "indices"])


@public("sort")
def sort(input, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """Sorted values and their original indices; ties keep their order, NaN sorts last."""
    return return_types.sort(*apply(TABLE["sort"], input, dim, descending, stable))


@public("argsort")
def argsort(input, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """The indices that sort ``input`` along ``dim`` (stable; NaN last)."""
    return sort(input, dim, descending, stable=stable)[1]


@public("msort")
def msort(input):
    return sort(input, 0)[0]


def _topk(x, k, dim=-1, largest=True, sorted=True):
    if x.ndim == 0:
        if k > 1:
            raise RuntimeError("selected index k out of range")
        return x.copy(), np.zeros((), np.int64)
    d = _wrap_dim(dim, x.ndim, "topk")
    if not 0 <= k <= x.shape[d]:
        raise RuntimeError(f"selected index k out of range (k = {k}, size {x.shape[d]} at dim {d})")
    idx = np.take(_sort_idx(x, d, largest), range(k), axis=d).astype(np.int64)
    return np.take_along_axis(x, idx, d), idx


defop(
    "topk",
    _topk,
    vjp_all=_sel_dim_rule,
    jvp_all=_sel_dim_tangent,
    nout=2,
    nondiff_out=(1,),
    dtype="keep",
    method=False,
    formula="topk: the gradient goes to the selected positions",
)
return_types.topk = namedtuple("topk", ["values", "indices"])


@public("topk")
def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    return return_types.topk(*apply(TABLE["topk"], input, k, dim, largest, sorted))


def _kth(x, k, dim=-1, keepdim=False):
    if x.ndim == 0:
        if k != 1:
            raise RuntimeError(
                f"kthvalue(): selected number k out of range for dimension 0 (k = {k})"
            )
        return x.copy(), np.zeros((), np.int64)
    d = _wrap_dim(dim, x.ndim, "kthvalue")
    n = x.shape[d]
    if not 1 <= k <= n:
        raise RuntimeError(
            f"kthvalue(): selected number k out of range for dimension {d} (k = {k}, size {n})"
        )
    idx = np.take(_sort_idx(x, d, False), [k - 1], axis=d).astype(np.int64)
    vals = np.take_along_axis(x, idx, d)
    if not keepdim:
        idx, vals = np.squeeze(idx, d), np.squeeze(vals, d)
    return vals, idx


# ties: the k-th element of a stable sort (the first of equal values in input order)
defop(
    "kthvalue",
    _kth,
    vjp_all=_sel_dim_rule,
    jvp_all=_sel_dim_tangent,
    nout=2,
    nondiff_out=(1,),
    dtype="keep",
    method=False,
    formula="kthvalue: the gradient goes to the index picked",
)
return_types.kthvalue = namedtuple("kthvalue", ["values", "indices"])
public("kthvalue")(
    lambda input, k, dim=-1, keepdim=False: return_types.kthvalue(
        *apply(TABLE["kthvalue"], input, k, dim, keepdim)
    )
)


def _median_dim(x, dim, keepdim=False):
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    d = _wrap_dim(dim, x.ndim, "median")
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    vals, idx = _kth(x, (n - 1) // 2 + 1, d, keepdim)  # the lower median
    if x.dtype.kind == "f":  # a NaN in the slice makes it the median (its first index, as torch)
        nan = np.isnan(x)
        has = nan.any(axis=d, keepdims=keepdim)
        first = np.argmax(nan, axis=d, keepdims=keepdim)
        idx = np.where(has, first, idx)
        vals = np.where(has, np.nan, vals)
    return vals, idx.astype(np.int64)


def _median_all(x):
    f = x.reshape(-1)
    if f.size == 0:
        return np.asarray(np.nan, x.dtype)
    if x.dtype.kind == "f" and np.isnan(f).any():
        return np.asarray(np.nan, x.dtype)
    return np.asarray(np.sort(f, kind="stable")[(f.size - 1) // 2])


defop(
    "median_dim",
    _median_dim,
    vjp_all=_sel_dim_rule,
    jvp_all=_sel_dim_tangent,
    nout=2,
    nondiff_out=(1,),
    dtype="keep",
    cls="Median",
    variant=lambda a, kw: 1,
    public=False,
    method=False,
    formula="median(dim): the gradient goes to the index picked",
)
# without dim the gradient is shared evenly among the elements equal to the median (as torch)
defop(
    "median_all",
    _median_all,
    lambda m, g, out, x: _share_ties(m, g, out, x, None, False),
    lambda m, t, out, x: _ties_tangent(m, t, out, x),
    dtype="keep",
    cls="Median",
    public=False,
    method=False,
    formula="median: shared evenly among elements equal to the median",
)
return_types.median = namedtuple("median", ["values", "indices"])


@public("median")
def median(input, dim=None, keepdim: bool = False):
    """Lower median; with ``dim``, (values, indices) and the gradient to the index picked."""
    if dim is None:
        return apply(TABLE["median_all"], input)
    return return_types.median(*apply(TABLE["median_dim"], input, dim, keepdim))


def _nanmedian_all(x):
    f = x.reshape(-1)
    f = f[~np.isnan(f)] if x.dtype.kind == "f" else f
    if f.size == 0:
        return np.asarray(np.nan, x.dtype)
    return np.asarray(np.sort(f, kind="stable")[(f.size - 1) // 2])


def _mode(x, dim=-1, keepdim=False):
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    d = _wrap_dim(dim, x.ndim, "mode")
    xm = np.moveaxis(x, d, -1)
    flat = xm.reshape(-1, xm.shape[-1])
    rows, n = flat.shape
    xs = np.sort(flat, axis=1)
    start = np.ones(xs.shape, bool)
    start[:, 1:] = xs[:, 1:] != xs[:, :-1]
    run = np.cumsum(start, axis=1) - 1  # id of the run of equal values each sorted element is in
    counts = np.bincount((run + np.arange(rows)[:, None] * n).ravel(), minlength=rows * n)
    best = np.argmax(counts.reshape(rows, n), axis=1)  # most frequent; ties: the smallest value
    vals = xs[np.arange(rows), np.argmax(run == best[:, None], axis=1)]
    hit = flat == vals[:, None]
    idx = (n - 1 - np.argmax(hit[:, ::-1], axis=1)).astype(np.int64)  # its last occurrence (torch)
    vals, idx = vals.reshape(xm.shape[:-1]), idx.reshape(xm.shape[:-1])
    if keepdim:
        vals, idx = np.expand_dims(vals, d), np.expand_dims(idx, d)
    return vals, idx


defop(
    "mode",
    _mode,
    vjp_all=_sel_dim_rule,
    jvp_all=_sel_dim_tangent,
    nout=2,
    nondiff_out=(1,),
    dtype="keep",
    method=False,
    formula="mode: the gradient goes to the index picked",
)
return_types.mode = namedtuple("mode", ["values", "indices"])
public("mode")(
    lambda input, dim=-1, keepdim=False: return_types.mode(
        *apply(TABLE["mode"], input, dim, keepdim)
    )
)


# ---- linalg.vector_norm / matrix_norm ------------------------------------------------------------
@public("vector_norm", method=False, function=False, ns="linalg")
def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None):
    """The ``ord``-norm of ``x`` flattened (or over ``dim``): 2, 1, inf, -inf, 0 or any float."""
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")  # noqa: TRY004
    if dtype is not None:
        x = x.to(dtype)
    if x.data.dtype.kind != "f":
        raise RuntimeError(
            f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
            f"Got {x.dtype}"
        )
    p = ord if ord in (1, 2) else float(ord)
    return apply(TABLE["norm"], x, p=p, dim=dim, keepdim=keepdim)


def _sv_fwd(x, ord, dim=(-2, -1), keepdim=False):
    d0, d1 = (_wrap_dim(d, x.ndim, "matrix_norm") for d in dim)
    a = np.moveaxis(x, (d0, d1), (-2, -1))
    s = np.linalg.svd(a, compute_uv=False)
    r = s.sum(-1) if ord == "nuc" else (s[..., 0] if ord == 2 else s[..., -1])
    if keepdim:
        r = np.expand_dims(r, tuple(sorted((d0, d1))))
    return r


def _sv_uv(m, x, out, ord, dim, keepdim):
    # U diag(w) Vᵀ: the derivative of Σ w_i σ_i (w = 1 for nuc, the top/bottom one-hot for ±2)
    d0, d1 = (_wrap_dim(d, x.ndim, "matrix_norm") for d in dim)
    perm = tuple(i for i in range(x.ndim) if i not in (d0, d1)) + (d0, d1)
    a = m.permute(x, perm)
    u, _s, vh = m.svd_uvh(a)
    if ord == "nuc":
        w = m.matmul(u, vh)
    else:
        k = 0 if ord == 2 else -1
        w = m.matmul(
            u[..., :, k : k + 1] if k == 0 else u[..., :, -1:],
            vh[..., :1, :] if k == 0 else vh[..., -1:, :],
        )
    return m.permute(w, tuple(int(i) for i in np.argsort(perm))), d0, d1


def _sv_dx(m, g, out, x, ord, dim=(-2, -1), keepdim=False):
    w, d0, d1 = _sv_uv(m, x, out, ord, dim, keepdim)
    if not keepdim:
        g = m.unsqueeze(m.unsqueeze(g, min(d0, d1)), max(d0, d1))
    return g * w


def _sv_t(m, t, out, x, ord, dim=(-2, -1), keepdim=False):
    w, d0, d1 = _sv_uv(m, x, out, ord, dim, keepdim)
    return m.sum(t * w, dim=(d0, d1), keepdim=keepdim)


def _svd_uvh(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return u, s, vh


# the singular vectors are treated as constants of x here, so second derivatives of the 2/nuc
# norms are not available through this row (first order and forward mode are exact)
defop("svd_uvh", _svd_uvh, nout=3, dtype="float", public=False, method=False)
defop(
    "matrix_norm_sv",
    _sv_fwd,
    _sv_dx,
    _sv_t,
    dtype="float",
    public=False,
    method=False,
    cls="LinalgMatrixNorm",
    formula="d σ_i/dA = u_i v_iᵀ (2: top, -2: bottom, nuc: all)",
)


@public("matrix_norm", method=False, function=False, ns="linalg")
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None):
    """Matrix norm over the two dimensions ``dim``: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf."""
    from .. import _ns

    if dtype is not None:
        A = A.to(dtype)
    if A.ndim < 2:
        raise RuntimeError(
            "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."
        )
    dim = tuple(dim)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (_wrap_dim(d, A.ndim, "matrix_norm") for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        return apply(TABLE["matrix_norm_sv"], A, ord, (d0, d1), keepdim)
    if ord in (1, -1, float("inf"), -float("inf")):
        red, keep = (d0, d1) if abs(ord) == 1 else (d1, d0)
        s = _ns.sum(_ns.abs(A), dim=red, keepdim=True)
        r = _ns.amax(s, dim=keep, keepdim=True) if ord > 0 else _ns.amin(s, dim=keep, keepdim=True)
        return r if keepdim else _ns.squeeze(r, (d0, d1))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


@public("norm", method=False, function=False, ns="linalg")
def linalg_norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None):
    """``linalg.norm``: a matrix norm for a string ``ord``, a 2-tuple ``dim``, or a 2-D input with
    ``ord`` given and no ``dim``; otherwise the vector 2-norm (or ``ord``-norm) over ``dim``."""
    two = dim is not None and not isinstance(dim, int) and len(tuple(dim)) == 2
    if isinstance(ord, str) or two or (ord is not None and dim is None and A.ndim == 2):
        return matrix_norm(
            A, "fro" if ord is None else ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype
        )
    if ord is not None and dim is None and A.ndim != 1:
        raise RuntimeError(
            "linalg.norm: If dim is not specified but ord is, the input must be 1D or "
            f"2D. Got {A.ndim}D."
        )
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def _nanmedian_dim(x, dim, keepdim=False):
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    d = _wrap_dim(dim, x.ndim, "nanmedian")
    nan = np.isnan(x) if x.dtype.kind == "f" else np.zeros(x.shape, bool)
    order = np.argsort(np.where(nan, np.inf, x), axis=d, kind="stable")  # NaN after every number
    cnt = x.shape[d] - nan.sum(axis=d, keepdims=True)
    k = np.maximum(cnt - 1, 0) // 2  # the lower median of the non-NaN values
    idx = np.take_along_axis(order, k, d).astype(np.int64)
    vals = np.take_along_axis(x, idx, d)
    vals = np.where(cnt == 0, np.nan, vals) if x.dtype.kind == "f" else vals
    if not keepdim:
        idx, vals = np.squeeze(idx, d), np.squeeze(vals, d)
    return vals, idx


defop(
    "nanmedian_dim",
    _nanmedian_dim,
    vjp_all=_sel_dim_rule,
    jvp_all=_sel_dim_tangent,
    nout=2,
    nondiff_out=(1,),
    dtype="keep",
    cls="Nanmedian",
    variant=lambda a, kw: 1,
    public=False,
    method=False,
    formula="nanmedian(dim): the gradient goes to the index picked",
)
defop(
    "nanmedian_all",
    _nanmedian_all,
    lambda m, g, out, x: _share_ties(m, g, out, x, None, False),
    lambda m, t, out, x: _ties_tangent(m, t, out, x),
    dtype="keep",
    cls="Nanmedian",
    public=False,
    method=False,
    formula="nanmedian: shared evenly among elements equal to it",
)
return_types.nanmedian = namedtuple("nanmedian", ["values", "indices"])


@public("nanmedian")
def nanmedian(input, dim=None, keepdim: bool = False):
    """Lower median of the non-NaN values; with ``dim``, (values, indices)."""
    if dim is None:
        return apply(TABLE["nanmedian_all"], input)
    return return_types.nanmedian(*apply(TABLE["nanmedian_dim"], input, dim, keepdim))
