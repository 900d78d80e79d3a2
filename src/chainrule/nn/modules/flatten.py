"""``chainrule.nn.modules.flatten``: torch's module path for ``Flatten``, ``Unflatten``."""

from .linear import Flatten, Unflatten  # noqa: F401

__all__ = ["Flatten", "Unflatten"]
