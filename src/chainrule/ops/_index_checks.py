"""Index checks shared by every row that takes indices, in torch's words and exception types.

NumPy wraps a negative index around and orders indexing results its own way; torch refuses
negative indices in most ops that take an index tensor, applies integers before tensor indices,
and hands back fresh (C-contiguous) results. The checks here cost one ``min()``/``max()`` pair
on the index array on the common path; the offending value is looked up only to raise.
"""

from __future__ import annotations

import numpy as np

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


def locate(x: np.ndarray, items: tuple):
    """``(view, rest)`` for ``x[items]`` in torch's order: integers, slices, None and Ellipsis
    first (torch selects integers before it looks at tensor indices), then the tensor indices
    (``rest``) on that view; ``rest`` is None when there are none. One pass over the items: this
    runs on every ``x[...]``."""
    has_int = has_arr = has_ell = False
    for i in items:
        t = type(i)
        if t is np.ndarray or t is bool or t is np.bool_:
            has_arr = True
        elif t is int or (t is not slice and i is not None and isinstance(i, np.integer)):
            has_int = True
        elif i is Ellipsis:
            has_ell = True
    if not has_arr:  # a trailing Ellipsis makes NumPy return a 0-d view, never a scalar copy
        return x[items if has_ell else items + (Ellipsis,)], None
    if not has_int:  # NumPy's order is torch's
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
        else:  # slice or Ellipsis: the same dims in both steps
            basic.append(i)
            adv.append(i)
    if not has_ell:
        basic.append(Ellipsis)
    return x[tuple(basic)], tuple(adv)


def check_masks(items: tuple, shape: tuple) -> None:
    """A bool mask must match the dims it indexes (torch's IndexError, torch's words)."""
    if not any(isinstance(i, np.ndarray) and i.dtype == np.bool_ and i.ndim for i in items):
        return
    n_ell = len(shape) - sum(
        (i.ndim if isinstance(i, np.ndarray) and i.dtype == np.bool_ else 1)
        for i in items
        if i is not None and i is not Ellipsis
    )
    d = 0
    for i in items:
        if i is Ellipsis:
            d += max(n_ell, 0)
        elif i is None:
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
    text = text.replace(" for axis ", " for dimension ").replace("indexing arrays", "indexing tensors")
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
