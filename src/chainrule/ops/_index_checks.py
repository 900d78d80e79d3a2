"""Index checks shared by every row that takes indices, in torch's words and exception types.

NumPy wraps a negative index around and orders indexing results its own way; torch refuses
negative indices in most ops that take an index tensor, applies integers before tensor indices,
and hands back fresh (C-contiguous) results. The checks here cost one ``min()``/``max()`` pair
on the index array on the common path; the offending value is looked up only to raise.
"""

from __future__ import annotations

import numpy as np

from .._dtype import torch_name
from .._tensor import Tensor

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


def check_bounds(
    idx: np.ndarray,
    size: int,
    dim: int,
    *,
    negative: bool = False,
    exc: type = RuntimeError,
    words: str = "index {i} is out of bounds for dimension {dim} with size {size}",
) -> None:
    """Raise ``exc`` when an index lies outside ``[0, size)`` (``[-size, size)`` when the op
    accepts negative indices, as torch's ``index_fill``/``take``/``x[i]``). The message names
    the first offending index, as torch's does."""
    if not idx.size:
        return
    lo = -size if negative else 0
    if idx.min() >= lo and idx.max() < size:
        return
    bad = idx[(idx < lo) | (idx >= size)].flat[0]
    raise exc(words.format(i=int(bad), dim=dim, size=size))


# ---- x[index]: torch's order, words and strides --------------------------------------------------
def _is_int(i) -> bool:
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


def torch_index(index):
    """The index as torch reads it before indexing: a 0-d integer tensor is an int (a select,
    hence a view), slice steps are positive and Python ints fit in int64 (ValueError)."""
    items = index if type(index) is tuple else (index,)
    for i in items:  # one cheap pass on the common path; the rest only when needed
        t = type(i)
        if t is Tensor:
            if _int_scalar(i):
                return torch_index(_ints(index))
        elif t is slice:
            if i.step is not None:
                check_scalars((i,))
        elif t is int or t is list:
            check_scalars((i,))
    return index


def _ints(index):
    # through item(): the active modes see the value leave for Python, as for any int(tensor)
    conv = lambda i: int(i.item()) if type(i) is Tensor and _int_scalar(i) else i  # noqa: E731
    return tuple(conv(i) for i in index) if type(index) is tuple else conv(index)


def _int_scalar(t) -> bool:
    return t._array.ndim == 0 and t._array.dtype.kind in "iu"


def check_int64(op: str, name: str, values, exc: type = ValueError) -> None:
    """Python ints torch must unpack into int64: beyond it, torch's ValueError (TypeError for a
    sequence argument), never NumPy's OverflowError or a silently wrapped size."""
    for v in values if isinstance(values, (tuple, list)) else (values,):
        if type(v) is int and not _I64_MIN <= v <= _I64_MAX:
            words = "Overflow when unpacking long long"
            if exc is TypeError:
                words = (
                    f"{op}(): argument '{name}' failed to unpack the object with error \"{words}"
                )
            raise exc(f"{words} ({op}: {name}={v} does not fit in int64)")


def check_scalars(items: tuple) -> None:
    """Slice steps and Python ints as torch reads them (steps > 0, ints within int64)."""
    for i in items:
        t = type(i)
        if t is slice:
            st = i.step
            if st is not None and _is_int(st) and st <= 0:
                raise ValueError(
                    "slice step cannot be zero" if st == 0 else "step must be greater than zero"
                )
        elif t is int:
            if not _I64_MIN <= i <= _I64_MAX:
                raise ValueError(
                    f"Overflow when unpacking long long (index {i} does not fit in int64)"
                )
        elif t is list:
            check_scalars(tuple(v for v in i if type(v) is int or type(v) is list))


def locate(x: np.ndarray, items: tuple, write: bool = False):
    """``(view, rest)`` for ``x[items]`` in torch's order: integers, slices, None and Ellipsis
    first (torch selects integers before it looks at tensor indices), then the tensor indices
    (``rest``) on that view; ``rest`` is None when there are none (with ``write``, ``x[rest]``
    is the target). Bool masks are checked against the dims they index. One pass over the
    items: this runs on every ``x[...]``."""
    has_int = has_arr = has_ell = has_mask = has_none = False
    for i in items:
        t = type(i)
        if i is None:
            has_none = True
        elif t is np.ndarray:
            has_arr = True
            has_mask = has_mask or (i.dtype == np.bool_ and i.ndim > 0)
        elif t is bool or t is np.bool_:
            has_arr = True
        elif t is int or (t is not slice and i is not None and isinstance(i, np.integer)):
            has_int = True
        elif i is Ellipsis:
            has_ell = True
    if not has_arr:  # a trailing Ellipsis makes NumPy return a 0-d view, never a scalar copy
        if write:
            return x, items
        v = x[items if has_ell else items + (Ellipsis,)]
        return (_unsqueezed_strides(x, items, v) if has_none else v), None
    if not has_int:  # NumPy's order is torch's
        if has_mask:
            check_masks(items, x.shape)
        return x, items
    basic, adv = [], []
    for i in items:
        if isinstance(i, np.ndarray):
            basic += [slice(None)] * max(i.ndim if i.dtype == np.bool_ else 1, 1)
            adv.append(i)
        elif _is_int(i):
            basic.append(i)
        elif i is None:  # a new dim, made in step 1
            basic.append(None)
            adv.append(slice(None))
        elif type(i) is bool or type(i) is np.bool_:  # torch: a new dim, indexed by a tensor
            basic.append(None)
            adv.append(np.zeros(1 if i else 0, np.int64))
        else:  # a slice applies in step 1 (its dim stays whole in step 2); Ellipsis in both
            basic.append(i)
            adv.append(Ellipsis if i is Ellipsis else slice(None))
    if not has_ell:
        basic.append(Ellipsis)
    v, adv = x[tuple(basic)], tuple(adv)
    if has_mask:
        check_masks(adv, v.shape)
    return v, adv


def _unsqueezed_strides(x: np.ndarray, items: tuple, v: np.ndarray) -> np.ndarray:
    """``v = x[items]`` with the strides torch gives the dims None inserts (NumPy gives 0): torch
    unsqueezes left to right, so a new dim's stride is the extent of the input dim after it."""
    n_ell = x.ndim - sum(1 for i in items if i is not None and i is not Ellipsis)
    st, j, out = list(v.strides), 0, 0  # j: the input dim consumed next; out: the result dim
    for i in items:
        if i is None:
            st[out] = x.shape[j] * x.strides[j] if j < x.ndim else x.itemsize
            out += 1
        elif i is Ellipsis:
            j, out = j + n_ell, out + n_ell
        elif type(i) is slice:
            j, out = j + 1, out + 1
        else:  # an integer selects: the dim goes
            j += 1
    if tuple(st) == v.strides:
        return v
    return np.lib.stride_tricks.as_strided(v, v.shape, tuple(st), writeable=v.flags.writeable)


def check_masks(items: tuple, shape: tuple) -> None:
    """A bool mask must match the dims it indexes (torch's IndexError, torch's words)."""
    if not any(isinstance(i, np.ndarray) and i.dtype == np.bool_ and i.ndim for i in items):
        return
    new_dim = lambda i: i is None or type(i) is bool or type(i) is np.bool_  # noqa: E731
    n_ell = len(shape) - sum(
        (i.ndim if isinstance(i, np.ndarray) and i.dtype == np.bool_ else 1)
        for i in items
        if not new_dim(i) and i is not Ellipsis
    )
    d = 0
    for i in items:
        if i is Ellipsis:
            d += max(n_ell, 0)
        elif new_dim(i):
            continue
        elif isinstance(i, np.ndarray) and i.dtype == np.bool_:
            for k, s in enumerate(i.shape):
                if d + k < len(shape) and shape[d + k] != s:
                    raise IndexError(
                        f"The shape of the mask {list(i.shape)} at index {k} does not match the "
                        f"shape of the indexed tensor {list(shape)} at index {d + k}"
                    )
            d += i.ndim
        else:
            d += 1


def torch_words(e: IndexError, shape) -> IndexError:
    """NumPy's IndexError in torch's words ('dimension', 'tensor'), naming the tensor's shape."""
    text = str(e)
    if text.startswith("too many indices"):
        text = f"too many indices for tensor of dimension {len(shape)}"
    elif text.startswith("only integers"):
        text = (
            "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
            "valid indices"
        )
    text = text.replace(" for axis ", " for dimension ").replace(
        "indexing arrays", "indexing tensors"
    )
    return IndexError(f"{text} (indexing a tensor of shape {list(shape)})")


def fresh(r: np.ndarray) -> np.ndarray:
    """A result torch allocates anew has C-contiguous strides (size-1 dims included), whatever
    layout NumPy's fancy indexing produced: ``view`` then accepts what torch's accepts."""
    if not r.flags.c_contiguous:
        return np.ascontiguousarray(r)
    if r.ndim and (1 in r.shape or not r.size):  # where NumPy's strides are free
        st, acc = [], r.itemsize
        for n in reversed(r.shape):
            st.append(acc)
            acc *= max(n, 1)
        st = tuple(reversed(st))
        if st != r.strides:
            return np.lib.stride_tricks.as_strided(r, r.shape, st, writeable=True)
    return r


# ---- rows along one dimension: gather/scatter, index_add/index_copy ----------------------------
def check_gather(x, idx, d, op, src=None):
    """gather/scatter rows: torch's rules for the index's (and src's) shape, then its bounds."""
    if idx.ndim != max(x.ndim, 1) and not (x.ndim == 0 and idx.ndim <= 1):
        raise RuntimeError(
            f"Index tensor must have the same number of dimensions as "
            f"{'input' if src is None else 'self'} tensor (index {list(idx.shape)}, "
            f"{'input' if src is None else 'self'} {list(x.shape)})"
        )
    sn = np.ndim(src) if isinstance(src, np.ndarray) else 0
    if sn and sn > idx.ndim:
        raise RuntimeError(
            f"Index tensor must have the same number of dimensions as src tensor (index "
            f"{list(idx.shape)}, src {list(src.shape)})"
        )
    if sn and sn < idx.ndim:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-sn}, {sn - 1}], but got "
            f"{sn}) ({op}: index {list(idx.shape)} has more dimensions than src {list(src.shape)})"
        )
    for k in range(idx.ndim):
        if (k != d and x.ndim and idx.shape[k] > x.shape[k]) or (
            sn and idx.shape[k] > src.shape[k]
        ):
            raise RuntimeError(
                f"Size does not match at dimension {k} expected index {list(idx.shape)} to be no "
                f"larger than self {list(x.shape)} apart from dimension {d}"
                + (f" and to be no larger size than src {list(src.shape)}" if sn else "")
            )
    # torch refuses negative indices here (NumPy would wrap them around)
    check_bounds(idx, x.shape[d] if x.ndim else 1, d)


def check_src_rows(x, src, idx, d, op):
    """torch's rules for index_add/index_copy: source has self's shape apart from ``dim``,
    where it has one slice per index."""
    n = src.shape[d] if src.ndim > d else (1 if src.ndim == 0 else None)
    if n != idx.size:
        raise (IndexError if op == "index_copy" else RuntimeError)(
            f"{op}_(): Number of indices ({idx.size}) should be equal to source.size(dim)"
            f"{':' if op == 'index_add' else ''} ({n if n is not None else src.shape}), for dim: "
            f"{d} (source {list(src.shape)}, self {list(x.shape)})"
        )
    rest = lambda a: [s for k, s in enumerate(a.shape) if k != d]
    if src.ndim and x.ndim and (src.ndim != x.ndim or rest(src) != rest(x)):
        what = (
            "source tensor shape must match self tensor shape"
            if op == "index_add"
            else "Source/destination tensor must have same slice shapes"
        )
        raise RuntimeError(
            f"{what}, excluding the specified dimension. Got self.shape = {list(x.shape)} "
            f"source.shape = {list(src.shape)} (dim {d})"
        )


# ---- index dtypes of the row kernels -------------------------------------------------------------
_I32_64 = ("int32", "int64")
# op: (dtypes torch's kernel takes, exception type, torch's words); ``{t}`` is torch's dtype name
_INDEX_DTYPE_RULES = {
    "gather": (_I32_64, RuntimeError, "gather(): Expected dtype int32/int64 for index"),
    "scatter": (_I32_64, RuntimeError, "scatter(): Expected dtype int32/int64 for index"),
    "index_select": (_I32_64, RuntimeError,
                     "index_select(): Expected dtype int32 or int64 for index"),
    "index_add": (_I32_64, RuntimeError,
                  "index_add_(): Expected dtype int32/int64 for index but got: {t}"),
    "take_along_dim": (("int64",), RuntimeError,
                       "torch.take_along_dim(): dtype of indices should be Long but got {t}"),
    "index_copy": (("int64",), RuntimeError,
                   "index_copy_(): Expected a long tensor for index, but got {t}"),
    "index_fill": (("int64",), IndexError, "index_fill_(): Expected dtype int64 for index."),
    "take": (("int64",), RuntimeError, "take(): Expected a long tensor for index, but got {t}"),
    "put": (("int64",), RuntimeError, "put_(): Expected a long tensor for index, but got {t}"),
}
_INDEX_DTYPE_RULES["scatter_add"] = _INDEX_DTYPE_RULES["scatter_reduce"] = \
    _INDEX_DTYPE_RULES["scatter"]


def check_index_dtype(op: str, idx) -> None:
    """torch's row kernels take int32/int64 (some int64 only) index tensors, never the
    bool/uint8/int16 that subscripting accepts: its exception type and words, per op."""
    rule = _INDEX_DTYPE_RULES.get(op)
    if rule is None or not isinstance(idx, np.ndarray) or idx.dtype.name in rule[0]:
        return
    text = rule[2].format(t=torch_name(idx.dtype))
    raise rule[1](f"{text} ({op}: index of dtype {idx.dtype}, shape {list(idx.shape)})")
