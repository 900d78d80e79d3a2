"""``chainrule.nn.modules.instancenorm``: torch's module path for the instance norms."""

from .normalization import InstanceNorm1d, InstanceNorm2d  # noqa: F401

__all__ = ["InstanceNorm1d", "InstanceNorm2d"]
