"""``chainrule.backends.openmp``: chainrule does not use OpenMP itself."""


def is_available() -> bool:
    return False
