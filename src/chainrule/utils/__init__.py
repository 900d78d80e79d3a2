"""``chainrule.utils``: data loading (``utils._array``) and other helpers."""

from . import data  # noqa: F401
