"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode`` (thread-local)."""

from __future__ import annotations

import functools

from .._context import _PKG, _site  # noqa: F401  (autograd.why reads them from here)
from .._context import ctx as _state  # grad mode lives in the per-thread context: .enabled


def is_grad_enabled() -> bool:
    """Whether operations are recorded for backward in this thread."""
    return _state.enabled


class _Mode:
    """Base of the grad-mode context managers; each also works as a decorator."""

    _target: bool = True

    def __enter__(self) -> None:
        self._prev = _state.enabled
        _state.enabled = self._target
        if not self._target:
            _state.off_at = _site()

    def __exit__(self, *exc) -> None:
        _state.enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__() if type(self) is not set_grad_enabled else set_grad_enabled(self._target):
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_Mode):
    """Context manager / decorator that disables graph recording.

    Example:
        >>> with chainrule.no_grad():
        ...     y = x * 2          # y.requires_grad is False
    """

    _target = False


class enable_grad(_Mode):
    """Context manager / decorator that enables graph recording inside ``no_grad``."""

    _target = True


class inference_mode(_Mode):
    """Like ``no_grad`` (chainrule has no separate inference tensors)."""

    def __init__(self, mode: bool = True) -> None:
        self._target = not mode


class set_grad_enabled(_Mode):
    """Set grad mode on (``True``) or off; works as a function, context manager or decorator."""

    def __init__(self, mode: bool) -> None:
        self._prev = _state.enabled
        self._target = bool(mode)
        _state.enabled = self._target
        if not self._target:
            _state.off_at = _site()

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        _state.enabled = self._prev
