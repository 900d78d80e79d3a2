"""``chainrule.utils.data.distributed``: torch's module path for ``DistributedSampler``."""

from . import DistributedSampler  # noqa: F401
