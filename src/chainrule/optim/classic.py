"""Adadelta, Rprop and ASGD: the same updates as torch's single-tensor implementations (the ones
torch runs on CPU tensors), written on NumPy arrays in place, with torch's defaults, argument
checks and state names (so ``state_dict``s carry over)."""

from __future__ import annotations

import numpy as np

from .algorithms import _step
from .optimizer import Optimizer, _check, _grad, _scalar, _zeros


class Adadelta(Optimizer):
    """Adadelta (Zeiler): ``v ← ρv + (1−ρ)g²``, ``Δ = √(u+ε)/√(v+ε) · g``, ``u ← ρu + (1−ρ)Δ²``,
    ``p ← p − lr·Δ``.

    Example:
        >>> w = chainrule.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = chainrule.optim.Adadelta([w], lr=1.0)
        >>> (w * w).sum().backward(); opt.step()
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach=None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        _check("learning rate", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check("epsilon value", eps)
        _check("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, capturable=capturable, foreach=foreach,
                                      differentiable=differentiable))

    def _update(self, p, g, state, group) -> None:
        if "square_avg" not in state:
            state["step"] = _scalar(0.0)
            state["square_avg"] = _zeros(p)
            state["acc_delta"] = _zeros(p)
        _step(state)
        g = _grad(g, p, group)
        rho, eps = group["rho"], group["eps"]
        sq, acc = state["square_avg"]._array, state["acc_delta"]._array
        sq *= rho
        sq += (1 - rho) * g * g
        std = np.sqrt(sq + eps)
        delta = np.sqrt(acc + eps)
        delta /= std
        delta *= g
        acc *= rho
        acc += (1 - rho) * delta * delta
        p -= group["lr"] * delta


class Rprop(Optimizer):
    """Resilient backpropagation: per-element step sizes grow by ``etas[1]`` while the gradient
    keeps its sign and shrink by ``etas[0]`` when it flips (then that element does not move)."""

    def __init__(self, params, lr: float = 1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable: bool = False, foreach=None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check("learning rate", lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def _update(self, p, g, state, group) -> None:
        if "prev" not in state:
            state["step"] = _scalar(0.0)
            state["prev"] = _zeros(p)
            state["step_size"] = _zeros(p)
            state["step_size"]._array[...] = group["lr"]
        _step(state)
        if group["maximize"]:
            g = -g
        etaminus, etaplus = group["etas"]
        lo, hi = group["step_sizes"]
        prev, step_size = state["prev"]._array, state["step_size"]._array
        sign = np.sign(g * prev)
        sign[sign > 0] = etaplus
        sign[sign < 0] = etaminus
        sign[sign == 0] = 1
        step_size *= sign
        np.clip(step_size, lo, hi, out=step_size)
        g = g.copy()
        g[sign == etaminus] = 0
        p -= np.sign(g) * step_size
        prev[...] = g


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky): ``p ← p(1 − λη) − ηg`` with ``η`` decaying as
    ``lr/(1 + λ·lr·t)^α``; the average ``ax`` of the iterates starts at step ``t0``."""

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach=None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check("learning rate", lr)
        _check("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update(self, p, g, state, group) -> None:
        if "ax" not in state:
            state["step"] = _scalar(0.0)
            state["eta"] = _scalar(group["lr"])
            state["mu"] = _scalar(1.0)
            state["ax"] = _zeros(p)
        g = _grad(g, p, group)
        step = _step(state)
        lr, lambd = group["lr"], group["lambd"]
        eta = float(state["eta"]._array)  # a float32 scalar, as torch keeps it
        p *= 1 - lambd * eta
        p -= eta * g
        mu = state["mu"]._array
        ax = state["ax"]._array
        if float(mu) != 1:
            ax += (p - ax) * mu
        else:
            ax[...] = p
        state["eta"]._array[...] = lr / ((1 + lambd * lr * step) ** group["alpha"])
        state["mu"]._array[...] = 1 / max(1, step - group["t0"])
