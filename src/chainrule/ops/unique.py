"""Rule-table row: unique and unique_consecutive (no gradient, as torch): the distinct values or
slices along a dim, with the inverse indices and the counts."""

from __future__ import annotations

import numpy as np

from .._dispatch import apply
from .._tensor import _wrap_dim
from ._public import public
from ._table import TABLE, defop


def _unique(x, consecutive=False, dim=None):
    """(values, inverse, counts). NaNs are never equal to each other (torch)."""
    if dim is None:
        flat = x.reshape(-1)
        if consecutive:
            start = np.ones(flat.shape, bool)
            start[1:] = flat[1:] != flat[:-1]
            inv = np.cumsum(start) - 1
            vals = flat[start]
            counts = np.diff(np.append(np.flatnonzero(start), flat.size))
        else:
            vals, inv, counts = np.unique(
                flat, return_inverse=True, return_counts=True, equal_nan=False
            )
        return vals, inv.reshape(x.shape).astype(np.int64), counts.astype(np.int64)
    d = _wrap_dim(dim, x.ndim, "unique_consecutive" if consecutive else "unique")
    if x.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions (unique)")
    if sum(n == 0 for n in x.shape) > 1:
        raise RuntimeError(
            "Number of zero sized dimensions is more than one, so unique cannot be applied "
            f"(input {list(x.shape)})"
        )
    if x.size == 0 and x.shape[d]:
        raise RuntimeError(
            "There are 0 sized dimensions, and they aren't selected, so unique cannot be applied "
            f"(input {list(x.shape)}, dim {d})"
        )
    rest = int(np.prod([n for k, n in enumerate(x.shape) if k != d]))
    rows = np.moveaxis(x, d, 0).reshape(x.shape[d], rest)
    if consecutive:
        start = np.ones(rows.shape[0], bool)
        start[1:] = np.any(rows[1:] != rows[:-1], axis=1)
        inv = np.cumsum(start) - 1
        keep = np.flatnonzero(start)
        counts = np.diff(np.append(keep, rows.shape[0]))
    else:
        _, keep, inv, counts = np.unique(
            rows, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
    vals = np.take(x, keep, axis=d)
    return vals, inv.reshape(-1).astype(np.int64), counts.astype(np.int64)


defop("unique", _unique, nout=3, dtype="keep", public=False, method=False)


def _pick(r, return_inverse, return_counts):
    out = (r[0],) + ((r[1],) if return_inverse else ()) + ((r[2],) if return_counts else ())
    return out[0] if len(out) == 1 else out


@public("unique")
def unique(
    input, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None
):
    """The distinct values (or slices along ``dim``), sorted; optionally the inverse indices
    and the counts."""
    return _pick(apply(TABLE["unique"], input, False, dim), return_inverse, return_counts)


@public("unique_consecutive")
def unique_consecutive(input, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """The first of each run of equal consecutive values (or slices along ``dim``)."""
    return _pick(apply(TABLE["unique"], input, True, dim), return_inverse, return_counts)
