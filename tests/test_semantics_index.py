"""Indices, shapes and ordering as torch: bad calls raise torch's exception type with torch's
words (checked against torch itself, so a test cannot pass on a wrong guess of torch's
behaviour), and the valid edge cases compute torch's values."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from op_db import OPS

torch = pytest.importorskip("torch")


def _raises_like_torch(fn, exc, words):
    """``fn(m)`` raises ``exc`` matching ``words`` for torch (the premise) and for chainrule."""
    for m in (torch, cr):
        with pytest.raises(Exception) as info:
            fn(m)
        got = info.value
        assert type(got) is exc, (
            f"{m.__name__}: {type(got).__name__}: {got} (expected {exc.__name__})"
        )
        assert re.search(words, str(got)), f"{m.__name__}: {got!r} lacks {words!r}"


# ---- the op database's error inputs (run by test_semantics_errors.test_error_inputs) -------------
ERROR_CASES = [
    (info.name, k, e) for info in OPS for k, e in enumerate(getattr(info, "error_inputs", ()))
]


def test_error_inputs_are_collected():
    names = {c[0] for c in ERROR_CASES}
    assert {"gather", "scatter", "index_select", "take", "put", "getitem_int_then_tensor"} <= names


# ---- index bounds, per op: torch refuses or wraps negative indices, op by op ---------------------
X = lambda m: m.arange(6.0).reshape(2, 3)  # noqa: E731
NEG = lambda m: m.tensor([[-1, 0, 1]])  # noqa: E731
OOB = r"index -1 is out of bounds for dimension 1 with size 3"
REFUSED = [
    ("gather", lambda m: m.gather(X(m), 1, NEG(m)), RuntimeError, OOB),
    ("scatter", lambda m: m.scatter(X(m), 1, NEG(m), m.ones(1, 3)), RuntimeError, OOB),
    ("scatter_value", lambda m: m.scatter(X(m), 1, NEG(m), value=1.0), RuntimeError, OOB),
    ("scatter_add", lambda m: m.scatter_add(X(m), 1, NEG(m), m.ones(1, 3)), RuntimeError, OOB),
    (
        "scatter_reduce",
        lambda m: m.scatter_reduce(X(m), 1, NEG(m), m.ones(1, 3), "sum"),
        RuntimeError,
        OOB,
    ),
    (
        "scatter_reduce-3",
        lambda m: m.scatter_reduce(X(m), 1, m.tensor([[-3, 0, 0]]), m.ones(1, 3), "prod"),
        RuntimeError,
        r"index -3 is out of bounds for dimension 1 with size 3",
    ),
    (
        "index_add",
        lambda m: m.index_add(X(m), 1, m.tensor([0, -1]), m.ones(2, 2)),
        RuntimeError,
        OOB,
    ),
    (
        "index_copy",
        lambda m: m.index_copy(X(m), 1, m.tensor([-3, 0]), m.ones(2, 2)),
        IndexError,
        r"index -3 is out of bounds for dimension 1 with size 3",
    ),
    (
        "index_select0",
        lambda m: m.index_select(X(m), 0, m.tensor([0, -1])),
        IndexError,
        r"index out of range in self",
    ),
    (
        "index_select1",
        lambda m: m.index_select(X(m), 1, m.tensor([-3])),
        RuntimeError,
        r"INDICES element is out of DATA bounds, id=-3 axis_dim=3",
    ),
    (
        "embedding",
        lambda m: m.nn.functional.embedding(m.tensor([0, -1]), X(m)),
        IndexError,
        r"index out of range in self",
    ),
    (
        "max_unpool1d",
        lambda m: m.nn.functional.max_unpool1d(m.ones(1, 1, 2), m.tensor([[[-1, 0]]]), 2),
        RuntimeError,
        r"Found an invalid max index: -1",
    ),
    (
        "max_unpool1d_big",
        lambda m: m.nn.functional.max_unpool1d(m.ones(1, 1, 2), m.tensor([[[0, 4]]]), 2),
        RuntimeError,
        r"Found an invalid max index: 4",
    ),
    (
        "nll_loss",
        lambda m: m.nn.functional.nll_loss(X(m), m.tensor([0, -1])),
        IndexError,
        r"Target -1 is out of bounds",
    ),
    (
        "cross_entropy",
        lambda m: m.nn.functional.cross_entropy(X(m), m.tensor([3, 0])),
        IndexError,
        r"Target 3 is out of bounds",
    ),
    (
        "one_hot",
        lambda m: m.nn.functional.one_hot(m.tensor([-1, 0]), 3),
        RuntimeError,
        r"Class values must be non-negative",
    ),
    (
        "cross_entropy_probs_ignore_index",
        lambda m: m.nn.functional.cross_entropy(X(m), m.ones(2, 3) / 3, ignore_index=1),
        RuntimeError,
        r"ignore_index is not supported for floating point target",
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c[0])
def test_refused_indices_raise_as_torch(case):
    _, fn, exc, words = case
    _raises_like_torch(fn, exc, words)


WRAPPED = [  # torch accepts negative indices here: the same values, never an error
    ("index_fill", lambda m: m.index_fill(X(m), 1, m.tensor([-1]), 5.0)),
    ("take", lambda m: m.take(X(m), m.tensor([-1, -6]))),
    ("take_along_dim", lambda m: m.take_along_dim(X(m), m.tensor([[-1, 0], [-3, 2]]), 1)),
    ("index_put", lambda m: m.index_put(X(m), (m.tensor([-1]),), m.tensor(9.0))),
    ("getitem", lambda m: X(m)[m.tensor([-1, 0]), -1]),
    ("put_", lambda m: X(m).put_(m.tensor([-1, -6]), m.tensor([7.0, 8.0]))),
]


@pytest.mark.parametrize("case", WRAPPED, ids=lambda c: c[0])
def test_wrapped_indices_as_torch(case):
    _, fn = case
    np.testing.assert_array_equal(fn(cr).numpy(), fn(torch).numpy())


# ---- advanced indexing: torch's dim order, fresh strides, setitem, backward ----------------------
def _patterns(m):
    i, j = m.tensor([0, 1]), m.tensor([1, 2])
    s = slice(None)
    return [
        (i, s, j),
        (s, i, s, j),
        (s, i, j),
        (i, None, j),
        (i, 1),
        (1, s, i),
        (1, i),
        (s, 1, i),
        (i, s, 1),
        (s, i, 1),
        (s, i, s, 1),
        (Ellipsis, i, s, j),
        (i, Ellipsis, j),
        (m.tensor([True, False]), s, m.tensor([1])),
        (s, m.tensor([True, False, True]), j),
        (m.tensor([[0], [1]]), s, j),
        (0, s, s, j),
        (i, s, s, 2),
        (None, i, s, j),
        (s, None, i),
        (i, s, None, j),
        ([0, 1], s, [1, 2]),
        (1, 1, s, j),
        (i, 1, s, j),
        (s, 1, s, j),
        (s, i, 1, j),
        (m.tensor(1), s, j),
        (s, m.tensor(1), s, m.tensor(2)),
        (True, 1, s, i),
        (i, True, 1),
        (False, 1, m.tensor([1])),
        (None, 1, j),
        (1, True),
    ]


N_PATTERNS = len(_patterns(cr))
BASE = np.arange(120.0).reshape(2, 3, 4, 5)


@pytest.mark.parametrize("k", range(N_PATTERNS))
def test_advanced_indexing_order_strides_and_setitem_as_torch(k):
    out = {}
    for m in (torch, cr):
        x = m.tensor(BASE, requires_grad=True)
        p = _patterns(m)[k]
        y = x[p]
        u = m.tensor(np.arange(float(y.numel())).reshape(tuple(y.shape)))
        (g,) = m.autograd.grad((y * u).sum(), [x])
        z = m.tensor(BASE)
        z[p] = u
        out[m] = (y.detach().numpy(), tuple(y.stride()), y.is_contiguous(), g.numpy(), z.numpy())
    (ty, ts, tc, tg, tz), (cy, cs, cc, cg, cz) = out[torch], out[cr]
    assert cy.shape == ty.shape
    np.testing.assert_array_equal(cy, ty)
    assert (cs, cc) == (ts, tc), f"strides {cs} vs torch {ts}"
    np.testing.assert_array_equal(cg, tg)
    np.testing.assert_array_equal(cz, tz)


def test_view_of_an_advanced_indexing_result():
    for m in (torch, cr):
        x = m.tensor(BASE)
        assert tuple(x[:, m.tensor([0, 1]), m.tensor([1, 2])].view(-1).shape) == (20,)
        assert tuple(x[m.tensor([0, 1]), None, m.tensor([1, 2])].view(2, 20).shape) == (2, 20)


def test_0d_integer_tensor_index_is_a_view():
    x = cr.tensor(BASE)
    y = x[:, cr.tensor(1)]
    y[0, 0, 0] = -1.0
    assert x[0, 1, 0, 0].item() == -1.0  # written through, as torch's select
    assert y.stride() == torch.tensor(BASE)[:, torch.tensor(1)].stride()


OVF = r"Overflow when unpacking long long"


# ---- shape ops -----------------------------------------------------------------------------------
SHAPE_ERRORS = [
    (
        "cumsum_0d",
        lambda m: m.cumsum(m.tensor(3.0), 3),
        IndexError,
        r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 3\)",
    ),
    ("cumprod_0d", lambda m: m.cumprod(m.tensor(3.0), -2), IndexError, r"Dimension out of range"),
    (
        "logcumsumexp_0d",
        lambda m: m.logcumsumexp(m.tensor(3.0), 1),
        IndexError,
        r"Dimension out of range",
    ),
    ("cummax_0d", lambda m: m.cummax(m.tensor(3.0), 3), IndexError, r"3"),
    ("cummin_0d", lambda m: m.cummin(m.tensor(3.0), 3), IndexError, r"3"),
    ("median_0d", lambda m: m.median(m.tensor(3.0), 3), IndexError, r"Dimension out of range"),
    (
        "nanmedian_0d",
        lambda m: m.nanmedian(m.tensor(3.0), 1),
        IndexError,
        r"Dimension out of range",
    ),
    ("mode_0d", lambda m: m.mode(m.tensor(3.0), 3), IndexError, r"Dimension out of range"),
    ("sort_0d", lambda m: m.sort(m.tensor(3.0), 1), IndexError, r"Dimension out of range"),
    ("topk_0d", lambda m: m.topk(m.tensor(3.0), 1, 2), IndexError, r"Dimension out of range"),
    (
        "kthvalue_0d",
        lambda m: m.kthvalue(m.tensor(3.0), 1, 2),
        IndexError,
        r"Dimension out of range",
    ),
    (
        "mode_empty",
        lambda m: m.mode(m.zeros(0, 3), 0),
        IndexError,
        r"mode\(\): Expected reduction dim 0 to have non-zero size",
    ),
    (
        "argmax_empty",
        lambda m: m.argmax(m.zeros(0, 3)),
        IndexError,
        r"argmax\(\): Expected reduction dim to be specified for input.numel\(\) == 0",
    ),
    (
        "argmin_empty_dim",
        lambda m: m.argmin(m.zeros(0, 3), 0),
        IndexError,
        r"argmin\(\): Expected reduction dim 0 to have non-zero size",
    ),
    (
        "kthvalue_k",
        lambda m: m.kthvalue(X(m), 4, 1),
        RuntimeError,
        r"kthvalue\(\): selected number k out of range for dimension 1",
    ),
    ("topk_k", lambda m: m.topk(X(m), 4), RuntimeError, r"selected index k out of range"),
    (
        "movedim_repeat",
        lambda m: m.movedim(X(m), (0, 0), (0, 1)),
        RuntimeError,
        r"movedim: repeated dim in `source` \(\[0, 0\]",
    ),
    ("movedim_0d", lambda m: m.movedim(m.tensor(1.0), 1, 0), IndexError, r"Dimension out of range"),
    (
        "unfold_size",
        lambda m: X(m).unfold(1, 4, 1),
        RuntimeError,
        r"maximum size for tensor at dimension 1 is 3 but size is 4",
    ),
    ("unfold_step", lambda m: X(m).unfold(1, 2, 0), RuntimeError, r"step is 0 but must be > 0"),
    ("unfold_dim", lambda m: X(m).unfold(2, 1, 1), IndexError, r"Dimension out of range"),
    (
        "view_dtype_0d",
        lambda m: m.tensor(1.0).view(m.float64),
        RuntimeError,
        r"self.dim\(\) cannot be 0 to view Float as Double \(different element sizes\)",
    ),
    (
        "view_dtype_size",
        lambda m: X(m).view(m.float64),
        RuntimeError,
        r"self.size\(-1\) must be divisible by 2 to view Float as Double",
    ),
    (
        "view_dtype_stride",
        lambda m: X(m).t().view(m.float16),
        RuntimeError,
        r"self.stride\(-1\) must be 1 to view Float as Half",
    ),
    (
        "reshape_neg",
        lambda m: X(m).reshape(-2, 3),
        RuntimeError,
        r"invalid shape dimension -2 at index 0 of shape \[-2, 3\]",
    ),
    (
        "reshape_two",
        lambda m: X(m).view(-1, -1),
        RuntimeError,
        r"only one dimension can be inferred",
    ),
    (
        "reshape_empty",
        lambda m: m.zeros(0, 3).reshape(-1, 0),
        RuntimeError,
        r"cannot reshape tensor of 0 elements into shape \[-1, 0\]",
    ),
    ("permute_none", lambda m: X(m).permute(), TypeError, r"missing 1 required positional"),
    (
        "roll_0d",
        lambda m: m.tensor(1.0).roll(1, 0),
        IndexError,
        r"Dimension specified as 0 but tensor has no dimensions",
    ),
    (
        "split_neg_sizes",
        lambda m: m.split(X(m), [4, -1], 1),
        RuntimeError,
        r"split_with_sizes expects split_sizes have only non-negative entries",
    ),
    (
        "split_neg",
        lambda m: m.split(X(m), -1, 1),
        RuntimeError,
        r"split expects split_size be non-negative, but got split_size=-1",
    ),
    (
        "split_0d",
        lambda m: m.split(m.tensor(1.0), 1),
        RuntimeError,
        r"split expects at least a 1-dimensional tensor",
    ),
    (
        "chunk_0d",
        lambda m: m.chunk(m.tensor(1.0), 1),
        RuntimeError,
        r"chunk expects at least a 1-dimensional tensor",
    ),
    (
        "narrow_0d",
        lambda m: m.narrow(m.tensor(1.0), 0, 0, 1),
        RuntimeError,
        r"narrow\(\) cannot be applied to a 0-dim tensor",
    ),
    (
        "narrow_len",
        lambda m: m.narrow(X(m), 1, 0, -1),
        RuntimeError,
        r"narrow\(\): length must be non-negative",
    ),
    (
        "select_0d",
        lambda m: m.select(m.tensor(1.0), 0, 0),
        IndexError,
        r"select\(\) cannot be applied to a 0-dim tensor",
    ),
    (
        "cat_0d",
        lambda m: m.cat([m.tensor(1.0), m.tensor(2.0)]),
        RuntimeError,
        r"zero-dimensional tensor \(at position 0\) cannot be concatenated",
    ),
    (
        "pad_replicate_small",
        lambda m: m.nn.functional.pad(m.zeros(1, 2, 6), (-4, -3), mode="replicate"),
        RuntimeError,
        r"input \(W: 6\) is too small. Calculated output W: -1",
    ),
    ("flatten_0d", lambda m: m.tensor(1.0).flatten(-2), IndexError, r"Dimension out of range"),
    (
        "unique_0d_dim",
        lambda m: m.unique(m.tensor(1.0), dim=0),
        IndexError,
        r"Dimension specified as 0 but tensor has no dimensions",
    ),
    (
        "unique_zero_dims",
        lambda m: m.unique(m.zeros(0, 2, 0), dim=2),
        RuntimeError,
        r"Number of zero sized dimensions is more than one, so unique cannot be applied",
    ),
    (
        "kthvalue_empty",
        lambda m: m.kthvalue(m.zeros(3, 0), 1, 1),
        IndexError,
        r"kthvalue\(\): Expected reduction dim 1 to have non-zero size",
    ),
    (
        "tensor_split_0d",
        lambda m: m.tensor_split(m.tensor(1.0), 2),
        RuntimeError,
        r"tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims",
    ),
    (
        "take_along_dim_bcast",
        lambda m: m.take_along_dim(m.zeros(1, 2, 1), m.zeros(2, 3, 1, dtype=m.long), 0),
        RuntimeError,
        r"The size of tensor a \(2\) must match the size of tensor b \(3\) at "
        r"non-singleton dimension 1",
    ),
    (
        "repeat_negative",
        lambda m: X(m).repeat(2, -1),
        RuntimeError,
        r"Trying to create tensor with negative dimension -3: \[4, -3\]",
    ),
    (
        "expand_leading_negative",
        lambda m: X(m).expand(-1, 2, 3),
        RuntimeError,
        r"The expanded size of the tensor \(-1\) isn't allowed in a leading, non-existing "
        r"dimension 0",
    ),
    # Python ints beyond int64: torch's ValueError (TypeError for a sequence argument)
    ("roll_overflow", lambda m: m.roll(X(m), 2**70, 0), ValueError, OVF),
    ("split_overflow", lambda m: m.split(X(m), 2**70), ValueError, OVF),
    ("chunk_overflow", lambda m: m.chunk(X(m), 2**70), ValueError, OVF),
    ("select_overflow", lambda m: m.select(X(m), 0, 2**70), ValueError, OVF),
    ("narrow_overflow", lambda m: m.narrow(X(m), 0, 0, 2**70), ValueError, OVF),
    ("unfold_overflow", lambda m: X(m).unfold(0, 1, 2**70), ValueError, OVF),
    ("topk_overflow", lambda m: m.topk(X(m), 2**70), ValueError, OVF),
    ("reshape_overflow", lambda m: X(m).reshape(2**70, 1), TypeError, OVF),
    ("expand_overflow", lambda m: X(m).expand(2**70, 2, 3), TypeError, OVF),
    ("repeat_overflow", lambda m: X(m).repeat(2**70, 1), TypeError, OVF),
    ("tensor_split_overflow", lambda m: m.tensor_split(X(m), [2**70]), TypeError, OVF),
    ("pad_overflow", lambda m: m.nn.functional.pad(X(m), (2**70, 0)), TypeError, OVF),
    ("unique_dim", lambda m: m.unique(X(m), dim=2), IndexError, r"Dimension out of range"),
]


@pytest.mark.parametrize("case", SHAPE_ERRORS, ids=lambda c: c[0])
def test_shape_errors_as_torch(case):
    _, fn, exc, words = case
    _raises_like_torch(fn, exc, words)


def _same(fn):
    t, c = fn(torch), fn(cr)
    ts = t if isinstance(t, (tuple, list)) else (t,)
    cs = c if isinstance(c, (tuple, list)) else (c,)
    assert len(ts) == len(cs)
    for a, b in zip(cs, ts):
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


SHAPE_VALUES = [
    ("movedim_0d", lambda m: m.movedim(m.tensor(3.0), 0, -1)),
    ("unfold", lambda m: m.arange(10.0).reshape(2, 5).unfold(1, 3, 2)),
    ("unfold_dim0", lambda m: m.arange(24.0).reshape(4, 3, 2).unfold(0, 2, 1)),
    ("unfold_0d", lambda m: m.tensor(3.0).unfold(0, 1, 1)),
    ("unfold_empty_windows", lambda m: m.arange(6.0).unfold(0, 0, 2)),
    ("view_int32", lambda m: X(m).view(m.int32)),
    ("view_half", lambda m: X(m).view(m.float16)),
    ("view_double", lambda m: m.arange(4.0).view(m.float64)),
    ("view_uint8", lambda m: X(m).view(m.uint8)),
    ("view_bool", lambda m: m.tensor([0, 1, 2], dtype=m.uint8).view(m.bool)),
    ("view_same_size_strided", lambda m: X(m).t().view(m.int32)),
    ("cummax_empty", lambda m: m.cummax(m.zeros(0, 3), 0)),
    ("cummin_empty", lambda m: m.cummin(m.zeros(2, 0, 3), 2)),
    ("cumsum_0d", lambda m: m.cumsum(m.tensor(3.0), -1)),
    ("argmax_empty_dim", lambda m: m.argmax(m.zeros(0, 3), 1)),
    ("median_0d", lambda m: m.median(m.tensor(3.0), 0)),
    ("sort_0d", lambda m: m.sort(m.tensor(3.0), -1)),
    (
        "unique",
        lambda m: m.unique(
            m.tensor([[2, 1, 2], [0, 1, 2]]), return_inverse=True, return_counts=True
        ),
    ),
    (
        "unique_dim",
        lambda m: m.unique(
            m.tensor([[2, 1], [0, 1], [2, 1]]), dim=0, return_inverse=True, return_counts=True
        ),
    ),
    ("unique_nan", lambda m: m.tensor([float("nan"), 1.0, float("nan")]).unique()),
    (
        "unique_consecutive",
        lambda m: m.unique_consecutive(
            m.tensor([1, 1, 2, 1]), return_inverse=True, return_counts=True
        ),
    ),
    (
        "pad_reflect_negative",
        lambda m: m.nn.functional.pad(m.arange(12.0).reshape(1, 2, 6), (-6, 1), mode="reflect"),
    ),
    (
        "pad_replicate_negative",
        lambda m: m.nn.functional.pad(
            m.arange(24.0).reshape(1, 1, 4, 6), (1, -2, -1, 2), mode="replicate"
        ),
    ),
    ("flip_0d", lambda m: m.tensor(2.0).flip(0)),
    ("flatten_0d", lambda m: m.tensor(2.0).flatten(-1, 0)),
    ("take_along_dim_flat", lambda m: m.take_along_dim(X(m), m.tensor([5, 0, 2]))),
    ("take_along_dim_broadcast", lambda m: m.take_along_dim(X(m), m.tensor([[2, 0]]), 1)),
]


@pytest.mark.parametrize("case", SHAPE_VALUES, ids=lambda c: c[0])
def test_shape_values_as_torch(case):
    _same(case[1])


def test_unfold_gradient_adds_overlapping_windows():
    grads = []
    for m in (torch, cr):
        x = m.arange(10.0).reshape(2, 5).requires_grad_()
        w = m.arange(12.0).reshape(2, 2, 3)
        (x.unfold(1, 3, 2) * w).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


def test_bounds_check_names_the_first_bad_index():
    from chainrule.ops._index_checks import check_bounds

    check_bounds(np.array([0, 2, -3]), 3, 0, negative=True)  # in range: no error
    with pytest.raises(
        RuntimeError, match=r"index -4 is out of bounds for dimension 1 with size 3"
    ):
        check_bounds(np.array([1, -4, 7]), 3, 1, negative=True)
    with pytest.raises(IndexError, match=r"index 7 "):
        check_bounds(np.array([[1, 7], [-1, 0]]), 3, 0, exc=IndexError)


def test_flip_is_a_copy_and_unfold_a_view_as_in_torch():
    seen = []
    for m in (torch, cr):
        x = m.arange(6.0)
        f = x.flip(0)
        f[0] = -1.0  # a copy: x keeps its values
        u = x.unfold(0, 2, 2)
        u[1, 0] = -2.0  # a view: the write reaches x
        y = m.arange(6.0).requires_grad_()
        z = y * 1
        z.unfold(0, 2, 3).mul_(2.0)  # in place through the windows of a view
        (z * m.arange(6.0)).sum().backward()
        seen.append((x.tolist(), f.stride(), u.stride(), z.detach().tolist(), y.grad.tolist()))
    assert seen[1] == seen[0]


# ---- a small differential fuzz of these ops: no silent acceptance, no wrong value ---------------
def _fuzz_ops():
    ones = lambda m, x, i: m.ones(tuple(i.shape), dtype=x.dtype)  # noqa: E731
    return {
        "gather": lambda m, x, i, d: m.gather(x, d, i),
        "scatter": lambda m, x, i, d: m.scatter(x, d, i, 1.0),
        "scatter_add": lambda m, x, i, d: m.scatter_add(x, d, i, ones(m, x, i)),
        "scatter_reduce": lambda m, x, i, d: m.scatter_reduce(x, d, i, ones(m, x, i), "amax"),
        "index_select": lambda m, x, i, d: m.index_select(x, d, i.reshape(-1)),
        "index_fill": lambda m, x, i, d: m.index_fill(x, d, i.reshape(-1), 2.0),
        "index_copy": lambda m, x, i, d: m.index_copy(x, d, i.reshape(-1), x),
        "take": lambda m, x, i, d: m.take(x, i),
        "take_along_dim": lambda m, x, i, d: m.take_along_dim(x, i, d),
        "getitem": lambda m, x, i, d: x[i],
        "getitem_int": lambda m, x, i, d: x[d, i] if x.ndim > 1 else x[i, None],
        "index_put": lambda m, x, i, d: m.index_put(x, (i,), m.tensor(1.0)),
        "cumsum": lambda m, x, i, d: m.cumsum(x, d),
        "cummax": lambda m, x, i, d: m.cummax(x, d),
        "sort": lambda m, x, i, d: m.sort(x, d),
        "argmax": lambda m, x, i, d: m.argmax(x, d),
        "median": lambda m, x, i, d: m.median(x, d),
        "kthvalue": lambda m, x, i, d: m.kthvalue(x, 1, d),
        "squeeze": lambda m, x, i, d: x.squeeze(d),
        "transpose": lambda m, x, i, d: x.transpose(0, d),
        "flip": lambda m, x, i, d: x.flip(d),
        "movedim": lambda m, x, i, d: x.movedim(d, 0),
        "narrow": lambda m, x, i, d: x.narrow(d, -1, 1),
        "select": lambda m, x, i, d: x.select(d, -1),
        "split": lambda m, x, i, d: x.split(1, d),
        "unfold": lambda m, x, i, d: x.unfold(d, 1, 1),
        "unique": lambda m, x, i, d: m.unique(x, dim=d),
        "flatten": lambda m, x, i, d: x.flatten(d),
        "one_hot": lambda m, x, i, d: m.nn.functional.one_hot(i, 4),
    }


def _outcome(f, m, x, i, d):
    try:
        r = f(m, m.tensor(x), m.tensor(i), d)
    except Exception as e:  # noqa: BLE001 - the outcome is what is compared
        return ("raise", type(e).__name__)
    rs = r if isinstance(r, (tuple, list)) else (r,)
    return ("value", [np.asarray(t.detach().numpy()) for t in rs])


def test_index_and_shape_ops_never_silent_or_wrong_against_torch():
    rng = np.random.default_rng(11)
    ops = _fuzz_ops()
    names = sorted(ops)
    silent, wrong = [], []
    for _ in range(900):
        name = names[rng.integers(len(names))]
        shape = tuple(int(n) for n in rng.integers(0, 4, rng.integers(0, 4)))
        x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) * 0.5 - 1
        ishape = (
            shape
            if rng.random() < 0.6
            else tuple(int(n) for n in rng.integers(0, 4, rng.integers(0, 4)))
        )
        i = rng.integers(-4, 4, ishape).astype(np.int64)
        d = int(rng.integers(-4, 3))
        t = _outcome(ops[name], torch, x, i, d)
        c = _outcome(ops[name], cr, x, i, d)
        case = (name, shape, ishape, d)
        if t[0] == "raise" and c[0] == "value":
            silent.append(case)
        elif t[0] == c[0] == "value":
            same = len(t[1]) == len(c[1]) and all(
                a.shape == b.shape and np.allclose(a.astype(float), b.astype(float), equal_nan=True)
                for a, b in zip(t[1], c[1])
            )
            if not same:
                wrong.append(case)
    assert not silent, f"accepted where torch raises: {silent[:5]}"
    assert not wrong, f"values differ from torch: {wrong[:5]}"


def test_view_dtype_shares_memory_and_version_with_its_input():
    seen = []
    for m in (torch, cr):
        x = m.ones(2, 4)
        y = x.view(m.int32)
        v0 = x._version
        y.add_(1)  # one ulp up, through the integer view
        seen.append((x._version - v0, x[0, 0].item(), y.requires_grad, tuple(y.shape)))
    assert seen[1] == seen[0]


def _random_index(rng):
    """Items of every kind torch accepts, drawn with NumPy scalars and negatives mixed in."""
    items, used_ell = [], False
    for _ in range(int(rng.integers(1, 5))):
        kind = ["int", "slice", "none", "ell", "vec", "vec", "mat", "mask", "t0", "bool", "list"][
            rng.integers(11)
        ]
        if kind == "ell" and used_ell:
            kind = "slice"
        used_ell |= kind == "ell"
        if kind == "int":
            items.append(int(rng.integers(-2, 2)))
        elif kind == "slice":
            c = lambda *v: v[rng.integers(len(v))]  # noqa: E731
            items.append(slice(c(None, 0, 1, -1), c(None, 2, -1, 3), c(None, 1, 2)))
        elif kind == "none":
            items.append(None)
        elif kind == "ell":
            items.append(Ellipsis)
        elif kind == "bool":
            items.append(bool(rng.integers(2)))
        elif kind == "list":
            items.append([int(v) for v in rng.integers(-2, 2, 2)])
        elif kind == "mask":
            items.append(("t", np.array([True, False, True])))
        else:
            shape = {"vec": (2,), "mat": tuple(rng.integers(1, 3, 2)), "t0": ()}[kind]
            items.append(("t", rng.integers(-2, 2, shape)))
    return items


def test_random_index_patterns_get_set_and_backward_as_torch():
    rng = np.random.default_rng(5)
    base = np.arange(120.0).reshape(2, 3, 4, 5)
    mismatches = []
    for _ in range(700):
        spec = _random_index(rng)
        got = {}
        for m in (torch, cr):
            p = tuple(m.tensor(i[1]) if isinstance(i, tuple) else i for i in spec)
            try:
                x = m.tensor(base, requires_grad=True)
                y = x[p]
                u = m.tensor(np.arange(float(y.numel())).reshape(tuple(y.shape)))
                (g,) = m.autograd.grad((y * u).sum(), [x])
                z = m.tensor(base)
                z[p] = u
                got[m] = (y.detach().numpy(), y.stride(), g.numpy(), z.numpy())
            except (IndexError, RuntimeError, ValueError, TypeError) as e:
                got[m] = type(e).__name__
        t, c = got[torch], got[cr]
        if isinstance(t, str) or isinstance(c, str):
            if t != c:
                mismatches.append((spec, t if isinstance(t, str) else "value", c))
            continue
        same = all(np.array_equal(a, b) for a, b in zip((t[0], t[2], t[3]), (c[0], c[2], c[3])))
        if not same or t[0].shape != c[0].shape or (t[0].size > 1 and t[1] != c[1]):
            mismatches.append((spec, t[0].shape, c[0].shape))
    assert not mismatches, mismatches[:5]
