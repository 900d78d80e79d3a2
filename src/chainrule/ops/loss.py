"""Rule-table rows: loss functions."""

from __future__ import annotations
