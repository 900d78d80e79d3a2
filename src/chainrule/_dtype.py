"""Dtypes as torch names them, and torch's type promotion rules."""

from __future__ import annotations

import numpy as np


class dtype:
    """A tensor element type (``chainrule.float32`` …), wrapping a NumPy dtype."""

    __slots__ = ("name", "np", "is_floating_point", "is_complex", "is_signed", "itemsize", "_cat")

    def __init__(self, name: str, np_dtype, cat: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self._cat = cat  # 0 bool, 1 integer, 2 floating
        self.is_floating_point = cat == 2
        self.is_complex = False
        self.is_signed = self.np.kind in "if"
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        return f"chainrule.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_complex(self):  # pragma: no cover - complex dtypes are not supported
        raise TypeError("chainrule has no complex dtypes")


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_FROM_NP: dict = {d.np: d for d in ALL}
_NAMES = {d.name: d for d in ALL}
_NAMES.update(float=float32, double=float64, half=float16, long=int64, int=int32, short=int16)


def _by_name(name: str) -> dtype:
    return _NAMES[name]


def from_np(npd) -> dtype:
    """The chainrule dtype of a NumPy dtype; TypeError for unsupported ones."""
    try:
        return _FROM_NP[npd]
    except KeyError:
        d = np.dtype(npd)
        if d in _FROM_NP:
            return _FROM_NP[d]
        raise TypeError(f"chainrule does not support NumPy dtype {d}") from None


def to_np(d) -> np.dtype:
    """NumPy dtype for a chainrule dtype, a NumPy dtype, or a Python type (float → default)."""
    if isinstance(d, dtype):
        return d.np
    if d is float:
        return _default[0].np
    if d is int:
        return np.dtype(np.int64)
    if d is bool:
        return np.dtype(np.bool_)
    if isinstance(d, str) and d in _NAMES:
        return _NAMES[d].np
    return from_np(np.dtype(d)).np


_default = [float32]


def get_default_dtype() -> dtype:
    """The dtype given to Python floats (``float32`` unless changed)."""
    return _default[0]


def set_default_dtype(d) -> None:
    """Set the default floating dtype (``float32`` or ``float64``), as ``torch.set_default_dtype``."""
    d = from_np(to_np(d))
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default[0] = d


def default_np() -> np.dtype:
    return _default[0].np


_CAT = {d.np: d._cat for d in ALL}


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """torch.promote_types: across categories the higher category's dtype wins (int64 with
    float32 gives float32, unlike NumPy); within a category, the wider type."""
    if a == b:
        return a
    ca, cb = _CAT[a], _CAT[b]
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def result_type(args) -> np.dtype | None:
    """Torch's promotion over tensors (``.data`` arrays) and Python scalars.

    Tensors with dimensions dominate zero-dim tensors, which dominate Python scalars, unless a
    lower-priority operand belongs to a higher category (bool < integer < floating).
    Returns None when there is no tensor among ``args``.
    """
    dim_dt = zero_dt = None
    dim_cat = zero_cat = scal_cat = -1
    for a in args:
        if isinstance(a, np.ndarray):
            d = a.dtype
            c = _CAT[d]
            if a.ndim:
                dim_dt = d if dim_dt is None else promote_types(dim_dt, d)
                dim_cat = max(dim_cat, c)
            else:
                zero_dt = d if zero_dt is None else promote_types(zero_dt, d)
                zero_cat = max(zero_cat, c)
        elif isinstance(a, bool):
            scal_cat = max(scal_cat, 0)
        elif isinstance(a, int):
            scal_cat = max(scal_cat, 1)
        elif isinstance(a, float):
            scal_cat = max(scal_cat, 2)
    if dim_dt is None and zero_dt is None:
        return None
    top = max(dim_cat, zero_cat, scal_cat)
    if dim_cat == top:
        return dim_dt
    if zero_cat == top:
        return zero_dt
    return _default[0].np if top == 2 else (np.dtype(np.int64) if top == 1 else np.dtype(np.bool_))


#: torch's ScalarType names (``not implemented for 'Long'``) and its C++ type names
#: (``float != double``), as its error messages spell them
TORCH_NAME = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
              "int64": "Long", "float16": "Half", "float32": "Float", "float64": "Double"}
C_NAME = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
          "int32": "int", "int64": "long int", "float16": "c10::Half", "float32": "float",
          "float64": "double"}


def torch_name(d) -> str:
    """``Long`` for int64 (a NumPy or chainrule dtype), as torch's messages name dtypes."""
    return TORCH_NAME.get(getattr(d, "name", str(d)), str(d))
