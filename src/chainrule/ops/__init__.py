"""The rule table, one module per op family, and the public functions built from it.

Every row of every family becomes ``chainrule._ns.<name>`` (the rule namespace on Tensors, with the
forward's exact signature) and, unless hidden, ``chainrule.<name>`` and ``Tensor.<name>``. A family
may give an op a friendlier public signature with ``@public``.
"""

from __future__ import annotations

import functools
import inspect
from types import MethodType
from typing import Callable

from .. import _ns
from .._dispatch import apply
from .._tensor import Tensor
from ._public import _METHODS, NAMESPACES, PUBLIC, public
from ._table import A, ELEMENTWISE, LINEAR, TABLE, defop

class _OpFn(functools.partial):
    """``apply`` bound to one op, for the rule namespace ``_ns`` (Tensor dunders, rules under
    ``create_graph``): calling it costs no Python frame. Binds like a function when set on a class."""

    __name__: str
    __qualname__: str
    __signature__: inspect.Signature

    def __get__(self, obj, objtype=None):
        return self if obj is None else MethodType(self, obj)

    def __repr__(self) -> str:
        return f"<function {self.__name__} (rule-table op)>"


def _op_fn(op) -> _OpFn:
    fn = _OpFn(apply, op)
    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = op.doc or f"The ``{op.name}`` op of the rule table (see chainrule.ops)."
    try:  # inspect takes an object with __get__ for a builtin: tell it the forward's signature
        fn.__signature__ = inspect.signature(op.fwd)
    except (TypeError, ValueError):
        fn.__signature__ = inspect.signature(lambda *args, **kw: None)
    return fn


def _generic(op) -> Callable:
    def fn(*args, **kw):
        return apply(op, *args, **kw)

    fn.__name__ = op.name
    fn.__qualname__ = op.name
    fn.__doc__ = op.doc or f"The ``{op.name}`` op of the rule table (see chainrule.ops)."
    try:
        fn.__signature__ = inspect.signature(op.fwd)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        pass
    return fn


def _axis_alias(fn: Callable) -> Callable:
    """``fn`` taking ``axis=`` as an alias of its ``dim`` argument, as torch's functions do."""

    @functools.wraps(fn)
    def with_axis(*args, **kw):
        if "axis" in kw:
            if "dim" in kw:
                raise TypeError(f"{with_axis.__name__}() got both 'dim' and its alias 'axis'")
            kw["dim"] = kw.pop("axis")
        return fn(*args, **kw)

    return with_axis


def _takes_dim(fn: Callable) -> bool:
    try:
        ps = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "dim" in ps and "axis" not in ps


def _finish() -> None:
    for name, op in TABLE.items():
        fn = _generic(op)
        setattr(_ns, name, _op_fn(op))
        if op.public and name not in PUBLIC:
            PUBLIC[name] = _op_fn(op)  # chainrule.<name>: a partial too (methods keep ``fn``)
        if op.method and op.nin != -1 and name not in _METHODS:
            _METHODS[name if op.method is True else op.method] = fn
    # public wrappers that are not table rows (detach, to, max …) are reachable from rules and
    # Tensor dunders too; a table row keeps its forward signature in the rule namespace
    for name, fn in {**_METHODS, **PUBLIC}.items():
        if name not in TABLE and not hasattr(_ns, name):
            setattr(_ns, name, fn)
    # torch.<f> and Tensor.<f> take ``axis=`` for ``dim`` (the rule namespace stays unwrapped)
    for table in (PUBLIC, _METHODS):
        for name, fn in table.items():
            if _takes_dim(fn):
                table[name] = _axis_alias(fn)
    for name, fn in _METHODS.items():
        if name not in Tensor.__dict__:
            setattr(Tensor, name, fn)


# every family, in the order their rows and public functions are registered
from . import basic, pointwise, special_fns, unary, activation  # noqa: E402,F401
from . import reduction, scan, norms, ordering, shape, join, indexing  # noqa: E402,F401
from . import diagonal, padding, scatter  # noqa: E402,F401
from . import copy_slices, inplace, linalg, linalg_decomp, linalg_func  # noqa: E402,F401
from . import nn, conv, pool, loss, norm, sampling, views, unique  # noqa: E402,F401

_finish()

__all__ = ["A", "ELEMENTWISE", "LINEAR", "TABLE", "defop", "public", "PUBLIC", "NAMESPACES", "apply"]
