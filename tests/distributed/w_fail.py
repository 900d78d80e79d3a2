"""Worker (run under mpiexec by tests/test_distributed.py): failures must become clear errors on
every rank, never a hang. argv[1] picks the case."""

from __future__ import annotations

import sys
import time
from datetime import timedelta

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn

case = sys.argv[1]
dist.init_process_group("mpi", timeout=timedelta(seconds=1.5))
r, n = dist.get_rank(), dist.get_world_size()
t = cr.ones(3)
dist.all_reduce(t)
if case == "raise":
    if r == 1:
        time.sleep(0.2)  # the others are already waiting in the next all_reduce
        raise ValueError("boom on rank one")
    dist.all_reduce(t)
elif case == "shape":
    dist.all_reduce(cr.ones(4 if r == 1 else 3))
elif case == "op":
    if r == 1:
        dist.broadcast(t, src=0)
    else:
        dist.all_reduce(t)
elif case == "timeout":
    if r == 1:
        time.sleep(5)  # skips the collective the others wait in
        sys.exit(0)
    dist.all_reduce(t)
elif case == "recv":
    if r == 0:
        dist.send(cr.ones(2, 3), dst=1)
    elif r == 1:
        dist.recv(cr.zeros(3, 2), src=0)
    dist.barrier()
elif case == "recv_size":
    if r == 0:
        dist.send(cr.ones(7), dst=1)
    elif r == 1:
        dist.recv(cr.zeros(3), src=0)
    dist.barrier()
elif case == "model":
    nn.parallel.DistributedDataParallel(nn.Linear(3, 5 if r == 1 else 4))
print(f"finished rank {r}", flush=True)
