"""``chainrule.nn.modules.fold``: torch's module path for ``Fold``, ``Unfold``."""

from .extra import Fold, Unfold  # noqa: F401

__all__ = ["Fold", "Unfold"]
