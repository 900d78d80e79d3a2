"""``chainrule.device``: torch's device object, for scripts written for torch. The CPU is the only
device chainrule computes on (its arrays are NumPy's); any other device can be named, as in torch,
but putting a tensor or a module there fails with torch's error, naming chainrule.

Example:
    >>> dev = chainrule.device("cuda" if chainrule.cuda.is_available() else "cpu")
    >>> dev
    device(type='cpu')
    >>> chainrule.zeros(2, device=dev).device
    device(type='cpu')
"""

from __future__ import annotations

import builtins
import re

# the device types torch's parser knows (its error message lists them in this order)
_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
          "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")
_SPEC = re.compile(r"([a-zA-Z_]+)(?::(0|[1-9][0-9]*))?")


class device:
    """A device: ``type`` ("cpu", "cuda" …) and ``index`` (None or an int), as ``torch.device``.

    ``device("cuda:1")``, ``device("cuda", 1)`` and ``device(other_device)`` all work; only the CPU
    holds tensors.
    """

    __slots__ = ("_type", "_index")

    def __init__(self, type, index: int | None = None) -> None:  # noqa: A002  (torch's name)
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): a device object takes no index")
            self._type, self._index = type._type, type._index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            # torch: an int names the current accelerator, and there is none here
            raise RuntimeError("Cannot access accelerator device when none is available. "
                               "(chainrule runs on the CPU only)")
        if not isinstance(type, str):
            raise TypeError("device() received an invalid combination of arguments: expected a "
                            f"string, a device or an int, got {builtins.type(type).__name__}")
        m = _SPEC.fullmatch(type)
        if m is None:
            raise RuntimeError(f"Invalid device string: '{type}'")
        kind, idx = m.group(1), m.group(2)
        if kind not in _TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_TYPES)} device type at start of "
                               f"device string: {type}")
        if idx is not None and index is not None:
            raise RuntimeError(f"type (string) must not include an index because index was passed "
                               f"explicitly: {type}")
        if index is not None:
            if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                raise RuntimeError(f"Device index must not be negative (got {index!r})")
        self._type = kind
        self._index = int(idx) if idx is not None else index

    @property
    def type(self) -> str:  # noqa: A003
        return self._type

    @property
    def index(self) -> int | None:
        return self._index

    def __eq__(self, other) -> bool:
        # as torch: a device equals only a device (``device("cpu") == "cpu"`` is False)
        if not isinstance(other, device):
            return False
        return (self._type, self._index) == (other._type, other._index)

    def __ne__(self, other) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((self._type, self._index))

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __reduce__(self):
        return (device, (self._type, self._index))

    # ``with chainrule.device("cpu"):`` is the default device anyway
    def __enter__(self) -> device:
        check(self)
        return self

    def __exit__(self, *exc) -> None:
        return None


CPU = device("cpu")


def check(dev, what: str = "") -> device:
    """The device ``dev`` names (a device, a string, or None for the CPU), refusing every device
    but the CPU with torch's error for it."""
    if dev is None:
        return CPU
    d = dev if isinstance(dev, device) else device(dev)
    if d._type == "cpu":
        return CPU
    where = f" ({what}: device={str(d)!r})" if what else f" (device={str(d)!r})"
    if d._type == "cuda":
        raise AssertionError("Torch not compiled with CUDA enabled: chainrule runs on the CPU "
                             "only (NumPy arrays); use device='cpu'" + where)
    raise RuntimeError(f"PyTorch is not linked with support for {d._type} devices: chainrule runs "
                       "on the CPU only (NumPy arrays); use device='cpu'" + where)


def is_device(a) -> bool:
    """Whether a positional argument of ``.to(...)`` names a device (a device or its string)."""
    if isinstance(a, device):
        return True
    if isinstance(a, str):
        m = _SPEC.fullmatch(a)
        return m is not None and m.group(1) in _TYPES
    return False
