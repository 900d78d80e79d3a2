"""The digits CNN of ``train_digits.py`` trained data-parallel: each rank runs the model on its
share of every global batch of 32 and DistributedDataParallel averages the gradients, so N ranks
take the same steps one process would.

    pip install -e ".[examples,distributed]"
    python -m chainrule.distributed.run --nproc 2 examples/train_digits_ddp.py
    mpiexec -n 4 python examples/train_digits_ddp.py          # the same, with plain mpiexec
    python examples/train_digits_ddp.py                         # one process: the reference

Rank 0 prints the test accuracy per epoch; the target is the single-process one (≥97%).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chainrule as cr  # noqa: E402
import chainrule.distributed as dist  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.nn.parallel import DistributedDataParallel as DDP  # noqa: E402
from chainrule.utils.data import DataLoader, DistributedSampler, TensorDataset  # noqa: E402
from train_digits import TARGET, evaluate, load_digits, make_cnn  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32, help="global batch (all ranks)")
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-acc", type=float, default=TARGET["CNN"],
                    help="the test accuracy to reach (default: the single-process target)")
    args = ap.parse_args(argv)

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} must be divisible by {world} ranks")
    train_set, (x_test, y_test) = load_digits(args.seed)
    ds = TensorDataset(*train_set)
    sampler = DistributedSampler(ds, shuffle=True, seed=args.seed)
    loader = DataLoader(ds, batch_size=args.batch_size // world, sampler=sampler)

    cr.manual_seed(args.seed + rank)  # different inits on purpose: DDP broadcasts rank 0's
    model = DDP(make_cnn())
    opt = cr.optim.Adam(model.parameters(), lr=args.lr)
    sched = cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()
    if rank == 0:
        print(f"digits CNN on {world} rank(s), {args.batch_size // world} images per rank per "
              f"step, {len(loader)} steps per epoch", flush=True)
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
        sched.step()
        if rank == 0:
            _, acc = evaluate(model.module, x_test, y_test)
            print(f"epoch {epoch:2d}/{args.epochs}  test acc {acc:.3f}", flush=True)
    seconds = time.perf_counter() - t0

    # every rank holds the same parameters: check, then rank 0 reports
    flat = cr.cat([p.detach().reshape(-1) for p in model.parameters()])
    first = flat.clone()
    dist.broadcast(first, src=0)
    same = bool((first == flat).all().item())
    agree = cr.tensor([1 if same else 0])
    dist.all_reduce(agree, op=dist.ReduceOp.MIN)
    ok = True
    if rank == 0:
        _, acc = evaluate(model.module, x_test, y_test)
        ok = acc >= args.min_acc and agree.item() == 1
        print(f"\n{world} rank(s): test accuracy {acc:.2%} after {args.epochs} epochs in "
              f"{seconds:.1f} s; parameters identical on every rank: {agree.item() == 1}; "
              f"target ≥{args.min_acc:.0%} {'✓' if ok else '✗'}", flush=True)
    dist.destroy_process_group()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
