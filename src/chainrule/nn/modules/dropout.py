"""Dropout modules; identity in eval mode."""

from __future__ import annotations

from ._factory import functional
from .module import Module


class _DropoutNd(Module):
    _fname = "dropout"

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        if not self.training or self.p == 0:
            return input
        if self.inplace:
            return functional(self._fname)(input, self.p, True, True)
        return functional(self._fname)(input, self.p, True)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` in training, scaling the rest by 1/(1−p).

    Example:
        >>> d = chainrule.nn.Dropout(0.5).eval()
        >>> d(chainrule.ones(3))
        tensor([1., 1., 1.])
    """


class Dropout1d(_DropoutNd):
    _fname = "dropout1d"


class Dropout2d(_DropoutNd):
    _fname = "dropout2d"


class Dropout3d(_DropoutNd):
    _fname = "dropout3d"


class AlphaDropout(_DropoutNd):
    _fname = "alpha_dropout"
