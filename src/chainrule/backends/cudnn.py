"""``chainrule.backends.cudnn``: flags scripts set (kept, without effect: there is no cuDNN)."""

enabled = True
deterministic = False
benchmark = False
benchmark_limit = 10
allow_tf32 = True


def is_available() -> bool:
    return False


def version() -> None:
    return None
