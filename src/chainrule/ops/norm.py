"""Normalization functions (``chainrule.nn.functional``): layer, batch, group, instance and RMS norm.

Each is a composition of exact, differentiable rows (mean, sub, mul, sqrt, div), so gradients of
every order come from those rows; running statistics are updated in place without a graph, as torch.
"""

from __future__ import annotations

import numpy as np

from .. import _ns
from .._tensor import Tensor
from . import public


def _standardize(x: Tensor, dims, eps: float) -> Tensor:
    """(x − mean) / sqrt(biased var + eps) over ``dims``."""
    mu = _ns.mean(x, dims, True)
    xc = x - mu
    var = _ns.mean(xc * xc, dims, True)
    return xc / _ns.sqrt(var + eps)


def _affine(y: Tensor, weight, bias, shape) -> Tensor:
    if weight is not None:
        y = y * (weight if shape is None else _ns.reshape(weight, shape))
    if bias is not None:
        y = y + (bias if shape is None else _ns.reshape(bias, shape))
    return y


def _norm_shape(name, input, normalized_shape) -> tuple:
    ns = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if not ns or tuple(input.shape[input.ndim - len(ns):]) != ns or len(ns) > input.ndim:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(map(str, ns))}], but got input of size{list(input.shape)}")
    return ns


@public("layer_norm", method=False, ns="nn.functional")
def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` dims, then scale and shift.

    Example: ``layer_norm(x, (64,), w, b)`` for x of shape (N, T, 64).
    """
    ns = _norm_shape("layer_norm", input, normalized_shape)
    dims = tuple(range(-len(ns), 0))
    return _affine(_standardize(input, dims, eps), weight, bias, None)


@public("rms_norm", method=False, ns="nn.functional")
def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x²) + eps) · weight`` over the last dims (eps: the dtype's machine epsilon)."""
    ns = _norm_shape("rms_norm", input, normalized_shape)
    dims = tuple(range(-len(ns), 0))
    if eps is None:
        eps = float(np.finfo(input.data.dtype).eps)
    y = input / _ns.sqrt(_ns.mean(input * input, dims, True) + eps)
    return _affine(y, weight, None, None)


def _channel_shape(input) -> tuple:
    return (1, input.shape[1]) + (1,) * (input.ndim - 2)


def _update(running: Tensor | None, new: np.ndarray, momentum: float) -> None:
    if running is None:
        return
    running.data[...] = (1 - momentum) * running.data + momentum * new.astype(running.data.dtype)
    running._bump()


@public("batch_norm", method=False, ns="nn.functional")
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Per-channel normalization of (N, C, …): batch statistics when ``training`` (updating the
    running mean and unbiased variance in place with ``momentum``), running statistics otherwise."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm(): expected 2D or more input (N, C, ...), got {input.ndim}D")
    c = input.shape[1]
    shape = _channel_shape(input)
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"batch_norm(): {name} should contain {c} elements not {t.numel()}")
    dims = (0,) + tuple(range(2, input.ndim))
    if training:
        n = input.numel() // c
        if n <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got input size "
                             f"{list(input.shape)}")
        mu = _ns.mean(input, dims, True)
        xc = input - mu
        var = _ns.mean(xc * xc, dims, True)
        m = 0.0 if momentum is None else momentum
        _update(running_mean, mu.data.reshape(c), m)
        _update(running_var, var.data.reshape(c) * (n / (n - 1)), m)
        y = xc / _ns.sqrt(var + eps)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm(): running_mean and running_var must be defined in evaluation mode")
        y = (input - _ns.reshape(running_mean, shape)) / _ns.sqrt(_ns.reshape(running_var, shape) + eps)
    return _affine(y, weight, bias, shape)


@public("instance_norm", method=False, ns="nn.functional")
def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each (sample, channel) over its spatial dims; running stats averaged over the batch."""
    if input.ndim < 3:
        raise ValueError(f"instance_norm(): expected 3D or more input (N, C, ...), got {input.ndim}D")
    shape = _channel_shape(input)
    dims = tuple(range(2, input.ndim))
    if use_input_stats:
        n = int(np.prod(input.shape[2:]))
        if n <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                             f"{list(input.shape)}")
        mu = _ns.mean(input, dims, True)
        xc = input - mu
        var = _ns.mean(xc * xc, dims, True)
        c = input.shape[1]
        _update(running_mean, mu.data.reshape(-1, c).mean(0), momentum)
        _update(running_var, (var.data.reshape(-1, c) * (n / (n - 1))).mean(0), momentum)
        y = xc / _ns.sqrt(var + eps)
    else:
        y = (input - _ns.reshape(running_mean, shape)) / _ns.sqrt(_ns.reshape(running_var, shape) + eps)
    return _affine(y, weight, bias, shape)


@public("group_norm", method=False, ns="nn.functional")
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over each group of ``C // num_groups`` channels (and all spatial positions)."""
    if input.ndim < 2:
        raise RuntimeError(f"group_norm(): expected at least 2D input, got {input.ndim}D")
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got "
                           f"input of shape {list(input.shape)} and num_groups={num_groups}")
    x = _ns.reshape(input, (n, num_groups, -1))
    y = _ns.reshape(_standardize(x, (-1,), eps), tuple(input.shape))
    return _affine(y, weight, bias, _channel_shape(input))
