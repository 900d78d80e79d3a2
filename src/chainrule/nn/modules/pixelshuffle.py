"""``chainrule.nn.modules.pixelshuffle``: torch's module path of
``PixelShuffle``, ``PixelUnshuffle``."""

from .extra import PixelShuffle, PixelUnshuffle  # noqa: F401

__all__ = ["PixelShuffle", "PixelUnshuffle"]
