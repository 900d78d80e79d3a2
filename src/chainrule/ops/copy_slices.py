"""The ``copy_slices`` row (torch's CopySlices) and view-history regeneration, for in-place ops on
views: a view's elements are located in its base's memory from the strides; writing through the
view gives the base a CopySlices node, and the view's history becomes a gather of its elements
from the base's new history.
"""

from __future__ import annotations

import numpy as np

from .. import _ns
from .._tensor import Tensor, _make
from .._context import ctx as _state
from .._context import proc as _proc
from ._table import LINEAR, defop


def _root(t: Tensor):
    """The base tensor that owns a view's memory (None for a tensor that is not a view)."""
    x = t._extra_state
    if not x or not x.get("is_view"):
        return None
    base = x["base"]
    while base._extra_state and base._extra_state.get("is_view"):
        base = base._extra_state["base"]
    return base if np.may_share_memory(base._array, t._array) else None


# ---- views: CopySlices ------------------------------------------------------------------------
def _offsets(a: np.ndarray) -> np.ndarray:
    off = np.full(a.shape, a.__array_interface__["data"][0], dtype=np.int64)
    for d, (n, s) in enumerate(zip(a.shape, a.strides)):
        shp = [1] * a.ndim
        shp[d] = n
        off = off + (np.arange(n, dtype=np.int64) * s).reshape(shp)
    return off


def _positions(base: np.ndarray, view: np.ndarray) -> np.ndarray:
    """Flat (C-order) indices into ``base`` of each element of ``view`` (which lies in its
    memory).
    """
    ob = _offsets(base).reshape(-1)
    ov = _offsets(view).reshape(-1)
    if base.flags.c_contiguous:
        pos = (ov - ob[0]) // base.itemsize if ob.size else ov
    else:
        order = np.argsort(ob, kind="stable")
        pos = order[np.searchsorted(ob[order], ov)]
    return pos.reshape(view.shape)


def _copy_slices_fwd(base, src, positions):
    out = np.array(base, copy=True, order="C")
    np.put(out, positions, src)
    return out


defop(
    "copy_slices",
    _copy_slices_fwd,
    (
        lambda m, g, out, base, src, positions: m.copy_slices(g, 0.0, positions),
        lambda m, g, out, base, src, positions: m.take(g, positions),
    ),
    LINEAR,
    nin=2,
    dtype="keep",
    saves=(),
    public=False,
    method=False,
    cls="CopySlices",
    formula=(
        "CopySlices: the base's gradient, zero where the view was written",
        "CopySlices: the gradient at the view's elements",
    ),
)


def _refresh_view(view: Tensor) -> None:
    """After an in-place change of its base (or a sibling view), a view's history is a gather of
    its elements from the base's current history (torch regenerates it the same way)."""
    x = view._extra_state
    now = view._version_counter[0]
    if x.get("ver") == now or not _state.enabled:
        return
    x["ver"] = now
    base = _root(view)
    if base is None or base.grad_fn is None or view.grad_fn is base.grad_fn:
        return
    b = _make(base._array, base.grad_fn, base._output_nr)
    b._requires_grad = True
    v = _ns.take(b, _positions(base._array, view._array))
    view.grad_fn, view._output_nr, view._requires_grad = v.grad_fn, 0, True


_proc.refresh_view = _refresh_view


def _copy_slices(view: Tensor, base: Tensor, res: Tensor) -> None:
    pos = _positions(base._array, view._array)
    b_old = _make(base._array, base.grad_fn, base._output_nr)
    b_old._requires_grad = base._requires_grad
    new = _ns.copy_slices(b_old, res, pos)
    base.grad_fn, base._output_nr, base._requires_grad = new.grad_fn, 0, True
    b_new = _make(base._array, base.grad_fn, 0)
    v = _ns.take(b_new, pos)
    view.grad_fn, view._output_nr, view._requires_grad = v.grad_fn, 0, True
