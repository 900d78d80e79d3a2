"""Rule-table rows: shape ops (reshape, view, transpose, permute, squeeze, unsqueeze, expand,
flatten, cat, stack). All are linear, so their forward-mode rule is the op itself."""

from __future__ import annotations

import numpy as np

from .._dispatch import apply
from .. import _dtype
from .._tensor import _wrap_dim
from ._public import public
from ._index_checks import _I64_MAX, check_int64
from ._table import LINEAR, TABLE, defop


def _shape_arg(shape, op: str = "reshape", name: str = "shape") -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    if shape and (max(shape) > _I64_MAX or min(shape) < -_I64_MAX):
        check_int64(op, name, shape, TypeError)
    return shape


def _reshape(x, shape):
    if shape and min(shape) < 0:  # NumPy reads any negative size as -1
        _check_infer(x, tuple(shape))
    try:
        return np.reshape(x, shape)
    except ValueError:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {x.size}") from None


def _check_infer(x, shape):
    for k, s in enumerate(shape):
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s} at index {k} of shape {list(shape)}")
    if shape.count(-1) > 1:
        raise RuntimeError(f"only one dimension can be inferred (shape {list(shape)})")
    if x.size == 0 and 0 in shape:
        raise RuntimeError(
            f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
            "unspecified dimension size -1 can be any value and is ambiguous"
        )


def _view(x, shape):
    r = _reshape(x, shape)  # raises for a shape that does not fit the number of elements
    if not np.shares_memory(r, x) and x.size > 1:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead. "
            f"(input shape {list(x.shape)}, requested {list(shape)})"
        )
    return r


_back = lambda m, g, out, x, shape: m.reshape(g, tuple(x.shape))
defop(
    "reshape",
    _reshape,
    _back,
    LINEAR,
    dtype="keep",
    view=True,
    cls="Reshape",
    formula="reshape: the gradient is reshaped back",
)
defop(
    "view",
    _view,
    _back,
    LINEAR,
    dtype="keep",
    view=True,
    formula="view: the gradient is viewed back",
)


@public("reshape")
def reshape(input, *shape):
    """Same data in a new shape (a view when possible); one dimension may be -1."""
    return apply(TABLE["reshape"], input, shape=_shape_arg(shape))


@public("view", function=False)
def view(input, *shape):
    """A view with a new shape; RuntimeError if the memory layout does not allow it.
    ``view(dtype)``: the same memory read as another dtype (torch's rules; no gradient)."""
    if len(shape) == 1 and isinstance(shape[0], _dtype.dtype):
        from .views import view_dtype

        return view_dtype(input, shape[0])
    return apply(TABLE["view"], input, shape=_shape_arg(shape))



public("view_as", function=False)(lambda input, other: view(input, tuple(other.shape)))
public("reshape_as", function=False)(lambda input, other: reshape(input, tuple(other.shape)))


def _transpose(x, dim0, dim1):
    n = x.ndim
    if n == 0:
        _wrap_dim(dim0, 0, "transpose"), _wrap_dim(dim1, 0, "transpose")
        return x
    return np.swapaxes(x, _wrap_dim(dim0, n, "transpose"), _wrap_dim(dim1, n, "transpose"))


defop(
    "transpose",
    _transpose,
    lambda m, g, out, x, dim0, dim1: m.transpose(g, dim0, dim1),
    LINEAR,
    dtype="keep",
    view=True,
    formula="transpose: the gradient is transposed back",
)
public("swapaxes")(lambda input, axis0, axis1: apply(TABLE["transpose"], input, axis0, axis1))
public("swapdims")(lambda input, dim0, dim1: apply(TABLE["transpose"], input, dim0, dim1))


def _permute(x, dims):
    dims = tuple(_wrap_dim(d, x.ndim, "permute") for d in dims)
    if len(dims) != x.ndim or len(set(dims)) != len(dims):
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = "
            f"{x.ndim} is not equal "
            f"to len(dims) = {len(dims)}"
            if len(dims) != x.ndim
            else f"permute(): duplicate dims are not allowed (dims={list(dims)})"
        )
    return np.transpose(x, dims)


defop(
    "permute",
    _permute,
    lambda m, g, out, x, dims: m.permute(g, tuple(np.argsort([d % max(x.ndim, 1) for d in dims]))),
    LINEAR,
    dtype="keep",
    view=True,
    formula="permute: the gradient is permuted back",
)


@public("permute")
def permute(input, *dims):
    """Reorder dimensions (a view)."""
    if not dims:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
    return apply(TABLE["permute"], input, dims=_shape_arg(dims))


def _squeeze(x, dim=None):
    if dim is None:
        return np.squeeze(x)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    ax = tuple(
        d for d in (_wrap_dim(d, x.ndim, "squeeze") for d in dims) if x.ndim and x.shape[d] == 1
    )
    return np.squeeze(x, ax) if ax else x.view()


defop(
    "squeeze",
    _squeeze,
    lambda m, g, out, x, dim=None: m.reshape(g, tuple(x.shape)),
    LINEAR,
    dtype="keep",
    view=True,
    formula="squeeze: the gradient is reshaped back",
)


def _unsqueeze(x, dim):
    return np.expand_dims(x, _wrap_dim(dim, x.ndim + 1, "unsqueeze"))


defop(
    "unsqueeze",
    _unsqueeze,
    lambda m, g, out, x, dim: m.reshape(g, tuple(x.shape)),
    LINEAR,
    dtype="keep",
    view=True,
    formula="unsqueeze: the gradient is reshaped back",
)


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
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                    f"non-existing dimension {i} (expand of {list(x.shape)} to {list(shape)})"
                )
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
defop(
    "expand",
    _expand,
    lambda m, g, out, x, shape: g,
    LINEAR,
    dtype="keep",
    view=True,
    formula="expand: the gradient is summed over the expanded dimensions",
)


@public("expand", function=False)
def expand(input, *sizes):
    """Broadcast to ``sizes`` without copying (-1 keeps a dimension)."""
    return apply(TABLE["expand"], input, shape=_shape_arg(sizes, "expand", "size"))


public("expand_as", function=False)(lambda input, other: expand(input, tuple(other.shape)))
public("broadcast_to")(lambda input, size: expand(input, tuple(size)))


@public("flatten")
def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dimensions ``start_dim`` … ``end_dim`` into one."""
    n = input.ndim
    s, e = _wrap_dim(start_dim, n, "flatten"), _wrap_dim(end_dim, n, "flatten")
    if n == 0:
        return reshape(input, (1,))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shp = tuple(input.shape)
    return reshape(input, shp[:s] + (-1 if 0 not in shp[s : e + 1] else 0,) + shp[e + 1 :])


# ---- moving and repeating ------------------------------------------------------------------------
@public("unflatten")
def unflatten(input, dim: int, sizes):
    """Expand dimension ``dim`` into ``sizes`` (one entry may be -1)."""
    d = _wrap_dim(dim, input.ndim, "unflatten")
    shp = tuple(input.shape)
    sizes = tuple(int(s) for s in sizes)
    if -1 not in sizes and int(np.prod(sizes)) != shp[d]:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
            f"{dim} ({shp[d]}) in the input tensor"
        )
    return reshape(input, shp[:d] + sizes + shp[d + 1 :])


@public("movedim")
def movedim(input, source, destination):
    """Move dimensions ``source`` to positions ``destination`` (others keep their order)."""
    n = input.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({src} dims) should "
            f"contain the same number of dims as destination ({dst} dims)"
        )
    src = [_wrap_dim(s, n, "movedim") for s in src]
    dst = [_wrap_dim(s, n, "movedim") for s in dst]
    for name, ds, given in (("source", src, source), ("destination", dst, destination)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(ds)}, given {given})")
    if n == 0:  # a 0-d tensor: dims -1 and 0 name the tensor itself
        return permute(input, ())
    order = [i for i in range(n) if i not in src]
    perm = [None] * n
    for s, t in zip(src, dst):
        perm[t] = s
    it = iter(order)
    perm = [p if p is not None else next(it) for p in perm]
    return permute(input, *perm)


public("moveaxis")(movedim)



@public("t")
def t(input):
    """Transpose a tensor of at most 2 dimensions."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return apply(TABLE["transpose"], input, 0, 1) if input.ndim == 2 else input


public("adjoint")(lambda input: apply(TABLE["transpose"], input, -2, -1))


@public("broadcast_tensors", method=False)
def broadcast_tensors(*tensors):
    """Expand all tensors to their common broadcast shape (views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    try:
        shape = np.broadcast_shapes(*[tuple(t.shape) for t in tensors])
    except ValueError:
        raise RuntimeError(
            "The size of tensors must match at non-singleton dimensions: "
            f"{[list(t.shape) for t in tensors]}"
        ) from None
    return tuple(expand(t, tuple(shape)) for t in tensors)


def _repeat(x, repeats):
    repeats = tuple(int(r) for r in repeats)
    if len(repeats) < x.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of "
            f"dimensions of tensor (repeats {list(repeats)}, tensor {list(x.shape)})"
        )
    if any(r < 0 for r in repeats):
        shp = (1,) * (len(repeats) - x.ndim) + tuple(x.shape)
        out = [n * r for n, r in zip(shp, repeats)]
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {min(out)}: {out} (repeats "
            f"{list(repeats)})"
        )
    x = x.reshape((1,) * (len(repeats) - x.ndim) + x.shape)
    return np.tile(x, repeats)


def _repeat_back(m, g, out, x, repeats):
    lead = len(repeats) - x.ndim
    shp = (1,) * lead + tuple(x.shape)
    pairs = []
    for r, s in zip(repeats, shp):
        pairs += [int(r), s]
    g = m.reshape(g, tuple(pairs))
    return m.reshape(m.sum(g, dim=tuple(range(0, len(pairs), 2))), tuple(x.shape))


defop(
    "repeat",
    _repeat,
    _repeat_back,
    LINEAR,
    dtype="keep",
    saves=(),
    method=False,
    formula="repeat: the gradient is summed over the copies",
)


@public("repeat", function=False)
def repeat(input, *repeats):
    """Tile ``input`` ``repeats[i]`` times along each dimension (copies)."""
    return apply(TABLE["repeat"], input, _shape_arg(repeats, "repeat", "repeats"))


@public("tile")
def tile(input, dims):
    """Like ``repeat``; fewer ``dims`` than dimensions are padded with ones on the left."""
    dims = tuple(dims) if not isinstance(dims, int) else (dims,)
    dims = (1,) * (input.ndim - len(dims)) + dims
    return apply(TABLE["repeat"], input, dims)


@public("repeat_interleave")
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times (an int, or a tensor of per-element counts)."""
    from .._tensor import Tensor

    if repeats is None:  # repeat_interleave(repeats): indices repeated by their own counts
        counts = input._array.astype(np.int64)
        return Tensor(np.repeat(np.arange(counts.size), counts))
    if dim is None:
        input = reshape(input, (-1,))
        dim = 0
    d = _wrap_dim(dim, input.ndim, "repeat_interleave")
    n = input.shape[d] if input.ndim else 1
    r = repeats._array.astype(np.int64) if isinstance(repeats, Tensor) else np.int64(repeats)
    if np.any(r < 0):
        raise RuntimeError("repeats can not be negative")
    if r.ndim and r.size not in (1, n):
        raise RuntimeError(
            f"repeats must have the same size as input along dim, but got repeats.size(0) "
            f"= {r.size} and input.size({d}) = {n}"
        )
    idx = np.repeat(np.arange(n), r.reshape(-1) if r.ndim else r)
    if output_size is not None and idx.size != output_size:
        raise RuntimeError(
            f"repeat_interleave: output_size {output_size} does not match {idx.size}"
        )
    from .. import _ns

    return _ns.index_select(input, d, Tensor(idx))


def _flip(x, dims):
    dims = tuple(_wrap_dim(d, x.ndim, "flip") for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
    # torch's flip is a copy: writes must not reach the input
    return np.flip(x, dims).copy() if x.ndim else x.copy()


defop(
    "flip",
    _flip,
    lambda m, g, out, x, dims: m.flip(g, dims),
    LINEAR,
    dtype="keep",
    saves=(),
    method=False,
    formula="flip: the gradient is flipped back",
)


@public("flip")
def flip(input, *dims):
    """Reverse the order of elements along ``dims`` (a copy, as torch)."""
    return apply(TABLE["flip"], input, _shape_arg(dims, "flip", "dims"))


@public("fliplr")
def fliplr(input):
    """Flip along dimension 1 (columns)."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


@public("flipud")
def flipud(input):
    """Flip along dimension 0 (rows)."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


def _roll(x, shifts, dims=None):
    if dims is not None and x.ndim == 0:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions (roll)")
    if dims is None:
        return np.roll(x.reshape(-1), shifts).reshape(x.shape)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}"
        )
    return np.roll(x, shifts, tuple(_wrap_dim(d, x.ndim, "roll") for d in dims))


defop(
    "roll",
    _roll,
    lambda m, g, out, x, shifts, dims=None: m.roll(
        g, -shifts if isinstance(shifts, int) else tuple(-s for s in shifts), dims
    ),
    LINEAR,
    dtype="keep",
    saves=(),
    method=False,
    formula="roll: the gradient is rolled back",
)


@public("roll")
def roll(input, shifts, dims=None):
    """Shift elements cyclically along ``dims`` (flattened when None)."""
    check_int64("roll", "shifts", shifts)
    if dims is None:
        if not isinstance(shifts, int):
            if len(shifts) != 1:
                raise RuntimeError(
                    f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0"
                )
            shifts = int(shifts[0])
        return apply(TABLE["roll"], input, int(shifts), None)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return apply(TABLE["roll"], input, shifts, dims)


@public("rot90")
def rot90(input, k: int = 1, dims=(0, 1)):
    """Rotate by 90° ``k`` times in the plane of ``dims`` (from the first towards the second)."""
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = (_wrap_dim(d, input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}"
        )
    k %= 4
    if k == 1:
        return apply(TABLE["transpose"], flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, d0, d1)
    if k == 3:
        return flip(apply(TABLE["transpose"], input, d0, d1), d1)
    return _ns_clone(input)


def _ns_clone(x):
    from .. import _ns

    return _ns.clone(x)


@public("broadcast_shapes", method=False)
def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to."""
    from .._tensor import Size

    try:
        return Size(
            np.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s) for s in shapes])
        )
    except ValueError:
        raise RuntimeError(
            f"Shape mismatch: objects cannot be broadcast to a single shape: "
            f"{[list(s) if not isinstance(s, int) else s for s in shapes]}"
        ) from None


# ---- metadata-only in-place ops: the tensor becomes the view (same memory, new shape) ------------
def _meta_inplace(name, op_fn):
    def fn(self, *args, **kw):
        from .._tensor import Tensor

        if not isinstance(self, Tensor):
            raise TypeError(f"{name}() expected a Tensor")
        from .._tensor import _make

        src = _make(self._array, self.grad_fn, self._output_nr)  # stands for self before: the node saves it
        src._requires_grad = self._requires_grad
        src._version_counter = self._version_counter
        r = op_fn(src, *args, **kw)
        self._array = r._array
        if r.grad_fn is not None and self.grad_fn is not None:  # a leaf stays a leaf
            self.grad_fn, self._output_nr = r.grad_fn, r._output_nr
        return self

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"In-place ``{name[:-1]}``: changes this tensor's shape (no data is copied)."
    return fn


public("unsqueeze_", function=False)(
    _meta_inplace("unsqueeze_", lambda x, dim: apply(TABLE["unsqueeze"], x, dim))
)
public("squeeze_", function=False)(
    _meta_inplace("squeeze_", lambda x, dim=None: apply(TABLE["squeeze"], x, dim))
)
public("t_", function=False)(_meta_inplace("t_", lambda x: t(x)))
public("transpose_", function=False)(
    _meta_inplace("transpose_", lambda x, dim0, dim1: apply(TABLE["transpose"], x, dim0, dim1))
)
