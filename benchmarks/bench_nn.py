"""B4–B5: a convolution layer and scaled dot-product attention, forward and backward (float32).

B4: conv2d on a (32, 3, 32, 32) batch with 16 3×3 filters (padding 1, bias), then ``sum`` and
backward to the input, weight and bias. B5: ``scaled_dot_product_attention`` on q, k, v of shape
(8, 4, 128, 64), then ``sum`` and backward to q, k and v. Each setup returns one step; gradients are
cleared between steps so every step does the same work.
"""

from __future__ import annotations

import numpy as np
from _harness import Bench, Skip

B4_X = (32, 3, 32, 32)
B4_W = (16, 3, 3, 3)
B5_SHAPE = (8, 4, 128, 64)


def _torch():
    try:
        import torch
    except ImportError as e:
        raise Skip("torch not installed") from e
    return torch


def _b4_data():
    rng = np.random.default_rng(0)
    return (rng.standard_normal(B4_X).astype(np.float32),
            (rng.standard_normal(B4_W) * 0.2).astype(np.float32),
            rng.standard_normal(B4_W[0]).astype(np.float32))


def _step(lib, fwd, leaves):
    def step():
        fwd().sum().backward()
        for t in leaves:
            t.grad = None

    return step


def b4_chainrule():
    import chainrule as cr

    x, w, b = (cr.tensor(a, requires_grad=True) for a in _b4_data())
    return _step(cr, lambda: cr.nn.functional.conv2d(x, w, b, padding=1), (x, w, b))


def b4_torch():
    torch = _torch()
    x, w, b = (torch.tensor(a, requires_grad=True) for a in _b4_data())
    return _step(torch, lambda: torch.nn.functional.conv2d(x, w, b, padding=1), (x, w, b))


def _b5_data():
    rng = np.random.default_rng(1)
    return tuple(rng.standard_normal(B5_SHAPE).astype(np.float32) for _ in range(3))


def b5_chainrule():
    import chainrule as cr

    q, k, v = (cr.tensor(a, requires_grad=True) for a in _b5_data())
    return _step(cr, lambda: cr.nn.functional.scaled_dot_product_attention(q, k, v), (q, k, v))


def b5_torch():
    torch = _torch()
    q, k, v = (torch.tensor(a, requires_grad=True) for a in _b5_data())
    return _step(torch, lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v), (q, k, v))


BENCHES = [
    Bench("B4", "conv2d fwd+bwd, x (32, 3, 32, 32), 16 3×3 filters, pad 1, float32", "ms/step", 1e3,
          {"chainrule": b4_chainrule, "torch": b4_torch}, repeat=15, number=3),
    Bench("B5", "scaled_dot_product_attention fwd+bwd, (8, 4, 128, 64), float32", "ms/step", 1e3,
          {"chainrule": b5_chainrule, "torch": b5_torch}, repeat=15, number=3),
]
