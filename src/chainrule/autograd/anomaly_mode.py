"""Anomaly detection: where was this node created, and which backward produced NaN or Inf?

Off by default and free when off. On, every recorded node remembers the first frame of user code
that created it (file, line, function), and every backward result is checked for NaN/Inf; the
RuntimeError names the node and that line. Any error raised during backward also gets a note naming
the node being run (and, in anomaly mode, where it was created).
"""

from __future__ import annotations

import linecache
import os
import sys
import warnings

import numpy as np

from .._context import proc as _proc
from .._tensor import Tensor
from .record import add_node_hook, remove_node_hook

__all__ = [
    "detect_anomaly",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "set_detect_anomaly",
]

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_state = {"enabled": False, "check_nan": True}


def is_anomaly_enabled() -> bool:
    return _state["enabled"]


def is_anomaly_check_nan_enabled() -> bool:
    return _state["check_nan"]


def user_frames(limit: int = 6, skip: int = 1) -> tuple:
    """``(filename, lineno, function)`` of the innermost frames outside the chainrule package."""
    f = sys._getframe(skip)
    res = []
    while f is not None and len(res) < limit:
        fn = f.f_code.co_filename
        if not fn.startswith(_PKG) and not fn.startswith("<frozen"):
            res.append((fn, f.f_lineno, f.f_code.co_name))
        f = f.f_back
    return tuple(res)


def _finite(a) -> bool:
    return not isinstance(a, np.ndarray) or a.dtype.kind not in "fc" or bool(np.isfinite(a).all())


def _record_site(node) -> None:
    x = node._extra()
    x["site"] = user_frames(skip=2)
    out = getattr(node, "out", None)
    outs = out if isinstance(out, tuple) else (out,)
    if not all(_finite(o) for o in outs):  # NaN/Inf made here from finite inputs: an origin
        ins = getattr(node, "saved", None) or ()
        if all(_finite(t._array) for t in ins if isinstance(t, Tensor)):
            bad = next(o for o in outs if not _finite(o))
            x["nonfinite"] = "nan" if np.isnan(bad).any() else "inf"


def origins(node) -> list:
    """Nodes behind ``node`` whose forward first produced NaN/Inf from finite inputs."""
    seen = {node}
    stack = [node]
    found = []
    while stack:
        n = stack.pop()
        x = getattr(n, "x", None)
        if x and "nonfinite" in x:
            found.append(n)
        for e in getattr(n, "next", ()):
            if e is not None and e[0] not in seen:
                seen.add(e[0])
                stack.append(e[0])
    return sorted(found, key=lambda n: n.seq)


def site_text(node) -> str:
    """Where ``node`` was created, as a traceback excerpt (empty when not recorded)."""
    x = getattr(node, "x", None)
    frames = x.get("site") if x else None
    if not frames:
        return ""
    lines = [f"{node.name()} was created at (most recent call first):"]
    for fn, ln, name in frames:
        lines.append(f'  File "{fn}", line {ln}, in {name}')
        code = linecache.getline(fn, ln).strip()
        if code:
            lines.append(f"    {code}")
    return "\n".join(lines)


def _check(node, gs, outs) -> None:
    if outs is None or not _state["check_nan"]:
        return
    for i, r in enumerate(outs):
        if r is None:
            continue
        a = r._array if isinstance(r, Tensor) else r
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            what = "nan" if np.isnan(a).any() else "inf"
            site = site_text(node)
            msg = f"Function '{node.name()}' returned {what} values in its {i}th output."
            if site:
                msg += "\n" + site
            for o in origins(node):
                msg += (f"\nThe forward pass first produced {o.x['nonfinite']} (from finite "
                        f"inputs) in {o.name()}.\n" + site_text(o))
            raise RuntimeError(msg)


def _note(exc: BaseException, node) -> None:
    if node is None or getattr(exc, "_chainrule_noted", False):
        return
    exc._chainrule_noted = True  # type: ignore[attr-defined]
    site = site_text(node)
    exc.add_note(f"(raised in backward while running {node.name()})" + (f"\n{site}" if site else
                 "" if _state["enabled"] else
                 "\nRun with chainrule.autograd.detect_anomaly() to see where it was created."))


_proc.on_error = (*_proc.on_error, _note)


def _set(mode: bool, check_nan: bool) -> None:
    if mode and not _state["enabled"]:
        add_node_hook(_record_site, first=True)  # sees node.out before any pack hook
        _proc.observers = (*_proc.observers, _check)
    elif not mode and _state["enabled"]:
        remove_node_hook(_record_site)
        _proc.observers = tuple(o for o in _proc.observers if o is not _check)
    _state["enabled"] = bool(mode)
    _state["check_nan"] = bool(check_nan)


class detect_anomaly:
    """Context manager (or decorator) turning anomaly detection on, as torch's detect_anomaly.

    Example:
        >>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
        >>> with chainrule.autograd.detect_anomaly():
        ...     y = (chainrule.log(x) * 0).sum()   # log(0) = -inf, times 0: NaN
        ...     y.backward()
        RuntimeError: Function 'LogBackward0' returned nan values in its 0th output.
        LogBackward0 was created at ... line 3 ...
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and should "
            "only be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self) -> None:
        self.prev = (_state["enabled"], _state["check_nan"])
        _set(True, self.check_nan)

    def __exit__(self, *exc) -> None:
        _set(*self.prev)

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with self.__class__(self.check_nan):
                return fn(*a, **k)

        return wrapper


class set_detect_anomaly:
    """Turn anomaly detection on or off now (also usable as a context manager that restores)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (_state["enabled"], _state["check_nan"])
        _set(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        _set(*self.prev)
