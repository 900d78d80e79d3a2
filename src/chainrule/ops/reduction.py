"""Rule-table rows: reductions (sum, mean, var, std, max/min, amax/amin, norm)."""

from __future__ import annotations

import math
import warnings
from collections import namedtuple

import numpy as np

from .. import _dtype
from .._dispatch import apply
from ._public import public
from ._table import LINEAR, TABLE, A, defop


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
    axes = _axes(dim, x.ndim, "var")
    ddof = _corr(unbiased, correction)
    if x.size and _count(x, dim) - ddof <= 0:
        warnings.warn(
            "std()/var(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=4)
    with np.errstate(all="ignore"):
        return np.var(x, axis=axes, ddof=ddof, keepdims=keepdim)


def _std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    with np.errstate(all="ignore"):
        return np.sqrt(_var(x, dim, unbiased, keepdim, correction=correction))


def _centered(m, x, dim):
    return x - m.mean(x, dim=dim, keepdim=True)


def _per_dof(x, dim, unbiased, correction, k: float) -> float:
    """``k / (N − c)``; with no degrees of freedom left, inf (torch: the gradient is NaN, not a
    ZeroDivisionError)."""
    n = _count(x, dim) - _corr(unbiased, correction)
    return k / n if n > 0 else math.inf


def _var_dx(m, g, out, x, dim=None, unbiased=None, keepdim=False, correction=None):
    k = _per_dof(x, dim, unbiased, correction, 2.0)
    with np.errstate(invalid="ignore"):
        return _expand_back(m, g, x, dim, keepdim) * _centered(m, x, dim) * k


def _std_dx(m, g, out, x, dim=None, unbiased=None, keepdim=False, correction=None):
    k = _per_dof(x, dim, unbiased, correction, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        # d std = d var / (2 std), taken as 0 where std = 0 (a constant row), as torch: the
        # subgradient that keeps (h − mean)/(std + eps) finite
        gs = g / out
        gs = np.where(out == 0, 0.0, gs).astype(gs.dtype, copy=False) if m is A else m.where(
            out == 0, 0.0, gs)
        return _expand_back(m, gs, x, dim, keepdim) * _centered(m, x, dim) * k


def _var_t(m, t, out, x, dim=None, unbiased=None, keepdim=False, correction=None):
    k = _per_dof(x, dim, unbiased, correction, 2.0)
    with np.errstate(invalid="ignore"):
        return m.sum(t * _centered(m, x, dim), dim=dim, keepdim=keepdim) * k


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


def _evenly(m, g, out, x):
    # torch's max()/min() over all elements: the gradient is shared by the elements equal to the
    # result, or by the NaN elements when the result is NaN (amax/amin keep NaN, as torch)
    o = out if m is A else out._array
    mask = m.isnan(x) if np.isnan(o) else x == out
    return g * mask / m.sum(mask)


def _no_identity(x, ax, op: str) -> None:
    """max/min of nothing: torch's errors (NumPy's says 'zero-size array … has no identity')."""
    if ax is None:
        raise RuntimeError(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
            "reduction dim with the 'dim' argument.")
    for d in ax:
        if x.shape[d] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")


def _amax(x, dim=None, keepdim=False):
    ax = _axes(dim, x.ndim, "amax")
    if x.size == 0:
        _no_identity(x, ax, "amax")
    return np.amax(x, axis=ax, keepdims=keepdim)


def _amin(x, dim=None, keepdim=False):
    ax = _axes(dim, x.ndim, "amin")
    if x.size == 0:
        _no_identity(x, ax, "amin")
    return np.amin(x, axis=ax, keepdims=keepdim)


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
    lambda m, g, out, x: _evenly(m, g, out, x),
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
    lambda m, g, out, x: _evenly(m, g, out, x),
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
            if input._array.size == 0:
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
    if input._array.dtype.kind != "f" and dtype is None:
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
        if x.size == 0:  # the dispatcher's message names the op
            if dim is None:
                raise IndexError("Expected reduction dim to be specified for input.numel() == 0.")
            d = _axes(dim, x.ndim, name)
            if d is not None and x.shape[d[0]] == 0:
                raise IndexError(f"Expected reduction dim {d[0]} to have non-zero size.")
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


# ---- logsumexp ---------------------------------------------------------------------------------
def _logsumexp(x, dim, keepdim=False):
    if x.dtype.kind != "f":
        x = x.astype(_dtype.default_np())
    ax = _axes(dim, x.ndim, "logsumexp")
    if x.size == 0:
        with np.errstate(divide="ignore"):  # log(0) = -inf, as torch, without a warning
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

