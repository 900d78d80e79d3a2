"""``DistributedDataParallel``: the wrapped module runs on every rank with its own slice of the
batch; during ``backward()`` gradients are packed into buckets (reverse parameter order, as torch)
and each bucket's non-blocking all-reduce starts from the gradient hooks as soon as it is full,
so communication overlaps the rest of the backward pass. Gradients end up averaged over ranks.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any

import numpy as np

from ... import distributed as dist
from ..._creation import from_numpy
from ..._tensor import Tensor
from ...autograd import is_grad_enabled
from ...distributed._backend import _Progress
from ...distributed._collectives import (_allgather_object, _iallreduce_sum, _ibcast_root0,
                                         _private_group)
from ..modules.module import Module

_FIRST_BUCKET_BYTES = 1024 * 1024  # torch's dist._DEFAULT_FIRST_BUCKET_BYTES


class _Bucket:
    __slots__ = ("index", "params", "offsets", "flat", "pending", "work", "dtype")

    def __init__(self, index: int, params: list, dtype: np.dtype) -> None:
        self.index = index
        self.params = params  # (parameter index, parameter) in the order they were bucketed
        self.dtype = dtype
        self.offsets = []
        n = 0
        for _, p in params:
            self.offsets.append(n)
            n += p.numel()
        self.flat = np.zeros(n, dtype)
        self.pending = len(params)
        self.work = None


def _buckets(params: list, cap_bytes: int, first_bytes: int) -> list[list]:
    """torch's bucket assignment: reverse parameter order, one open bucket per dtype, a bucket is
    closed once it holds ``cap`` bytes (the first one ``first_bytes``)."""
    open_: dict = {}
    done: list = []
    limit: dict = {}
    for i, p in reversed(list(enumerate(params))):
        dt = p._array.dtype
        cur = open_.setdefault(dt, [[], 0])
        cur[0].append((i, p))
        cur[1] += p._array.nbytes
        if cur[1] >= limit.setdefault(dt, first_bytes):
            done.append(cur[0])
            open_[dt] = [[], 0]
            limit[dt] = cap_bytes
    done.extend(c[0] for c in open_.values() if c[0])
    return done


def _threads_ok() -> bool:
    from ...distributed._backend import _mpi

    MPI = _mpi()
    return MPI.Query_thread() == MPI.THREAD_MULTIPLE


def _tensors(out) -> list:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _tensors(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _tensors(o)]
    return []


def _reachable_leaves(outs: list) -> set:
    """ids of the leaves the graph of ``outs`` reaches (iterative walk over ``next_functions``)."""
    seen, found = set(), set()
    stack = [t.grad_fn for t in outs if t.grad_fn is not None]
    for t in outs:
        if t.grad_fn is None and t.requires_grad:
            found.add(id(t))
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        var = getattr(node, "variable", None)
        if var is not None:
            found.add(id(var))
        stack.extend(n for n, _ in node.next_functions if n is not None)
    return found


class DistributedDataParallel(Module):
    """Data parallelism over ``chainrule.distributed`` ranks, as ``torch.nn.parallel``'s.

    Example (under ``mpiexec -n 2``, after ``dist.init_process_group("mpi")``):
        >>> model = DistributedDataParallel(cr.nn.Linear(4, 2))
        >>> model(x_local).sum().backward()   # .grad: the average over ranks
    """

    # MPI moves a non-blocking collective only inside MPI calls: each gradient hook makes one
    # (a cheap test of the launched buckets); progress_thread=True adds a helper thread polling
    # them while NumPy computes, which measured slower on a busy 2-core machine (see
    # benchmarks/bench_distributed.py), so it is off by default
    progress_thread = False

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, init_sync: bool = True) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel expects a Module, got {type(module).__name__}")
        if not any(p.requires_grad for p in module.parameters()):
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any parameter "
                "that requires a gradient.")
        self.module = module
        d = self.__dict__
        d["process_group"] = process_group
        d["_pg"] = _private_group(process_group)
        d["dim"] = dim
        d["broadcast_buffers"] = broadcast_buffers
        d["find_unused_parameters"] = find_unused_parameters
        d["gradient_as_bucket_view"] = gradient_as_bucket_view
        d["static_graph"] = static_graph
        d["require_backward_grad_sync"] = True
        d["require_forward_param_sync"] = True
        cap = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        d["bucket_bytes_cap"] = int(cap * 1024 * 1024)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        d["_names"] = [n for n, _ in named]
        d["_params"] = [p for _, p in named]
        self._verify_same_model()
        first = min(_FIRST_BUCKET_BYTES, self.bucket_bytes_cap) if bucket_cap_mb is None \
            else self.bucket_bytes_cap
        groups = _buckets(self._params, self.bucket_bytes_cap, first)
        d["_buckets"] = [_Bucket(k, b, b[0][1]._array.dtype) for k, b in enumerate(groups)]
        d["_where"] = {}
        for b in self._buckets:
            for slot, (i, _) in enumerate(b.params):
                self._where[i] = (b, slot)
        d["_progress"] = _Progress(self._pg) if self.progress_thread and self._pg.size() > 1 and \
            _threads_ok() else None
        d["_armed"] = False
        d["_ready"] = np.zeros(len(self._params), bool)
        d["_next"] = 0
        d["_hooks"] = [p.register_post_accumulate_grad_hook(self._make_hook(i))
                       for i, p in enumerate(self._params)]
        if init_sync:
            self._sync_module_states()

    # ---- construction ---------------------------------------------------------------------
    def _verify_same_model(self) -> None:
        mine = [(n, tuple(p.shape), str(p.dtype)) for n, p in zip(self._names, self._params)]
        mine += [(n, tuple(b.shape), str(b.dtype)) for n, b in self.module.named_buffers()]
        every = _allgather_object(mine, self._pg)
        for j, theirs in enumerate(every):
            if len(theirs) != len(mine):
                raise RuntimeError(
                    f"DDP expects same model across all ranks, but Rank {self._pg.rank()} has "
                    f"{len(mine)} params, while rank {j} has inconsistent {len(theirs)} params.")
            for (n, s, t), (_, s2, t2) in zip(mine, theirs):
                if (s, t) != (s2, t2):
                    raise RuntimeError(
                        f"DDP expects same model across all ranks, but parameter {n!r} has shape "
                        f"{list(s)} ({t}) on rank {self._pg.rank()} and {list(s2)} ({t2}) on rank "
                        f"{j}.")

    def _sync_module_states(self) -> None:
        """Every rank starts from rank 0's parameters and buffers (one broadcast per bucket)."""
        for b in self._buckets:
            for (_, p), off in zip(b.params, b.offsets):
                b.flat[off:off + p.numel()] = p._array.reshape(-1)
            self._bcast(b.flat)
            for (_, p), off in zip(b.params, b.offsets):
                p._array[...] = b.flat[off:off + p.numel()].reshape(p._array.shape)
        self._sync_buffers()

    def _bcast(self, a: np.ndarray) -> None:
        dist.broadcast(from_numpy(a), src=self._pg.ranks[0], group=self._pg)

    def _sync_buffers(self) -> None:
        """Rank 0's buffers (running statistics …) to every rank: the layout was checked at
        construction, so the broadcasts skip the per-call check and run together."""
        works = []
        for buf in self.module.buffers():
            if not buf._array.flags.c_contiguous or not buf._array.flags.writeable:
                buf._array = np.ascontiguousarray(buf._array).copy()
            works.append(_ibcast_root0(buf._array, self._pg, "DDP buffer broadcast"))
        for w in works:
            w.wait()

    # ---- forward ---------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self._armed and self._ready.any():
            missing = [self._names[i] for i in np.nonzero(~self._ready)[0]]
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new "
                "one. This error indicates that your module has parameters that were not used in "
                "producing loss. You can enable unused parameter detection by passing the keyword "
                "argument `find_unused_parameters=True` to "
                "`chainrule.nn.parallel.DistributedDataParallel`, and by making sure all "
                "`forward` function outputs participate in calculating loss. Parameters which did "
                f"not receive grad on rank {self._pg.rank()}: {', '.join(missing)}")
        if self.broadcast_buffers and self.require_forward_param_sync:
            self._sync_buffers()
        out = self.module(*inputs, **kwargs)
        armed = is_grad_enabled() and self.require_backward_grad_sync
        self.__dict__["_armed"] = armed
        if armed:
            self._ready[:] = False
            self.__dict__["_next"] = 0
            for b in self._buckets:
                b.pending = len(b.params)
                b.work = None
            self.__dict__["_used"] = None
            if self.find_unused_parameters:
                reached = _reachable_leaves(_tensors(out))
                used = np.array([id(p) in reached for p in self._params])
                self.__dict__["_used"] = used
                for i in np.nonzero(~used)[0]:
                    self._mark_ready(int(i), zero=True)
        return out

    # ---- backward: hooks fill buckets, full buckets start their all-reduce in order ---------
    def _make_hook(self, i: int):
        def hook(p: Tensor) -> None:
            if self._armed:
                self._mark_ready(i)
        return hook

    def _mark_ready(self, i: int, zero: bool = False) -> None:
        if self._ready[i]:
            raise RuntimeError(
                "Expected to mark a variable ready only once. This error is caused by one of the "
                "following reasons: 1) Use of a module parameter outside the `forward` function. "
                "2) Reused parameters in multiple reentrant backward passes. 3) backward() called "
                f"twice after one forward (parameter {self._names[i]!r}, rank {self._pg.rank()}).")
        self._ready[i] = True
        b, slot = self._where[i]
        p = self._params[i]
        off, n = b.offsets[slot], p.numel()
        if zero or p.grad is None:
            b.flat[off:off + n] = 0
        else:
            b.flat[off:off + n] = p.grad._array.reshape(-1)
        b.pending -= 1
        # launch every full bucket whose predecessors are launched (the same order on all ranks)
        while self._next < len(self._buckets) and self._buckets[self._next].pending == 0:
            nb = self._buckets[self._next]
            nb.work = _iallreduce_sum(nb.flat, self._pg, f"DDP gradient bucket {nb.index}")
            if self._progress is not None:
                self._progress.add(nb.work)
            self.__dict__["_next"] = self._next + 1
        if self._progress is None:
            for ob in self._buckets[:self._next]:
                ob.work.is_completed()  # without the helper thread, MPI moves only when called
        if self._next == len(self._buckets) and not zero:
            self._finalize()

    def _finalize(self) -> None:
        n = self._pg.size()
        t0 = time.perf_counter()
        used = None
        if self._used is not None:
            counts = self._used.astype(np.int32)
            _iallreduce_sum(counts, self._pg, "DDP unused parameter map").wait()
            used = counts > 0
        if self._progress is not None:
            self._progress.wait_all("DDP gradient all-reduce")
        for b in self._buckets:
            b.work.wait()
        # the communication backward could not hide (what the benchmark reports)
        self.__dict__["_last_wait_s"] = time.perf_counter() - t0
        for b in self._buckets:
            np.divide(b.flat, n, out=b.flat)
            for (i, p), off in zip(b.params, b.offsets):
                if used is not None and not used[i]:
                    continue
                avg = b.flat[off:off + p.numel()].reshape(p._array.shape)
                g = p.grad
                if g is not None and g._array.flags.writeable and g.grad_fn is None:
                    g._array[...] = avg
                else:
                    p.grad = from_numpy(avg.copy())
        self.__dict__["_armed"] = False
        self._ready[:] = False

    # ---- torch's API -----------------------------------------------------------------------
    @contextmanager
    def no_sync(self):
        """Skip gradient all-reduce inside the block: gradients accumulate locally, and the first
        backward after it all-reduces the accumulated sum."""
        old = self.require_backward_grad_sync
        self.__dict__["require_backward_grad_sync"] = False
        try:
            yield
        finally:
            self.__dict__["require_backward_grad_sync"] = old

    def extra_repr(self) -> str:
        return ""

    def __getstate__(self) -> Any:
        raise RuntimeError("DistributedDataParallel cannot be pickled; save .module instead")


def consume_prefix_in_state_dict_if_present(state_dict: dict, prefix: str) -> None:
    """Strip ``prefix`` (``"module."`` of a DDP checkpoint) from the keys, in place, as torch's
    ``torch.nn.modules.utils.consume_prefix_in_state_dict_if_present``."""
    for key in sorted(state_dict.keys()):
        if key.startswith(prefix):
            state_dict[key[len(prefix):]] = state_dict.pop(key)
    meta = getattr(state_dict, "_metadata", None)
    if meta is not None:
        for key in list(meta.keys()):
            if key == prefix.rstrip(".") or key.startswith(prefix):
                meta[key[len(prefix):] if key.startswith(prefix) else ""] = meta.pop(key)
