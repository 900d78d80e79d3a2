"""Rule-table rows: pooling (max, average, adaptive, unpooling).

Max pooling keeps its argmax indices; its derivatives are ``pool_gather`` / ``pool_scatter``, each
other's adjoint. Average and adaptive-average pooling are separable products with constant
matrices, so every order of derivative is a matmul.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from .. import _ns as _ns_module
from .._dtype import torch_name
from .._tensor import Tensor
from ._public import public
from ._index_checks import check_bounds
from ._table import LINEAR, defop
from .conv import _tup, _windows

_ns: Any = _ns_module  # the rule namespace on Tensors, filled from the rule table at import


# ---- pooling ---------------------------------------------------------------------------------------
def _pool_args(name, nd, input, kernel_size, stride, padding, dilation):
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D input, but got input of size: "
                           f"{list(input.shape)}")
    if 0 in input.shape[input.ndim - nd - 1:]:  # only the batch dim may be empty, as torch
        raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with "
                           f"optional 0 dim batch size for input, but got:{list(input.shape)}")
    ks = _tup(kernel_size, nd, name, "kernel_size")
    st = ks if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _tup(stride, nd, name, "stride")
    pd = _tup(padding, nd, name, "padding")
    dl = _tup(dilation, nd, name, "dilation")
    if any(s <= 0 for s in st):
        raise RuntimeError(f"{name}() stride must be greater than zero, but got {st[0] if nd == 1 else list(st)}")
    if any(k <= 0 for k in ks):
        raise RuntimeError(f"{name}() kernel_size must be greater than zero, but got {list(ks)}")
    for k, p, d in zip(ks, pd, dl):
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError("pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    return ks, st, pd, dl


def _pool_out(L, k, s, p, d, ceil_mode):
    num = L + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (o - 1) * s >= L + p:  # the last window must start inside the input or left pad
        o -= 1
    return o


def _pool_sizes(name, sp, ks, st, pd, dl, ceil_mode):
    out = tuple(_pool_out(L, k, s, p, d, ceil_mode) for L, k, s, p, d in zip(sp, ks, st, pd, dl))
    if any(o <= 0 for o in out):
        raise RuntimeError(f"{name}(): Given input size: ({'x'.join(map(str, sp))}). Calculated output "
                           f"size: ({'x'.join(map(str, out))}). Output size is too small")
    return out


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode=False):
    nd = len(kernel_size)
    sp = x.shape[x.ndim - nd:]
    out = _pool_sizes("max_pool", sp, kernel_size, stride, padding, dilation, ceil_mode)
    pads = [(p, max((o - 1) * s + d * (k - 1) + 1 - L - p, 0))
            for L, k, s, p, d, o in zip(sp, kernel_size, stride, padding, dilation, out)]
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = np.pad(x, [(0, 0)] * (x.ndim - nd) + pads, constant_values=fill) if any(map(any, pads)) else x
    v = _windows(xp, kernel_size, dilation, stride, out)
    v = v.reshape(v.shape[: x.ndim] + (math.prod(kernel_size),))  # (-1 fails on an empty batch)
    a = np.argmax(v, axis=-1)  # first maximum of each window (NaN counts as maximum), as torch
    vals = np.take_along_axis(v, a[..., None], -1)[..., 0]
    offs = np.unravel_index(a, kernel_size)
    flat = np.zeros(a.shape, np.int64)
    for i in range(nd):
        start = (np.arange(out[i]) * stride[i] - padding[i]).reshape([-1 if j == i else 1 for j in range(nd)])
        flat = flat * sp[i] + start + offs[i] * dilation[i]
    return vals, flat


def _pool_scatter(g, indices, shape, nd, unique=False):
    indices = indices._array if isinstance(indices, Tensor) else indices
    lead = shape[: len(shape) - nd]
    b, n_in = math.prod(lead), math.prod(shape[len(shape) - nd:])
    if b == 0:  # an empty batch (reshape(0, -1) is ambiguous)
        return np.zeros(shape, g.dtype)
    idx = indices.reshape(b, -1)
    if unique:  # windows that do not overlap: each input position receives at most one value
        z = np.zeros((b, n_in), g.dtype)
        np.put_along_axis(z, idx, g.reshape(b, -1), 1)
        return z.reshape(shape)
    flat = (idx + (np.arange(b) * n_in)[:, None]).ravel()
    return np.bincount(flat, weights=g.reshape(-1), minlength=b * n_in).astype(g.dtype).reshape(shape)


def _pool_gather(t, indices, nd):
    indices = indices._array if isinstance(indices, Tensor) else indices
    b = math.prod(indices.shape[: indices.ndim - nd])
    if b == 0:
        return np.zeros(indices.shape, t.dtype)
    r = np.take_along_axis(t.reshape(b, -1), indices.reshape(b, -1), 1)
    return r.reshape(indices.shape)


defop("pool_scatter", _pool_scatter,
      lambda m, g, out, x, indices, shape, nd, unique=False: m.pool_gather(g, indices, nd), LINEAR,
      dtype="keep", public=False, method=False, cls="MaxPoolBackward",
      formula="scatter-add to the indexed positions (the adjoint of pool_gather)")
defop("pool_gather", _pool_gather,
      lambda m, g, out, t, indices, nd: m.pool_scatter(g, indices, tuple(t.shape), nd), LINEAR,
      dtype="keep", public=False, method=False, formula="gather at flat spatial indices")


def _flat_scatter(m, g, idx, shape, nd, unique=False):
    """Scatter-add ``g`` (…, *out) into zeros of ``shape`` (…, *in) at flat spatial ``idx``."""
    return m.pool_scatter(g, idx, tuple(shape), nd, unique)


def _flat_gather(m, t, idx, nd):
    return m.pool_gather(t, idx, nd)


def _pool_vjp(m, gs, out, x, needs, kernel_size, stride, padding, dilation, ceil_mode=False):
    unique = all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel_size, stride, dilation))
    return (_flat_scatter(m, gs[0], out[1], tuple(x.shape), len(kernel_size), unique),)


def _pool_jvp(m, ts, out, x, kernel_size, **kw):
    return (_flat_gather(m, ts[0], out[1], len(kernel_size)), None)


defop("max_pool", _max_pool, vjp_all=_pool_vjp, jvp_all=_pool_jvp, nout=2, nondiff_out=(1,),
      cls="MaxPoolWithIndices", public=False, method=False,
      formula="d max-pool: the gradient goes to the (first) maximum of each window")


def _adaptive_bounds(L, o):
    return [((i * L) // o, -(-((i + 1) * L) // o)) for i in range(o)]


def _adaptive_max_pool(x, output_size):
    nd = len(output_size)
    sp = x.shape[x.ndim - nd:]
    lead = x.shape[: x.ndim - nd]
    vals = np.empty(lead + tuple(output_size), x.dtype)
    flat = np.empty(lead + tuple(output_size), np.int64)
    bounds = [_adaptive_bounds(L, o) for L, o in zip(sp, output_size)]
    for cell in itertools.product(*(range(o) for o in output_size)):
        win = tuple(bounds[i][c] for i, c in enumerate(cell))
        w = x[(Ellipsis,) + tuple(slice(a, b) for a, b in win)]
        w2 = w.reshape(lead + (-1,))
        a = np.argmax(w2, axis=-1)
        vals[(Ellipsis,) + cell] = np.take_along_axis(w2, a[..., None], -1)[..., 0]
        offs = np.unravel_index(a, w.shape[len(lead):])
        f = np.zeros(a.shape, np.int64)
        for i in range(nd):
            f = f * sp[i] + win[i][0] + offs[i]
        flat[(Ellipsis,) + cell] = f
    return vals, flat


defop("adaptive_max_pool", _adaptive_max_pool,
      vjp_all=lambda m, gs, out, x, needs, output_size: (
          _flat_scatter(m, gs[0], out[1], tuple(x.shape), len(output_size)),),
      jvp_all=lambda m, ts, out, x, output_size: (_flat_gather(m, ts[0], out[1], len(output_size)), None),
      nout=2, nondiff_out=(1,), cls="AdaptiveMaxPoolWithIndices", public=False, method=False,
      formula="d adaptive max-pool: the gradient goes to the maximum of each window")


def _max_pool_fn(nd):
    name = f"max_pool{nd}d"

    def max_pool(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 return_indices=False):
        # torch's kernels: no bool max_pool, and max_pool1d's floating point only
        k = input._array.dtype.kind
        if k == "b" or (nd == 1 and k != "f"):
            raise NotImplementedError(f"\"{name}{'_impl' if nd == 1 else ''}\" not implemented for "
                                      f"'{torch_name(input.dtype)}' (input {list(input.shape)})")
        ks, st, pd, dl = _pool_args(name, nd, input, kernel_size, stride, padding, dilation)
        _pool_sizes(name, tuple(input.shape[-nd:]), ks, st, pd, dl, ceil_mode)
        vals, idx = _ns.max_pool(input, ks, st, pd, dl, bool(ceil_mode))
        return (vals, idx) if return_indices else vals

    max_pool.__name__ = max_pool.__qualname__ = name
    max_pool.__doc__ = (f"{nd}-D max pooling as ``torch.nn.functional.{name}`` (stride defaults to the "
                        "kernel size; padding, dilation, ceil_mode; indices flat over the spatial dims).")
    return max_pool


max_pool1d = public("max_pool1d", method=False, ns="nn.functional")(_max_pool_fn(1))
max_pool2d = public("max_pool2d", method=False, ns="nn.functional")(_max_pool_fn(2))
max_pool3d = public("max_pool3d", method=False, ns="nn.functional")(_max_pool_fn(3))
public("max_pool1d_with_indices", function=False, method=False, ns="nn.functional")(
    lambda *a, **k: max_pool1d(*a, **{**k, "return_indices": True}))
public("max_pool2d_with_indices", function=False, method=False, ns="nn.functional")(
    lambda *a, **k: max_pool2d(*a, **{**k, "return_indices": True}))


def _const(a: np.ndarray, like: Tensor) -> Tensor:
    from .._tensor import _make

    return _make(a.astype(like._array.dtype))


def _separable(x: Tensor, mats: list) -> Tensor:
    """Apply one (out_i, in_i) matrix along each of the last ``len(mats)`` dims of ``x`` (matmuls)."""
    nd = len(mats)
    lead = tuple(x.shape[: x.ndim - nd])
    sp = list(x.shape[x.ndim - nd:])
    y = x
    for i in range(nd - 1, -1, -1):
        P = _const(mats[i], x)
        if i == nd - 1:
            y = _ns.matmul(y, _ns.transpose(P, 0, 1))
        else:
            rest = math.prod(sp[i + 1:])
            y = _ns.reshape(y, lead + tuple(sp[:i]) + (sp[i], rest))
            y = _ns.matmul(P, y)
        sp[i] = mats[i].shape[0]
        y = _ns.reshape(y, lead + tuple(sp))
    return y


def _avg_matrix(L, k, s, p, o, count_include_pad):
    P = np.zeros((o, L))
    for i in range(o):
        a = i * s - p
        b = min(a + k, L + p)
        cnt = b - a
        a2, b2 = max(a, 0), min(b, L)
        P[i, a2:b2] = 1.0 / (cnt if count_include_pad else max(b2 - a2, 1))
    return P


def _avg_pool_fn(nd):
    name = f"avg_pool{nd}d"

    def avg_pool(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        ks, st, pd, dl = _pool_args(name, nd, input, kernel_size, stride, padding, 1)
        sp = tuple(input.shape[-nd:])
        out = _pool_sizes(name, sp, ks, st, pd, dl, ceil_mode)
        if input.dtype.is_floating_point is False:
            raise RuntimeError(f"\"{name}\" not implemented for '{input.dtype}'")
        mats = [_avg_matrix(L, k, s, p, o, count_include_pad) for L, k, s, p, o in zip(sp, ks, st, pd, out)]
        if divisor_override:
            if divisor_override == 0:
                raise RuntimeError("divisor must be not zero")
            mats = [(M != 0).astype(np.float64) for M in mats]
            mats[0] = mats[0] / divisor_override
        return _separable(input, mats)

    avg_pool.__name__ = avg_pool.__qualname__ = name
    avg_pool.__doc__ = (f"{nd}-D average pooling as ``torch.nn.functional.{name}`` (ceil_mode, "
                        "count_include_pad, divisor_override); one small matmul per spatial dim.")
    return avg_pool


avg_pool1d = public("avg_pool1d", method=False, ns="nn.functional")(_avg_pool_fn(1))
avg_pool2d = public("avg_pool2d", function=False, method=False, ns="nn.functional")(_avg_pool_fn(2))
avg_pool3d = public("avg_pool3d", function=False, method=False, ns="nn.functional")(_avg_pool_fn(3))


def _adaptive_size(name, nd, input, output_size):
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got {list(input.shape)}")
    sp = tuple(input.shape[-nd:])
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    output_size = tuple(L if o is None else int(o) for o, L in zip(output_size, sp))
    if len(output_size) != nd:
        raise ValueError(f"{name}(): output_size must be {nd} integers, got {output_size}")
    return sp, output_size


def _adaptive_avg_fn(nd):
    name = f"adaptive_avg_pool{nd}d"

    def adaptive_avg_pool(input: Tensor, output_size) -> Tensor:
        sp, osz = _adaptive_size(name, nd, input, output_size)
        if all(o == 1 for o in osz):  # global average pooling: one mean (matmuls are faster otherwise)
            return _ns.mean(input, tuple(range(input.ndim - nd, input.ndim)), True)
        mats = []
        for L, o in zip(sp, osz):
            P = np.zeros((o, L))
            for i, (a, b) in enumerate(_adaptive_bounds(L, o)):
                P[i, a:b] = 1.0 / (b - a)
            mats.append(P)
        return _separable(input, mats)

    adaptive_avg_pool.__name__ = adaptive_avg_pool.__qualname__ = name
    adaptive_avg_pool.__doc__ = (f"``torch.nn.functional.{name}``: average over windows "
                                 "[floor(i·L/o), ceil((i+1)·L/o)); one small matmul per spatial dim.")
    return adaptive_avg_pool


adaptive_avg_pool1d = public("adaptive_avg_pool1d", method=False, ns="nn.functional")(_adaptive_avg_fn(1))
adaptive_avg_pool2d = public("adaptive_avg_pool2d", function=False, method=False, ns="nn.functional")(_adaptive_avg_fn(2))
adaptive_avg_pool3d = public("adaptive_avg_pool3d", function=False, method=False, ns="nn.functional")(_adaptive_avg_fn(3))


def _adaptive_max_fn(nd):
    name = f"adaptive_max_pool{nd}d"

    def adaptive_max_pool(input: Tensor, output_size, return_indices=False):
        _, osz = _adaptive_size(name, nd, input, output_size)
        vals, idx = _ns.adaptive_max_pool(input, osz)
        return (vals, idx) if return_indices else vals

    adaptive_max_pool.__name__ = adaptive_max_pool.__qualname__ = name
    adaptive_max_pool.__doc__ = f"``torch.nn.functional.{name}`` (return_indices)."
    return adaptive_max_pool


adaptive_max_pool1d = public("adaptive_max_pool1d", function=False, method=False, ns="nn.functional")(_adaptive_max_fn(1))
adaptive_max_pool2d = public("adaptive_max_pool2d", function=False, method=False, ns="nn.functional")(_adaptive_max_fn(2))


def _max_unpool_fn(nd):
    name = f"max_unpool{nd}d"

    def max_unpool(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None):
        ks = _tup(kernel_size, nd, name, "kernel_size")
        st = ks if stride is None else _tup(stride, nd, name, "stride")
        pd = _tup(padding, nd, name, "padding")
        sp = tuple(input.shape[-nd:])
        if output_size is None:
            osz = tuple((L - 1) * s - 2 * p + k for L, s, p, k in zip(sp, st, pd, ks))
        else:
            osz = tuple(output_size)[-nd:]
        lead = tuple(input.shape[: input.ndim - nd])
        if tuple(indices.shape) != tuple(input.shape):
            raise RuntimeError(f"{name}(): Expected shape of indices to be same as that of the input "
                               f"tensor ({list(input.shape)}) but got indices tensor with shape: "
                               f"{list(indices.shape)}")
        n = math.prod(osz)
        vol = "x".join(map(str, osz))
        words = "Found an invalid max index: {i} (output volumes are of size " + f"{vol}, {name})"
        check_bounds(indices._array, n, 0, words=words)
        return _flat_scatter(_ns, input, indices, lead + osz, nd)

    max_unpool.__name__ = max_unpool.__qualname__ = name
    max_unpool.__doc__ = f"``torch.nn.functional.{name}``: put each value back at its max-pool index."
    return max_unpool


max_unpool1d = public("max_unpool1d", function=False, method=False, ns="nn.functional")(_max_unpool_fn(1))
max_unpool2d = public("max_unpool2d", function=False, method=False, ns="nn.functional")(_max_unpool_fn(2))
