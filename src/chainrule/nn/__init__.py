"""``chainrule.nn``: modules built only on the public Tensor API (see issue: nn, optim, data)."""

from __future__ import annotations

from . import functional  # noqa: F401
