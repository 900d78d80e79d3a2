"""C1–C5: ``chainrule.compile`` beside torch eager, ``torch.compile`` and eager chainrule.

Each impl's setup compiles (and warms) outside the timed region; the compile time of every
compiled impl is kept in ``COMPILE_S`` and printed by ``python benchmarks/bench_compile.py``
(which also prints the ratios to torch eager of one run). ``torch.compile`` uses inductor, which
needs a working C compiler; where it fails the row says so.

    python benchmarks/run.py --only C1,C2,C3,C4,C5     # through the common harness
    python benchmarks/bench_compile.py                 # + compile times and ratios
"""

from __future__ import annotations

import os
import sys
import time

if __name__ == "__main__":  # one BLAS thread, as run.py does (before NumPy loads)
    for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_k] = "1"

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Bench, Skip  # noqa: E402
from bench_core import (  # noqa: E402
    B1_OPS, B2_BATCH, B2_LR, B3_OPS, _b1_chain, _b1_data, _b2_data, _b2_loss, _b3_chain,
)

#: impl key -> seconds spent tracing/compiling in its setup
COMPILE_S: dict = {}
MLP_SIZES = (3, 16, 16, 1)
MLP_N = 20
N_HESS = 32


def _torch():
    try:
        import torch
    except ImportError as e:
        raise Skip("torch not installed") from e
    torch.set_num_threads(1)
    return torch


def _cr():
    import chainrule as cr

    return cr


def _compiled(key: str, make, lib: str, backend):
    """``make(lib_module, compile_fn)`` → step; compiles through 3 warm calls, timed apart."""
    def setup():
        if lib == "torch.compile":
            torch = _torch()

            def comp(f):
                return torch.compile(f)
            mod = torch
        elif lib == "torch":
            mod, comp = _torch(), (lambda f: f)
        else:
            cr = _cr()
            if backend == "numba" and not cr.compile.numba_available():
                raise Skip("numba not installed")
            mod = cr
            comp = (lambda f: f) if backend is None else (lambda f: cr.compile(f, backend=backend))
        t0 = time.perf_counter()
        try:
            step = make(mod, comp)
            step()
        except Exception as e:  # noqa: BLE001 (inductor without a compiler …)
            if lib == "torch.compile":
                raise Skip(f"not available: {type(e).__name__}: {str(e)[:80]}") from e
            raise
        step()
        step()
        COMPILE_S[key] = time.perf_counter() - t0  # trace, compile and 2 more warm calls
        return step

    return setup


# ---- C1: the 200-op small-tensor chain ------------------------------------------------------
def _c1(m, comp):
    x = m.tensor(_b1_data(), requires_grad=True)
    f = comp(lambda x: _b1_chain(x, x, m.tanh, m.sin, m.exp).sum())

    def step():
        x.grad = None
        f(x).backward()

    return step


# ---- C2: the 10^5-op deep chain ------------------------------------------------------------
def _c2(m, comp):
    x = m.tensor([0.5], requires_grad=True)
    f = comp(lambda x: _b3_chain(x, B3_OPS).sum())

    def step():
        x.grad = None
        f(x).backward()

    return step


# ---- C3: the MLP training step (B2): loss compiled, backward + SGD eager --------------------
def _c3(m, comp):
    xa, la, pa = _b2_data()
    x, labels, rows = m.tensor(xa), m.tensor(la), m.arange(B2_BATCH)
    params = [m.tensor(p, requires_grad=True) for p in pa]
    loss = comp(lambda x, labels, rows, *ps: _b2_loss(m, x, labels, rows, list(ps)))

    def step():
        loss(x, labels, rows, *params).backward()
        with m.no_grad():
            for p in params:
                p -= B2_LR * p.grad
                p.grad = None

    return step


# ---- C4: a small batched MLP (3-16-16-1 on 20 points), fwd + bwd ---------------------------
def _c4(m, comp):
    rng = np.random.default_rng(0)
    ws = []
    for a, b in zip(MLP_SIZES, MLP_SIZES[1:]):
        ws.append(m.tensor((rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32),
                           requires_grad=True))
        ws.append(m.tensor(np.zeros(b, np.float32), requires_grad=True))
    x = m.tensor(rng.standard_normal((MLP_N, 3)).astype(np.float32))
    y = m.tensor(rng.standard_normal((MLP_N, 1)).astype(np.float32))

    def loss(x, y, w1, b1, w2, b2, w3, b3):
        h = m.tanh(x @ w1 + b1)
        h = m.tanh(h @ w2 + b2)
        return ((h @ w3 + b3 - y) ** 2).mean()

    f = comp(loss)

    def step():
        for w in ws:
            w.grad = None
        f(x, y, *ws).backward()

    return step


# ---- C5: Hessian of Σ tanh(A x) by double backward through the compiled function -----------
def _c5(m, comp):
    rng = np.random.default_rng(0)
    A = m.tensor(rng.standard_normal((N_HESS, N_HESS)) / np.sqrt(N_HESS))
    x = m.tensor(rng.standard_normal(N_HESS))
    f = comp(lambda x: m.tanh(A @ x).sum())
    hess = m.autograd.functional.hessian
    return lambda: hess(f, x)


def _too_big(*_):
    raise Skip("not attempted: inductor compiles a 10^5-op graph for many minutes")


def _skipped(*_):
    raise Skip("skipped (CHAINRULE_BENCH_NO_TORCH_COMPILE)")


def _impls(cid: str, make, torch_compile: bool = True) -> dict:
    no_tc = os.environ.get("CHAINRULE_BENCH_NO_TORCH_COMPILE", "").split(",")
    return {
        "torch": _compiled(f"{cid}/torch", make, "torch", None),
        "torch.compile": (_compiled(f"{cid}/torch.compile", make, "torch.compile", None)
                          if cid not in no_tc else _skipped) if torch_compile else _too_big,
        "chainrule": _compiled(f"{cid}/chainrule", make, "chainrule", None),
        "compiled": _compiled(f"{cid}/compiled", make, "chainrule", "numpy"),
        "compiled+numba": _compiled(f"{cid}/compiled+numba", make, "chainrule", "numba"),
    }


BENCHES = [
    Bench("C1", f"compiled small-op chain: (16,) float32, {B1_OPS} elementwise ops, fwd+bwd",
          "us/step", 1e6, _impls("C1", _c1), repeat=15, number=20),
    Bench("C2", f"compiled deep chain: {B3_OPS:,} ops on a (1,) tensor, fwd+bwd", "ms/step", 1e3,
          _impls("C2", _c2, torch_compile=False), repeat=5, number=1),
    Bench("C3", "compiled MLP step: float32, batch 128, 784-512-256-10, log_softmax+NLL, SGD",
          "ms/step", 1e3, _impls("C3", _c3), repeat=11, number=5),
    Bench("C4", f"compiled small batched MLP: {'-'.join(map(str, MLP_SIZES))} tanh on {MLP_N} "
          "points, MSE, fwd+bwd", "us/step", 1e6, _impls("C4", _c4), repeat=15, number=20),
    Bench("C5", f"compiled Hessian of Σ tanh(A x), x ∈ R^{N_HESS}, float64, "
          "autograd.functional.hessian", "ms", 1e3, _impls("C5", _c5), repeat=7, number=3),
]


def main() -> None:
    from _harness import median_time

    only = set(sys.argv[1].split(",")) if len(sys.argv) > 1 else None
    clock = time.process_time  # CPU time: stable on a shared machine
    print("| bench | impl | steady state | ratio to torch eager | compile/warm-up s |")
    print("|---|---|---|---|---|")
    for b in BENCHES:
        if only and b.id not in only:
            continue
        times: dict = {}
        for name, setup in b.impls.items():
            try:
                fn = setup()
                times[name] = median_time(fn, b.repeat, b.number, clock) * b.scale
            except Skip as e:
                times[name] = str(e)
        ref = times.get("torch")
        for name, t in times.items():
            if isinstance(t, str):
                print(f"| {b.id} | {name} | {t} | – | – |")
                continue
            ratio = f"{t / ref:.3f}×" if isinstance(ref, float) else "–"
            comp = COMPILE_S.get(f"{b.id}/{name}")
            print(f"| {b.id} | {name} | {t:.4g} {b.unit} | {ratio} | "
                  f"{comp:.2f} |" if comp is not None else "– |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
