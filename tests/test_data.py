"""chainrule.utils.data: datasets, samplers, DataLoader batching, shuffling, collation, splits."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.data import (
    BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset, RandomSampler,
    SequentialSampler, Subset, TensorDataset, default_collate, random_split,
)


def test_tensor_dataset():
    x, y = cr.arange(20.0).reshape(10, 2), cr.arange(10)
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    a, b = ds[3]
    assert a.tolist() == [6.0, 7.0] and b.item() == 3
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(x, cr.arange(9))


def test_loader_sequential_batches_and_drop_last():
    ds = TensorDataset(cr.arange(10.0), cr.arange(10))
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert isinstance(batches[0], list) and batches[0][0].dtype == cr.float32
    assert len(DataLoader(ds, batch_size=4)) == 3
    dl = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(dl) == 2 and [b[1].tolist() for b in dl] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_is_a_seeded_permutation():
    ds = TensorDataset(cr.arange(50))

    def epoch(loader):
        return [int(v) for (b,) in loader for v in b.tolist()]

    g = cr.Generator().manual_seed(7)
    dl = DataLoader(ds, batch_size=8, shuffle=True, generator=g)
    e1, e2 = epoch(dl), epoch(dl)
    assert sorted(e1) == list(range(50)) and sorted(e2) == list(range(50))
    assert e1 != e2 and e1 != list(range(50))  # a new order each epoch
    g2 = cr.Generator().manual_seed(7)
    dl2 = DataLoader(ds, batch_size=8, shuffle=True, generator=g2)
    assert epoch(dl2) == e1 and epoch(dl2) == e2  # reproducible
    # the global generator drives it when none is given
    cr.manual_seed(3)
    a = epoch(DataLoader(ds, batch_size=5, shuffle=True))
    cr.manual_seed(3)
    assert epoch(DataLoader(ds, batch_size=5, shuffle=True)) == a


def test_fast_path_equals_generic_path():
    """The TensorDataset shortcut gives exactly what indexing + default_collate gives."""
    x = cr.randn(23, 3)
    y = cr.randint(0, 5, (23,))
    ds = TensorDataset(x, y)
    fast = list(DataLoader(ds, batch_size=6, shuffle=True,
                           generator=cr.Generator().manual_seed(1)))
    slow = list(DataLoader(ds, batch_size=6, shuffle=True, collate_fn=default_collate,
                           generator=cr.Generator().manual_seed(1)))
    assert len(fast) == len(slow) == 4
    for (fx, fy), (sx, sy) in zip(fast, slow):
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())
        assert fx.dtype == sx.dtype and fy.dtype == sy.dtype


def test_subset_of_tensor_dataset_batches_like_the_generic_path():
    ds = TensorDataset(cr.randn(30, 2), cr.arange(30))
    train, _ = random_split(ds, [20, 10], generator=cr.Generator().manual_seed(0))
    fast = list(DataLoader(train, batch_size=6, shuffle=True,
                           generator=cr.Generator().manual_seed(2)))
    slow = list(DataLoader(train, batch_size=6, shuffle=True, collate_fn=default_collate,
                           generator=cr.Generator().manual_seed(2)))
    assert len(fast) == len(slow) == 4
    for f, s in zip(fast, slow):
        for a, b in zip(f, s):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert sorted(v for _, y in fast for v in y.tolist()) == sorted(train.indices)


class DictDS(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(3, i, np.float32), "label": i, "w": 0.5 * i, "name": f"s{i}",
                "pair": (i, cr.tensor([i, -i]))}


def test_collate_dicts_tuples_numbers_strings():
    (b0, b1) = list(DataLoader(DictDS(), batch_size=3))
    assert b0["x"].shape == (3, 3) and b0["x"].dtype == cr.float32
    assert b0["label"].tolist() == [0, 1, 2] and b0["label"].dtype == cr.int64
    assert b0["w"].dtype == cr.float64 and b0["w"].tolist() == [0.0, 0.5, 1.0]
    assert b0["name"] == ["s0", "s1", "s2"]
    assert b0["pair"][0].tolist() == [0, 1, 2]
    assert b0["pair"][1].tolist() == [[0, 0], [1, -1], [2, -2]]
    assert b1["label"].tolist() == [3, 4]


def test_collate_matches_torch():
    pytest.importorskip("torch")
    from torch.utils.data import default_collate as tcollate

    batch = [(1, 2.5, np.ones(2)), (3, 4.5, np.zeros(2))]
    c, t = default_collate(batch), tcollate(batch)
    assert type(c) is type(t)
    for a, b in zip(c, t):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert a.dtype.name == str(b.dtype).replace("torch.", "")


def test_batch_size_none_and_custom_collate():
    ds = TensorDataset(cr.arange(4))
    items = list(DataLoader(ds, batch_size=None))
    assert [t[0].item() for t in items] == [0, 1, 2, 3]
    sums = list(DataLoader(ds, batch_size=2, collate_fn=lambda b: sum(int(s[0]) for s in b)))
    assert sums == [1, 5]


def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    rs = RandomSampler(range(10), generator=cr.Generator().manual_seed(0))
    assert sorted(rs) == list(range(10))
    rr = RandomSampler(range(3), replacement=True, num_samples=20,
                       generator=cr.Generator().manual_seed(0))
    assert len(list(rr)) == 20 and set(rr) <= {0, 1, 2}
    bs = BatchSampler(SequentialSampler(range(7)), 3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(SequentialSampler(range(7)), 0, False)
    dl = DataLoader(TensorDataset(cr.arange(6)), batch_sampler=[[5, 0], [2]])
    assert [b[0].tolist() for b in dl] == [[5, 0], [2]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(TensorDataset(cr.arange(6)), sampler=SequentialSampler(range(6)), shuffle=True)


def test_random_split():
    ds = TensorDataset(cr.arange(10))
    a, b = random_split(ds, [7, 3], generator=cr.Generator().manual_seed(0))
    assert isinstance(a, Subset) and len(a) == 7 and len(b) == 3
    got = sorted([int(a[i][0]) for i in range(7)] + [int(b[i][0]) for i in range(3)])
    assert got == list(range(10))
    parts = random_split(range(10), [0.5, 0.3, 0.2], generator=cr.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [5, 3, 2]
    parts = random_split(range(11), [0.5, 0.5])
    assert [len(p) for p in parts] == [6, 5]  # torch gives the remainder round-robin
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(ds, [3, 3])


def test_concat_and_iterable():
    c = ConcatDataset([TensorDataset(cr.arange(3)), TensorDataset(cr.arange(10, 12))])
    assert len(c) == 5 and int(c[3][0]) == 10 and int(c[-1][0]) == 11

    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3, drop_last=True)] == \
        [[0, 1, 2], [3, 4, 5]]
