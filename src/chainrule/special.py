"""``chainrule.special``: special functions the rule table registers under ``ns="special"``."""

from __future__ import annotations

from .ops import NAMESPACES as _NS

globals().update(_NS["special"])
