"""``RemovableHandle``: what every ``register_*hook`` returns (tensors, nodes, modules)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

_handle_ids = itertools.count()


class RemovableHandle:
    """Returned by every ``register_*hook``; ``remove()`` unregisters the hook."""

    __slots__ = ("_store", "id")

    def __init__(self, store: dict, hook: Callable) -> None:
        self._store = store
        self.id = next(_handle_ids)
        store[self.id] = hook

    def remove(self) -> None:
        self._store.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
