"""Rule-table rows: activation functions (also in chainrule.nn.functional)."""

from __future__ import annotations
