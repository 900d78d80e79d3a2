"""``chainrule.cuda``: there is no GPU here (chainrule computes with NumPy on the CPU), so
this is torch's ``torch.cuda`` of a build without CUDA: ``is_available()`` is False,
``device_count()`` is 0, seeding is a no-op, and anything that needs a GPU fails with torch's
error, naming chainrule.

Example:
    >>> chainrule.cuda.is_available()
    False
"""

from __future__ import annotations


def _unavailable(what: str):
    raise AssertionError(f"Torch not compiled with CUDA enabled: chainrule runs on the CPU only "
                         f"(NumPy arrays), so torch.cuda.{what}() is unavailable")


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


# torch silently ignores CUDA seeding when there is no GPU (scripts call it unconditionally)
def manual_seed(seed: int) -> None:
    return None


def manual_seed_all(seed: int) -> None:
    return None


def seed() -> None:
    return None


def seed_all() -> None:
    return None


def empty_cache() -> None:
    return None


def init() -> None:
    _unavailable("init")


def current_device() -> int:
    _unavailable("current_device")


def set_device(device) -> None:
    _unavailable("set_device")


def synchronize(device=None) -> None:
    _unavailable("synchronize")


def get_device_name(device=None) -> str:
    _unavailable("get_device_name")


def get_device_properties(device=None):
    _unavailable("get_device_properties")


def get_device_capability(device=None):
    _unavailable("get_device_capability")


def memory_allocated(device=None) -> int:
    _unavailable("memory_allocated")


def max_memory_allocated(device=None) -> int:
    _unavailable("max_memory_allocated")


from . import amp  # noqa: E402,F401  (torch.cuda.amp: GradScaler/autocast, disabled without CUDA)
