"""Tensor's operators (``+``, ``*``, ``==``, ``x[i]``, ``+=`` …), a base class of Tensor: each
delegates to the rule namespace ``_ns``, and retries with a NumPy array operand made a tensor."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _ns

_make: Any = None  # the Tensor constructor for results, installed by _tensor (which sits above)


class ArrayOperand(TypeError):
    """An array, list or tuple where an op wants a Tensor: shown and pickled as a TypeError."""

    def __reduce__(self):
        return (TypeError, self.args)


ArrayOperand.__module__, ArrayOperand.__name__, ArrayOperand.__qualname__ = (
    "builtins", "TypeError", "TypeError")


def _operand(o):
    return _make(np.asarray(o)) if isinstance(o, np.ndarray) else o


class TensorOperators:
    """The operator dunders of Tensor."""

    __slots__ = ()

    # ---- operators: each delegates to the op namespace ----------------------------------
    # (they take a NumPy array as the other operand, as torch's; the functions refuse arrays)
    def __add__(self, o):
        try:
            return _ns.add(self, o)
        except ArrayOperand:
            return _ns.add(self, _operand(o))

    def __radd__(self, o):
        try:
            return _ns.add(o, self)
        except ArrayOperand:
            return _ns.add(_operand(o), self)

    def __sub__(self, o):
        try:
            return _ns.sub(self, o)
        except ArrayOperand:
            return _ns.sub(self, _operand(o))

    def __rsub__(self, o):
        try:
            return _ns.sub(o, self)
        except ArrayOperand:
            return _ns.sub(_operand(o), self)

    def __mul__(self, o):
        try:
            return _ns.mul(self, o)
        except ArrayOperand:
            return _ns.mul(self, _operand(o))

    def __rmul__(self, o):
        try:
            return _ns.mul(o, self)
        except ArrayOperand:
            return _ns.mul(_operand(o), self)

    def __truediv__(self, o):
        try:
            return _ns.div(self, o)
        except ArrayOperand:
            return _ns.div(self, _operand(o))

    def __rtruediv__(self, o):
        try:
            return _ns.div(o, self)
        except ArrayOperand:
            return _ns.div(_operand(o), self)

    def __floordiv__(self, o):
        try:
            return _ns.floor_divide(self, o)
        except ArrayOperand:
            return _ns.floor_divide(self, _operand(o))

    def __rfloordiv__(self, o):
        try:
            return _ns.floor_divide(o, self)
        except ArrayOperand:
            return _ns.floor_divide(_operand(o), self)

    def __mod__(self, o):
        try:
            return _ns.remainder(self, o)
        except ArrayOperand:
            return _ns.remainder(self, _operand(o))

    def __rmod__(self, o):
        try:
            return _ns.remainder(o, self)
        except ArrayOperand:
            return _ns.remainder(_operand(o), self)

    def __pow__(self, o):
        try:
            return _ns.pow(self, o)
        except ArrayOperand:
            return _ns.pow(self, _operand(o))

    def __rpow__(self, o):
        try:
            return _ns.pow(o, self)
        except ArrayOperand:
            return _ns.pow(_operand(o), self)

    def __matmul__(self, o):
        try:
            return _ns.matmul(self, o)
        except ArrayOperand:
            return _ns.matmul(self, _operand(o))

    def __rmatmul__(self, o):
        try:
            return _ns.matmul(o, self)
        except ArrayOperand:
            return _ns.matmul(_operand(o), self)

    def __neg__(self):
        return _ns.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ns.abs(self)

    def __invert__(self):
        return _ns.logical_not(self) if self._array.dtype == np.bool_ else _ns.bitwise_not(self)

    def __and__(self, o):
        return _ns.logical_and(self, o) if self._array.dtype == np.bool_ else _ns.bitwise_and(self, o)

    def __or__(self, o):
        return _ns.logical_or(self, o) if self._array.dtype == np.bool_ else _ns.bitwise_or(self, o)

    def __xor__(self, o):
        return _ns.logical_xor(self, o) if self._array.dtype == np.bool_ else _ns.bitwise_xor(self, o)

    __rand__ = __and__
    __ror__ = __or__
    __rxor__ = __xor__

    def __eq__(self, o):  # type: ignore[override]
        try:
            return _ns.eq(self, o)
        except ArrayOperand:
            return _ns.eq(self, _operand(o))

    def __ne__(self, o):  # type: ignore[override]
        try:
            return _ns.ne(self, o)
        except ArrayOperand:
            return _ns.ne(self, _operand(o))

    def __lt__(self, o):
        try:
            return _ns.lt(self, o)
        except ArrayOperand:
            return _ns.lt(self, _operand(o))

    def __le__(self, o):
        try:
            return _ns.le(self, o)
        except ArrayOperand:
            return _ns.le(self, _operand(o))

    def __gt__(self, o):
        try:
            return _ns.gt(self, o)
        except ArrayOperand:
            return _ns.gt(self, _operand(o))

    def __ge__(self, o):
        try:
            return _ns.ge(self, o)
        except ArrayOperand:
            return _ns.ge(self, _operand(o))

    def __getitem__(self, index):
        return _ns.getitem(self, index)

    def __setitem__(self, index, value):
        _ns.setitem(self, index, value)

    def __iadd__(self, o):
        return _ns.add_(self, o)

    def __isub__(self, o):
        return _ns.sub_(self, o)

    def __imul__(self, o):
        return _ns.mul_(self, o)

    def __itruediv__(self, o):
        return _ns.div_(self, o)
