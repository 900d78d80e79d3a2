"""DistributedDataParallel step time on 1, 2 and 4 MPI ranks, and how much communication the
overlap hides; torch's DDP on gloo beside it for the same model when torch is installed.

    python benchmarks/bench_distributed.py     # prints a table, writes results_distributed.md

A step is forward, cross-entropy, backward (with the gradient all-reduce) and an SGD step on a
fixed batch per rank (weak scaling: N ranks do N times the work of one), one BLAS/torch thread per
rank. Per model and rank count, three chainrule variants:

- ``compute``: backward under ``no_sync()`` — no communication at all (the floor);
- ``after``: backward under ``no_sync()``, then one blocking all-reduce of all gradients;
- ``DDP``: buckets all-reduced from the gradient hooks while backward runs (the real thing; MPI
  moves them when a hook or the final wait calls it); ``DDP + thread``: the same with
  ``progress_thread = True``, a helper thread polling MPI while NumPy computes.

Beside the step times (best of 5 rounds, ms), the median time each step spends waiting for the
all-reduce: the blocking one after backward, and what DDP still waits for at the end of backward;
``hidden`` = 1 − DDP's wait / the blocking wait: the share of the communication the overlap hides.
On a 2-core machine, 4 ranks are oversubscribed (two per core), so
their times include waiting for a core, not only communication.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = {"cnn": 32, "mlp": 8}  # per rank; the MLP's small batch makes communication matter
MODELS = {"cnn": "digits CNN (10k params), 32/rank",
          "mlp": "MLP 256-1024-1024-1024-10 (2.4M params), 8/rank"}


def _chainrule_model(name: str):
    import chainrule as cr
    from chainrule import nn

    cr.manual_seed(0)
    if name == "cnn":
        sys.path.insert(0, os.path.join(HERE, "..", "examples"))
        from train_digits import make_cnn

        return make_cnn(), (1, 8, 8), 10
    return nn.Sequential(nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                         nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10)), (256,), 10


def _torch_model(name: str):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Flatten(),
                             nn.Linear(32 * 4 * 4, 10)), (1, 8, 8), 10
    return nn.Sequential(nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                         nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10)), (256,), 10


def _rounds(variants, barrier, steps: int, rounds: int = 5) -> dict:
    """Each variant's best per-step time over rounds that take turns (the machine is shared:
    the minimum is the least disturbed measurement)."""
    best = {name: float("inf") for name, _ in variants}
    for _ in range(rounds):
        for name, fn in variants:
            best[name] = min(best[name], _timeit(fn, barrier, steps, warmup=1))
    return best


def _timeit(step, barrier, steps: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        step()
    barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    barrier()
    return (time.perf_counter() - t0) / steps


def worker_chainrule(model_name: str, steps: int, bucket_mb: float) -> dict:
    import numpy as np

    import chainrule as cr
    import chainrule.distributed as dist
    from chainrule import nn
    from chainrule.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("mpi")
    net, shape, classes = _chainrule_model(model_name)
    model = DDP(net, bucket_cap_mb=bucket_mb)
    opt = cr.optim.SGD(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(dist.get_rank())
    x = cr.from_numpy(rng.standard_normal((BATCH[model_name], *shape)).astype(np.float32))
    y = cr.from_numpy(rng.integers(0, classes, BATCH[model_name]))
    params = list(model.parameters())
    n = dist.get_world_size()
    # seconds spent waiting for the all-reduce: blocking after backward, or what DDP's overlap left
    waits: dict = {"after": [], "DDP": [], "DDP_thread": []}

    def compute():
        opt.zero_grad()
        with model.no_sync():
            nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    def after():
        opt.zero_grad()
        with model.no_sync():
            nn.functional.cross_entropy(model(x), y).backward()
        flat = cr.cat([p.grad.reshape(-1) for p in params])
        t0 = time.perf_counter()
        dist.all_reduce(flat)
        waits["after"].append(time.perf_counter() - t0)
        flat = flat / n
        k = 0
        for p in params:
            m = p.numel()
            p.grad = flat[k:k + m].reshape(p.shape)
            k += m
        opt.step()

    def ddp():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        waits["DDP"].append(model._last_wait_s)
        opt.step()

    plain = model
    DDP.progress_thread = True  # the same buckets, a helper thread polling MPI too
    threaded = DDP(net, bucket_cap_mb=bucket_mb)
    DDP.progress_thread = False

    def ddp_thread():
        opt.zero_grad()
        nn.functional.cross_entropy(threaded(x), y).backward()
        waits["DDP_thread"].append(threaded._last_wait_s)
        opt.step()

    variants = (("compute", compute), ("after", after), ("DDP", ddp),
                ("DDP_thread", ddp_thread))
    res = _rounds(variants, dist.barrier, steps)
    res["buckets"] = len(plain._buckets)
    for k, v in waits.items():
        res["wait_" + k] = float(np.median(v)) if n > 1 else 0.0
    dist.destroy_process_group()
    return res


def worker_torch(model_name: str, steps: int, bucket_mb: float) -> dict:
    import torch
    import torch.distributed as tdist
    from torch.nn.parallel import DistributedDataParallel as TDDP

    torch.set_num_threads(1)
    rank = int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")))
    size = int(os.environ.get("PMI_SIZE", os.environ.get("OMPI_COMM_WORLD_SIZE", "1")))
    tdist.init_process_group("gloo", rank=rank, world_size=size)
    net, shape, classes = _torch_model(model_name)
    model = TDDP(net, bucket_cap_mb=bucket_mb)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(rank)
    x = torch.randn(BATCH[model_name], *shape, generator=g)
    y = torch.randint(0, classes, (BATCH[model_name],), generator=g)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    res = _rounds((("DDP", step),), tdist.barrier, steps)
    tdist.destroy_process_group()
    return res


def _launch(n: int, impl: str, model: str, steps: int, bucket_mb: float, port: int) -> dict | None:
    sys.path.insert(0, os.path.join(HERE, "..", "src"))
    from chainrule.distributed.run import mpiexec_command

    cmd, env = mpiexec_command(n, [os.path.abspath(__file__), "--worker", impl, model,
                                   str(steps), str(bucket_mb)])
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    env["PYTHONPATH"] = os.path.join(HERE, "..", "src") + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    sys.stderr.write(f"{impl} {model} on {n} ranks failed:\n{p.stderr[-2000:]}\n")
    return None


def main() -> int:
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    cores = os.cpu_count() or 1
    rows = []
    port = 29600
    for model, steps, bucket in (("cnn", 20, 25.0), ("mlp", 5, 2.0)):
        for n in (1, 2, 4):
            port += 1
            c = _launch(n, "chainrule", model, steps, bucket, port)
            t = _launch(n, "torch", model, steps, bucket, port + 100) if have_torch else None
            if c is None:
                continue
            note = " (oversubscribed)" if n > cores else ""
            rows.append((MODELS[model], f"{n}{note}", c, None if t is None else t["DDP"]))
    head = ("| model | ranks | compute only | all-reduce after backward | DDP | DDP + thread | "
            "waiting for the all-reduce: after backward / DDP / DDP + thread | hidden | "
            "torch DDP gloo |")
    lines = [head, "|" + "---|" * 9]
    ms = lambda v: f"{v * 1e3:.2f}"
    for m, n, c, tt in rows:
        if n == "1":
            waits, hid = "–", "–"
        else:
            waits = " / ".join(ms(c[k]) for k in ("wait_after", "wait_DDP", "wait_DDP_thread"))
            hid = f"{1 - c['wait_DDP'] / c['wait_after']:.0%}" if c["wait_after"] > 0 else "–"
        lines.append(f"| {m} | {n} | {ms(c['compute'])} | {ms(c['after'])} | {ms(c['DDP'])} | "
                     f"{ms(c['DDP_thread'])} | {waits} | {hid} | "
                     f"{'–' if tt is None else ms(tt)} |")
    text = "\n".join(lines)
    print(text)
    note = (f"\n\n{cores} cores; one BLAS/torch thread per rank; step times best of 5 rounds, "
            "waits the median, in ms; "
            "ranks beyond the core count are oversubscribed.\n")
    with open(os.path.join(HERE, "results_distributed.md"), "w") as f:
        f.write("# DistributedDataParallel step time (python benchmarks/bench_distributed.py)\n\n"
                + text + note)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        impl, model, steps, bucket = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
        fn = worker_chainrule if impl == "chainrule" else worker_torch
        res = fn(model, steps, bucket)
        rank = int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")))
        if rank == 0:
            print("RESULT " + json.dumps(res), flush=True)
        sys.exit(0)
    sys.exit(main())
