"""Indexing, gather/scatter, masks, pads and shape ops at their edges, against torch and by hand."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

BOTH = pytest.mark.parametrize("m", [cr, torch], ids=["chainrule", "torch"])


def _np(t):
    return t._array if isinstance(t, cr.Tensor) else t.detach().numpy()


def _same(fn, *arrays, ints=()):
    """Values and gradients of ``fn(m, *tensors)`` from both libraries (float64)."""
    res = []
    for m in (cr, torch):
        xs = [
            m.tensor(a) if i in ints else m.tensor(a, dtype=m.float64, requires_grad=True)
            for i, a in enumerate(arrays)
        ]
        out = fn(m, *xs)
        outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        w = np.random.default_rng(7)
        s = sum(
            (o * m.tensor(w.standard_normal(tuple(o.shape)))).sum()
            for o in outs
            if o.is_floating_point()
        )
        diff = [x for i, x in enumerate(xs) if i not in ints]
        gs = m.autograd.grad(s, diff, allow_unused=True)
        res.append(([_np(o) for o in outs], [None if g is None else _np(g) for g in gs]))
    (co, cg), (to, tg) = res
    for a, b in zip(co, to):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for a, b in zip(cg, tg):
        np.testing.assert_allclose(
            0 if a is None else a, 0 if b is None else b, rtol=1e-12, atol=1e-12
        )


R = np.random.default_rng(11)
X = R.standard_normal((4, 5))


# ---- getitem views and copies --------------------------------------------------------------------
@BOTH
def test_basic_indexing_is_a_view_advanced_indexing_a_copy(m):
    x = m.zeros(3, 4)
    v, s, c = x[1], x[:, 1:3], x[m.tensor([0, 2])]
    x.add_(1)
    assert v._version == s._version == x._version == 1 and c._version == 0
    assert v.sum().item() == 4 and s.sum().item() == 6 and c.sum().item() == 0
    e = x[0, 0]
    e.mul_(5)
    assert x[0, 0].item() == 5.0


def test_getitem_gradients_with_repeats_and_masks():
    _same(
        lambda m, x: (
            x[m.tensor([0, 2, 2])],
            x[..., m.tensor([[1, 1], [4, 0]])],
            x[x > 0],
            x[1, None, ::2],
        ),
        X,
    )


def test_index_put_accumulates_repeated_indices():
    _same(
        lambda m, x, v: x.index_put((m.tensor([1, 3, 1]),), v, accumulate=True),
        X,
        R.standard_normal((3, 5)),
    )


# ---- gather / scatter ----------------------------------------------------------------------------
def test_gather_scatter_family_matches_torch():
    idx = np.array([[0, 4, 4], [1, 1, 2], [3, 0, 0]])
    src = R.standard_normal((3, 3))
    _same(
        lambda m, x, i, s: (
            m.gather(x, 1, i),
            m.scatter_add(x, 1, i, s),
            x.scatter(1, i[:, :1], s[:, :1]),
        ),
        X[:3],
        idx,
        src,
        ints=(1,),
    )


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_matches_torch(reduce, include_self):
    idx = np.array([[0, 4, 4, 1], [1, 1, 1, 2], [3, 0, 3, 3]])
    x = R.standard_normal((3, 5))
    s = R.standard_normal((3, 4))
    _same(
        lambda m, a, i, b: m.scatter_reduce(a, 1, i, b, reduce, include_self=include_self),
        x,
        idx,
        s,
        ints=(1,),
    )


def test_scatter_reduce_prod_with_zeros_matches_torch():
    idx = np.array([[0, 0, 1, 1, 2]])
    x = np.array([[0.0, 2.0, 3.0]])
    s = np.array([[0.0, 5.0, 0.0, 0.0, 4.0]])  # a zero in self, a single zero, a double zero in src
    for inc in (True, False):
        _same(
            lambda m, a, i, b, inc=inc: m.scatter_reduce(a, 1, i, b, "prod", include_self=inc),
            x,
            idx,
            s,
            ints=(1,),
        )


def test_scatter_with_a_larger_src_gets_a_zero_padded_gradient():
    # torch raises "returned an invalid gradient" here; the unread part of src gets zeros
    x = cr.zeros(2, 3, dtype=cr.float64, requires_grad=True)
    s = cr.tensor(np.arange(8.0).reshape(2, 4), requires_grad=True)
    y = cr.scatter(x, 1, cr.tensor([[2], [0]]), s)
    (y * cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    np.testing.assert_array_equal(s.grad._array, [[3, 0, 0, 0], [4, 0, 0, 0]])
    np.testing.assert_array_equal(x.grad._array, [[1, 2, 0], [0, 5, 6]])


@BOTH
def test_gather_index_errors(m):
    x = m.zeros(2, 3)
    with pytest.raises(RuntimeError):
        m.gather(x, 1, m.tensor([[0.0]]))  # float index
    with pytest.raises(RuntimeError):
        m.gather(x, 1, m.tensor([[3]]))  # out of bounds


# ---- index_* -------------------------------------------------------------------------------------
def test_index_ops_match_torch():
    i = np.array([3, 0, 3])
    _same(
        lambda m, x, idx, s, c, v: (
            m.index_select(x, 0, idx),
            m.index_add(x, 0, idx, s, alpha=3.0),
            m.index_copy(x, 1, idx[:2], c),
            m.index_fill(x, 1, idx, v),
        ),
        X,
        i,
        R.standard_normal((3, 5)),
        R.standard_normal((4, 2)),
        np.array(1.5),
        ints=(1,),
    )


# ---- masks ---------------------------------------------------------------------------------------
def test_masked_ops_match_torch():
    c = R.standard_normal((4, 5)) > 0
    _same(
        lambda m, x, mask, s, v: (
            m.masked_fill(x, mask, v),
            m.masked_select(x, mask),
            x.masked_scatter(mask, s),
        ),
        X,
        c,
        R.standard_normal((5, 5)),
        np.array(-2.0),
        ints=(1,),
    )


def test_masked_fill_and_where_do_not_leak_nan_from_the_branch_not_taken():
    a = np.array([0.0, -1.0, 4.0])
    for f in (
        lambda m, x: m.masked_fill(m.log(x), x <= 0, 0.0),
        lambda m, x: m.where(x > 0, m.sqrt(x), 0.0),
    ):
        x = cr.tensor(a, requires_grad=True)
        f(cr, x).sum().backward()
        np.testing.assert_array_equal(
            x.grad._array, [0.0, 0.0, 1 / a[2] if f(cr, x)._array[2] != 2.0 else 0.25]
        )
        t = torch.tensor(a, requires_grad=True)
        f(torch, t).sum().backward()
        assert torch.isnan(t.grad).any()  # torch leaks the NaN of log(0)/sqrt(0) through the mask


def test_nonzero_and_where_with_one_argument():
    a = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    c, t = cr.nonzero(cr.tensor(a)), torch.nonzero(torch.tensor(a))
    assert c.tolist() == t.tolist() and c.dtype == cr.int64
    assert [u.tolist() for u in cr.where(cr.tensor(a) > 0)] == [
        u.tolist() for u in torch.where(torch.tensor(a) > 0)
    ]
    assert [u.tolist() for u in cr.nonzero(cr.tensor(a), as_tuple=True)] == [
        u.tolist() for u in torch.nonzero(torch.tensor(a), as_tuple=True)
    ]


# ---- take, triangles, diagonals ------------------------------------------------------------------
def test_take_triangles_and_diagonals_match_torch():
    _same(
        lambda m, x, i: (
            m.take(x, i),
            m.tril(x, -1),
            m.triu(x, 2),
            m.diagonal(x, 1),
            m.diag(x, -1),
            m.trace(x),
            m.diag_embed(x[:2, :3], 1, 0, 2),
        ),
        X,
        np.array([[0, 19], [7, 7]]),
        ints=(1,),
    )


def test_inplace_through_diagonal_view():
    def f(m, x):
        y = x * 1.0
        y.diagonal().mul_(3.0)
        return y

    _same(f, X)


# ---- padding -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mode,pad,shape",
    [
        ("constant", (1, 2, 0, 1), (2, 3, 4)),
        ("constant", (-1, 2), (3, 4)),
        ("reflect", (2, 1), (2, 3, 4)),
        ("reflect", (1, 2, 2, 0), (1, 2, 3, 4)),
        ("replicate", (3, 1), (2, 2, 3)),
        ("replicate", (1, 1, 2, 2, 0, 1), (1, 1, 2, 3, 2)),
        ("circular", (2, 3), (1, 2, 4)),
        ("circular", (1, 0, 2, 1), (1, 1, 3, 3)),
    ],
)
def test_pad_modes_match_torch(mode, pad, shape):
    a = R.standard_normal(shape)
    _same(lambda m, x: m.nn.functional.pad(x, pad, mode=mode), a)


def test_pad_constant_value_and_errors():
    x = cr.ones(2)
    np.testing.assert_array_equal(cr.nn.functional.pad(x, (1, 1), value=3.0)._array, [3, 1, 1, 3])
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        cr.nn.functional.pad(cr.ones(1, 3), (3, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="divisible by 2"):
        cr.nn.functional.pad(x, (1,))


# ---- shape ops -----------------------------------------------------------------------------------
def test_split_chunk_unbind_are_views_sharing_the_version():
    x = cr.zeros(4, 3)
    a, b = cr.split(x, 2)
    c = cr.unbind(x, 1)
    x.add_(1)
    assert a._version == b._version == c[0]._version == 1
    assert a.sum().item() == 6 and c[2].sum().item() == 4


def test_split_family_matches_torch():
    _same(
        lambda m, x: (
            *m.split(x, [1, 3], 0),
            *m.chunk(x, 3, 1),
            *m.tensor_split(x, [1, 3], 1),
            *m.tensor_split(x, 3, 0),
            *m.unbind(x, 1),
        ),
        X,
    )


def test_partial_use_of_multi_output_ops():
    _same(lambda m, x: m.split(x, 2, 1)[1] * 2.0 + m.unbind(x[:, :2], 0)[0].sum(), X)


def test_shape_ops_match_torch():
    _same(
        lambda m, x: (
            m.movedim(x.reshape(2, 2, 5), 0, -1),
            m.rot90(x, 3),
            m.roll(x, (1, -2), (0, 1)),
            m.repeat_interleave(x, m.tensor([1, 0, 2, 1]), 0),
            x.repeat(2, 1, 1),
            m.tile(x, (2,)),
            m.flip(x, (0, 1)),
            m.fliplr(x),
            m.flipud(x),
            m.hstack([x, x]),
            m.vstack([x[0], x[1]]),
            m.dstack([x, x]),
            m.unflatten(x, 1, (5, 1)),
            *m.meshgrid(x[0], x[1, :2], indexing="xy"),
            *m.broadcast_tensors(x[:1], x[:, :1]),
            m.narrow(x, 1, 2, 2),
            m.select(x, 1, -1),
            m.swapaxes(x, 0, 1),
            x.t(),
            m.atleast_3d(x),
            m.column_stack([x[0], x[1]]),
        ),
        X,
    )


@pytest.mark.parametrize(
    "fn, err",
    [
        (lambda m: m.ones(2, 3).t().view(6), RuntimeError),
        (lambda m: m.ones(2, 3, 4).t(), RuntimeError),
        (lambda m: m.split(m.ones(4), [1, 2]), RuntimeError),
        (lambda m: m.chunk(m.ones(4), 0), RuntimeError),
        (lambda m: m.ones(2, 3).repeat(2), RuntimeError),
        (lambda m: m.flip(m.ones(2, 3), (0, 0)), RuntimeError),
        (lambda m: m.narrow(m.ones(3), 0, 2, 2), RuntimeError),
        (lambda m: m.select(m.ones(3), 0, 3), IndexError),
        (lambda m: m.rot90(m.ones(3), 1), RuntimeError),
        (lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)]), RuntimeError),
        (lambda m: m.stack([m.ones(2), m.ones(3)]), RuntimeError),
        (lambda m: m.ones(2, 3).index_select(0, m.tensor([[0]])), IndexError),
    ],
)
def test_shape_errors_as_torch(fn, err):
    for m in (torch, cr):
        with pytest.raises(err):
            fn(m)


def test_metadata_inplace_ops_and_broadcast_shapes():
    for m in (cr, torch):
        z = m.zeros(2, 3)
        z.unsqueeze_(0)
        assert tuple(z.shape) == (1, 2, 3)
        z.squeeze_(0)
        z.transpose_(0, 1)
        assert tuple(z.shape) == (3, 2)
        z.t_()
        assert tuple(z.shape) == (2, 3)
        assert tuple(m.broadcast_shapes((2, 1), (3,), 1)) == (2, 3)
        with pytest.raises(RuntimeError):
            m.broadcast_shapes((2,), (3,))
    x = cr.tensor(X, requires_grad=True)
    y = x * 1.0
    y.unsqueeze_(1)
    (y * 2).sum().backward()
    assert tuple(y.shape) == (4, 1, 5)
    np.testing.assert_array_equal(x.grad._array, np.full((4, 5), 2.0))
