"""Rule-table rows: convolution and pooling."""

from __future__ import annotations
