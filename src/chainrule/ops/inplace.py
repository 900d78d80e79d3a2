"""Rule-table rows: in-place ops and their version-counter bookkeeping."""

from __future__ import annotations
