"""DistributedSampler against torch's: the same indices given the same permutation (torch's
``randperm`` is patched to return chainrule's, whose generator differs), and exact partitions."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.utils.data import DataLoader, DistributedSampler, TensorDataset

torch = pytest.importorskip("torch")
from torch.utils.data import DistributedSampler as TorchSampler  # noqa: E402


def _torch_indices(monkeypatch, n, replicas, rank, shuffle, seed, drop_last, epoch):
    def randperm(k, generator=None, **kw):
        g = cr.Generator().manual_seed(generator.initial_seed())
        return torch.from_numpy(cr.randperm(k, generator=g).numpy())

    monkeypatch.setattr(torch, "randperm", randperm)
    s = TorchSampler(range(n), num_replicas=replicas, rank=rank, shuffle=shuffle, seed=seed,
                     drop_last=drop_last)
    s.set_epoch(epoch)
    return list(s), len(s)


@pytest.mark.parametrize("n", [1, 3, 10, 11, 12])
@pytest.mark.parametrize("replicas", [1, 2, 4, 5])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
def test_indices_equal_torch(monkeypatch, n, replicas, shuffle, drop_last):
    for rank in range(replicas):
        for epoch in (0, 3):
            s = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=shuffle,
                                   seed=7, drop_last=drop_last)
            s.set_epoch(epoch)
            want = _torch_indices(monkeypatch, n, replicas, rank, shuffle, 7, drop_last, epoch)
            assert (list(s), len(s)) == want


def test_epoch_partitions_exactly():
    n, k = 23, 4
    samplers = [DistributedSampler(range(n), k, r, seed=1) for r in range(k)]
    epochs = []
    for epoch in range(3):
        for s in samplers:
            s.set_epoch(epoch)
        parts = [list(s) for s in samplers]
        assert all(len(p) == 6 for p in parts)  # ceil(23 / 4), one index repeated as padding
        flat = sorted(i for p in parts for i in p)
        assert sorted(set(flat)) == list(range(n)) and len(flat) == 24
        epochs.append(parts)
    assert epochs[0] != epochs[1] != epochs[2]  # set_epoch reshuffles
    dropped = [list(DistributedSampler(range(n), k, r, drop_last=True)) for r in range(k)]
    flat = [i for p in dropped for i in p]
    assert len(flat) == 20 and len(set(flat)) == 20  # disjoint, the tail dropped
    again = [list(DistributedSampler(range(n), k, r, drop_last=True)) for r in range(k)]
    assert again == dropped  # same epoch, same order


def test_with_dataloader_and_errors():
    ds = TensorDataset(cr.arange(10))
    s = DistributedSampler(ds, num_replicas=3, rank=2, shuffle=False)
    got = [b[0].tolist() for b in DataLoader(ds, batch_size=2, sampler=s)]
    assert got == [[2, 5], [8, 1]]
    msg = r"^Invalid rank 3, rank should be in the interval \[0, 2\]$"
    with pytest.raises(ValueError, match=msg):
        DistributedSampler(ds, num_replicas=3, rank=3)
