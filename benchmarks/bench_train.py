"""B9–B10: training workloads, chainrule vs torch in the same process (float32).

B9: one epoch of the main demo's CNN (Conv2d(1,16,3) → ReLU → MaxPool2d → Conv2d(16,32,3) → ReLU
→ Linear) on scikit-learn's digits (1,438 training images, batch 32, 45 steps: forward,
cross-entropy, backward, Adam step). Both libraries get the same batches by slicing one shuffled
copy of the data, so the timing is of the model, autograd and optimizer, not of a data loader.
B10: a 2-layer LSTM (input 64, hidden 128) on a (50, 32, 64) sequence: forward, ``sum``, backward to
the input and all weights.
"""

from __future__ import annotations

import numpy as np
from _harness import Bench, Skip

BATCH = 32


def _torch():
    try:
        import torch
    except ImportError as e:
        raise Skip("torch not installed") from e
    return torch


def _digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise Skip("scikit-learn not installed (pip install scikit-learn)") from e
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    y = d.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))[len(y) // 5:]  # the demo's train split
    return x[order], y[order]


def _cnn(m):
    nn = m.nn
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(32 * 4 * 4, 10))


def _epoch(m, model, opt, x, y):
    n = len(y)
    batches = [(m.tensor(x[i:i + BATCH]), m.tensor(y[i:i + BATCH])) for i in range(0, n, BATCH)]
    loss_fn = m.nn.CrossEntropyLoss()

    def epoch():
        for xb, yb in batches:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

    return epoch


def b9_chainrule():
    import chainrule as cr

    x, y = _digits()
    cr.manual_seed(0)
    model = _cnn(cr)
    return _epoch(cr, model, cr.optim.Adam(model.parameters(), lr=1e-3), x, y)


def b9_torch():
    torch = _torch()
    x, y = _digits()
    torch.manual_seed(0)
    model = _cnn(torch)
    return _epoch(torch, model, torch.optim.Adam(model.parameters(), lr=1e-3), x, y)


def _b10(m):
    rng = np.random.default_rng(0)
    m.manual_seed(0)
    lstm = m.nn.LSTM(64, 128, num_layers=2)
    x = m.tensor(rng.standard_normal((50, BATCH, 64)).astype(np.float32), requires_grad=True)
    params = list(lstm.parameters())

    def step():
        out, _ = lstm(x)
        out.sum().backward()
        x.grad = None
        for p in params:
            p.grad = None

    return step


def b10_chainrule():
    import chainrule as cr

    return _b10(cr)


def b10_torch():
    return _b10(_torch())


BENCHES = [
    Bench("B9", "digits CNN, one training epoch (45 steps of 32, Adam), float32", "ms/epoch", 1e3,
          {"chainrule": b9_chainrule, "torch": b9_torch}, repeat=5, number=1),
    Bench("B10", "2-layer LSTM (hidden 128, seq 50, batch 32) fwd+bwd, float32", "ms/step", 1e3,
          {"chainrule": b10_chainrule, "torch": b10_torch}, repeat=7, number=1),
]
