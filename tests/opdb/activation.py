"""Op database: activation."""

OPS = []
