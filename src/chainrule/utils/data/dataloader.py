"""``chainrule.utils.data.dataloader``: torch's module path for ``DataLoader``."""

from . import DataLoader, default_collate  # noqa: F401

__all__ = ["DataLoader", "default_collate"]
