"""Rule-table rows joining and splitting tensors: cat, stack (and hstack/vstack/dstack/
column_stack), split/chunk/tensor_split and unbind (single multi-output ops whose outputs are
views, as torch), narrow and select."""

from __future__ import annotations

import numpy as np

from .._dispatch import apply
from .._tensor import _wrap_dim
from ._public import public
from ._index_checks import check_int64
from ._table import LINEAR, TABLE, defop
from .shape import reshape


# ---- joining -------------------------------------------------------------------------------------
def _cat(xs, dim=0):
    if not xs:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    _xs = xs
    for i, x in enumerate(xs):  # torch looks for these first, before the dim
        if x.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    # legacy empty tensors (shape (0,)) are skipped, whatever the dim; only those: the first
    xs = [x for x in xs if not (x.ndim == 1 and x.shape[0] == 0)]
    if not xs:
        return np.zeros((0,), np.result_type(*_xs))
    ref = xs[0]
    d = _wrap_dim(dim, ref.ndim, "cat")
    for i, x in enumerate(xs):
        if x.ndim != ref.ndim:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {ref.ndim} and {x.ndim} "
                f"(tensor number {i} in the list)"
            )
        for k in range(x.ndim):
            if k != d and x.shape[k] != ref.shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{ref.shape[k]} but got size {x.shape[k]} for tensor number {i} in the list."
                )
    return np.concatenate(xs, axis=d)


def _cat_back(m, g, out, xs, needs, dim=0):
    d = dim % out.ndim
    res, start = [], 0
    for x, need in zip(xs, needs):
        n = x.shape[d] if not (x.ndim == 1 and x.shape[0] == 0 and out.ndim != 1) else 0
        if need:
            res.append(m.getitem(g, (slice(None),) * d + (slice(start, start + n),)))
        else:
            res.append(None)
        start += n
    return res


defop("cat", _cat, vjp_all=_cat_back, jvp=LINEAR, nin=-1, formula="cat: the gradient is split back")
public("concat")(lambda tensors, dim=0: apply(TABLE["cat"], tensors, dim))
public("concatenate")(lambda tensors, axis=0: apply(TABLE["cat"], tensors, axis))


def _stack(xs, dim=0):
    if not xs:
        raise RuntimeError("stack expects a non-empty TensorList")
    d = _wrap_dim(dim, xs[0].ndim + 1, "stack")  # torch checks the dim before the sizes
    for i, x in enumerate(xs):
        if x.shape != xs[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got "
                f"{list(xs[0].shape)} at entry 0 "
                f"and {list(x.shape)} at entry {i}"
            )
    return np.stack(xs, axis=d)


def _stack_back(m, g, out, xs, needs, dim=0):
    d = dim % out.ndim
    return [
        m.getitem(g, (slice(None),) * d + (i,)) if need else None for i, need in enumerate(needs)
    ]


defop(
    "stack",
    _stack,
    vjp_all=_stack_back,
    jvp=LINEAR,
    nin=-1,
    formula="stack: the gradient is unstacked",
)


def _atleast(t, n: int):
    s = tuple(t.shape)
    if len(s) >= n:
        return t
    if n == 1:
        return reshape(t, (1,))
    if n == 2:
        return reshape(t, (1,) * (2 - len(s)) + s)
    return reshape(t, (1, 1, 1) if not s else ((1,) + s + (1,) if len(s) == 1 else s + (1,)))


public("atleast_1d", method=False)(
    lambda *ts: _atleast(ts[0], 1) if len(ts) == 1 else tuple(_atleast(t, 1) for t in ts)
)
public("atleast_2d", method=False)(
    lambda *ts: _atleast(ts[0], 2) if len(ts) == 1 else tuple(_atleast(t, 2) for t in ts)
)
public("atleast_3d", method=False)(
    lambda *ts: _atleast(ts[0], 3) if len(ts) == 1 else tuple(_atleast(t, 3) for t in ts)
)


@public("hstack", method=False)
def hstack(tensors):
    """Concatenate along dimension 1 (dimension 0 for 1-D tensors)."""
    ts = [_atleast(t, 1) for t in tensors]
    return apply(TABLE["cat"], ts, 0 if ts[0].ndim == 1 else 1)


@public("vstack", method=False)
def vstack(tensors):
    """Concatenate along dimension 0 after making each tensor at least 2-D."""
    return apply(TABLE["cat"], [_atleast(t, 2) for t in tensors], 0)


public("row_stack", method=False)(vstack)


@public("dstack", method=False)
def dstack(tensors):
    """Concatenate along dimension 2 after making each tensor at least 3-D."""
    return apply(TABLE["cat"], [_atleast(t, 3) for t in tensors], 2)


@public("column_stack", method=False)
def column_stack(tensors):
    """Stack 1-D tensors as columns (2-D ones are concatenated along dimension 1)."""
    ts = [reshape(t, (-1, 1)) if t.ndim <= 1 else t for t in tensors]
    return apply(TABLE["cat"], ts, 1)


# ---- splitting: one multi-output op each, outputs are views (as torch) ---------------------------
def _split(x, sizes, dim=0):
    d = _wrap_dim(dim, x.ndim, "split")
    if sizes and min(sizes) < 0:
        raise RuntimeError(
            "split_with_sizes expects split_sizes have only non-negative entries, but got "
            f"split_sizes={list(sizes)}"
        )
    if sum(sizes) != x.shape[d]:
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {x.shape[d]} "
            f"(input tensor's size at dimension {d}), but got split_sizes={list(sizes)}"
        )
    cuts = np.cumsum(sizes)[:-1]
    return tuple(np.split(x, cuts, axis=d))


def _split_back(m, g, out, x, needs, sizes, dim=0):
    return (m.cat(list(g), dim),)


defop(
    "split",
    _split,
    vjp_all=_split_back,
    jvp=LINEAR,
    nout=-1,
    dtype="keep",
    view=True,
    method=False,
    public=False,
    cls="SplitWithSizes",
    formula="split: the gradients are concatenated",
)


def _split_sizes(n: int, size: int) -> list:
    if size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
    if size <= 0:
        if size == 0 and n == 0:
            return [0]
        raise RuntimeError(
            f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
        )
    return [size] * (n // size) + ([n % size] if n % size else []) or [0]


@public("split")
def split(tensor, split_size_or_sections, dim: int = 0):
    """Split into chunks of ``split_size`` (the last may be smaller) or of the listed sizes."""
    _at_least_1d(tensor, "split expects")
    check_int64("split", "split_size_or_sections", split_size_or_sections)
    n = tensor.shape[_wrap_dim(dim, tensor.ndim, "split")]
    s = split_size_or_sections
    sizes = _split_sizes(n, int(s)) if isinstance(s, (int, np.integer)) else [int(v) for v in s]
    return apply(TABLE["split"], tensor, sizes=sizes, dim=dim)


public("split_with_sizes")(
    lambda input, split_sizes, dim=0: apply(TABLE["split"], input, sizes=list(split_sizes), dim=dim)
)


@public("chunk")
def chunk(input, chunks: int, dim: int = 0):
    """Split into ``chunks`` pieces of ceil(n / chunks) (fewer pieces if that already covers n)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    _at_least_1d(input, "chunk expects")
    check_int64("chunk", "chunks", chunks)
    n = input.shape[_wrap_dim(dim, input.ndim, "chunk")]
    size = -(-n // chunks)
    return split(input, max(size, 1) if n else 0, dim) if n else split(input, [0] * chunks, dim)


@public("tensor_split")
def tensor_split(input, indices_or_sections, dim: int = 0):
    """Split at the given indices, or into ``sections`` parts whose sizes differ by at most one."""
    if input.ndim == 0:
        raise RuntimeError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
        )
    if not hasattr(indices_or_sections, "_array"):
        check_int64("tensor_split", "indices", indices_or_sections, TypeError)
    d = _wrap_dim(dim, input.ndim, "tensor_split")
    n = input.shape[d]
    s = indices_or_sections
    if hasattr(s, "_array") and np.ndim(s._array) == 0:
        s = int(s.item())
    if isinstance(s, (int, np.integer)):
        if s <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {s}")
        q, r = divmod(n, int(s))
        sizes = [q + 1] * r + [q] * (int(s) - r)
    else:
        idx = [int(i) for i in (s.tolist() if hasattr(s, "tolist") else s)]
        bounds = [min(max(i if i >= 0 else i + n, 0), n) for i in idx]
        sizes, prev = [], 0
        for b in bounds:
            b = max(b, prev)
            sizes.append(b - prev)
            prev = b
        sizes.append(n - prev)
    return apply(TABLE["split"], input, sizes=sizes, dim=dim)


def _unbind(x, dim=0):
    d = _wrap_dim(dim, x.ndim, "unbind")
    return tuple(x[(slice(None),) * d + (i,)] for i in range(x.shape[d]))


defop(
    "unbind",
    _unbind,
    vjp_all=lambda m, g, out, x, needs, dim=0: (m.stack(list(g), dim),),
    jvp=LINEAR,
    nout=-1,
    dtype="keep",
    view=True,
    formula="unbind: the gradients are stacked",
)


@public("narrow")
def narrow(input, dim: int, start: int, length: int):
    """The ``length`` elements from ``start`` along ``dim`` (a view)."""
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    check_int64("narrow", "start, length", (start, length))
    if length < 0:
        raise RuntimeError(f"narrow(): length must be non-negative. (got {length})")
    d = _wrap_dim(dim, input.ndim, "narrow")
    n = input.shape[d]
    start = int(start)
    if not -n <= start <= n:
        raise IndexError(
            f"start out of range (expected to be in range of [{-n}, {n}], but got {start})"
        )
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return _ns_getitem(input, (slice(None),) * d + (slice(start, start + int(length)),))


@public("select")
def select(input, dim: int, index: int):
    """The slice at ``index`` along ``dim`` (a view with that dimension removed)."""
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    check_int64("select", "index", index)
    d = _wrap_dim(dim, input.ndim, "select")
    n = input.shape[d]
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
            f"dimension {d}"
        )
    return _ns_getitem(input, (slice(None),) * d + (int(index) % n,))


def _at_least_1d(t, what: str) -> None:
    if t.ndim == 0:
        raise RuntimeError(f"{what} at least a 1-dimensional tensor")


def _ns_getitem(x, index):
    from .. import _ns

    return _ns.getitem(x, index)
