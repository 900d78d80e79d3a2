"""``chainrule.backends.mps``: no Apple GPU backend (chainrule runs on the CPU)."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
