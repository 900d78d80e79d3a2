"""Reductions at their edges, against torch and hand-derived values: zeros in prod/cumprod, ties in
max/min/median/mode/sort (torch's documented choice for each), NaN, infinities, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

INF = float("inf")
NAN = float("nan")


def _np(t):
    return t._array if isinstance(t, cr.Tensor) else t.detach().numpy()


def _both(fn, *arrays, create_graph=False):
    """Values and gradients (of a fixed random weighting of the float outputs) from both
    libraries.
    """
    res = []
    for m in (cr, torch):
        xs = [m.tensor(a, dtype=m.float64, requires_grad=True) for a in arrays]
        out = fn(m, *xs)
        outs = tuple(out) if isinstance(out, tuple) else (out,)
        w = np.random.default_rng(1)
        fl = [o for o in outs if o.is_floating_point()]
        s = sum((o * m.tensor(w.standard_normal(tuple(o.shape)))).sum() for o in fl)
        gs = m.autograd.grad(s, xs, create_graph=create_graph)
        hs = None
        if create_graph:
            hs = m.autograd.grad(sum((g * g).sum() for g in gs), xs, allow_unused=True)
        res.append(
            (
                [_np(o) for o in outs],
                [_np(g) for g in gs],
                None if hs is None else [None if h is None else _np(h) for h in hs],
            )
        )
    return res


def _assert_same(fn, *arrays, create_graph=False):
    (co, cg, ch), (to, tg, th) = _both(fn, *arrays, create_graph=create_graph)
    for a, b in zip(co, to):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        assert a.dtype == b.dtype
    for a, b in zip(cg, tg):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    if create_graph:
        for a, b in zip(ch, th):
            np.testing.assert_allclose(
                0 if a is None else a, 0 if b is None else b, rtol=1e-9, atol=1e-12
            )


# ---- prod and cumprod with zeros -----------------------------------------------------------------
ONE_ZERO = np.array([[2.0, 0.0, 3.0, -1.5], [1.0, 2.0, 0.5, 4.0]])
TWO_ZEROS = np.array([[2.0, 0.0, 3.0, 0.0], [0.0, 2.0, 0.5, 4.0]])


def test_prod_gradient_with_one_zero_is_the_product_of_the_others():
    x = cr.tensor([2.0, 0.0, 3.0, -1.5], dtype=cr.float64, requires_grad=True)
    cr.prod(x).backward()
    np.testing.assert_array_equal(x.grad._array, [0.0, 2.0 * 3.0 * -1.5, 0.0, 0.0])


def test_prod_gradient_with_two_zeros_is_zero():
    x = cr.tensor([2.0, 0.0, 3.0, 0.0], dtype=cr.float64, requires_grad=True)
    cr.prod(x).backward()
    np.testing.assert_array_equal(x.grad._array, np.zeros(4))


@pytest.mark.parametrize("a", [ONE_ZERO, TWO_ZEROS], ids=["one_zero", "two_zeros"])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_prod_with_zeros_matches_torch_to_second_order(a, dim):
    _assert_same(lambda m, x: m.prod(x) if dim is None else m.prod(x, dim), a, create_graph=True)


@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_with_zeros_matches_torch_to_second_order(dim):
    a = np.array([[2.0, 0.0, 3.0, 0.0, 1.5], [0.5, 2.0, 0.0, 4.0, -1.0], [1.0, 1.0, 2.0, 3.0, 0.0]])
    _assert_same(lambda m, x: m.cumprod(x, dim), a, create_graph=True)


def test_cumprod_gradient_by_hand():
    # y = (a, ab, ab·0, ab·0·c): dL/d(zero) = ab + ab·c, everything after the zero gets nothing
    a, b, c = 2.0, 3.0, 5.0
    x = cr.tensor([a, b, 0.0, c], dtype=cr.float64, requires_grad=True)
    cr.cumprod(x, 0).sum().backward()
    np.testing.assert_allclose(x.grad._array, [1 + b, a, a * b + a * b * c, 0.0])


# ---- ties ----------------------------------------------------------------------------------------
def test_max_min_amax_without_dim_share_the_gradient_evenly_among_ties():
    for m in (cr, torch):
        x = m.tensor([[1.0, 5.0, 5.0], [5.0, 0.0, 0.0]], requires_grad=True)
        (m.max(x) + m.min(x) + 2 * m.amax(x, dim=1).sum()).backward()
        np.testing.assert_allclose(
            _np(x.grad), [[0, 1 / 3 + 1, 1 / 3 + 1], [1 / 3 + 2, 0.5, 0.5]], rtol=1e-6
        )


def test_max_min_with_dim_pick_the_first_index_and_give_it_the_gradient():
    for m in (cr, torch):
        x = m.tensor([[1.0, 5.0, 5.0], [2.0, 0.0, 0.0]], requires_grad=True)
        v, i = m.max(x, 1)
        vn, j = m.min(x, 1)
        assert i.tolist() == [1, 0] and j.tolist() == [0, 1]
        assert m.argmax(x, 1).tolist() == [1, 0] and m.argmin(x, 1).tolist() == [0, 1]
        (v.sum() + vn.sum()).backward()
        np.testing.assert_array_equal(_np(x.grad), [[1, 1, 0], [1, 1, 0]])


def test_cummax_cummin_ties_take_the_latest_index():
    x = [1.0, 3.0, 3.0, 2.0, 3.0]
    for m in (cr, torch):
        assert m.cummax(m.tensor(x), 0).indices.tolist() == [0, 1, 2, 2, 4]
        assert m.cummin(m.tensor([2.0, 1.0, 1.0, 3.0, 1.0]), 0).indices.tolist() == [0, 1, 2, 2, 4]


def test_median_is_the_lower_median_and_without_dim_shares_ties():
    for m in (cr, torch):
        x = m.tensor([3.0, 1.0, 3.0, 1.0, 2.0, 2.0], requires_grad=True)
        med = m.median(x)
        med.backward()
        assert med.item() == 2.0
        np.testing.assert_array_equal(_np(x.grad), [0, 0, 0, 0, 0.5, 0.5])


@pytest.mark.parametrize("row", [[3.0, 1.0, 3.0, 1.0, 2.0, 2.0], [1.0, 5.0, 5.0, 2.0, 2.0]])
def test_median_and_kthvalue_with_dim_indices_as_torch(row):
    # torch documents no order among equal values; the stable sort reproduces its median indices
    # (below, on random ties) but not, in general, those of its quickselect kthvalue/topk
    for fn in (
        lambda m, x: m.median(x, 0),
        lambda m, x: m.kthvalue(x, 2, 0),
        lambda m, x: m.kthvalue(x, 3, 0),
    ):
        c, t = fn(cr, cr.tensor(row)), fn(torch, torch.tensor(row))
        assert c.values.item() == t.values.item() and c.indices.item() == t.indices.item()


def test_median_with_dim_gives_the_gradient_to_the_index():
    x = cr.tensor([[4.0, 1.0, 3.0], [0.0, 9.0, 8.0]], requires_grad=True)
    v, i = cr.median(x, 1)
    v.sum().backward()
    assert i.tolist() == [2, 2]
    np.testing.assert_array_equal(x.grad._array, [[0, 0, 1], [0, 0, 1]])


def test_mode_smallest_of_the_most_frequent_at_its_last_index():
    rows = [[3.0, 1.0, 3.0, 1.0, 2.0, 2.0], [1.0, 3.0, 1.0, 3.0, 0.0], [4.0, 4.0, 2.0]]
    for r in rows:
        c, t = cr.mode(cr.tensor(r)), torch.mode(torch.tensor(r))
        assert (c.values.item(), c.indices.item()) == (t.values.item(), t.indices.item())


def test_sort_is_stable_and_puts_nan_last_or_first():
    x = [2.0, 1.0, 2.0, 1.0, NAN]
    for desc in (False, True):
        c, t = cr.sort(cr.tensor(x), descending=desc), torch.sort(torch.tensor(x), descending=desc)
        assert c.indices.tolist() == t.indices.tolist()
        np.testing.assert_array_equal(_np(c.values), _np(t.values))
        assert cr.argsort(cr.tensor(x), descending=desc).tolist() == c.indices.tolist()


def test_sort_and_topk_gradients_go_back_to_the_original_positions():
    a = np.array([[0.3, -1.0, 2.0, 0.7], [1.5, 0.2, -0.4, 3.0]])
    _assert_same(lambda m, x: m.sort(x, 1, descending=True), a)
    _assert_same(lambda m, x: m.topk(x, 2, 1), a)
    _assert_same(lambda m, x: m.topk(x, 1, 0, largest=False), a)


# ---- NaN, infinities, zeros ----------------------------------------------------------------------
def test_nansum_nanmean_ignore_nan_in_values_and_gradients():
    a = np.array([[1.0, NAN, 2.0], [NAN, NAN, 3.0]])
    _assert_same(lambda m, x: (m.nansum(x), m.nansum(x, 1), m.nanmean(x, 1), m.nanmean(x)), a)


def test_max_and_argmax_treat_nan_as_the_largest():
    x = [1.0, NAN, 3.0]
    for m in (cr, torch):
        assert m.argmax(m.tensor(x)).item() == 1
        assert np.isnan(m.max(m.tensor(x)).item()) and np.isnan(m.median(m.tensor(x)).item())


def test_logsumexp_with_infinities_and_large_values():
    for m in (cr, torch):
        assert m.logsumexp(m.tensor([-INF, -INF]), 0).item() == -INF
        assert m.logsumexp(m.tensor([INF, 1.0]), 0).item() == INF
    _assert_same(
        lambda m, x: m.logsumexp(x, 1),
        np.array([[1000.0, 1001.0, -5.0], [-1000.0, -999.0, -1000.0]]),
    )
    _assert_same(
        lambda m, x: m.logcumsumexp(x, 1),
        np.array([[1000.0, 1001.0, -5.0], [-1000.0, -999.0, 20.0]]),
        create_graph=True,
    )


def test_norms_at_zero_have_zero_subgradient():
    for m in (cr, torch):
        x = m.zeros(3, dtype=m.float64, requires_grad=True)
        (m.linalg.vector_norm(x) + m.norm(x) + m.linalg.vector_norm(x, 1)).backward()
        np.testing.assert_array_equal(_np(x.grad), [0.0, 0.0, 0.0])


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, INF, -INF])
def test_matrix_norm_matches_torch(ord):
    a = np.random.default_rng(3).standard_normal((2, 3, 4))
    _assert_same(lambda m, x: m.linalg.matrix_norm(x, ord), a)
    _assert_same(lambda m, x: m.linalg.matrix_norm(x, ord, dim=(0, 2), keepdim=True), a)


def test_var_std_correction_and_means():
    a = np.random.default_rng(4).standard_normal((3, 5))
    _assert_same(
        lambda m, x: (
            m.var(x, 1, correction=0),
            m.std(x, 0, keepdim=True),
            m.var(x, unbiased=False),
            *m.var_mean(x, 1, correction=2),
            *m.std_mean(x, 0),
        ),
        a,
        create_graph=True,
    )


# ---- dtypes and errors ---------------------------------------------------------------------------
def test_result_dtypes_as_torch():
    for c, t in [
        (
            cr.sum(cr.tensor([1, 2], dtype=cr.int32)),
            torch.sum(torch.tensor([1, 2], dtype=torch.int32)),
        ),
        (cr.prod(cr.tensor([True, True])), torch.prod(torch.tensor([True, True]))),
        (
            cr.cumsum(cr.tensor([1, 2], dtype=cr.int32), 0),
            torch.cumsum(torch.tensor([1, 2], dtype=torch.int32), 0),
        ),
        (cr.all(cr.tensor([1, 2])), torch.all(torch.tensor([1, 2]))),
        (cr.any(cr.tensor([[0.0, 1.0]]), 1), torch.any(torch.tensor([[0.0, 1.0]]), 1)),
        (
            cr.count_nonzero(cr.tensor([[0.0, 1.0], [2.0, 0.0]]), 0),
            torch.count_nonzero(torch.tensor([[0.0, 1.0], [2.0, 0.0]]), 0),
        ),
        (cr.logsumexp(cr.tensor([1, 2]), 0), torch.logsumexp(torch.tensor([1, 2]), 0)),
        (
            cr.argmax(cr.tensor([[1.0, 3.0]]), 1, keepdim=True),
            torch.argmax(torch.tensor([[1.0, 3.0]]), 1, keepdim=True),
        ),
    ]:
        assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        assert tuple(c.shape) == tuple(t.shape)
        np.testing.assert_allclose(_np(c), _np(t), rtol=1e-6)


@pytest.mark.parametrize(
    "fn, err",
    [
        (lambda m: m.kthvalue(m.ones(3), 4), RuntimeError),
        (lambda m: m.topk(m.ones(3), 4), RuntimeError),
        (lambda m: m.argmax(m.tensor([])), IndexError),
        (lambda m: m.mean(m.tensor([1, 2])), RuntimeError),
        (lambda m: m.sum(m.ones(2, 3), 2), IndexError),
        (lambda m: m.cumsum(m.ones(2, 3), 3), IndexError),
    ],
)
def test_errors_as_torch(fn, err):
    for m in (torch, cr):
        with pytest.raises(err):
            fn(m)


def test_nanmedian_ignores_nan_and_linalg_norm_dispatches_as_torch():
    a = np.array([[1.0, NAN, 3.0, 2.0], [4.0, 1.0, 1.5, 7.0], [NAN, NAN, -1.0, NAN]])
    _assert_same(
        lambda m, x: (*m.nanmedian(x, 1), m.nanmedian(x), *m.nanmedian(x, 0, keepdim=True)), a
    )
    b = np.random.default_rng(5).standard_normal((3, 4))
    for args, kw in [
        ((), {}),
        (("nuc",), {}),
        ((1,), {}),
        ((-2,), {}),
        ((), {"dim": 1}),
        ((3.0,), {"dim": 0, "keepdim": True}),
        ((), {"dim": (1, 0)}),
    ]:
        _assert_same(lambda m, x, args=args, kw=kw: m.linalg.norm(x, *args, **kw), b)


def test_mode_values_and_indices_match_torch_on_many_repeats():
    rng = np.random.default_rng(9)
    for _ in range(20):
        a = rng.integers(-3, 4, size=(5, 9)).astype(np.float64)
        for dim in (0, 1):
            c, t = cr.mode(cr.tensor(a), dim), torch.mode(torch.tensor(a), dim)
            np.testing.assert_array_equal(_np(c.values), _np(t.values))
            np.testing.assert_array_equal(_np(c.indices), _np(t.indices))


def test_median_indices_match_torch_on_random_ties():
    rng = np.random.default_rng(2)
    for _ in range(40):
        a = rng.integers(-2, 3, size=(4, 7)).astype(np.float64)
        for dim in (0, 1):
            c, t = cr.median(cr.tensor(a), dim), torch.median(torch.tensor(a), dim)
            np.testing.assert_array_equal(_np(c.values), _np(t.values))
            np.testing.assert_array_equal(_np(c.indices), _np(t.indices))
