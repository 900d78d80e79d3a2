"""Op database: loss."""

OPS = []
