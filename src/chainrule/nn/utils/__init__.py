"""``chainrule.nn.utils``: gradient clipping and flattening parameters to one vector."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ... import _ns
from ..._creation import tensor as _tensor
from ..._tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "parameters_to_vector",
           "vector_to_parameters"]


def _params(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _norm(a: np.ndarray, p: float) -> float:
    a = np.abs(a.ravel())
    if p == np.inf:
        return float(a.max()) if a.size else 0.0
    if p == -np.inf:
        return float(a.min()) if a.size else float("inf")
    if p == 0:
        return float(np.count_nonzero(a))
    if p == 2:
        return float(np.sqrt(np.dot(a, a)))
    return float(np.sum(a**p) ** (1.0 / p))


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together (as if concatenated)."""
    ts = _params(tensors)
    p = float(norm_type)
    if not ts:
        return _tensor(0.0)
    dt = np.result_type(*[t._array.dtype for t in ts])
    total = _norm(np.array([_norm(t._array, p) for t in ts]), p)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return _tensor(np.asarray(total, dtype=dt))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale gradients in place so that their total norm is at most ``max_norm``.

    Returns the total norm before clipping (as torch: coefficient max_norm / (norm + 1e-6),
    clamped to 1).

    Example:
        >>> w = chainrule.tensor([3.0, 4.0], requires_grad=True)
        >>> (w * w).sum().backward()          # grad = [6, 8], norm 10
        >>> chainrule.nn.utils.clip_grad_norm_([w], 1.0)
        tensor(10.)
    """
    grads = [p._grad for p in _params(parameters) if p._grad is not None]
    if not grads:
        return _tensor(0.0)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    for g in grads:
        g._array *= g._array.dtype.type(coef)
        g._bump()
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient in place to [−clip_value, clip_value]."""
    c = float(clip_value)
    for p in _params(parameters):
        if p._grad is not None:
            np.clip(p._grad._array, -c, c, out=p._grad._array)
            p._grad._bump()


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one vector (differentiable)."""
    return _ns.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into ``parameters`` (the inverse of the above)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected chainrule.Tensor, but got: {type(vec).__name__}")
    ptr = 0
    for p in parameters:
        n = p.numel()
        if ptr + n > vec.numel():
            raise RuntimeError(f"vector_to_parameters: vector of {vec.numel()} elements is too "
                               "short for the parameters")
        p._array[...] = vec._array[ptr:ptr + n].reshape(p._array.shape)
        p._bump()
        ptr += n


from . import rnn  # noqa: E402,F401  (torch.nn.utils.rnn)
