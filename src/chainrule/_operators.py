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


def _binary(name: str, reflected: bool = False):
    """The operator for ``_ns.<name>``: ``(self, o)`` (``reflected``: ``(o, self)``), retried with
    a NumPy array operand made a tensor (the functions refuse arrays; torch's operators take them).
    The op is looked up when called: ``_ns`` is filled from the rule table after this import."""
    if reflected:
        def op(self, o):
            try:
                return getattr(_ns, name)(o, self)
            except ArrayOperand:
                return getattr(_ns, name)(_operand(o), self)
    else:
        def op(self, o):
            try:
                return getattr(_ns, name)(self, o)
            except ArrayOperand:
                return getattr(_ns, name)(self, _operand(o))
    return op


class TensorOperators:
    """The operator dunders of Tensor."""

    __slots__ = ()

    # ---- operators: each delegates to the op namespace ----------------------------------
    # (they take a NumPy array as the other operand, as torch's; the functions refuse arrays)
    __add__ = _binary("add")
    __radd__ = _binary("add", True)
    __sub__ = _binary("sub")
    __rsub__ = _binary("sub", True)
    __mul__ = _binary("mul")
    __rmul__ = _binary("mul", True)
    __truediv__ = _binary("div")
    __rtruediv__ = _binary("div", True)
    __floordiv__ = _binary("floor_divide")
    __rfloordiv__ = _binary("floor_divide", True)
    __mod__ = _binary("remainder")
    __rmod__ = _binary("remainder", True)
    __pow__ = _binary("pow")
    __rpow__ = _binary("pow", True)
    __matmul__ = _binary("matmul")
    __rmatmul__ = _binary("matmul", True)
    __eq__ = _binary("eq")  # type: ignore[assignment]
    __ne__ = _binary("ne")  # type: ignore[assignment]
    __lt__ = _binary("lt")
    __le__ = _binary("le")
    __gt__ = _binary("gt")
    __ge__ = _binary("ge")

    def __neg__(self):
        return _ns.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ns.abs(self)

    def __invert__(self):
        return _ns.logical_not(self) if self._array.dtype == np.bool_ else _ns.bitwise_not(self)

    def __and__(self, o):
        if self._array.dtype == np.bool_:
            return _ns.logical_and(self, o)
        return _ns.bitwise_and(self, o)

    def __or__(self, o):
        if self._array.dtype == np.bool_:
            return _ns.logical_or(self, o)
        return _ns.bitwise_or(self, o)

    def __xor__(self, o):
        if self._array.dtype == np.bool_:
            return _ns.logical_xor(self, o)
        return _ns.bitwise_xor(self, o)

    __rand__ = __and__
    __ror__ = __or__
    __rxor__ = __xor__

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
