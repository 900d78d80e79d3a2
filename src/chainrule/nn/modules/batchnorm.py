"""``chainrule.nn.modules.batchnorm``: torch's module path for ``BatchNorm1d``, ``BatchNorm2d``."""

from .normalization import BatchNorm1d, BatchNorm2d  # noqa: F401

__all__ = ["BatchNorm1d", "BatchNorm2d"]
