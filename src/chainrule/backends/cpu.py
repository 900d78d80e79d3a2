"""``chainrule.backends.cpu``: the CPU, the one device chainrule computes on."""


def get_cpu_capability() -> str:
    return "DEFAULT"
