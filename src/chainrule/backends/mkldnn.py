"""``chainrule.backends.mkldnn``: oneDNN is not used (NumPy kernels); the flag is kept."""

enabled = True


def is_available() -> bool:
    return False
