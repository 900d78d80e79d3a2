"""Rule-table rows: fused, numerically stable neural-network functions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._context import ctx as _ctx
from .. import _ns as _ns_module
from .._tensor import Tensor, _make, _wrap_dim
from ._public import PUBLIC, public
from ._dtype_checks import require_tensor
from ._index_checks import check_bounds
from ._table import LINEAR, A, defop

_ns: Any = _ns_module  # the rule namespace on Tensors, filled from the rule table at import


def _softmax(x, dim, dtype=None):
    if dtype is not None:  # cast first, so that an integer input with a float dtype works
        from .. import _dtype

        x = x.astype(_dtype.to_np(dtype))
    if x.dtype.kind != "f":
        _no_kernel("softmax", x)
    d = _wrap_dim(dim, max(x.ndim, 1), "softmax")  # a 0-d tensor takes dim 0 or -1, as torch
    if x.ndim == 0:
        return np.ones_like(x)
    if x.size == 0:  # nothing to normalize (NumPy's max has no identity): empty, as torch
        return x.copy()
    e = x - np.amax(x, axis=d, keepdims=True)
    np.exp(e, out=e)  # in place: large temporaries cost page faults
    e /= np.sum(e, axis=d, keepdims=True)
    return e


def _log_softmax(x, dim, dtype=None):
    if dtype is not None:  # cast first, so that an integer input with a float dtype works
        from .. import _dtype

        x = x.astype(_dtype.to_np(dtype))
    if x.dtype.kind != "f":
        _no_kernel("log_softmax", x)
    d = _wrap_dim(dim, max(x.ndim, 1), "log_softmax")  # a 0-d tensor takes dim 0 or -1, as torch
    if x.ndim == 0:
        return np.zeros_like(x)
    if x.size == 0:
        return x.copy()
    s = x - np.amax(x, axis=d, keepdims=True)
    s -= np.log(np.sum(np.exp(s), axis=d, keepdims=True))
    return s


def _no_kernel(name, x):
    from .._dtype import torch_name

    raise NotImplementedError(f'"{name}" not implemented for \'{torch_name(x.dtype)}\' '
                              f"(input: {tuple(x.shape)} {x.dtype})")


# softmax's Jacobian is symmetric, so the same formula serves both modes
def _softmax_rule(m, g, out, x, dim, dtype=None):
    if x.ndim == 0:
        return g * 0
    if m is A:  # one temporary instead of three
        r = g - np.sum(g * out, axis=dim, keepdims=True)
        r *= out
        return r
    return out * (g - m.sum(g * out, dim=dim, keepdim=True))


def _log_softmax_dx(m, g, out, x, dim, dtype=None):
    if x.ndim == 0:
        return g * 0
    if m is A:
        r = np.exp(out)
        r *= -np.sum(g, axis=dim, keepdims=True)
        r += g
        return r
    return g - m.exp(out) * m.sum(g, dim=dim, keepdim=True)


def _log_softmax_t(m, t, out, x, dim, dtype=None):
    if x.ndim == 0:
        return t * 0
    return t - m.sum(m.exp(out) * t, dim=dim, keepdim=True)


defop("softmax", _softmax, _softmax_rule, _softmax_rule, dtype="keep",
      formula="d softmax(u)_i/du_j = s_i(δ_ij − s_j)")
defop("log_softmax", _log_softmax, _log_softmax_dx, _log_softmax_t, dtype="keep",
      formula="d log_softmax(u)_i/du_j = δ_ij − softmax(u)_j")


@public("softmin", ns="nn.functional", method=False, function=False)
def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-input, dim)``, as ``torch.nn.functional.softmin``."""
    return _ns.softmax(-input, dim if dim is not None else _implicit_dim(input.ndim), dtype)


def _implicit_dim(ndim: int) -> int:
    return 0 if ndim in (0, 1, 3) else 1


public("softmax", ns="nn.functional", function=False, method=False)(
    lambda input, dim=None, _stacklevel=3, dtype=None:
    _ns.softmax(input, _implicit_dim(input.ndim) if dim is None else dim, dtype))
public("log_softmax", ns="nn.functional", function=False, method=False)(
    lambda input, dim=None, _stacklevel=3, dtype=None:
    _ns.log_softmax(input, _implicit_dim(input.ndim) if dim is None else dim, dtype))


def _const(a, like: Tensor) -> Tensor:
    return _make(np.asarray(a, dtype=like._array.dtype))


# ---- linear layers -----------------------------------------------------------------------------
@public("linear", function=False, method=False, ns="nn.functional")
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``, as ``torch.nn.functional.linear``.

    Example: ``linear(x, w, b)`` with x (N, in), w (out, in), b (out,) gives (N, out).
    """
    require_tensor("linear", input)
    require_tensor("linear", weight, "weight", 2)
    if input.dtype != weight.dtype:
        raise RuntimeError(f"linear(): mat1 and mat2 must have the same dtype, but got {input.dtype} "
                           f"and {weight.dtype}")
    y = _ns.matmul(input, weight if weight.ndim < 2 else _ns.transpose(weight, 0, 1))
    return y if bias is None else y + bias


@public("bilinear", method=False, ns="nn.functional")
def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_o = Σ_ij x1_i W_oij x2_j + b_o``, as ``torch.nn.functional.bilinear``."""
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input1 {list(input1.shape)}, input2 {list(input2.shape)} and "
                           f"weight {list(weight.shape)} do not match (weight must be (out, in1, in2))")
    t = _ns.matmul(_ns.unsqueeze(_ns.unsqueeze(input1, -2), -2), weight)  # (..., O, 1, J)
    y = _ns.sum(_ns.squeeze(t, -2) * _ns.unsqueeze(input2, -2), -1)
    return y if bias is None else y + bias


# ---- dropout -------------------------------------------------------------------------------------
def _check_p(p):
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_mask(input: Tensor, p: float, shape) -> Tensor:
    from .._creation import default_generator

    keep = default_generator.rng.random(shape) >= p
    scale = keep / (1.0 - p) if p < 1 else np.zeros(shape)
    return _const(scale, input)


def _apply_mask(input, mask, inplace):
    if inplace and hasattr(input, "mul_"):
        return input.mul_(mask)
    return input * mask


@public("dropout", method=False, ns="nn.functional")
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) when ``training``.

    Seeded by ``chainrule.manual_seed``. Example: ``dropout(x, 0.1, training=model.training)``.
    """
    _check_p(p)
    if not training or p == 0:
        return input
    return _apply_mask(input, _dropout_mask(input, p, tuple(input.shape)), inplace)


def _feature_dropout(name, nd):
    def fn(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
        _check_p(p)
        if input.ndim not in (nd + 1, nd + 2):
            raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D input, but received a "
                               f"{input.ndim}D input")
        if not training or p == 0:
            return input
        shape = tuple(input.shape[: input.ndim - nd]) + (1,) * nd  # one draw per channel
        return _apply_mask(input, _dropout_mask(input, p, shape), inplace)

    fn.__name__ = name
    fn.__doc__ = f"Zero whole channels with probability ``p`` (``torch.nn.functional.{name}``)."
    return fn


dropout1d = public("dropout1d", function=False, method=False, ns="nn.functional")(_feature_dropout("dropout1d", 1))
dropout2d = public("dropout2d", function=False, method=False, ns="nn.functional")(_feature_dropout("dropout2d", 2))
dropout3d = public("dropout3d", function=False, method=False, ns="nn.functional")(_feature_dropout("dropout3d", 3))


def _alpha(name, channels):
    def fn(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
        _check_p(p)
        if not training or p == 0:
            return input
        from .._creation import default_generator

        shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2) if channels else tuple(input.shape)
        keep = (default_generator.rng.random(shape) >= p).astype(np.float64)
        alpha = 1.7580993408473766  # -SELU's negative saturation value
        a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p)) if p < 1 else 0.0
        b = (keep - 1) * (alpha * a) + alpha * a * p
        return input * _const(keep * a, input) + _const(b, input)

    fn.__name__ = name
    fn.__doc__ = (f"``torch.nn.functional.{name}``: dropout that keeps SELU's mean and variance "
                  f"({'whole channels' if channels else 'elements'} set to SELU's saturation value).")
    return fn


alpha_dropout = public("alpha_dropout", method=False, ns="nn.functional")(_alpha("alpha_dropout", False))
feature_alpha_dropout = public("feature_alpha_dropout", method=False, ns="nn.functional")(
    _alpha("feature_alpha_dropout", True))


@public("gumbel_softmax", function=False, method=False, ns="nn.functional")
def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """softmax((logits + Gumbel noise) / tau); ``hard``: one-hot of the argmax in the forward pass,
    the soft sample's gradient in the backward pass (straight-through). Seeded by ``manual_seed``."""
    from .._creation import default_generator

    g = -np.log(default_generator.rng.exponential(size=tuple(logits.shape)))
    y = _ns.softmax((logits + _const(g, logits)) / tau, dim)
    if not hard:
        return y
    d = y._array
    ax = dim % max(d.ndim, 1)
    onehot = np.zeros_like(d)
    np.put_along_axis(onehot, np.expand_dims(np.argmax(d, axis=ax), ax), 1.0, ax)
    return y + _const(onehot - d, logits)  # value: one-hot; gradient: the soft sample's


# ---- embedding and one_hot -----------------------------------------------------------------------
def _embedding(weight, indices, padding_idx=None, freq=False):
    return weight[indices]


def _embedding_bwd(g, indices, num_weights, padding_idx=None):
    row = g.shape[indices.ndim:]
    d = math.prod(row)
    z = np.zeros(num_weights * d, g.dtype)
    # one flat, 1-D add.at (about 3x faster than add.at over rows); repeated rows accumulate
    flat = ((indices.reshape(-1, 1) % num_weights) * d + np.arange(d)).ravel()
    np.add.at(z, flat, np.ascontiguousarray(g).reshape(-1))
    z = z.reshape((num_weights,) + row)
    if padding_idx is not None:
        z[padding_idx] = 0
    return z


def _embedding_bwd_dg(m, g, out, gout, indices, num_weights, padding_idx=None):
    r = m.embedding(g, indices)
    if padding_idx is None:
        return r
    keep = (indices != padding_idx % num_weights).reshape(indices.shape + (1,) * (r.ndim - indices.ndim))
    return r * keep


def _freq_scale(indices, n, ndim_g):
    """1 / (how often each looked-up row occurs), shaped to scale the gradient (scale_grad_by_freq)."""
    ids = indices % n
    counts = np.bincount(ids.ravel(), minlength=n)
    return (1.0 / counts[ids]).reshape(ids.shape + (1,) * (ndim_g - ids.ndim))


def _embedding_dw(m, g, out, weight, indices, padding_idx=None, freq=False):
    if freq:
        sc = _freq_scale(indices, weight.shape[0], g.ndim)
        if m is A:
            g = g * sc.astype(g.dtype)
        else:  # scaled in value only: this rule itself is the only place the scaling enters, as torch
            d = g.detach()
            g = g + (d * _make(sc.astype(g._array.dtype)) - d)
    return m.embedding_backward(g, indices, weight.shape[0], padding_idx)


defop("embedding", _embedding, _embedding_dw,
      LINEAR, dtype="keep", public=False, method=False,
      formula="d weight[i]/d weight: the gradient is scatter-added to the looked-up rows (none to padding_idx)")
defop("embedding_backward", _embedding_bwd, _embedding_bwd_dg, LINEAR, dtype="keep", public=False,
      method=False, cls="EmbeddingBackward", formula="scatter-add: the gradient is gathered back")


def _index_array(name, t) -> np.ndarray:
    a = t._array if isinstance(t, Tensor) else np.asarray(t)
    if a.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {a.dtype} instead")
    return a


@public("embedding", function=False, method=False, ns="nn.functional")  # torch.embedding: (weight, input)
def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows of ``weight`` at the integer ``input`` (``torch.nn.functional.embedding``).

    ``padding_idx`` rows get no gradient; ``max_norm`` renormalizes the looked-up rows of ``weight``
    in place (no grad), as torch; ``scale_grad_by_freq`` divides each row's gradient by how often
    it occurs in ``input``; ``sparse`` is accepted but gradients are always dense. Example: ``embedding(cr.tensor([[0, 2]]), w)``.
    """
    idx = _index_array("embedding", input)
    n = weight.shape[0]
    # torch refuses negative indices here (NumPy would wrap them to the last rows)
    check_bounds(idx, n, 0, exc=IndexError, words="index out of range in self (embedding with "
                 "{size} rows, index {i})")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx = padding_idx % n
    if max_norm is not None:
        rows = np.unique(idx % n)
        w = weight._array
        norms = np.linalg.norm(w[rows], ord=norm_type, axis=-1)
        big = norms > max_norm
        if np.any(big):
            w[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(w.dtype)
            weight._bump()
    return _ns.embedding(weight, idx, padding_idx, bool(scale_grad_by_freq))


@public("one_hot", function=False, method=False, ns="nn.functional")
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a trailing dimension of ``num_classes`` (max + 1 when -1)."""
    a = tensor._array if isinstance(tensor, Tensor) else np.asarray(tensor)
    if a.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if a.size and a.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    elif a.size and a.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return _make((a[..., None] == np.arange(num_classes)).astype(np.int64))


# ---- distances and similarities ------------------------------------------------------------------
def _unclamped_grad(x: Tensor, lo: float) -> Tensor:
    """``x`` clamped below at ``lo`` in value, with the gradient of ``x`` (torch's no-grad clamp_min_)."""
    d = x.detach()
    return x + (_ns.clamp(d, lo, None) - d)


@public("normalize", function=False, method=False, ns="nn.functional")
def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """``input / max(‖input‖_p, eps)`` along ``dim`` (``torch.nn.functional.normalize``)."""
    norm = PUBLIC["norm"]  # looked up late: torch.norm's wrapper, wherever its family defines it

    return input / _ns.clamp(norm(input, p, dim, True), eps, None)


@public("cosine_similarity", method=False, ns="nn.functional")
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ (x1/‖x1‖)(x2/‖x2‖) along ``dim``, norms clamped at ``eps`` (torch's formula)."""
    norm = PUBLIC["norm"]  # looked up late: torch.norm's wrapper, wherever its family defines it

    n1 = _unclamped_grad(norm(x1, 2, dim, True), eps)
    n2 = _unclamped_grad(norm(x2, 2, dim, True), eps)
    return _ns.sum((x1 / n1) * (x2 / n2), dim)


@public("pairwise_distance", method=False, ns="nn.functional")
def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """‖x1 − x2 + eps‖_p over the last dimension (``torch.nn.functional.pairwise_distance``)."""
    norm = PUBLIC["norm"]  # looked up late: torch.norm's wrapper, wherever its family defines it

    nd = max(x1.ndim, x2.ndim)
    return norm(x1 - x2 + eps, p, -1 if nd else None, keepdim)


@public("cdist", method=False)
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    """p-norm distance between each row of ``x1`` (…, P, M) and of ``x2`` (…, R, M): (…, P, R)."""
    norm = PUBLIC["norm"]  # looked up late: torch.norm's wrapper, wherever its family defines it
    from ._dtype_checks import floating, same_dtype

    floating("cdist", x1, exc=RuntimeError, msg="cdist only supports floating-point dtypes")
    same_dtype("cdist", x1, x2)

    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    return norm(_ns.unsqueeze(x1, -2) - _ns.unsqueeze(x2, -3), p, -1)


# ---- attention -------------------------------------------------------------------------------------
def _flat(a, bs, tail):
    """``a`` broadcast to ``bs + tail`` as a stack of matrices (a view unless it broadcasts)."""
    return None if a is None else np.broadcast_to(a, bs + tail).reshape((-1,) + tail)


def _sdpa_block(q, k, scale, keep, bias, s):
    """Scores of one block of matrices into ``s``, masked and scaled, in place."""
    np.matmul(q, np.swapaxes(k, -1, -2), out=s)
    s *= scale
    if bias is not None:
        s += bias
    if keep is not None:
        np.copyto(s, -np.inf, where=~keep)


def _sdpa_layout(q, k, v, keep, bias):
    bs = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2],
                             *(a.shape[:-2] for a in (keep, bias) if a is not None))
    L, S = q.shape[-2], k.shape[-2]
    n = math.prod(bs)
    step = max(1, (1 << 16) // max(L * S, 1))  # blocks of about 256 KiB of scores: they stay in cache
    return bs, L, S, n, step


# Blocked like flash attention: scores never exist for the whole batch at once, and only each row's
# log-sum-exp is kept for backward (probabilities are recomputed there), so no large temporaries.
def _sdpa(q, k, v, scale, keep=None, bias=None):
    bs, L, S, n, step = _sdpa_layout(q, k, v, keep, bias)
    qf, kf, vf = _flat(q, bs, q.shape[-2:]), _flat(k, bs, k.shape[-2:]), _flat(v, bs, v.shape[-2:])
    kp, bp = _flat(keep, bs, (L, S)), _flat(bias, bs, (L, S))
    dt = np.result_type(q, k, v)
    out = np.empty((n, L, v.shape[-1]), dt)
    lse = np.empty((n, L, 1), dt)
    buf = np.empty((min(step, n), L, S), dt)
    with np.errstate(invalid="ignore", divide="ignore"):  # a fully masked row is NaN, as torch's math kernel
        for i in range(0, n, step):
            j = min(i + step, n)
            s = buf[: j - i]
            _sdpa_block(qf[i:j], kf[i:j], scale, None if kp is None else kp[i:j], None if bp is None else bp[i:j], s)
            mx = s.max(-1, keepdims=True)
            s -= mx
            np.exp(s, out=s)
            sm = s.sum(-1, keepdims=True)
            s /= sm
            lse[i:j] = mx + np.log(sm)
            np.matmul(s, vf[i:j], out=out[i:j])
    return out.reshape(bs + (L, v.shape[-1])), lse.reshape(bs + (L, 1))


def _sdpa_probs(m, q, k, scale, keep, bias):
    s = m.matmul(q, m.transpose(k, -2, -1)) * scale
    if bias is not None:
        s = s + bias
    if keep is not None:
        s = m.where(keep if m is A else _make(keep), s, -math.inf)
    return m.softmax(s, -1)


def _sdpa_vjp(m, gs, out, q, k, v, needs, scale, keep=None, bias=None):
    g = gs[0]
    if m is A:  # raw arrays: probabilities recomputed block by block from the saved log-sum-exp
        bs, L, S, n, step = _sdpa_layout(q, k, v, keep, bias)
        qf, kf, vf = _flat(q, bs, q.shape[-2:]), _flat(k, bs, k.shape[-2:]), _flat(v, bs, v.shape[-2:])
        kp, bp = _flat(keep, bs, (L, S)), _flat(bias, bs, (L, S))
        gf, lse = _flat(g, bs, g.shape[-2:]), out[1].reshape(-1, L, 1)
        dt = np.result_type(q, k, v)
        dq, dk, dv = np.empty(qf.shape, dt), np.empty(kf.shape, dt), np.empty(vf.shape, dt)
        pbuf, dbuf = np.empty((min(step, n), L, S), dt), np.empty((min(step, n), L, S), dt)
        with np.errstate(invalid="ignore"):
            for i in range(0, n, step):
                j = min(i + step, n)
                p, dp = pbuf[: j - i], dbuf[: j - i]
                _sdpa_block(qf[i:j], kf[i:j], scale, None if kp is None else kp[i:j],
                            None if bp is None else bp[i:j], p)
                p -= lse[i:j]
                np.exp(p, out=p)
                np.matmul(np.swapaxes(p, -1, -2), gf[i:j], out=dv[i:j])
                np.matmul(gf[i:j], np.swapaxes(vf[i:j], -1, -2), out=dp)
                dp -= np.einsum("...ij,...ij->...i", dp, p)[..., None]
                dp *= p
                dp *= scale
                np.matmul(dp, kf[i:j], out=dq[i:j])
                np.matmul(np.swapaxes(dp, -1, -2), qf[i:j], out=dk[i:j])
        return (dq.reshape(bs + q.shape[-2:]) if needs[0] else None,
                dk.reshape(bs + k.shape[-2:]) if needs[1] else None,
                dv.reshape(bs + v.shape[-2:]) if needs[2] else None)
    p = _sdpa_probs(m, q, k, scale, keep, bias)  # recomputed with graph, for higher order
    dv = m.matmul(m.transpose(p, -2, -1), g)
    dp = m.matmul(g, m.transpose(v, -2, -1))
    ds = p * (dp - m.sum(dp * p, -1, True)) * scale
    return m.matmul(ds, k), m.matmul(m.transpose(ds, -2, -1), q), dv


def _sdpa_jvp(m, ts, out, q, k, v, scale, keep=None, bias=None):
    tq, tk, tv = ts
    p = _sdpa_probs(m, q, k, scale, keep, bias)
    r = None
    ds = None
    if tq is not None:
        ds = m.matmul(tq, m.transpose(k, -2, -1))
    if tk is not None:
        d2 = m.matmul(q, m.transpose(tk, -2, -1))
        ds = d2 if ds is None else ds + d2
    if ds is not None:
        ds = ds * scale
        r = m.matmul(p * (ds - m.sum(p * ds, -1, True)), v)
    if tv is not None:
        r2 = m.matmul(p, tv)
        r = r2 if r is None else r + r2
    return r, None


defop("sdpa", _sdpa, vjp_all=_sdpa_vjp, jvp_all=_sdpa_jvp, nin=3, nout=2, nondiff_out=(1,),
      cls="ScaledDotProductAttention", public=False, method=False,
      formula="P = softmax(QKᵀ·s + M) (blocked; row log-sum-exp kept); dV = PᵀG, dS = P∘(GVᵀ − rowsum(P∘GVᵀ))·s, dQ = dS K, dK = dSᵀQ")


@public("scaled_dot_product_attention", function=False, method=False, ns="nn.functional")
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q kᵀ · scale + mask) v (``torch.nn.functional.scaled_dot_product_attention``).

    A bool ``attn_mask`` keeps the True positions; a float one is added. ``is_causal`` keeps the
    lower triangle. One fused row (the probabilities are saved for backward) unless dropout is on
    or a float mask requires grad. Example: ``scaled_dot_product_attention(q, k, v, is_causal=True)``.
    """
    L, S, E = query.shape[-2], key.shape[-2], query.shape[-1]
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                           "is_causal=True")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key = _repeat_heads(key, rep)
        value = _repeat_heads(value, rep)
    sc = 1.0 / math.sqrt(E) if scale is None else float(scale)
    keep = bias = None
    if is_causal:
        keep = np.tril(np.ones((L, S), bool))
    elif attn_mask is not None:
        if attn_mask.dtype.name == "bool":
            keep = attn_mask._array
        elif not attn_mask.requires_grad and not _ctx.fw_visible:  # else: differentiate the mask
            bias = attn_mask._array.astype(query._array.dtype, copy=False)
    if dropout_p == 0 and (attn_mask is None or keep is not None or bias is not None):
        return _ns.sdpa(query, key, value, sc, keep, bias)[0]
    s = _ns.matmul(query * sc, _ns.transpose(key, -2, -1))
    if keep is not None:
        s = _ns.where(_make(keep), s, -math.inf)
    elif attn_mask is not None:
        s = s + attn_mask
    w = _ns.softmax(s, -1)
    if dropout_p > 0:
        w = dropout(w, dropout_p)
    return _ns.matmul(w, value)


def _repeat_heads(x: Tensor, rep: int) -> Tensor:
    shp = tuple(x.shape)
    y = _ns.expand(_ns.unsqueeze(x, -3), shp[:-2] + (rep,) + shp[-2:])
    return _ns.reshape(y, shp[:-3] + (shp[-3] * rep,) + shp[-2:])


from . import resample  # noqa: E402,F401  (pixel shuffle, interpolate)
