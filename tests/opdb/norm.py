"""Op database: norm."""

OPS = []
