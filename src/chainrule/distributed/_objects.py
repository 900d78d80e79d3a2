"""Collectives on picklable Python objects (``all_gather_object``, ``broadcast_object_list``), as
torch's: the objects travel pickled, so only use them with ranks you trust, as with torch."""

from __future__ import annotations

import pickle

import numpy as np

from ._backend import _check_match, _group, _mpi, _wait
from ._collectives import _outside, _root

__all__ = ["all_gather_object", "broadcast_object_list"]


def _bytes(obj) -> np.ndarray:
    return np.frombuffer(pickle.dumps(obj), np.uint8)


def all_gather_object(object_list: list, obj, group=None) -> None:
    """Fill ``object_list`` (one slot per rank) with ``obj`` of every rank.

    Example (2 ranks): ``out = [None, None]; dist.all_gather_object(out, {"rank": rank})``.
    """
    if _outside(group, "all_gather_object"):
        return
    pg = _group(group)
    n = pg.size()
    if not isinstance(object_list, list) or len(object_list) < n:
        raise ValueError(
            f"all_gather_object: object_list must be a list with one slot per rank ({n}), got "
            f"{type(object_list).__name__} of length {len(object_list)}")
    _check_match(pg, "all_gather", None)
    data = _bytes(obj)
    sizes = np.zeros(n, np.int64)
    _wait([pg.comm.Iallgather(np.array([data.size], np.int64), sizes)], pg, "all_gather_object")
    buf = np.empty(int(sizes.sum()), np.uint8)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    MPI = _mpi()
    _wait([pg.comm.Iallgatherv(data, [buf, sizes.tolist(), offsets.tolist(), MPI.BYTE])], pg,
          "all_gather_object")
    for i, (o, s) in enumerate(zip(offsets, sizes)):
        object_list[i] = pickle.loads(buf[o:o + s].tobytes())


def broadcast_object_list(object_list: list, src: int | None = None, group=None,
                          group_src: int | None = None) -> None:
    """Replace the items of ``object_list`` by those of rank ``src`` (default 0), in place."""
    if _outside(group, "broadcast_object_list"):
        return
    pg = _group(group)
    root = _root(pg, src, group_src, "src", "broadcast_object_list", 0)
    _check_match(pg, "broadcast", None)
    mine = pg.rank() == root
    data = _bytes(list(object_list)) if mine else None
    size = np.array([0 if data is None else data.size], np.int64)
    _wait([pg.comm.Ibcast(size, root)], pg, "broadcast_object_list")
    buf = data if mine else np.empty(int(size[0]), np.uint8)
    _wait([pg.comm.Ibcast(buf, root)], pg, "broadcast_object_list")
    if not mine:
        items = pickle.loads(buf.tobytes())
        if len(items) != len(object_list):
            raise ValueError(
                f"broadcast_object_list: rank {pg.ranks[root]} sends {len(items)} objects, but "
                f"object_list on rank {pg.ranks[pg.rank()]} has {len(object_list)} slots")
        object_list[:] = items
