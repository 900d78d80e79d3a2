"""Op database: inplace."""

OPS = []
