"""Rule-table rows: shape ops (reshape, view, transpose, permute, squeeze, unsqueeze, expand,
flatten, cat, stack). All are linear, so their forward-mode rule is the op itself."""

from __future__ import annotations

import numpy as np

from .._dispatch import apply
from .._tensor import _wrap_dim
from . import public
from ._table import LINEAR, TABLE, defop


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _reshape(x, shape):
    try:
        return np.reshape(x, shape)
    except ValueError:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {x.size}") from None


def _view(x, shape):
    r = _reshape(x, shape)  # raises for a shape that does not fit the number of elements
    if not np.shares_memory(r, x) and x.size > 1:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead. "
            f"(input shape {list(x.shape)}, requested {list(shape)})"
        )
    return r


_back = lambda m, g, out, x, shape: m.reshape(g, tuple(x.shape))  # noqa: E731
defop("reshape", _reshape, _back, LINEAR, dtype="keep", view=True, cls="Reshape",
      formula="reshape: the gradient is reshaped back")
defop("view", _view, _back, LINEAR, dtype="keep", view=True, formula="view: the gradient is viewed back")


@public("reshape")
def reshape(input, *shape):
    """Same data in a new shape (a view when possible); one dimension may be -1."""
    return apply(TABLE["reshape"], input, shape=_shape_arg(shape))


@public("view", function=False)
def view(input, *shape):
    """A view with a new shape; RuntimeError if the memory layout does not allow it."""
    return apply(TABLE["view"], input, shape=_shape_arg(shape))


public("view_as", function=False)(lambda input, other: view(input, tuple(other.shape)))
public("reshape_as", function=False)(lambda input, other: reshape(input, tuple(other.shape)))


def _transpose(x, dim0, dim1):
    n = x.ndim
    if n == 0:
        _wrap_dim(dim0, 0, "transpose"), _wrap_dim(dim1, 0, "transpose")
        return x
    return np.swapaxes(x, _wrap_dim(dim0, n, "transpose"), _wrap_dim(dim1, n, "transpose"))


defop("transpose", _transpose, lambda m, g, out, x, dim0, dim1: m.transpose(g, dim0, dim1), LINEAR,
      dtype="keep", view=True, formula="transpose: the gradient is transposed back")
public("swapaxes")(lambda input, axis0, axis1: apply(TABLE["transpose"], input, axis0, axis1))
public("swapdims")(lambda input, dim0, dim1: apply(TABLE["transpose"], input, dim0, dim1))


def _permute(x, dims):
    dims = tuple(_wrap_dim(d, x.ndim, "permute") for d in dims)
    if len(dims) != x.ndim or len(set(dims)) != len(dims):
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {x.ndim} is not equal "
            f"to len(dims) = {len(dims)}" if len(dims) != x.ndim else
            f"permute(): duplicate dims are not allowed (dims={list(dims)})"
        )
    return np.transpose(x, dims)


defop("permute", _permute,
      lambda m, g, out, x, dims: m.permute(g, tuple(np.argsort([d % max(x.ndim, 1) for d in dims]))),
      LINEAR, dtype="keep", view=True, formula="permute: the gradient is permuted back")


@public("permute")
def permute(input, *dims):
    """Reorder dimensions (a view)."""
    return apply(TABLE["permute"], input, dims=_shape_arg(dims))


def _squeeze(x, dim=None):
    if dim is None:
        return np.squeeze(x)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    ax = tuple(d for d in (_wrap_dim(d, x.ndim, "squeeze") for d in dims) if x.ndim and x.shape[d] == 1)
    return np.squeeze(x, ax) if ax else x.view()


defop("squeeze", _squeeze, lambda m, g, out, x, dim=None: m.reshape(g, tuple(x.shape)), LINEAR,
      dtype="keep", view=True, formula="squeeze: the gradient is reshaped back")


def _unsqueeze(x, dim):
    return np.expand_dims(x, _wrap_dim(dim, x.ndim + 1, "unsqueeze"))


defop("unsqueeze", _unsqueeze, lambda m, g, out, x, dim: m.reshape(g, tuple(x.shape)), LINEAR,
      dtype="keep", view=True, formula="unsqueeze: the gradient is reshaped back")


def _expand(x, shape):
    shape = tuple(shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(shape)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({x.ndim})"
        )
    tgt = []
    for i, s in enumerate(shape):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing dimension ({i})")
            tgt.append(s)
            continue
        cur = x.shape[i - lead]
        if s == -1:
            s = cur
        if cur != s and cur != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(shape)}.  Tensor sizes: "
                f"{list(x.shape)}"
            )
        tgt.append(s)
    return np.broadcast_to(x, tuple(tgt))


# the gradient keeps the expanded shape: the engine sums it back to the input's shape
defop("expand", _expand, lambda m, g, out, x, shape: g, LINEAR, dtype="keep", view=True,
      formula="expand: the gradient is summed over the expanded dimensions")


@public("expand", function=False)
def expand(input, *sizes):
    """Broadcast to ``sizes`` without copying (-1 keeps a dimension)."""
    return apply(TABLE["expand"], input, shape=_shape_arg(sizes))


public("expand_as", function=False)(lambda input, other: expand(input, tuple(other.shape)))
public("broadcast_to")(lambda input, size: expand(input, tuple(size)))


@public("flatten")
def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dimensions ``start_dim`` … ``end_dim`` into one."""
    n = input.ndim
    if n == 0:
        return reshape(input, (1,))
    s, e = _wrap_dim(start_dim, n, "flatten"), _wrap_dim(end_dim, n, "flatten")
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shp = tuple(input.shape)
    return reshape(input, shp[:s] + (-1 if 0 not in shp[s:e + 1] else 0,) + shp[e + 1:])


# ---- joining -------------------------------------------------------------------------------------
def _cat(xs, dim=0):
    if not xs:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    xs = [x for x in xs if not (x.ndim == 1 and x.shape[0] == 0)] or xs[:1]  # legacy empty tensors
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
    for i, x in enumerate(xs):
        if x.shape != xs[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(xs[0].shape)} at entry 0 "
                f"and {list(x.shape)} at entry {i}"
            )
    return np.stack(xs, axis=_wrap_dim(dim, xs[0].ndim + 1, "stack"))


def _stack_back(m, g, out, xs, needs, dim=0):
    d = dim % out.ndim
    return [m.getitem(g, (slice(None),) * d + (i,)) if need else None for i, need in enumerate(needs)]


defop("stack", _stack, vjp_all=_stack_back, jvp=LINEAR, nin=-1, formula="stack: the gradient is unstacked")
