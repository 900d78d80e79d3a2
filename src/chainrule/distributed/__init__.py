"""``chainrule.distributed``: ``torch.distributed``'s API for data-parallel training, on MPI.

Launch N processes with ``mpiexec -n N python train.py`` or
``python -m chainrule.distributed.run --nproc N train.py``; ``pip install "chainrule[distributed]"``
brings ``mpi4py`` and MPICH. Without MPI the package imports and ``is_available()`` is False.

Example (under ``mpiexec -n 2``):
    >>> import chainrule as cr, chainrule.distributed as dist
    >>> dist.init_process_group("mpi")
    >>> t = cr.tensor([dist.get_rank() + 1.0])
    >>> dist.all_reduce(t)
    >>> t
    tensor([3.])
"""

from __future__ import annotations

from ._backend import (DistBackendError, DistError, GroupMember, ProcessGroup, ReduceOp, Work,
                       default_pg_timeout, destroy_process_group, get_backend, get_global_rank,
                       get_group_rank, get_process_group_ranks, get_rank, get_world_size,
                       init_process_group, is_available, is_initialized, is_mpi_available,
                       new_group)
from ._collectives import (all_gather, all_gather_into_tensor, all_reduce, barrier, broadcast,
                           gather, irecv, isend, recv, reduce, reduce_scatter_tensor, scatter, send)
from ._objects import all_gather_object, broadcast_object_list

group = GroupMember

__all__ = [
    "init_process_group", "destroy_process_group", "is_initialized", "is_available",
    "is_mpi_available", "get_rank", "get_world_size", "get_backend", "new_group", "group",
    "GroupMember", "ProcessGroup", "ReduceOp", "Work", "DistError", "DistBackendError",
    "get_process_group_ranks", "get_group_rank", "get_global_rank", "default_pg_timeout",
    "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "reduce_scatter_tensor",
    "reduce", "gather", "scatter", "send", "recv", "isend", "irecv", "barrier",
    "all_gather_object", "broadcast_object_list",
]
