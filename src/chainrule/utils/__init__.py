"""``chainrule.utils``: data loading (``utils.data``) and other helpers."""

from . import data  # noqa: F401
