"""Collectives and point-to-point operations on Tensors, with ``torch.distributed``'s names and
arguments. They read and write each tensor's NumPy buffer in place (zero-copy), outside autograd
(torch's collectives do not bump the version counter either); ``async_op=True`` returns a Work.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .._tensor import Tensor
from ._backend import (_DTYPES, DistBackendError, GroupMember, ProcessGroup, ReduceOp, RedOpType,
                       Work, _check_match, _check_peers, _done, _group, _mpi, _wait)

__all__ = ["all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
           "reduce_scatter_tensor", "reduce", "gather", "scatter", "send", "recv", "isend", "irecv",
           "barrier"]


def _buf(t, name: str, op: str) -> np.ndarray:
    if not isinstance(t, Tensor):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type chainrule.Tensor "
            f"but got {type(t)} instead (in {op}).")
    a = t._array
    if not a.flags.c_contiguous:
        raise RuntimeError(
            f"{op}: input tensor has to be contiguous (`{name}` of shape {tuple(a.shape)} is a "
            "strided view; pass tensor.contiguous())")
    if not a.flags.writeable:
        raise RuntimeError(f"{op}: `{name}` of shape {tuple(a.shape)} is read-only")
    return a


def _list(ts, name: str, op: str) -> list[np.ndarray]:
    if not isinstance(ts, list):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type "
            f"List[chainrule.Tensor] but got {type(ts)} instead (in {op}).")
    return [_buf(t, name, op) for t in ts]


def _same_dtype(op: str, *arrays) -> None:
    dts = {a.dtype for a in arrays}
    if len(dts) > 1:
        a, b = sorted(str(d) for d in dts)[:2]
        raise ValueError(
            f"Invalid usage of tensors with different dtypes Found {a} and {b} (in {op})")


def _root(pg: ProcessGroup, rank, group_rank, name: str, op: str, default: int | None) -> int:
    """The group rank of a root given as a global rank (``src``/``dst``) or as ``group_src``/..."""
    if group_rank is not None:
        if rank is not None:
            raise ValueError("Can't specify both group_rank and global_rank")
        r = int(group_rank)
    else:
        if rank is None:
            if default is None:
                raise ValueError("Must specify global_rank or group_rank")
            rank = default
        if rank not in pg.ranks:
            raise ValueError(
                f"{op}: invalid {name} rank {rank}: the group holds global ranks {pg.ranks}")
        r = pg.ranks.index(rank)
    if not 0 <= r < pg.size():
        raise ValueError(f"{op}: invalid root rank: {r} (group of size {pg.size()})")
    return r


def _mpi_op(op, a: np.ndarray, where: str):
    MPI = _mpi()
    try:
        op = RedOpType(op)
    except ValueError:
        raise ValueError(f"{where}: unknown reduce op {op!r}; use dist.ReduceOp") from None
    if op == RedOpType.AVG and a.dtype.kind not in "fc":
        raise ValueError(f"{where}: ReduceOp.AVG needs a floating tensor, got dtype {a.dtype}")
    if op in (RedOpType.MIN, RedOpType.MAX) and a.dtype.kind == "c":
        raise ValueError(f"{where}: ReduceOp.{op.name} is not defined for complex tensors")
    return {RedOpType.SUM: MPI.SUM, RedOpType.AVG: MPI.SUM, RedOpType.PRODUCT: MPI.PROD,
            RedOpType.MIN: MPI.MIN, RedOpType.MAX: MPI.MAX, RedOpType.BAND: MPI.BAND,
            RedOpType.BOR: MPI.BOR, RedOpType.BXOR: MPI.BXOR}[op]


def _average(op, a: np.ndarray, n: int):
    return (lambda: np.divide(a, n, out=a)) if RedOpType(op) == RedOpType.AVG else None


def _outside(group, op: str) -> bool:
    if group is GroupMember.NON_GROUP_MEMBER:
        warnings.warn(f"Running {op} on a rank which does not belong to the given group.",
                      stacklevel=3)
        return True
    return False


def all_reduce(tensor: Tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` across the group in place, so every rank holds the result.

    Example (2 ranks): ``t = cr.tensor([rank + 1.0]); dist.all_reduce(t)`` leaves ``t == [3.]``.
    """
    if _outside(group, "all_reduce"):
        return None
    pg = _group(group)
    a = _buf(tensor, "tensor", "all_reduce")
    mop = _mpi_op(op, a, "all_reduce")
    _check_match(pg, "all_reduce", a, red=int(op))
    req = pg.comm.Iallreduce(_mpi().IN_PLACE, a, mop)
    return _done(pg, "all_reduce", Work([req], pg, "all_reduce", _average(op, a, pg.size())),
                 async_op)


def broadcast(tensor: Tensor, src: int | None = None, group=None, async_op: bool = False,
              group_src: int | None = None):
    """Copy ``tensor`` of rank ``src`` into ``tensor`` on every rank of the group."""
    if _outside(group, "broadcast"):
        return None
    pg = _group(group)
    root = _root(pg, src, group_src, "src", "broadcast", None)
    a = _buf(tensor, "tensor", "broadcast")
    _check_match(pg, "broadcast", a, root)
    return _done(pg, "broadcast", Work([pg.comm.Ibcast(a, root)], pg, "broadcast"), async_op)


def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op: bool = False):
    """Gather ``tensor`` of every rank into ``tensor_list`` (one tensor per rank)."""
    if _outside(group, "all_gather"):
        return None
    pg = _group(group)
    a = _buf(tensor, "tensor", "all_gather")
    outs = _list(tensor_list, "tensor_list", "all_gather")
    _same_dtype("all_gather", a, *outs)
    if len(outs) != pg.size():
        raise RuntimeError(
            f"all_gather: invalid output tensor list (expected length {pg.size()}, one tensor per "
            f"rank, got {len(outs)})")
    for i, o in enumerate(outs):
        if o.shape != a.shape:
            raise RuntimeError(
                f"all_gather: invalid tensor size at index {i} (expected {tuple(a.shape)}, "
                f"got {tuple(o.shape)})")
    _check_match(pg, "all_gather", a)
    stage = np.empty((pg.size(),) + a.shape, a.dtype)

    def finish() -> None:
        for o, s in zip(outs, stage):
            o[...] = s

    req = pg.comm.Iallgather(a, stage)
    return _done(pg, "all_gather", Work([req], pg, "all_gather", finish), async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None,
                           async_op: bool = False):
    """Gather every rank's ``input_tensor`` into ``output_tensor``, concatenated along dim 0 (or
    stacked, when ``output_tensor`` has shape ``(world_size, *input.shape)``), zero-copy."""
    if _outside(group, "all_gather_into_tensor"):
        return None
    op = "all_gather_into_tensor"
    pg = _group(group)
    a = _buf(input_tensor, "input_tensor", op)
    out = _buf(output_tensor, "output_tensor", op)
    _same_dtype(op, a, out)
    n = pg.size()
    ok = [(n,) + a.shape]
    if a.ndim:
        ok.append((n * a.shape[0],) + a.shape[1:])
    if out.shape not in ok:
        raise ValueError(
            f"{op}: output tensor size must be equal to world_size times input tensor size "
            f"(output {tuple(out.shape)}, input {tuple(a.shape)}, world_size {n})")
    _check_match(pg, op, a)
    return _done(pg, op, Work([pg.comm.Iallgather(a, out)], pg, op), async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op=ReduceOp.SUM, group=None,
                          async_op: bool = False):
    """Reduce ``input`` across ranks, then give rank ``i`` the ``i``-th chunk of dim 0."""
    if _outside(group, "reduce_scatter_tensor"):
        return None
    name = "reduce_scatter_tensor"
    pg = _group(group)
    a = _buf(input, "input", name)
    out = _buf(output, "output", name)
    _same_dtype(name, a, out)
    mop = _mpi_op(op, a, name)
    if a.size != pg.size() * out.size:
        raise ValueError(
            f"{name}: input tensor must be the same size as output size times world size (input "
            f"{tuple(a.shape)}, output {tuple(out.shape)}, world_size {pg.size()})")
    _check_match(pg, name, a, red=int(op))
    req = pg.comm.Ireduce_scatter_block(a, out, mop)
    return _done(pg, name, Work([req], pg, name, _average(op, out, pg.size())), async_op)


def reduce(tensor: Tensor, dst: int | None = None, op=ReduceOp.SUM, group=None,
           async_op: bool = False, group_dst: int | None = None):
    """Reduce ``tensor`` across ranks into ``tensor`` of rank ``dst`` (the others keep theirs)."""
    if _outside(group, "reduce"):
        return None
    pg = _group(group)
    root = _root(pg, dst, group_dst, "dst", "reduce", None)
    a = _buf(tensor, "tensor", "reduce")
    mop = _mpi_op(op, a, "reduce")
    _check_match(pg, "reduce", a, root, int(op))
    MPI = _mpi()
    if pg.rank() == root:
        req = pg.comm.Ireduce(MPI.IN_PLACE, a, mop, root)
        post = _average(op, a, pg.size())
    else:
        req, post = pg.comm.Ireduce(a, None, mop, root), None
    return _done(pg, "reduce", Work([req], pg, "reduce", post), async_op)


def gather(tensor: Tensor, gather_list: list | None = None, dst: int | None = None, group=None,
           async_op: bool = False, group_dst: int | None = None):
    """Gather ``tensor`` of every rank into ``gather_list`` on rank ``dst`` (default 0)."""
    if _outside(group, "gather"):
        return None
    pg = _group(group)
    root = _root(pg, dst, group_dst, "dst", "gather", 0)
    a = _buf(tensor, "tensor", "gather")
    if pg.rank() == root:
        if not gather_list:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        outs = _list(gather_list, "gather_list", "gather")
        _same_dtype("gather", a, *outs)
        if len(outs) != pg.size() or any(o.shape != a.shape for o in outs):
            raise ValueError(
                f"gather: gather_list must hold {pg.size()} tensors of shape {tuple(a.shape)}, got "
                f"{[tuple(o.shape) for o in outs]}")
    elif gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    _check_match(pg, "gather", a, root)
    if pg.rank() != root:
        return _done(pg, "gather", Work([pg.comm.Igather(a, None, root)], pg, "gather"), async_op)
    stage = np.empty((pg.size(),) + a.shape, a.dtype)

    def finish() -> None:
        for o, s in zip(outs, stage):
            o[...] = s

    req = pg.comm.Igather(a, stage, root)
    return _done(pg, "gather", Work([req], pg, "gather", finish), async_op)


def scatter(tensor: Tensor, scatter_list: list | None = None, src: int | None = None, group=None,
            async_op: bool = False, group_src: int | None = None):
    """Give rank ``i`` the tensor ``scatter_list[i]`` of rank ``src`` (default 0), in
    ``tensor``."""
    if _outside(group, "scatter"):
        return None
    pg = _group(group)
    root = _root(pg, src, group_src, "src", "scatter", 0)
    a = _buf(tensor, "tensor", "scatter")
    stage = None
    if pg.rank() == root:
        if not scatter_list:
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
        ins = _list(scatter_list, "scatter_list", "scatter")
        _same_dtype("scatter", a, *ins)
        if len(ins) != pg.size() or any(i.shape != a.shape for i in ins):
            raise ValueError(
                f"scatter: scatter_list must hold {pg.size()} tensors of shape {tuple(a.shape)}, "
                f"got {[tuple(i.shape) for i in ins]}")
        stage = np.stack(ins)
    elif scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    _check_match(pg, "scatter", a, root)
    return _done(pg, "scatter", Work([pg.comm.Iscatter(stage, a, root)], pg, "scatter"), async_op)


def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None):
    """Block until every rank of the group has entered the barrier."""
    if _outside(group, "barrier"):
        return None
    pg = _group(group)
    _check_match(pg, "barrier", None)
    work = Work([pg.comm.Ibarrier()], pg, "barrier")
    if async_op:
        return work
    work.wait(timeout)
    return None


# ---- point to point: a small header (dtype, shape) travels before the payload, so a receive
# into a tensor of the wrong shape is named instead of truncating or reading garbage -----------

_HDR = 12


def _header(a: np.ndarray) -> np.ndarray:
    h = np.full(_HDR, -1, np.int64)
    h[0] = _DTYPES.index(a.dtype.name) if a.dtype.name in _DTYPES else len(_DTYPES)
    h[1] = a.ndim
    h[2:2 + min(a.ndim, 9)] = a.shape[:9]  # h[-1]: the sender's rank
    return h


def _peer(pg: ProcessGroup, rank, group_rank, name: str, op: str) -> int:
    r = _root(pg, rank, group_rank, name, op, None)
    if r == pg.rank():
        raise ValueError(
            f"Invalid {name} rank: {name} rank should not be the same as the rank of the current "
            "process.")
    return r


def isend(tensor: Tensor, dst: int | None = None, group=None, tag: int = 0,
          group_dst: int | None = None) -> Work | None:
    """Send ``tensor`` to rank ``dst`` without blocking; returns a Work."""
    if _outside(group, "isend"):
        return None
    pg = _group(group)
    peer = _peer(pg, dst, group_dst, "dst", "isend")
    a = _buf(tensor, "tensor", "isend")
    h = _header(a)
    h[-1] = pg.rank()
    MPI = _mpi()
    reqs = [pg.p2p_headers.Isend(h, peer, tag), pg.comm.Isend([a, MPI.BYTE], peer, tag)]
    return Work(reqs, pg, f"isend to rank {pg.ranks[peer]}")


class _RecvWork(Work):
    """A receive: the header (dtype, shape, sender) and the payload are posted together, so
    receives match sends in order; a payload of another size, or a header that disagrees with
    the receive tensor, is reported with both shapes."""

    def __init__(self, pg: ProcessGroup, a: np.ndarray, peer: int, tag: int, op: str) -> None:
        MPI = _mpi()
        self._h = np.empty(_HDR, np.int64)
        self._a = a
        hreq = pg.p2p_headers.Irecv(self._h, peer, tag)
        super().__init__([hreq, pg.comm.Irecv([a, MPI.BYTE], peer, tag)], pg, op)
        self._source = pg.ranks[peer]

    def _check(self) -> None:
        h, a = self._h, self._a
        mine = _header(a)
        if not np.array_equal(h[:-1], mine[:-1]):
            raise RuntimeError(
                f"{self._op}: rank {self._source} sends a tensor of shape "
                f"{[int(s) for s in h[2:2 + min(int(h[1]), 9)]]} and dtype {_num(h[0])}, but the "
                f"receive tensor has shape {list(a.shape)} and dtype {a.dtype}")

    def _finish_or_explain(self, step) -> bool:
        MPI = _mpi()
        try:
            done = step()
        except MPI.Exception:  # the payload did not fit: the header says what came
            _wait(self._reqs[:1], self._pg, self._op)
            self._check()
            raise
        if done:
            self._check()
            self._done = True
        return done

    def wait(self, timeout=None) -> bool:
        if not self._done:
            self._finish_or_explain(lambda: _wait(self._reqs, self._pg, self._op, timeout) or True)
        return True

    def is_completed(self) -> bool:
        if not self._done:
            _check_peers(self._op)
            self._finish_or_explain(lambda: _mpi().Request.Testall(self._reqs))
        return self._done


def irecv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0,
          group_src: int | None = None) -> Work | None:
    """Receive into ``tensor`` from rank ``src`` without blocking. With ``src=None`` (any rank)
    it first waits until some rank has sent, to learn which."""
    if _outside(group, "irecv"):
        return None
    pg = _group(group)
    MPI = _mpi()
    a = _buf(tensor, "tensor", "irecv")
    if src is None and group_src is None:
        st = MPI.Status()
        _wait_probe(pg, tag, st, "irecv from any rank")
        peer = st.Get_source()
    else:
        peer = _peer(pg, src, group_src, "src", "irecv")
    return _RecvWork(pg, a, peer, tag, f"irecv from rank {pg.ranks[peer]}")


def _num(code) -> str:
    return _DTYPES[code] if 0 <= code < len(_DTYPES) else "?"


def _wait_probe(pg: ProcessGroup, tag: int, st, op: str) -> None:
    MPI = _mpi()
    start, limit = time.perf_counter(), pg.timeout.total_seconds()
    while not pg.p2p_headers.Iprobe(MPI.ANY_SOURCE, tag, st):
        _check_peers(op)
        time.sleep(1e-4)
        if time.perf_counter() - start > limit:
            raise DistBackendError(f"{op} timed out after {limit:g} s: no rank sent a tensor")


def send(tensor: Tensor, dst: int | None = None, group=None, tag: int = 0,
         group_dst: int | None = None) -> None:
    """Send ``tensor`` to rank ``dst`` (blocks until the buffer may be reused)."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Receive into ``tensor`` from rank ``src`` (any when None); returns the sender's rank."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return work._source


# ---- for DistributedDataParallel: its buckets were checked once, at construction ------------

def _private_group(group) -> ProcessGroup:
    """A duplicate of ``group``'s communicator, so DDP's collectives never interleave with the
    user's (MPI matches collectives by order on a communicator)."""
    pg = _group(group)
    return ProcessGroup(pg.comm.Dup(), list(pg.ranks), pg.timeout)


def _iallreduce_sum(a: np.ndarray, pg: ProcessGroup, what: str) -> Work:
    return Work([pg.comm.Iallreduce(_mpi().IN_PLACE, a, _mpi().SUM)], pg, what)


def _ibcast_root0(a: np.ndarray, pg: ProcessGroup, what: str) -> Work:
    return Work([pg.comm.Ibcast(a, 0)], pg, what)


def _allgather_object(obj, pg: ProcessGroup) -> list:
    return pg.comm.allgather(obj)
