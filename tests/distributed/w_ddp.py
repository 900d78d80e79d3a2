"""Worker (run under mpiexec by tests/test_distributed.py): DistributedDataParallel against one
process on the concatenated batch, which every rank also computes itself (float64)."""

from __future__ import annotations

import copy

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn
from chainrule.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
B = 3  # examples per rank
F = nn.functional


def net(seed: int) -> nn.Module:
    cr.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 4 * 4, 8), nn.Tanh(),
        nn.Linear(8, 5)).double()


def batch(step: int):
    rng = np.random.default_rng(100 + step)
    x = rng.standard_normal((n * B, 1, 4, 4))
    y = rng.integers(0, 5, n * B)
    return cr.from_numpy(x), cr.from_numpy(y)


def local(x, y):
    return x[r * B:(r + 1) * B], y[r * B:(r + 1) * B]


def grads(m) -> list:
    return [p.grad.numpy().copy() for p in m.parameters()]


def eq(a, b, what):
    for i, (u, v) in enumerate(zip(a, b)):
        np.testing.assert_allclose(u, v, rtol=0, atol=1e-12, err_msg=f"{what}, tensor {i}")


def same_on_every_rank(arrays, what):
    flat = np.concatenate([a.ravel() for a in arrays])
    every = np.zeros((n, flat.size))
    dist.all_gather_into_tensor(cr.from_numpy(every), cr.from_numpy(flat))
    assert (every == every[0]).all(), f"{what}: ranks differ"


# ---- rank 0's parameters reach every rank at construction ---------------------------------
ref = net(0)
for cap in (None, 0.0003):  # one bucket, and a bucket per few parameters
    model = DDP(net(1 + r), bucket_cap_mb=cap)  # different inits: DDP must broadcast rank 0's
    if cap is not None:
        assert len(model._buckets) > 2
    eq([p.detach().numpy() for p in model.module.parameters()],
       [p.detach().numpy() for p in net(1).parameters()], "broadcast at construction")

    # ---- one step: gradients equal to one process on the whole batch ----------------------
    x, y = batch(0)
    single = net(1)
    F.cross_entropy(single(x), y).backward()
    xl, yl = local(x, y)
    F.cross_entropy(model(xl), yl).backward()
    eq(grads(model.module), grads(single), f"one step, bucket_cap_mb={cap}")

# ---- N steps of SGD with momentum: identical on every rank, equal to one process ------------
for thread in (False, True):  # buckets moved by the hooks only, or by a helper thread too
    DDP.progress_thread = thread
    model = DDP(net(1), bucket_cap_mb=0.0003)
    DDP.progress_thread = False
    assert (model._progress is not None) == (thread and n > 1)
    single = net(1)
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt1 = cr.optim.SGD(single.parameters(), lr=0.1, momentum=0.9)
    for step in range(5):
        x, y = batch(step)
        xl, yl = local(x, y)
        opt.zero_grad()
        F.cross_entropy(model(xl), yl).backward()
        opt.step()
        opt1.zero_grad()
        F.cross_entropy(single(x), y).backward()
        opt1.step()
    ps = [p.detach().numpy() for p in model.module.parameters()]
    same_on_every_rank(ps, "parameters after 5 steps")
    eq(ps, [p.detach().numpy() for p in single.parameters()], f"5 steps, progress_thread={thread}")

# ---- no_sync: two local accumulations, then one synced backward = the sum ------------------
model = DDP(net(1), bucket_cap_mb=0.0003)
single = net(1)
for step in range(3):
    x, y = batch(step)
    F.cross_entropy(single(x), y).backward()
    xl, yl = local(x, y)
    if step < 2:
        with model.no_sync():
            F.cross_entropy(model(xl), yl).backward()
    else:
        F.cross_entropy(model(xl), yl).backward()
eq(grads(model.module), grads(single), "no_sync accumulation")

# ---- find_unused_parameters: a branch only odd ranks use -----------------------------------


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4).double()
        self.a = nn.Linear(4, 2).double()
        self.b = nn.Linear(4, 2).double()
        self.never = nn.Linear(4, 2).double()

    def forward(self, x, use_b):
        h = self.body(x)
        return self.b(h) if use_b else self.a(h)


cr.manual_seed(3)
base = TwoHeads()
model = DDP(copy.deepcopy(base), find_unused_parameters=True, bucket_cap_mb=0.0001)
xs = cr.from_numpy(np.random.default_rng(5).standard_normal((n, 4)))
model(xs[r:r + 1], r % 2 == 1).sum().backward()
single = copy.deepcopy(base)
total = sum(single(xs[j:j + 1], j % 2 == 1).sum() for j in range(n)) / n
total.backward()
for (name, p), q in zip(model.module.named_parameters(), single.parameters()):
    if name.startswith("never") or q.grad is None:
        assert p.grad is None, name  # unused on every rank: no gradient, as torch
    else:
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=0, atol=1e-12,
                                   err_msg=name)

# without it, the next forward names the parameters that got no gradient
model = DDP(copy.deepcopy(base))
model(xs[r:r + 1], False).sum().backward()
try:
    model(xs[r:r + 1], False)
except RuntimeError as e:
    assert "Expected to have finished reduction" in str(e) and "b.weight" in str(e), e
else:
    raise AssertionError("DDP did not report the unused parameters")

# ---- buffers: rank 0's at construction and before every forward (broadcast_buffers) --------
cr.manual_seed(9)
bn = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double()
bn[1].running_mean.fill_(float(r))  # differs per rank until DDP syncs it
model = DDP(bn)
same_on_every_rank([bn[1].running_mean.numpy()], "buffers after construction")
assert bn[1].running_mean.tolist() == [0.0] * 4
model(cr.from_numpy(np.random.default_rng(r).standard_normal((5, 3))))  # rank-local update
mean0 = bn[1].running_mean.numpy().copy()
every = np.zeros((n, 4))
dist.all_gather_into_tensor(cr.from_numpy(every), cr.from_numpy(mean0))
assert n == 1 or not (every == every[0]).all()
model.eval()
with cr.no_grad():
    model(cr.zeros(2, 3, dtype=cr.float64))
np.testing.assert_array_equal(bn[1].running_mean.numpy(), every[0])  # rank 0's, everywhere

# ---- state_dict: the module. prefix, as torch --------------------------------------------
model = DDP(net(1))
keys = list(model.state_dict())
assert keys and all(k.startswith("module.") for k in keys), keys
sd = model.state_dict()
nn.parallel.consume_prefix_in_state_dict_if_present(sd, "module.")
net(2).load_state_dict(sd)
assert model.module is model._modules["module"]
print(f"OK rank {r}", flush=True)
