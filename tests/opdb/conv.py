"""Op database: conv."""

OPS = []
