"""``chainrule.nn.parallel``: ``DistributedDataParallel`` over ``chainrule.distributed``."""

from __future__ import annotations

from .distributed import DistributedDataParallel, consume_prefix_in_state_dict_if_present

__all__ = ["DistributedDataParallel", "consume_prefix_in_state_dict_if_present"]
