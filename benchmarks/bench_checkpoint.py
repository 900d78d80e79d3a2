"""B11/B12: activation checkpointing on a deep MLP: peak memory and time, plain vs checkpointed.

20 layers ``h = tanh(h @ W + b)``, width 512, batch 1024, float32, loss ``(h * h).mean()``; one
forward + backward. B11 runs it plainly, B12 with every layer under ``checkpoint(...,
use_reentrant=False)`` (torch: ``torch.utils.checkpoint.checkpoint``). Peak memory is measured in a
fresh interpreter per library and mode: growth of the peak resident set (``VmHWM``) over the
resident set before the step (first step in that process: no allocator reuse), and for chainrule
also the ``tracemalloc`` peak (NumPy's buffers) and what ``graph.memory`` says the graph holds
after the forward.

    python benchmarks/bench_checkpoint.py          # its own table (one BLAS thread)
    python benchmarks/run.py --only B11,B12        # through the common runner
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and os.environ.get("CHAINRULE_BENCH_CLEAN_ENV") != "1":
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               CHAINRULE_BENCH_CLEAN_ENV="1")
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)

import subprocess

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Bench, Skip, median_time

DEPTH, WIDTH, BATCH = 20, 512, 1024


def _data():
    rng = np.random.default_rng(0)
    ws = [(rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH)).astype(np.float32)
          for _ in range(DEPTH)]
    bs = [(rng.standard_normal(WIDTH) * 0.1).astype(np.float32) for _ in range(DEPTH)]
    x = rng.standard_normal((BATCH, WIDTH)).astype(np.float32)
    return x, ws, bs


def _chainrule(ckpt: bool):
    import chainrule as cr
    from chainrule.utils.checkpoint import checkpoint

    xa, was, bas = _data()
    x = cr.tensor(xa)
    ws = [cr.tensor(w, requires_grad=True) for w in was]
    bs = [cr.tensor(b, requires_grad=True) for b in bas]

    def forward():
        h = x
        for w, b in zip(ws, bs):
            if ckpt:
                h = checkpoint(lambda t, w=w, b=b: (t @ w + b).tanh(), h, use_reentrant=False)
            else:
                h = (h @ w + b).tanh()
        return (h * h).mean()

    def step():
        forward().backward()
        for p in ws + bs:
            p.grad = None

    step.forward = forward
    return step


def _torch(ckpt: bool):
    try:
        import torch
        from torch.utils.checkpoint import checkpoint
    except ImportError as e:  # pragma: no cover
        raise Skip("torch is not installed") from e
    torch.set_num_threads(1)
    xa, was, bas = _data()
    x = torch.tensor(xa)
    ws = [torch.tensor(w, requires_grad=True) for w in was]
    bs = [torch.tensor(b, requires_grad=True) for b in bas]

    def step():
        h = x
        for w, b in zip(ws, bs):
            if ckpt:
                h = checkpoint(lambda t, w=w, b=b: (t @ w + b).tanh(), h, use_reentrant=False)
            else:
                h = (h @ w + b).tanh()
        (h * h).mean().backward()
        for p in ws + bs:
            p.grad = None

    return step


_IMPLS = {"chainrule": _chainrule, "torch": _torch}


def _memory(impl: str, ckpt: bool) -> str:
    """Peak memory of one step, in a fresh interpreter with the same environment."""
    code = (
        "import sys, tracemalloc\n"
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        "import bench_checkpoint as b\n"
        f"step = b._IMPLS[{impl!r}]({ckpt!r})\n"
        "def status(key):\n"
        "    with open('/proc/self/status') as f:\n"
        "        for line in f:\n"
        "            if line.startswith(key):\n"
        "                return int(line.split()[1]) * 1024\n"
        "with open('/proc/self/clear_refs', 'w') as f:\n"
        "    f.write('5')\n"
        "before = status('VmRSS')\n"
        "step()\n"
        "msg = f'peak RSS +{(status(\"VmHWM\") - before) / 2**20:.1f} MiB'\n"
        f"if {impl!r} == 'chainrule':\n"
        "    tracemalloc.start(); step()\n"
        "    msg += f', tracemalloc peak {tracemalloc.get_traced_memory()[1] / 2**20:.1f} MiB'\n"
        "    from chainrule.autograd.graph import memory\n"
        "    rep = memory(step.forward())\n"
        "    msg += f', graph holds {rep.intermediate_bytes / 2**20:.1f} MiB of activations'\n"
        "print(msg)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        err = r.stderr.strip().splitlines()
        return f"failed: {err[-1] if err else r.returncode}"
    return r.stdout.strip()


def _bench(bid: str, ckpt: bool) -> Bench:
    title = (f"deep MLP {DEPTH}×{WIDTH}, batch {BATCH}, fwd+bwd"
             + (", every layer checkpointed" if ckpt else ", plain"))
    return Bench(bid, title, "ms/step", 1e3,
                 {name: (lambda f=f: f(ckpt)) for name, f in _IMPLS.items()}, repeat=5,
                 memory={name: (lambda name=name: _memory(name, ckpt)) for name in _IMPLS})


BENCHES = [_bench("B11", False), _bench("B12", True)]


def main() -> None:
    rows = []
    for b in BENCHES:
        for name, setup in b.impls.items():
            try:
                fn = setup()
            except Skip as e:
                rows.append((b.id, name, None, str(e)))
                continue
            t = median_time(fn, b.repeat, b.number) * b.scale
            rows.append((b.id, name, t, b.memory[name]()))
            print(f"{b.id} {name:10s} {t:8.1f} ms   {rows[-1][3]}", file=sys.stderr, flush=True)
    print(f"\ncheckpointing a {DEPTH}-layer MLP (width {WIDTH}, batch {BATCH}, float32), one "
          "BLAS thread; median of 5 steps\n")
    print("| library | mode | ms/step | peak memory of one step |")
    print("|---|---|---|---|")
    for bid, name, t, mem in rows:
        mode = "plain" if bid == "B11" else "checkpoint per layer"
        print(f"| {name} | {mode} | {'–' if t is None else f'{t:.1f}'} | {mem} |")
    for name in _IMPLS:
        ts = {bid: t for bid, n, t, _ in rows if n == name and t is not None}
        if len(ts) == 2:
            print(f"\n{name}: checkpointing costs {ts['B12'] / ts['B11']:.2f}× the time")


if __name__ == "__main__":
    main()
