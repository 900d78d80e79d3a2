"""Worker (run under mpiexec by tests/test_distributed.py): every collective against NumPy on the
data of all ranks, which each rank regenerates from the ranks' seeds."""

from __future__ import annotations

import sys
import warnings

import numpy as np

import chainrule as cr
import chainrule.distributed as dist

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
assert dist.is_initialized() and dist.get_backend() == "mpi"
data = [np.random.default_rng(j).standard_normal((3, 4)) for j in range(n)]
every = np.stack(data)
eq = np.testing.assert_allclose


def mine():
    return cr.from_numpy(data[r].copy())


def check(op, expect):
    t = mine()
    buf = t._array
    dist.all_reduce(t, op=op)
    assert t._array is buf and t._version == 0  # in place on the same buffer, like torch
    eq(t.numpy(), expect, rtol=1e-14, atol=1e-14)


R = dist.ReduceOp
check(R.SUM, every.sum(0))
check(R.AVG, every.sum(0) / n)
check(R.MAX, every.max(0))
check(R.MIN, every.min(0))
check(R.PRODUCT, every.prod(0))
ti = cr.tensor([r + 1, 2 * r], dtype=cr.int64)
dist.all_reduce(ti)
assert ti.tolist() == [n * (n + 1) // 2, n * (n - 1)], ti

# async: a Work handle
t = mine()
w = dist.all_reduce(t, async_op=True)
assert w.wait() is True and w.is_completed()
eq(t.numpy(), every.sum(0), rtol=1e-14)

for src in range(n):
    t = mine()
    dist.broadcast(t, src=src)
    eq(t.numpy(), data[src], rtol=0)
w = dist.broadcast(t := mine(), src=n - 1, async_op=True)
w.wait()
eq(t.numpy(), data[n - 1], rtol=0)

outs = [cr.zeros(3, 4, dtype=cr.float64) for _ in range(n)]
dist.all_gather(outs, mine())
eq(np.stack([o.numpy() for o in outs]), every, rtol=0)
out = cr.zeros(3 * n, 4, dtype=cr.float64)
dist.all_gather_into_tensor(out, mine())
eq(out.numpy(), every.reshape(3 * n, 4), rtol=0)
out = cr.zeros(n, 3, 4, dtype=cr.float64)
dist.all_gather_into_tensor(out, mine(), async_op=True).wait()
eq(out.numpy(), every, rtol=0)

big = [np.random.default_rng(10 + j).standard_normal((2 * n, 3)) for j in range(n)]
o = cr.zeros(2, 3, dtype=cr.float64)
dist.reduce_scatter_tensor(o, cr.from_numpy(big[r].copy()))
eq(o.numpy(), np.sum(big, 0)[2 * r:2 * r + 2], rtol=1e-14, atol=1e-14)
dist.reduce_scatter_tensor(o, cr.from_numpy(big[r].copy()), op=R.AVG)
eq(o.numpy(), np.sum(big, 0)[2 * r:2 * r + 2] / n, rtol=1e-14, atol=1e-14)

for root in range(n):
    t = mine()
    dist.reduce(t, dst=root, op=R.MAX)
    eq(t.numpy(), every.max(0) if r == root else data[r], rtol=0)
    gl = [cr.zeros(3, 4, dtype=cr.float64) for _ in range(n)] if r == root else None
    dist.gather(mine(), gl, dst=root)
    if r == root:
        eq(np.stack([g.numpy() for g in gl]), every, rtol=0)
    t = cr.zeros(3, 4, dtype=cr.float64)
    sl = [cr.from_numpy(d * 10) for d in data] if r == root else None
    dist.scatter(t, sl, src=root)
    eq(t.numpy(), data[r] * 10, rtol=0)

# point to point: a ring, blocking and non-blocking
nxt, prv = (r + 1) % n, (r - 1) % n
got = cr.zeros(3, 4, dtype=cr.float64)
ws = [dist.isend(mine(), dst=nxt), dist.irecv(got, src=prv)]
for w in ws:
    w.wait()
eq(got.numpy(), data[prv], rtol=0)
assert ws[1].source_rank() == prv
# both ranks of a pair post their receive first: must not deadlock
pair = r ^ 1
if pair < n:
    got = cr.zeros(2, dtype=cr.float64)
    w = dist.irecv(got, src=pair, tag=3)
    dist.send(cr.tensor([r, 10.0 * r], dtype=cr.float64), dst=pair, tag=3)
    w.wait()
    assert got.tolist() == [pair, 10.0 * pair] and w.is_completed()
# two receives from one sender, waited in reverse order
if r == 0:
    dist.send(cr.tensor([1.0]), dst=1, tag=5)
    dist.send(cr.tensor([2.0, 3.0]), dst=1, tag=5)
elif r == 1:
    a1, a2 = cr.zeros(1), cr.zeros(2)
    w1, w2 = dist.irecv(a1, src=0, tag=5), dist.irecv(a2, src=0, tag=5)
    w2.wait()
    w1.wait()
    assert a1.tolist() == [1.0] and a2.tolist() == [2.0, 3.0]
if r == 0:
    dist.send(cr.tensor([1.0, 2.0]), dst=1, tag=7)
elif r == 1:
    x = cr.zeros(2)
    assert dist.recv(x, tag=7) == 0 and x.tolist() == [1.0, 2.0]

# groups: the even ranks
g = dist.new_group([j for j in range(n) if j % 2 == 0])
if r % 2 == 0:
    t = mine()
    dist.all_reduce(t, group=g)
    eq(t.numpy(), every[::2].sum(0), rtol=1e-14, atol=1e-14)
    assert dist.get_world_size(g) == len(range(0, n, 2)) and dist.get_rank(g) == r // 2
    t = mine()
    dist.broadcast(t, src=0, group=g)
    eq(t.numpy(), data[0], rtol=0)
else:
    assert g is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(g) == -1
    with warnings.catch_warnings(record=True) as ws_:
        warnings.simplefilter("always")
        assert dist.all_reduce(mine(), group=g) is None
    assert "does not belong to the given group" in str(ws_[0].message)

# picklable objects
objs = [None] * n
dist.all_gather_object(objs, {"rank": r, "sq": [r * r] * r})
assert objs == [{"rank": j, "sq": [j * j] * j} for j in range(n)], objs
box = [f"from {r}", r] if r == n - 1 else [None, None]
dist.broadcast_object_list(box, src=n - 1)
assert box == [f"from {n - 1}", n - 1], box

# argument errors as torch's


def raises(exc, words, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        assert words in str(e), e
    else:
        raise AssertionError(f"{fn.__name__} did not raise {exc.__name__}")


want = "must be specified on destination" if r == 0 else "must NOT be specified"
raises(ValueError, want, dist.gather, mine(), None if r == 0 else [mine()] * n, dst=0)
raises(RuntimeError, "contiguous", dist.all_reduce, cr.zeros(4, 3).t())
raises(ValueError, "twice", dist.init_process_group, "mpi")
raises(ValueError, "invalid src rank", dist.broadcast, mine(), src=n)
raises(RuntimeError, "invalid tensor size", dist.all_gather, [cr.zeros(2)] * n, cr.zeros(3))
dist.barrier()
dist.destroy_process_group()
assert not dist.is_initialized()
raises(ValueError, "has not been initialized", dist.get_rank)
print(f"OK rank {r}", flush=True)
sys.exit(0)
