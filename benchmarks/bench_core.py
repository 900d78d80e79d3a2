"""B1–B3: the core's overhead per op, an MLP training step, and a very deep chain.

Every implementation does the same work; each setup returns a callable doing one unit of it
(forward and backward), so the harness times only that.
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys

import numpy as np
from _harness import Bench, Skip

B1_OPS = 200
B2_SIZES = (784, 512, 256, 10)
B2_BATCH = 128
B2_LR = 0.01
B3_OPS = 10**5
B3_DEEP_OPS = 10**6


def _torch():
    try:
        import torch
    except ImportError as e:
        raise Skip("torch not installed") from e
    return torch


def _hips():
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError as e:
        raise Skip("HIPS autograd not installed") from e
    return autograd, anp


# ---- B1: small-op overhead ------------------------------------------------------------------
# one block = 7 elementwise ops: mul by a constant, add (a tensor), tanh, sin, exp(-x²) (3 ops)
def _b1_chain(y, x, tanh, sin, exp, n=B1_OPS):
    k = 0
    while k < n:
        for step in range(7):
            if k == n:
                break
            if step == 0:
                y = y * 0.9
            elif step == 1:
                y = y + x
            elif step == 2:
                y = tanh(y)
            elif step == 3:
                y = sin(y)
            elif step == 4:
                y = y * y
            elif step == 5:
                y = -y
            else:
                y = exp(y)
            k += 1
    return y


def _b1_data():
    return np.random.default_rng(0).standard_normal(16).astype(np.float32)


def b1_chainrule():
    import chainrule as cr

    x = cr.tensor(_b1_data(), requires_grad=True)

    def step():
        x.grad = None
        _b1_chain(x, x, cr.tanh, cr.sin, cr.exp).sum().backward()

    return step


def b1_torch():
    torch = _torch()
    x = torch.tensor(_b1_data(), requires_grad=True)

    def step():
        x.grad = None
        _b1_chain(x, x, torch.tanh, torch.sin, torch.exp).sum().backward()

    return step


def b1_autograd():
    autograd, anp = _hips()
    x = _b1_data()
    f = autograd.grad(lambda x: anp.sum(_b1_chain(x, x, anp.tanh, anp.sin, anp.exp)))
    return lambda: f(x)


# ---- B2: one MLP training step ----------------------------------------------------------------
def _b2_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B2_BATCH, B2_SIZES[0])).astype(np.float32)
    labels = rng.integers(0, B2_SIZES[-1], B2_BATCH)
    params = []
    for fan_in, fan_out in itertools.pairwise(B2_SIZES):
        bound = 1 / math.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return x, labels, params


def _b2_loss(lib, x, labels, rows, params):
    """relu MLP + log_softmax + NLL written with indexing; ``lib`` is chainrule or torch."""
    w1, b1, w2, b2, w3, b3 = params
    h = lib.relu(x @ w1 + b1)
    h = lib.relu(h @ w2 + b2)
    logp = lib.log_softmax(h @ w3 + b3, dim=1)
    return -logp[rows, labels].mean()


def b2_chainrule():
    import chainrule as cr

    xa, la, pa = _b2_data()
    x, labels, rows = cr.tensor(xa), cr.tensor(la), cr.arange(B2_BATCH)
    params = [cr.tensor(p, requires_grad=True) for p in pa]
    inplace = hasattr(cr.Tensor, "sub_")

    def step():
        _b2_loss(cr, x, labels, rows, params).backward()
        with cr.no_grad():
            for p in params:
                if inplace:
                    p -= B2_LR * p.grad
                else:  # until in-place ops land: the same update on the arrays
                    p._array -= B2_LR * p.grad._array
                p.grad = None

    return step


def b2_torch():
    torch = _torch()
    xa, la, pa = _b2_data()
    x, labels, rows = torch.tensor(xa), torch.tensor(la), torch.arange(B2_BATCH)
    params = [torch.tensor(p, requires_grad=True) for p in pa]

    def step():
        _b2_loss(torch, x, labels, rows, params).backward()
        with torch.no_grad():
            for p in params:
                p -= B2_LR * p.grad
                p.grad = None

    return step


def b2_autograd():
    autograd, anp = _hips()
    x, labels, params = _b2_data()
    rows = np.arange(B2_BATCH)

    def loss(params):
        w1, b1, w2, b2, w3, b3 = params
        h = anp.maximum(anp.dot(x, w1) + b1, 0.0)
        h = anp.maximum(anp.dot(h, w2) + b2, 0.0)
        z = anp.dot(h, w3) + b3
        s = z - anp.max(z, axis=1, keepdims=True)
        logp = s - anp.log(anp.sum(anp.exp(s), axis=1, keepdims=True))
        return -anp.mean(logp[rows, labels])

    g = autograd.grad(loss)

    def step():
        grads = g(params)
        for i, gi in enumerate(grads):
            params[i] = params[i] - B2_LR * gi

    return step


def b2_numpy():
    """The floor: only the step's matrix products (3 forward, 5 backward GEMMs) in NumPy."""
    x, _, params = _b2_data()
    w1, _, w2, _, w3, _ = params
    rng = np.random.default_rng(1)
    g3 = rng.standard_normal((B2_BATCH, B2_SIZES[3])).astype(np.float32)

    def step():
        h1 = x @ w1
        h2 = h1 @ w2
        h3 = h2 @ w3
        dw3 = h2.T @ g3
        g2 = g3 @ w3.T
        dw2 = h1.T @ g2
        g1 = g2 @ w2.T
        dw1 = x.T @ g1
        return h3, dw1, dw2, dw3

    return step


# ---- B3: one very deep chain ------------------------------------------------------------------
# cycles y*2, y-1, y*0.5, y+0.5: every op depends on the previous one; the value stays 0.5 and
# the gradient exactly 1 (a nonlinear op would drive it to 0 or to denormal numbers, which slow
# every library down; B1 times the transcendental ops)
def _b3_chain(y, n):
    for i in range(n):
        k = i & 3
        if k == 0:
            y = y * 2.0
        elif k == 1:
            y = y - 1.0
        elif k == 2:
            y = y * 0.5
        else:
            y = y + 0.5
    return y


def _b3_chainrule(n):
    import chainrule as cr

    x = cr.tensor([0.5], requires_grad=True)

    def step():
        x.grad = None
        _b3_chain(x, n).sum().backward()
        return float(x.grad._array[0])

    return step


def _b3_torch(n):
    torch = _torch()
    x = torch.tensor([0.5], requires_grad=True)

    def step():
        x.grad = None
        _b3_chain(x, n).sum().backward()
        return float(x.grad[0])

    return step


def _b3_autograd(n):
    autograd, anp = _hips()
    x = np.array([0.5], np.float32)
    f = autograd.grad(lambda x: anp.sum(_b3_chain(x, n)))
    return lambda: float(f(x)[0])


_B3 = {"chainrule": _b3_chainrule, "torch": _b3_torch, "autograd": _b3_autograd}


def _b3_memory(impl: str, n: int) -> str:
    """Peak memory of one forward+backward, measured in a fresh interpreter (same environment).

    For every library: the growth of the peak resident set (``VmHWM``, reset through
    ``/proc/self/clear_refs`` just before the work) over the resident set before it; for chainrule
    and HIPS autograd (whose memory is all NumPy and Python objects) also the ``tracemalloc`` peak.
    """
    code = (
        "import sys, tracemalloc\n"
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        "import bench_core as b\n"
        f"step = b._B3[{impl!r}]({n})\n"
        "def status(key):\n"
        "    with open('/proc/self/status') as f:\n"
        "        for line in f:\n"
        "            if line.startswith(key):\n"
        "                return int(line.split()[1]) * 1024\n"
        "with open('/proc/self/clear_refs', 'w') as f:\n"
        "    f.write('5')\n"
        "before = status('VmRSS')\n"
        "step()\n"
        "msg = f'peak RSS +{(status(\"VmHWM\") - before) / 2**20:.0f} MiB'\n"
        f"if {impl!r} != 'torch':\n"
        "    tracemalloc.start(); step()\n"
        "    msg += f', tracemalloc peak {tracemalloc.get_traced_memory()[1] / 2**20:.0f} MiB'\n"
        "print(msg)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600,
                       check=False)
    if r.returncode != 0:
        err = r.stderr.strip().splitlines()
        return f"failed: {err[-1] if err else r.returncode}"
    return r.stdout.strip()


def _b3(bench_id: str, n: int, repeat: int, slow: bool) -> Bench:
    impls = {name: (lambda f=f: f(n)) for name, f in _B3.items()}
    return Bench(bench_id, f"deep chain: {n:,} sequential ops on a (1,) tensor, fwd+bwd", "s", 1.0,
                 impls, repeat=repeat, slow=slow,
                 memory={name: (lambda name=name: _b3_memory(name, n)) for name in _B3})


BENCHES = [
    Bench("B1", f"small-op overhead: (16,) float32 through {B1_OPS} elementwise ops, fwd+bwd",
          "us/op", 1e6 / B1_OPS,
          {"chainrule": b1_chainrule, "torch": b1_torch, "autograd": b1_autograd},
          repeat=15, number=20),
    Bench("B2", "MLP step: float32, batch 128, 784-512-256-10, ReLU, log_softmax+NLL, SGD",
          "ms/step", 1e3,
          {"chainrule": b2_chainrule, "torch": b2_torch, "autograd": b2_autograd,
           "numpy": b2_numpy},
          repeat=15, number=10),
    _b3("B3", B3_OPS, repeat=5, slow=False),
    _b3("B3-deep", B3_DEEP_OPS, repeat=1, slow=True),
]
