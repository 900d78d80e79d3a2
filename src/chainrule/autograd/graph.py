"""``chainrule.autograd.graph``, torch's public module: graph nodes, saved-tensor hooks and the
memory report, assembled from the files that hold them."""

from __future__ import annotations

from .._hooks import RemovableHandle
from .memory import MemoryReport, memory
from .node import AccumulateGrad, Node, accumulate_node
from .saved_tensors import (
    PackedNode,
    disable_saved_tensors_hooks,
    save_on_cpu,
    save_to_disk,
    saved_tensors_hooks,
)

__all__ = ["AccumulateGrad", "MemoryReport", "Node", "PackedNode", "RemovableHandle",
           "accumulate_node", "disable_saved_tensors_hooks", "memory", "save_on_cpu",
           "save_to_disk", "saved_tensors_hooks"]
