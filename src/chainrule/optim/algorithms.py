"""The optimization algorithms, each the same update as torch's single-tensor implementation,
written on NumPy arrays in place: SGD, Adam, AdamW, RMSprop, Adagrad, Adamax, NAdam, RAdam."""

from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer, _check, _grad, _scalar, _zeros, required


def _step(state: dict) -> int:
    """Increment and return the step count (kept as a float32 scalar tensor, as torch)."""
    s = state.get("step")
    if s is None:
        s = state["step"] = _scalar(0.0)
    s._array[...] += 1
    return int(s._array)


def _lerp_(a: np.ndarray, b: np.ndarray, w: float) -> None:
    # a += w (b − a), i.e. torch's lerp_
    a += w * (b - a)


class SGD(Optimizer):
    """Stochastic gradient descent, with momentum, dampening, Nesterov momentum, weight decay.

    ``v ← μ v + (1 − τ) g``; ``p ← p − lr · (g + μ v if nesterov else v)``.

    Example:
        >>> w = chainrule.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = chainrule.optim.SGD([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step()
        >>> w
        tensor([0.8000, 1.6000], requires_grad=True)
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach=None, differentiable: bool = False, fused=None) -> None:
        if lr is not required:
            _check("learning rate", lr)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _update(self, p, g, state, group) -> None:
        d_p = _grad(g, p, group)
        mu = group["momentum"]
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = _zeros(p)
                buf._array[...] = d_p
            else:
                b = buf._array
                b *= mu
                b += (1 - group["dampening"]) * d_p
            d_p = d_p + mu * buf._array if group["nesterov"] else buf._array
        p -= group["lr"] * d_p


class Adam(Optimizer):
    """Adam (Kingma & Ba), with AMSGrad and optional decoupled weight decay (AdamW).

    ``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``,
    ``p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)``.
    """

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused=None, decoupled_weight_decay: bool = False) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        _check("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay
                                      or self._decoupled))

    def _update(self, p, g, state, group) -> None:
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        if "exp_avg" not in state:
            state["exp_avg"] = _zeros(p)
            state["exp_avg_sq"] = _zeros(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _zeros(p)
        g = _grad(g, p, group)
        if group["decoupled_weight_decay"] and group["weight_decay"] != 0:
            p *= 1 - lr * group["weight_decay"]
        t = _step(state)
        m, v = state["exp_avg"]._array, state["exp_avg_sq"]._array
        _lerp_(m, g, 1 - beta1)
        v *= beta2
        v += (1 - beta2) * g * g
        bc1 = 1 - beta1**t
        bc2_sqrt = math.sqrt(1 - beta2**t)
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]._array
            np.maximum(vmax, v, out=vmax)
            denom = np.sqrt(vmax) / bc2_sqrt + group["eps"]
        else:
            denom = np.sqrt(v) / bc2_sqrt + group["eps"]
        p -= (lr / bc1) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p ← p(1 − lr·λ)`` first."""

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False,
                 fused=None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)


class RMSprop(Optimizer):
    """RMSprop (Hinton), optionally centered and with momentum."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach=None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        _check("alpha value", alpha)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, capturable=capturable,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def _update(self, p, g, state, group) -> None:
        if "square_avg" not in state:
            state["step"] = _scalar(0.0)
            state["square_avg"] = _zeros(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = _zeros(p)
            if group["centered"]:
                state["grad_avg"] = _zeros(p)
        g = _grad(g, p, group)
        _step(state)
        alpha = group["alpha"]
        sq = state["square_avg"]._array
        sq *= alpha
        sq += (1 - alpha) * g * g
        if group["centered"]:
            ga = state["grad_avg"]._array
            _lerp_(ga, g, 1 - alpha)
            avg = np.sqrt(sq - ga * ga) + group["eps"]
        else:
            avg = np.sqrt(sq) + group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]._array
            buf *= group["momentum"]
            buf += g / avg
            p -= group["lr"] * buf
        else:
            p -= group["lr"] * (g / avg)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.): ``Σ ← Σ + g²``, ``p ← p − lr_t · g / (√Σ + ε)``."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *,
                 maximize: bool = False, differentiable: bool = False, fused=None) -> None:
        _check("learning rate", lr)
        _check("lr_decay value", lr_decay)
        _check("weight_decay value", weight_decay)
        _check("initial_accumulator_value value", initial_accumulator_value)
        _check("epsilon value", eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        # torch creates the state eagerly
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p._array, self.state[p], group)

    @staticmethod
    def _init_state(p, st: dict, group: dict) -> None:
        st["step"] = _scalar(0.0)
        st["sum"] = _zeros(p)
        st["sum"]._array[...] = group["initial_accumulator_value"]

    def _update(self, p, g, state, group) -> None:
        if "sum" not in state:  # a group added after construction
            self._init_state(p, state, group)
        t = _step(state)
        g = _grad(g, p, group)
        clr = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        s = state["sum"]._array
        s += g * g
        p -= clr * (g / (np.sqrt(s) + group["eps"]))


class Adamax(Optimizer):
    """Adamax (Kingma & Ba): Adam with the infinity norm, ``u ← max(β₂u, |g| + ε)``."""

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach=None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update(self, p, g, state, group) -> None:
        if "exp_avg" not in state:
            state["exp_avg"] = _zeros(p)
            state["exp_inf"] = _zeros(p)
        beta1, beta2 = group["betas"]
        t = _step(state)
        g = _grad(g, p, group)
        m, u = state["exp_avg"]._array, state["exp_inf"]._array
        _lerp_(m, g, 1 - beta1)
        u *= beta2
        np.maximum(u, np.abs(g) + group["eps"], out=u)
        clr = group["lr"] / (1 - beta1**t)
        p -= clr * (m / u)


class NAdam(Optimizer):
    """Adam with Nesterov momentum (Dozat), with torch's momentum-decay schedule."""

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("weight_decay value", weight_decay)
        _check("momentum_decay value", momentum_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      foreach=foreach, maximize=maximize, capturable=capturable,
                                      differentiable=differentiable))

    def _update(self, p, g, state, group) -> None:
        if "exp_avg" not in state:
            state["mu_product"] = _scalar(1.0)
            state["exp_avg"] = _zeros(p)
            state["exp_avg_sq"] = _zeros(p)
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        t = _step(state)
        g = _grad(g, p, group)
        if group["decoupled_weight_decay"] and group["weight_decay"] != 0:
            p *= 1 - lr * group["weight_decay"]
        bc2 = 1 - beta2**t
        md = group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * md))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * md))
        # torch keeps mu_product as a float32 tensor; its value feeds the update, so do the same
        mp = state["mu_product"]
        mp._array[...] = mp._array * mu
        mu_product = float(mp._array)
        m, v = state["exp_avg"]._array, state["exp_avg_sq"]._array
        _lerp_(m, g, 1 - beta1)
        v *= beta2
        v += (1 - beta2) * g * g
        denom = np.sqrt(v / bc2) + group["eps"]
        p -= (lr * (1 - mu) / (1 - mu_product)) * (g / denom)
        p -= (lr * mu_next / (1 - mu_product * mu_next)) * (m / denom)


class RAdam(Optimizer):
    """Rectified Adam (Liu et al.): plain momentum SGD until the variance estimate is reliable."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def _update(self, p, g, state, group) -> None:
        if "exp_avg" not in state:
            state["exp_avg"] = _zeros(p)
            state["exp_avg_sq"] = _zeros(p)
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        t = _step(state)
        g = _grad(g, p, group)
        if group["decoupled_weight_decay"] and group["weight_decay"] != 0:
            p *= 1 - lr * group["weight_decay"]
        m, v = state["exp_avg"]._array, state["exp_avg_sq"]._array
        _lerp_(m, g, 1 - beta1)
        v *= beta2
        v += (1 - beta2) * g * g
        bc1 = 1 - beta1**t
        bc2 = 1 - beta2**t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * (beta2**t) / bc2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = math.sqrt(bc2) / (np.sqrt(v) + group["eps"])
            p -= (m / bc1) * lr * adaptive * rect
        else:
            p -= (m / bc1) * lr
