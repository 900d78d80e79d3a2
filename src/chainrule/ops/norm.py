"""Rule-table rows: normalization layers' functions (layer_norm, batch_norm, group_norm …)."""

from __future__ import annotations
