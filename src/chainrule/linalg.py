"""``chainrule.linalg``: the linear-algebra functions the rule table registers under ``ns="linalg"``."""

from __future__ import annotations

from .ops import NAMESPACES as _NS, PUBLIC as _PUBLIC

if "matmul" in _PUBLIC:
    matmul = _PUBLIC["matmul"]
globals().update(_NS["linalg"])
