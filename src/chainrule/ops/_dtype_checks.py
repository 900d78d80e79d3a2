"""Dtype checks shared by composite functions (rule-table rows get theirs from the dispatcher's
dtype policy: ``dtype="floating"``, ``"linalg"``, ``"match"``)."""

from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor


def floating(op: str, *tensors, exc: type = NotImplementedError, msg: str | None = None) -> None:
    """Raise as torch does when ``op`` has no kernel for the promoted dtype of ``tensors``
    (integers and bool): ``"mse_loss" not implemented for 'Long'``."""
    arrays = [t._array for t in tensors if isinstance(t, Tensor)]
    rt = _dtype.result_type(arrays)
    if rt is None or rt.kind == "f":
        return
    shapes = ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in arrays)
    text = msg or f"\"{op}\" not implemented for '{_dtype.torch_name(rt)}'"
    raise exc(f"{text} (inputs: {shapes})")


def same_dtype(op: str, *tensors) -> None:
    """Raise torch's RuntimeError when tensors that one kernel consumes differ in dtype."""
    dts = [t._array.dtype for t in tensors if isinstance(t, Tensor)]
    for d in dts[1:]:
        if d != dts[0]:
            a, b = (_dtype.C_NAME.get(x.name, x.name) for x in (dts[0], d))
            raise RuntimeError(
                f"{op}(): expected all tensors to have the same dtype, but got: {a} != {b}"
            )


def is_integral(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind in "biu"


def require_tensor(op: str, x, name: str = "input", pos: int = 1) -> None:
    """torch's TypeError for a non-Tensor where a function wants one (``nn.Linear(ndarray)``)."""
    if not isinstance(x, Tensor):
        t = type(x)
        what = f"{t.__module__}.{t.__name__}" if isinstance(x, np.ndarray) else t.__name__
        raise TypeError(f"{op}(): argument '{name}' (position {pos}) must be Tensor, not {what}")
