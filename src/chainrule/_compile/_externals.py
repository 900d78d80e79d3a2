"""External tensors: the ones a compiled function reads without receiving them as arguments
(module parameters and buffers, closure and global constants). The replay reads them by
reference, so an optimizer's in-place update is seen; a guard checks, per call, that the place
they were found in (a dict entry, a closure cell, a list item) still holds the same tensor.

A tensor the tracer meets that is neither an argument, an op's output, a factory's constant nor
one of these is a graph break: it may be a value-dependent constant made inside the region.
"""

from __future__ import annotations

import functools
import types

from .._tensor import Tensor

_MAX_DEPTH = 4


_MISSING = object()


def _get(cont, key):
    if type(cont) is dict:
        return cont.get(key, _MISSING)
    if type(cont) is types.CellType:
        try:
            return cont.cell_contents
        except ValueError:
            return _MISSING
    try:
        return cont[key]
    except (IndexError, KeyError, TypeError):
        return _MISSING


def guard_ok(c) -> bool:
    return _get(c[0], c[1]) is c[2]


def scalar_ok(c) -> bool:
    """A Python number the function read from a global, a closure or a module attribute."""
    v = _get(c[0], c[1])
    return type(v) is type(c[2]) and v == c[2]


def _names(code, acc: set) -> None:
    acc.update(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _names(c, acc)


_NUMBERS = (int, float, bool, complex)


def candidates(root, scalars: list | None = None) -> dict:
    """id(tensor) -> (container, key, tensor) for every tensor reachable from ``root``; with
    ``scalars``, also the Python numbers found in globals, closures and module attributes
    ``(container, key, value)``: the trace bakes them in, so they are guarded."""
    from ..nn.modules.module import Module

    out: dict = {}
    seen: set = set()

    def add(cont, key, v, depth: int) -> None:
        if isinstance(v, Tensor):
            out.setdefault(id(v), (cont, key, v))
            return
        if scalars is not None and type(v) in _NUMBERS and cont is not None and depth <= 2:
            scalars.append((cont, key, v))
            return
        if depth > _MAX_DEPTH or id(v) in seen or v is None:
            return
        if isinstance(v, (types.ModuleType, type, int, float, str, bytes, bool)):
            return
        seen.add(id(v))
        if isinstance(v, Module):
            module(v, depth)
        elif isinstance(v, types.FunctionType):
            func(v, depth + 1)
        elif isinstance(v, types.MethodType):
            add(None, None, v.__self__, depth)
            add(None, None, v.__func__, depth)
        elif isinstance(v, functools.partial):
            add(None, None, v.func, depth)
            for i, a in enumerate(v.args):
                add(v.args, i, a, depth + 1)
            for k, a in v.keywords.items():
                add(v.keywords, k, a, depth + 1)
        elif isinstance(v, (list, tuple)):
            for i, e in enumerate(v):
                add(v, i, e, depth + 1)
        elif isinstance(v, dict):
            for k, e in list(v.items()):
                add(v, k, e, depth + 1)
        else:
            inner = getattr(v, "fn", None)  # a CompiledFunction
            if inner is not None and callable(inner):
                add(None, None, inner, depth)
            d = getattr(v, "__dict__", None)
            if isinstance(d, dict):
                for k, e in list(d.items()):
                    add(d, k, e, depth + 1)

    def func(f, depth: int) -> None:
        names: set = set()
        _names(f.__code__, names)
        g = f.__globals__
        for n in names:
            if n in g:
                add(g, n, g[n], depth)
        for fv, cell in zip(f.__code__.co_freevars, f.__closure__ or ()):
            try:
                v = cell.cell_contents
            except ValueError:
                continue
            add(cell, fv, v, depth)
        for i, d in enumerate(f.__defaults__ or ()):
            add(f.__defaults__, i, d, depth)
        for k, d in (f.__kwdefaults__ or {}).items():
            add(f.__kwdefaults__, k, d, depth)

    def module(m, depth: int) -> None:
        for sub in m.modules():
            d = sub.__dict__
            for store in ("_parameters", "_buffers"):
                for k, v in d.get(store, {}).items():
                    if v is not None:
                        out.setdefault(id(v), (d[store], k, v))
            for k, v in list(d.items()):
                if isinstance(v, Tensor):
                    out.setdefault(id(v), (d, k, v))
                elif scalars is not None and type(v) in _NUMBERS and k != "training":
                    scalars.append((d, k, v))
            fwd = type(sub).forward
            if isinstance(fwd, types.FunctionType) and id(fwd) not in seen:
                seen.add(id(fwd))
                func(fwd, depth + 1)

    add(None, None, root, 0)
    return out
