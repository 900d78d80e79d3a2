"""How a family exposes an op under a friendlier signature: ``@public`` fills ``PUBLIC`` (the
functions of ``chainrule``), the Tensor methods and the sub-namespaces (``nn.functional``,
``linalg``, ``special``); ``chainrule.ops`` assembles them with the table's rows at the top."""

from __future__ import annotations

from collections.abc import Callable

#: public name -> function; filled by ``public`` and ``_finish``
PUBLIC: dict[str, Callable] = {}
_METHODS: dict[str, Callable] = {}
#: sub-namespaces ("nn.functional", "linalg", "special", "fft" …): name -> function
NAMESPACES: dict[str, dict[str, Callable]] = {"nn.functional": {}, "linalg": {}, "special": {}}


def public(name: str | None = None, *, method: bool | str = True, function: bool = True,
           ns: str | tuple = ()):
    """Register ``fn`` as ``chainrule.<name>`` (``function``), ``Tensor.<name>`` (``method``) and
    in each namespace of ``ns`` (e.g. ``"nn.functional"`` → ``chainrule.nn.functional.<name>``)."""

    def deco(fn):
        n = name or fn.__name__
        if function:
            PUBLIC[n] = fn
        if method:
            _METHODS[n if method is True else method] = fn
        for space in (ns,) if isinstance(ns, str) else ns:
            NAMESPACES.setdefault(space, {})[n] = fn
        return fn

    return deco
