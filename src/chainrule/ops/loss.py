"""Loss functions (``chainrule.nn.functional``), composed from exact rows.

cross_entropy is log_softmax (a fused, stable row) followed by a gather (``take_along_dim``);
logit losses use the stable split ``softplus(−x) = log(1 + e^(−|x|)) + max(−x, 0)``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import _dtype
from .. import _ns as _ns_module
from ._dtype_checks import floating as _floating
from .._tensor import Tensor, _make
from .._context import ctx as _ctx
from .._context import proc as _proc
from ._public import public
from ._table import A, defop

_ns: Any = _ns_module  # the rule namespace on Tensors, filled from the rule table at import


def _legacy(size_average, reduce, reduction: str) -> str:
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return _ns.mean(loss)
    if reduction == "sum":
        return _ns.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_size(name, input, target, strict=False):
    if tuple(input.shape) != tuple(target.shape):
        msg = (f"Using a target size ({list(target.shape)}) that is different to the input size "
               f"({list(input.shape)}).")
        if strict:
            raise ValueError(msg + " Please ensure they have the same size.")
        warnings.warn(msg + " This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def _const(a, like: Tensor) -> Tensor:
    return _make(np.asarray(a, dtype=like._array.dtype))


def _unbool(input: Tensor, target: Tensor) -> tuple:
    """torch's mse/smooth_l1 kernels promote a bool operand (its `-` operator refuses bool)."""
    if input._array.dtype == np.bool_ or target._array.dtype == np.bool_:
        rt = np.result_type(input._array.dtype, target._array.dtype)
        rt = rt if rt.kind == "f" else np.dtype(np.float32)
        input, target = (t if t._array.dtype == rt else t.to(_dtype.from_np(rt))
                         for t in (input, target))
    return input, target


# ---- regression ----------------------------------------------------------------------------------
@public("mse_loss", function=False, method=False, ns="nn.functional")
def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight=None) -> Tensor:
    """Mean squared error ``(input − target)²``, reduced. Example: ``mse_loss(pred, y)``."""
    _floating("mse_loss", input, target)
    input, target = _unbool(input, target)
    _check_size("mse_loss", input, target)
    d = input - target
    return _reduce(d * d if weight is None else d * d * weight, _legacy(size_average, reduce, reduction))


@public("l1_loss", function=False, method=False, ns="nn.functional")
def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight=None) -> Tensor:
    """Mean absolute error ``|input − target|`` (subgradient 0 at 0), reduced."""
    _check_size("l1_loss", input, target)
    d = _ns.abs(input - target)
    return _reduce(d if weight is None else d * weight, _legacy(size_average, reduce, reduction))


@public("smooth_l1_loss", function=False, method=False, ns="nn.functional")
def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """``0.5 d²/β`` where ``|d| < β``, else ``|d| − 0.5 β`` (L1 when β = 0)."""
    _floating("smooth_l1_loss", input, target)
    input, target = _unbool(input, target)
    _check_size("smooth_l1_loss", input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = input - target
    z = _ns.abs(d)
    if beta == 0:
        loss = z
    else:  # the quadratic branch sees only its own region: at d = ±inf, inf·0 is no NaN gradient;
        near = _ns.logical_not(z >= beta)  # a NaN difference takes it (NaN gradient), as torch's
        dq = _ns.where(near, d, 0.0)
        loss = _ns.where(near, dq * dq * (0.5 / beta), z - 0.5 * beta)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


@public("huber_loss", function=False, method=False, ns="nn.functional")
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """``0.5 d²`` where ``|d| < δ``, else ``δ (|d| − 0.5 δ)``."""
    _floating("huber_loss", input, target)
    if input._array.dtype.kind == "f":  # its output has the input's dtype: a bool target casts
        input, target = _unbool(input, target)
    _check_size("huber_loss", input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    d = input - target
    z = _ns.abs(d)
    near = _ns.logical_not(z >= delta)  # NaN takes the quadratic branch, as torch's kernel
    dq = _ns.where(near, d, 0.0)  # as smooth_l1_loss: no inf·0 from the branch not taken
    loss = _ns.where(near, dq * dq * 0.5, (z - 0.5 * delta) * delta)
    return _reduce(loss if weight is None else loss * weight, reduction)


# ---- classification ----------------------------------------------------------------------------------
def _targets(name, input, target, cdim):
    t = target._array if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype != np.int64 and t.dtype != np.uint8:  # torch's kernels: Long or Byte only
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{_dtype.torch_name(t.dtype)} ({name}: class index target "
                           f"{list(t.shape)} {t.dtype})")
    want = tuple(input.shape[:cdim]) + tuple(input.shape[cdim + 1:])
    if tuple(t.shape) != want:
        if input.ndim == 2 and t.ndim == 1:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                             f"({t.shape[0]}).")
        raise RuntimeError(f"{name}(): expected target of size {list(want)}, got {list(t.shape)} "
                           f"(input {list(input.shape)})")
    return t.astype(np.int64)


@public("nll_loss", function=False, method=False, ns="nn.functional")
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C, …) at class indices ``target``.

    ``weight`` rescales classes; targets equal to ``ignore_index`` add nothing (and are not
    counted in the mean). Example: ``nll_loss(log_softmax(x, 1), y)``.
    """
    _floating("nll_loss", input)
    reduction = _legacy(size_average, reduce, reduction)
    if input.ndim < 1:
        raise ValueError("nll_loss(): input tensor should be 1D or more")
    cdim = 1 if input.ndim >= 2 else 0
    c = input.shape[cdim]
    t = _targets("nll_loss", input, target, cdim)
    keep = t != ignore_index
    safe = np.where(keep, t, 0)
    bad = (safe < 0) | (safe >= c)
    if np.any(bad):
        raise IndexError(f"Target {int(safe[bad].flat[0])} is out of bounds.")
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no classes but "
                           f"got weight tensor of shape: {list(weight.shape)}")
    w = keep.astype(np.float64) if weight is None else weight._array.astype(np.float64)[safe] * keep
    picked = _ns.squeeze(_ns.take_along_dim(input, np.expand_dims(safe, cdim), cdim), cdim)
    loss = -(picked * _const(w, input))
    if reduction == "mean":
        total = w.sum()
        if total == 0:  # every target ignored: loss NaN, gradient 0, as torch
            return _ns.sum(loss) + _const(np.nan, input)
        return _ns.sum(loss) / _const(total, input)
    return _reduce(loss, reduction)


@public("cross_entropy", function=False, method=False, ns="nn.functional")
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy of logits ``input`` (N, C, …) against class indices or class probabilities.

    Stable: ``log_softmax`` is one fused row. Supports ``weight``, ``ignore_index`` (indices only),
    ``label_smoothing`` and ``reduction`` as torch. Example: ``cross_entropy(logits, labels)``.
    """
    _floating("cross_entropy", input)
    reduction = _legacy(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if _ctx.batch_sizes:  # under vmap, per-example labels fold into one call (a batching rule)
        rule = _proc.batch_calls.get("cross_entropy")
        out = rule(input, target, weight, ignore_index, reduction, label_smoothing) if rule else None
        if out is not None:
            return out
    cdim = 1 if input.ndim >= 2 else 0
    c = input.shape[cdim]
    wshape = tuple(c if i == cdim else 1 for i in range(input.ndim))
    if target.is_floating_point():  # class probabilities
        if ignore_index != -100:
            raise RuntimeError(f"ignore_index is not supported for floating point target "
                               f"(cross_entropy got ignore_index={ignore_index})")
        logp = _ns.log_softmax(input, cdim)
        if tuple(target.shape) != tuple(input.shape):
            if input.ndim and target.ndim and input.shape[0] != target.shape[0]:
                raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                                 f"batch_size ({target.shape[0]}).")
            raise RuntimeError(f"cross_entropy(): expected target of shape {list(input.shape)} for class "
                               f"probabilities, got {list(target.shape)}")
        tt = target if label_smoothing == 0 else target * (1 - label_smoothing) + label_smoothing / c
        prod = logp * tt
        if weight is not None:
            prod = prod * _ns.reshape(weight, wshape)
        loss = -_ns.sum(prod, cdim)
        if reduction == "mean":
            # torch divides by numel / C: no classes is 0/0, a NaN loss (not a crash)
            n = (input.numel() // c if c else math.nan) if input.ndim else 1
            return _ns.sum(loss) / n
        return _reduce(loss, reduction)
    t = _targets("cross_entropy", input, target, cdim)
    keep = t != ignore_index
    safe = np.where(keep, t, 0)
    bad = (safe < 0) | (safe >= c)
    if np.any(bad):
        raise IndexError(f"Target {int(safe[bad].flat[0])} is out of bounds.")
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no classes but "
                           f"got weight tensor of shape: {list(weight.shape)}")
    w = np.ones(c) if weight is None else weight._array.astype(np.float64)
    wt = w[safe] * keep
    eps = float(label_smoothing)
    hot = -(1 - eps) * wt
    roww = -(eps / c) * w if eps else None
    denom = float(wt.sum())
    x = input if input.ndim >= 2 else _ns.unsqueeze(input, 0)
    one = input.ndim < 2
    if one:
        safe, hot, keep = safe[None], hot[None], keep[None]
    loss = _ns.cross_entropy_idx(x, safe, hot, keep.astype(np.float64), roww, reduction, denom)[0]
    return _ns.squeeze(loss, 0) if one and reduction == "none" else loss


# ---- fused cross entropy with class indices --------------------------------------------------------
# Per element, with a = ∂loss/∂log p (one-hot part ``hot`` at the target, dense part ``roww`` from
# label smoothing): loss = Σ_c a_c log p_c, and d loss/dx = a − p·Σ_c a_c. The log-probabilities are
# a second, non-differentiable output kept for backward.
def _ce_fwd(x, target, hot, keep, roww, reduction, denom):
    from .nn import _log_softmax

    logp = _log_softmax(x, 1)
    picked = np.take_along_axis(logp, target[:, None], 1)[:, 0]
    loss = picked * hot.astype(x.dtype, copy=False)
    if roww is not None:
        loss += keep * np.tensordot(roww, logp, axes=([0], [1]))
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(loss.sum() / denom, dtype=x.dtype), logp
    if reduction == "sum":
        return np.asarray(loss.sum(), dtype=x.dtype), logp
    if reduction != "none":
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return loss, logp


def _ce_dense(x, target, hot, keep, roww):
    """a = ∂loss/∂log p as a dense array shaped like ``x`` (for the graph-building paths)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    a = np.zeros(tuple(x.shape)) if roww is None else keep[:, None] * roww.reshape(shape)
    np.put_along_axis(a, target[:, None], np.take_along_axis(a, target[:, None], 1) + hot[:, None], 1)
    return a


def _ce_scale(m, g, reduction, denom):
    if reduction != "mean":
        return g
    # every target ignored: the loss is 0/0 = NaN, its gradient 0 (as torch), so that one such
    # batch leaves the weights finite
    return g / denom if denom else g * 0.0


def _ce_vjp(m, gs, out, x, needs, target, hot, keep, roww, reduction, denom):
    s = _ce_scale(m, gs[0], reduction, denom)
    suma = hot if roww is None else hot + keep * roww.sum()
    if m is A:
        dx = np.exp(out[1])
        coef = -suma * s
        dx *= coef[:, None].astype(dx.dtype, copy=False)
        t = target[:, None]
        hs = (hot * s)[:, None]
        np.put_along_axis(dx, t, np.take_along_axis(dx, t, 1) + hs, 1)
        if roww is not None:
            dx += ((keep * s)[:, None] * roww.reshape((1, -1) + (1,) * (x.ndim - 2))).astype(dx.dtype)
        return (dx,)
    p = m.softmax(x, 1)
    sg = m.unsqueeze(s, 1) if reduction == "none" else s
    a = _make(_ce_dense(x, target, hot, keep, roww).astype(x._array.dtype))
    return ((a - p * _make(suma[:, None].astype(x._array.dtype))) * sg,)


def _ce_jvp(m, ts, out, x, target, hot, keep, roww, reduction, denom):
    t = ts[0]
    p = m.exp(out[1])
    dt = x._array.dtype
    suma = hot if roww is None else hot + keep * roww.sum()
    a = _make(_ce_dense(x, target, hot, keep, roww).astype(dt))
    dl = m.sum(t * a, 1) - _make(suma.astype(dt)) * m.sum(p * t, 1)
    if reduction == "none":
        return dl, None
    tot = m.sum(dl)
    return (_ce_scale(m, tot, reduction, denom)), None


defop("cross_entropy_idx", _ce_fwd, vjp_all=_ce_vjp, jvp_all=_ce_jvp, nin=1, nout=2, nondiff_out=(1,),
      cls="CrossEntropyLoss", public=False, method=False,
      formula="loss = Σ_c a_c·log_softmax(x)_c; dx = a − softmax(x)·Σ_c a_c",
      dtype="floating")


def _clamped_log(x: Tensor) -> Tensor:
    return _ns.clamp(_ns.log(x), -100.0, None)  # torch clamps log at −100 so that 0·log 0 = 0


@public("binary_cross_entropy", function=False, method=False, ns="nn.functional")
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """``−w [t log x + (1 − t) log(1 − x)]`` for probabilities ``input`` (logs clamped at −100)."""
    _floating("binary_cross_entropy", input)
    _check_size("binary_cross_entropy", input, target, strict=True)
    if isinstance(target, Tensor) and target.dtype != input.dtype:  # no promotion in its kernel
        raise RuntimeError(f"Found dtype {_dtype.torch_name(target.dtype)} but expected "
                           f"{_dtype.torch_name(input.dtype)} (binary_cross_entropy: target "
                           f"{target.dtype}, input {input.dtype})")
    d = input._array
    if d.size and not np.all((d >= 0) & (d <= 1)):  # NaN fails the check too, as torch
        raise RuntimeError("all elements of input should be between 0 and 1")
    loss = -(target * _clamped_log(input) + (1 - target) * _clamped_log(1 - input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def _softplus_neg(x: Tensor) -> Tensor:
    """log(1 + e^(−x)) = log(1 + e^(−|x|)) + max(−x, 0), with the derivative −σ(−x) also at x = 0."""
    s = _const(np.where(x._array >= 0, 1.0, -1.0), x)  # |x| = x·s with d|x|/dx = 1 at 0
    neg = _const(x._array < 0, x)
    return _ns.log(1 + _ns.exp(-(x * s))) - x * neg


@public("binary_cross_entropy_with_logits", function=False, method=False, ns="nn.functional")
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross entropy in one stable expression (``pos_weight`` weighs positives)."""
    _floating("binary_cross_entropy_with_logits", input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({list(target.shape)}) must be the same as input size "
                         f"({list(input.shape)})")
    sp = _softplus_neg(input)
    if pos_weight is None:
        loss = (1 - target) * input + sp
    else:
        loss = (1 - target) * input + ((pos_weight - 1) * target + 1) * sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, _legacy(size_average, reduce, reduction))


@public("kl_div", function=False, method=False, ns="nn.functional")
def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL divergence with ``input`` in log space: ``t (log t − input)`` (0 where t = 0).

    ``reduction='batchmean'`` divides the sum by the batch size (the mathematically correct mean).
    """
    for t in (input, target):  # either integral is refused, as torch
        _floating("kl_div", t, exc=RuntimeError, msg="kl_div: Integral inputs not supported.")
    reduction = _legacy(size_average, reduce, reduction)
    if log_target:
        loss = _ns.exp(target) * (target - input)
    else:
        pos = target > 0
        tl = target * _ns.log(_ns.where(pos, target, 1.0))  # xlogy(t, t): no NaN from t = 0
        loss = _ns.where(pos, tl, 0.0) - target * input
    if reduction == "batchmean":
        s = _ns.sum(loss)
        return s / input.shape[0] if input.ndim else s
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support "
                      "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
                      "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
                      "major release.", stacklevel=2)
    return _reduce(loss, reduction)


@public("poisson_nll_loss", function=False, method=False, ns="nn.functional")
def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    """Poisson negative log likelihood: ``e^x − t x`` (``log_input``) or ``x − t log(x + eps)``;
    ``full`` adds Stirling's term ``t log t − t + ½ log(2π t)`` where t > 1."""
    if log_input:
        loss = _ns.exp(input) - target * input
    else:
        loss = input - target * _ns.log(input + eps)
    if full:
        big = target > 1
        ts = _ns.where(big, target, 2.0)
        st = ts * _ns.log(ts) - ts + 0.5 * _ns.log(ts * (2 * math.pi))
        loss = loss + _ns.where(big, st, 0.0)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


# ---- embeddings and ranking ---------------------------------------------------------------------------
@public("cosine_embedding_loss", function=False, method=False, ns="nn.functional")
def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``1 − cos(x1, x2)`` where y = 1, ``max(0, cos − margin)`` where y = −1 (torch's ε = 1e-12)."""
    d = input1.ndim - 1
    eps = 1e-12
    prod = _ns.sum(input1 * input2, d)
    m1 = _ns.sum(input1 * input1, d) + eps
    m2 = _ns.sum(input2 * input2, d) + eps
    cos = prod / _ns.sqrt(m1 * m2)
    pos = _ns.where(target == 1, 1 - cos, 0.0)
    neg = _ns.where(target == -1, _ns.clamp(cos - margin, 0.0, None), 0.0)
    return _reduce(pos + neg, _legacy(size_average, reduce, reduction))


@public("margin_ranking_loss", function=False, method=False, ns="nn.functional")
def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, −y (x1 − x2) + margin)``."""
    if not (input1.ndim == input2.ndim == target.ndim):
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got "
                           f"sizes: input1: {list(input1.shape)}, input2: {list(input2.shape)}, "
                           f"target: {list(target.shape)} ")
    loss = _ns.clamp(-target * (input1 - input2) + margin, 0.0, None)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


@public("triplet_margin_loss", function=False, method=False, ns="nn.functional")
def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """``max(d(a, p) − d(a, n) + margin, 0)`` with ``d`` the pairwise p-distance (``swap``: use the
    smaller of d(a, n) and d(p, n))."""
    from .nn import pairwise_distance

    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError("The anchor, positive, and negative tensors are expected to have the same number "
                           f"of dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and "
                           f"negative {negative.ndim}D inputs")
    dp = pairwise_distance(anchor, positive, p, eps)
    dn = pairwise_distance(anchor, negative, p, eps)
    if swap:
        dn = _ns.minimum(dn, pairwise_distance(positive, negative, p, eps))
    loss = _ns.clamp(dp - dn + margin, 0.0, None)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


@public("hinge_embedding_loss", function=False, method=False, ns="nn.functional")
def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """``x`` where y = 1, ``max(0, margin − x)`` where y = −1."""
    _floating("hinge_embedding_loss", input, exc=RuntimeError)
    loss = (_ns.where(target != 1, _ns.clamp(margin - input, 0.0, None), 0.0)
            + _ns.where(target != -1, input, 0.0))
    return _reduce(loss, _legacy(size_average, reduce, reduction))


@public("soft_margin_loss", function=False, method=False, ns="nn.functional")
def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """``log(1 + exp(−y x))``."""
    _floating("soft_margin_loss", input, exc=RuntimeError)
    return _reduce(_softplus_neg(target * input), _legacy(size_average, reduce, reduction))


@public("gaussian_nll_loss", function=False, method=False, ns="nn.functional")
def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """``½ (log var + (input − target)² / var)`` (+ ½ log 2π when ``full``); var clamped at ``eps``
    in value only, as torch."""
    _floating("gaussian_nll_loss", input, exc=RuntimeError)
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = _ns.unsqueeze(var, -1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if np.any(var._array < 0):
        raise ValueError("var has negative entry/entries")
    d = var.detach()
    v = var + (_ns.clamp(d, eps, None) - d)  # clamped value, unclamped gradient (torch clamps under no_grad)
    diff = input - target
    loss = (_ns.log(v) + diff * diff / v) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _class_targets(name, input, target):
    t = target._array if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): expected an integer target, got {t.dtype}")
    return t.astype(np.int64)


@public("multi_margin_loss", function=False, method=False, ns="nn.functional")
def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge: ``Σ_{i≠y} max(0, margin − x_y + x_i)^p / C`` (weighted by ``weight[y]``)."""
    _floating("multi_margin_loss", input)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = input if input.ndim == 2 else _ns.unsqueeze(input, 0)
    c = x.shape[1]
    t = _class_targets("multi_margin_loss", input, target).reshape(-1)
    if t.shape[0] != x.shape[0] or np.any((t < 0) | (t >= c)):
        raise RuntimeError(f"multi_margin_loss(): inconsistent target {list(target.shape)} for input "
                           f"{list(input.shape)} (targets must be in [0, {c}))")
    xy = _ns.take_along_dim(x, t[:, None], 1)
    z = _ns.clamp(x - xy + margin, 0.0, None)
    if p == 2:
        z = z * z
    keep = np.ones((x.shape[0], c))
    keep[np.arange(x.shape[0]), t] = 0.0
    if weight is not None:
        keep = keep * weight._array.astype(np.float64)[t][:, None]
    loss = _ns.sum(z * _const(keep, x), 1) / c
    if input.ndim == 1:
        loss = _ns.reshape(loss, tuple(target.shape))  # torch: a 1-D input's loss has the target's shape
    return _reduce(loss, _legacy(size_average, reduce, reduction))


@public("multilabel_margin_loss", function=False, method=False, ns="nn.functional")
def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """``Σ_{j ∈ targets} Σ_{i ∉ targets} max(0, 1 − (x_j − x_i)) / C``; each target row lists class
    indices and ends at the first −1."""
    _floating("multilabel_margin_loss", input)
    x = input if input.ndim == 2 else _ns.unsqueeze(input, 0)
    n, c = x.shape
    t = _class_targets("multilabel_margin_loss", input, target).reshape(n, c)
    listed = np.zeros((n, c))  # how often class j is listed before the first -1
    for r in range(n):
        for j in t[r]:
            if j < 0:
                break
            listed[r, j] += 1
    pair = listed[:, :, None] * (listed[:, None, :] == 0)  # (n, j, i)
    d = _ns.clamp(1.0 - (_ns.unsqueeze(x, 2) - _ns.unsqueeze(x, 1)), 0.0, None)
    loss = _ns.sum(d * _const(pair, x), (1, 2)) / c
    if input.ndim == 1:
        loss = _ns.squeeze(loss, 0)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


@public("multilabel_soft_margin_loss", function=False, method=False, ns="nn.functional")
def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                                reduce=None, reduction: str = "mean") -> Tensor:
    """``−mean_c [t log σ(x) + (1 − t) log σ(−x)]`` (weighted per class)."""
    _floating("multilabel_soft_margin_loss", input)
    loss = target * _softplus_neg(input) + (1 - target) * _softplus_neg(-input)
    if weight is not None:
        loss = loss * weight
    loss = _ns.mean(loss, input.ndim - 1) if input.ndim else loss
    return _reduce(loss, _legacy(size_average, reduce, reduction))
