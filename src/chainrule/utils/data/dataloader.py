"""``chainrule.utils.data.dataloader``: torch's module path for ``DataLoader``."""

from __future__ import annotations

from . import DataLoader, default_collate  # noqa: F401


def get_worker_info() -> None:
    """None: chainrule's DataLoader loads in the main process (as torch's with
    ``num_workers=0``, where this also returns None)."""
    return None


__all__ = ["DataLoader", "default_collate", "get_worker_info"]
