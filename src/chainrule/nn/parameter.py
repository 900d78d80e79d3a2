"""``Parameter``: a leaf Tensor that a ``Module`` registers as one of its parameters."""

from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor


class Parameter(Tensor):
    """A Tensor that, assigned as a Module attribute, is added to ``module.parameters()``.

    It shares memory with ``data`` when ``data`` is a Tensor (as torch) and requires grad by
    default.

    Example:
        >>> w = chainrule.nn.Parameter(chainrule.zeros(2, 3))
        >>> w.requires_grad, w.is_leaf
        (True, True)
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        vc: list | None = None
        if data is None:
            arr = np.zeros((0,), _dtype.default_np())
        elif isinstance(data, Tensor):
            arr = data._array
            if data._version_counter is None:
                data._version_counter = [0]  # type: ignore[assignment]
            vc = data._version_counter
        else:
            arr = Tensor(data)._array
        self._array = arr
        self._requires_grad = False
        self._grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._version_counter = vc  # type: ignore[assignment]
        self._grad_accumulator = None
        self._extra_state = None
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self)

    def __deepcopy__(self, memo) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(Tensor(self._array.copy()), self._requires_grad)
        if self._grad is not None:
            p._grad = Tensor(self._grad._array.copy())
        memo[id(self)] = p
        return p
