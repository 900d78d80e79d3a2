"""The MPI process group behind ``chainrule.distributed``: start-up, groups, work handles, and the
failure channel that turns a crashed or stuck rank into a clear error on every other rank.

MPI (through ``mpi4py``) is imported only when a process group is created, so the package works
without it; ``pip install "chainrule[distributed]"`` brings ``mpi4py`` and MPICH's wheel.
"""

from __future__ import annotations

import enum
import os
import sys
import time
import traceback
from datetime import timedelta
from importlib.util import find_spec
from collections.abc import Callable
from typing import Any

import numpy as np

default_pg_timeout = timedelta(minutes=30)

# tags on the private failure communicator
_FAIL, _ACK = 1, 2


class DistError(RuntimeError):
    """Raised when an error occurs in the distributed library (as ``torch.distributed``)."""

    __module__ = "chainrule.distributed"


class DistBackendError(DistError):
    """Raised when communication fails: a peer rank failed, or a collective timed out."""

    __module__ = "chainrule.distributed"

    # failed_rank: set when this rank stopped because that other rank failed
    def __init__(self, msg: str, failed_rank: int | None = None) -> None:
        super().__init__(msg)
        self.failed_rank = failed_rank


class RedOpType(enum.IntEnum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7


class ReduceOp:
    """Reduction operations for ``all_reduce``, ``reduce`` and ``reduce_scatter_tensor``."""

    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
    RedOpType = RedOpType


def is_available() -> bool:
    """True when the MPI backend can be used (``mpi4py`` is installed); does not start MPI."""
    try:
        return find_spec("mpi4py") is not None
    except (ImportError, ValueError):  # blocked or half-imported
        return False


is_mpi_available = is_available


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:  # mpi4py missing, or installed without an MPI library
        raise RuntimeError(
            "chainrule.distributed needs MPI: pip install \"chainrule[distributed]\" (brings "
            "mpi4py and MPICH), then launch with mpiexec -n N or python -m "
            f"chainrule.distributed.run ({type(e).__name__}: {e})"
        ) from e
    return MPI


class ProcessGroup:
    """A set of ranks with its own MPI communicator; ``rank()``/``size()`` as torch's."""

    def __init__(self, comm, ranks: list[int], timeout: timedelta) -> None:
        self.comm = comm
        self.p2p_headers = comm.Dup()  # send/recv headers travel apart from the payloads
        self.ranks = ranks  # global ranks, in group-rank order
        self.timeout = timeout
        self._rank = comm.Get_rank()
        self._size = comm.Get_size()
        self.seq = 0  # collectives run so far (part of the mismatch check)

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._size

    def name(self) -> str:
        return "mpi"

    def __repr__(self) -> str:
        return f"ProcessGroup(backend='mpi', ranks={self.ranks})"


class GroupMember:
    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = object()


class _State:
    fail_comm = None  # a duplicate of COMM_WORLD that carries failure notices only
    world_rank = 0
    world_size = 1
    prev_hook: Any = None
    failed: list = []  # requests of notices sent, kept alive until exit
    groups: list = []


_S = _State()


def is_initialized() -> bool:
    """True when the default process group was initialized."""
    return GroupMember.WORLD is not None


def _default_group() -> ProcessGroup:
    if GroupMember.WORLD is None:
        raise ValueError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return GroupMember.WORLD


def _group(group) -> ProcessGroup:
    if group is None:
        return _default_group()
    if group is GroupMember.NON_GROUP_MEMBER or not isinstance(group, ProcessGroup):
        raise ValueError("Invalid process group specified")
    if group.comm is None:
        raise ValueError("Invalid process group specified or has been destroyed.")
    return group


def _env_int(name: str) -> int | None:
    v = os.environ.get(name)
    return None if v in (None, "") else int(v)


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: timedelta | None = None, world_size: int = -1, rank: int = -1,
                       store=None, group_name: str = "", pg_options=None, device_id=None) -> None:
    """Start the default process group on MPI: rank and world size come from the MPI launcher
    (``mpiexec -n N``); ``env://`` variables (``RANK``, ``WORLD_SIZE``) and the ``rank`` and
    ``world_size`` arguments are accepted and must agree with it.

    Example (under ``mpiexec -n 2 python script.py``):
        >>> import chainrule.distributed as dist
        >>> dist.init_process_group("mpi")
        >>> dist.get_world_size()
        2
    """
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if backend not in (None, "mpi", "MPI"):
        raise ValueError(
            f"chainrule.distributed runs on MPI only: backend must be 'mpi' (or None), got "
            f"{backend!r}; a torch script using {backend!r} works with backend='mpi' unchanged"
        )
    if init_method not in (None, "env://"):
        raise ValueError(
            f"init_method={init_method!r}: with the MPI backend the launcher (mpiexec) connects "
            "the ranks; use init_method=None or 'env://'"
        )
    if timeout is not None and not isinstance(timeout, timedelta):
        raise TypeError(
            f"Expected timeout argument to be of type datetime.timedelta, got {timeout}")
    MPI = _mpi()
    world = MPI.COMM_WORLD
    r, n = world.Get_rank(), world.Get_size()
    for what, given in (("rank", rank if rank >= 0 else _env_int("RANK")),
                        ("world_size", world_size if world_size > 0 else _env_int("WORLD_SIZE"))):
        mpi_value = r if what == "rank" else n
        if given is not None and given != mpi_value:
            raise ValueError(
                f"init_process_group: {what}={given} (from the argument or the environment) but "
                f"MPI says {what} is {mpi_value}; launch N processes with mpiexec -n N or "
                "python -m chainrule.distributed.run --nproc N"
            )
    _S.world_rank, _S.world_size = r, n
    # torch launchers export these; scripts written for torchrun read them
    os.environ.setdefault("RANK", str(r))
    os.environ.setdefault("WORLD_SIZE", str(n))
    local = world.Split_type(MPI.COMM_TYPE_SHARED)
    os.environ.setdefault("LOCAL_RANK", str(local.Get_rank()))
    os.environ.setdefault("LOCAL_WORLD_SIZE", str(local.Get_size()))
    local.Free()
    _S.fail_comm = world.Dup()
    GroupMember.WORLD = ProcessGroup(world.Dup(), list(range(n)), timeout or default_pg_timeout)
    _S.prev_hook = sys.excepthook
    sys.excepthook = _excepthook


def destroy_process_group(group=None) -> None:
    """Free a group's communicator; without ``group``, every group and the default one."""
    if group is None:
        for g in [*_S.groups, GroupMember.WORLD]:
            if g is not None and g.comm is not None:
                g.comm.Free()
                g.p2p_headers.Free()
                g.comm = None
        _S.groups = []
        if _S.fail_comm is not None:
            _S.fail_comm.Free()
            _S.fail_comm = None
        GroupMember.WORLD = None
        if _S.prev_hook is not None:
            sys.excepthook = _S.prev_hook
            _S.prev_hook = None
        return
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    g = _group(group)
    g.comm.Free()
    g.p2p_headers.Free()
    g.comm = None


def new_group(ranks=None, timeout: timedelta | None = None, backend=None, pg_options=None,
              use_local_synchronization: bool = False, group_desc=None):
    """A group of the given global ranks (all ranks must call this, as torch). Ranks outside it
    get ``GroupMember.NON_GROUP_MEMBER``."""
    world = _default_group()
    ranks = sorted(range(world.size()) if ranks is None else ranks)
    for x in ranks:
        if not 0 <= x < world.size():
            raise ValueError(
                f"new_group: rank {x} is out of range for a world of size {world.size()}")
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"new_group: ranks contain duplicates: {ranks}")
    comm = world.comm.Create(world.comm.Get_group().Incl(ranks))
    if comm == _mpi().COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    g = ProcessGroup(comm, ranks, timeout or world.timeout)
    _S.groups.append(g)
    return g


def get_rank(group=None) -> int:
    """This process's rank in ``group`` (the default group without it); -1 outside the group."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _group(group).rank()


def get_world_size(group=None) -> int:
    """The number of processes in ``group``; -1 outside the group."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _group(group).size()


def get_backend(group=None) -> str:
    _group(group)
    return "mpi"


def get_process_group_ranks(group) -> list[int]:
    return list(_group(group).ranks)


def get_group_rank(group, global_rank: int) -> int:
    g = _group(group)
    if global_rank not in g.ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {g}")
    return g.ranks.index(global_rank)


def get_global_rank(group, group_rank: int) -> int:
    g = _group(group)
    if not 0 <= group_rank < len(g.ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {g}")
    return g.ranks[group_rank]


# ---- waiting, with failure and timeout detection -------------------------------------------

def _check_peers(op: str) -> None:
    """Raise if another rank announced a failure (one cheap probe when none did)."""
    fc = _S.fail_comm
    if fc is None:
        return
    MPI = _mpi()
    st = MPI.Status()
    if fc.Iprobe(source=MPI.ANY_SOURCE, tag=_FAIL, status=st):
        src = st.Get_source()
        what = fc.recv(source=src, tag=_FAIL)
        raise DistBackendError(
            f"{op} on rank {_S.world_rank} aborted: rank {src} failed with {what} "
            f"(its traceback is printed by rank {src})", failed_rank=src)


def _wait(reqs: list, pg: ProcessGroup, op: str, timeout: timedelta | None = None) -> None:
    """Complete MPI requests, polling the failure channel; never hangs past the timeout."""
    MPI = _mpi()
    if MPI.Request.Testall(reqs):
        return
    limit = (timeout or pg.timeout).total_seconds()
    start = time.perf_counter()
    spins = 0
    pause = 0.0
    while not MPI.Request.Testall(reqs):
        _check_peers(op)
        spins += 1
        if spins < 200:
            os.sched_yield()  # let a rank sharing this core run (4 ranks on 2 cores)
            continue
        pause = min(1e-3, pause + 2e-5)
        time.sleep(pause)
        if time.perf_counter() - start > limit:
            raise DistBackendError(
                f"{op} timed out after {limit:g} s on rank {_S.world_rank} (group of "
                f"{pg.size()}, collective #{pg.seq}): not every rank of {pg.ranks} entered it; "
                "a rank is stuck, skipped this call, or runs a different sequence of collectives")


class Work:
    """The handle of an asynchronous operation (``async_op=True``): ``wait()``,
    ``is_completed()``."""

    def __init__(self, reqs: list, pg: ProcessGroup, op: str,
                 finish: Callable[[], None] | None = None, result: list | None = None) -> None:
        self._reqs = reqs
        self._pg = pg
        self._op = op
        self._finish = finish
        self._done = False
        self._result = result or []
        self._source = -1

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()
            self._finish = None

    def wait(self, timeout: timedelta | None = None) -> bool:
        if not self._done:
            _wait(self._reqs, self._pg, self._op, timeout)
            self._complete()
        return True

    def is_completed(self) -> bool:
        if not self._done:
            _check_peers(self._op)
            if _mpi().Request.Testall(self._reqs):
                self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def exception(self):
        return None

    def result(self) -> list:
        self.wait()
        return self._result

    def source_rank(self) -> int:
        self.wait()
        return self._source

    def synchronize(self) -> None:
        self.wait()


def _done(pg: ProcessGroup, op: str, work: Work, async_op: bool):
    if async_op:
        return work
    work.wait()
    return None


# ---- the mismatch check: every rank shows the others what it is about to run ------------

_OPS = ["all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "reduce_scatter_tensor",
        "reduce", "gather", "scatter", "barrier"]
_DTYPES = ["float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool",
           "complex64", "complex128"]
_FP = 16  # fingerprint: seq, op, root, reduce op, dtype, ndim, numel, shape[:9]


def _fingerprint(pg: ProcessGroup, op: str, arr: np.ndarray | None, root: int,
                 red: int) -> np.ndarray:
    fp = np.full(_FP, -1, np.int64)
    fp[:4] = pg.seq, _OPS.index(op), root, red
    if arr is not None:
        fp[4] = _DTYPES.index(arr.dtype.name) if arr.dtype.name in _DTYPES else len(_DTYPES)
        fp[5] = arr.ndim
        fp[6] = arr.size
        fp[7:7 + min(arr.ndim, 9)] = arr.shape[:9]
    return fp


def _describe(fp: np.ndarray) -> str:
    op = _OPS[fp[1]] if 0 <= fp[1] < len(_OPS) else "?"
    if fp[4] < 0:
        return f"{op}(SequenceNumber={fp[0]})"
    shape = [int(s) for s in fp[7:7 + min(int(fp[5]), 9)]]
    extra = f", root={fp[2]}" if fp[2] >= 0 else ""
    extra += f", op={RedOpType(int(fp[3])).name}" if fp[3] >= 0 else ""
    dt = _DTYPES[fp[4]] if fp[4] < len(_DTYPES) else "?"
    return f"{op}(SequenceNumber={fp[0]}, TensorShape={shape}, TensorDtype={dt}{extra})"


def _check_match(pg: ProcessGroup, op: str, arr: np.ndarray | None, root: int = -1,
                 red: int = -1) -> None:
    """Detect ranks running different collectives or shapes before the payload moves (a
    mismatched MPI collective is undefined: wrong numbers or a hang). One small all-gather;
    ``CHAINRULE_DISTRIBUTED_CHECK=0`` turns it off."""
    pg.seq += 1
    if pg.size() == 1 or _CHECK[0] is False:
        return
    mine = _fingerprint(pg, op, arr, root, red)
    every = np.empty((pg.size(), _FP), np.int64)
    _wait([pg.comm.Iallgather(mine, every)], pg, op)
    bad = np.nonzero((every != every[0]).any(axis=1))[0]
    if bad.size:
        j = int(bad[0])
        raise RuntimeError(
            f"Detected mismatch between collectives on ranks. Rank {pg.ranks[0]} is running "
            f"collective: {_describe(every[0])}, but Rank {pg.ranks[j]} is running collective: "
            f"{_describe(every[j])}")


_CHECK = [os.environ.get("CHAINRULE_DISTRIBUTED_CHECK", "1") != "0"]


# ---- a rank that raises tells the others, so they stop with its name instead of hanging -----

def _excepthook(tp, value, tb) -> None:
    n, r = _S.world_size, _S.world_rank
    peer = isinstance(value, DistBackendError) and value.failed_rank is not None
    why = f"stopped because rank {value.failed_rank} failed" if peer else "failed"
    # one write, so the ranks' reports do not interleave on a shared stderr
    sys.stderr.write(f"[rank {r}] chainrule.distributed: rank {r} of {n} {why}:\n"
                     + "".join(traceback.format_exception(tp, value, tb)))
    sys.stderr.flush()
    sys.stdout.flush()
    fc = _S.fail_comm
    if fc is not None and n > 1:
        MPI = _mpi()
        if peer:
            fc.send(r, dest=value.failed_rank, tag=_ACK)
        else:
            what = f"{tp.__name__}: {value}"
            reqs = [fc.isend(what, dest=j, tag=_FAIL) for j in range(n) if j != r]
            # wait until the others have reported (or a grace period), so the launcher does not
            # kill them before they print which rank failed
            acked, start = set(), time.perf_counter()
            st = MPI.Status()
            while len(acked) < n - 1 and time.perf_counter() - start < 5.0:
                if fc.Iprobe(source=MPI.ANY_SOURCE, tag=_ACK, status=st):
                    acked.add(fc.recv(source=st.Get_source(), tag=_ACK))
                elif fc.Iprobe(source=MPI.ANY_SOURCE, tag=_FAIL, status=st):
                    src = st.Get_source()  # another rank failed on its own too
                    fc.recv(source=src, tag=_FAIL)
                    fc.send(r, dest=src, tag=_ACK)
                    acked.add(src)
                else:
                    time.sleep(1e-3)
            _S.failed = reqs
            time.sleep(0.2)
    os._exit(1)



_POLL = [float(os.environ.get("CHAINRULE_DDP_POLL_S", "2e-4"))]


class _Progress:
    """Drives non-blocking operations from a helper thread. MPI moves a non-blocking collective
    forward only inside MPI calls; this thread makes them while the main thread computes (NumPy
    releases the GIL in BLAS and most kernels), so the communication really overlaps the work.
    The main thread must leave the works it hands over alone until ``wait_all``."""

    def __init__(self, pg: ProcessGroup) -> None:
        import threading

        self._pg = pg
        self._works: list[Work] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._threading = threading
        self._thread = None

    def add(self, work: Work) -> None:
        with self._lock:
            self._works.append(work)
        if self._thread is None or not self._thread.is_alive():
            self._stop = False
            self._thread = self._threading.Thread(target=self._run, daemon=True,
                                                  name="chainrule-ddp-progress")
            self._thread.start()

    def _run(self) -> None:
        MPI = _mpi()
        while not self._stop:
            with self._lock:
                todo = [w for w in self._works if not w._done]
            if not todo:
                return
            for w in todo:
                if MPI.Request.Testall(w._reqs):
                    w._done = True
            time.sleep(_POLL[0])

    def wait_all(self, op: str) -> None:
        """Wait until every handed-over work is complete (failure and timeout checks as _wait)."""
        limit = self._pg.timeout.total_seconds()
        start = time.perf_counter()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(2e-4)
                _check_peers(op)
                if time.perf_counter() - start > limit:
                    raise DistBackendError(
                        f"{op} timed out after {limit:g} s on rank {_S.world_rank}: not every "
                        f"rank of {self._pg.ranks} took part (a rank is stuck or skipped backward)")
        finally:
            self._stop = True
        with self._lock:
            works, self._works = self._works, []
        for w in works:
            if not w._done:
                _wait(w._reqs, w._pg, w._op)
            w._complete()
