"""In-place ops: values, gradients, history rebasing, views (CopySlices) and version counters,
each checked against torch running the same code."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import forward_ad as fwad

torch = pytest.importorskip("torch")

BOTH = pytest.mark.parametrize("m", [cr, torch], ids=["chainrule", "torch"])


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") and not isinstance(t, cr.Tensor) else t._array


def _run_both(fn, *arrays):
    """Run ``fn(m, *leaves)`` with both libraries; return (outputs, grads) per library."""
    res = []
    for m in (cr, torch):
        leaves = [m.tensor(a, dtype=m.float64, requires_grad=True) for a in arrays]
        out = fn(m, *leaves)
        outs = out if isinstance(out, tuple) else (out,)
        w = np.random.default_rng(0)
        total = sum(
            (o * m.tensor(w.standard_normal(tuple(o.shape)), dtype=m.float64)).sum() for o in outs
        )
        grads = m.autograd.grad(total, leaves, allow_unused=True)
        res.append(([_np(o) for o in outs], [None if g is None else _np(g) for g in grads]))
    return res


def _same(fn, *arrays):
    (co, cg), (to, tg) = _run_both(fn, *arrays)
    for a, b in zip(co, to):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for a, b in zip(cg, tg):
        if b is None:
            assert a is None or not np.any(a)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


R = np.random.default_rng(42)
X = R.standard_normal((3, 4))
W = R.standard_normal((3, 4))


# ---- gradients through in-place ops match torch --------------------------------------------------
def test_chain_of_inplace_ops_on_a_non_leaf():
    def f(m, x, w):
        y = x * 1.0
        y.mul_(w).add_(w, alpha=0.5).sub_(1.0).div_(2.0).pow_(2).clamp_(0.1, 3.0)
        a, b, c, d = y.clone(), y * 1.0, y - 1.0, y * 2.0  # each saving op gets a tensor of its own
        return a.sigmoid_(), b.tanh_(), c.exp_(), d.relu_()

    _same(f, X, W)


def test_inplace_rewrites_grad_fn_as_torch():
    x = cr.tensor(X, requires_grad=True)
    y = x * 2
    before = y.grad_fn
    r = y.mul_(3)
    assert r is y and y.grad_fn is not before and y.grad_fn.name() == "MulBackward0"
    assert y.grad_fn.next_functions[0][0] is before
    y.exp_()
    assert y.grad_fn.name() == "ExpBackward0"


def test_operators_iadd_keep_identity_and_gradients():
    def f(m, x, w):
        y = x.clone()
        ident = id(y)
        y += w
        y -= 2 * w
        y *= w
        y /= 3.0
        assert id(y) == ident
        return y

    _same(f, X, W)


def test_inplace_on_a_view_updates_base_and_its_gradient():
    def f(m, x, w):
        y = x * 1.0
        y[0].mul_(2)  # torch's CopySlices
        y[1:, 1:3].mul_(w[1:, :2])
        y[:, -1].add_(w[:, 0]).exp_()
        return y

    _same(f, X, W)


def test_view_of_a_view_and_transposed_views():
    def f(m, x, w):
        y = x * 1.0
        v = y.t()[1:]  # non-contiguous view of a view
        v[0].mul_(w[0, :3])
        y.diagonal().add_(1.0)
        return y

    _same(f, X, W)


def test_view_gradient_after_inplace_on_it():
    def f(m, x, w):
        y = x * 1.0
        v = y[1]
        v.mul_(w[1])
        return v * 3.0, y

    _same(f, X, W)


def test_setitem_into_a_constant_buffer_and_with_masks():
    def f(m, x, w):
        a = m.zeros(3, 4, dtype=m.float64)
        a[0] = x[0] * 2
        a[1:, ::2] = w[1:, :2]
        a[a > 0.5] = 0.5
        b = x.clone()
        b[m.tensor([2, 0])] = w[:2]
        b[..., 1] = 7.0
        return a * a, b

    _same(f, X, W)


def test_zero_fill_copy_and_masked_fill():
    def f(m, x, w):
        y = x * 1.0
        y[0].zero_()
        y[1].fill_(w[0, 0])  # a 0-dim tensor value gets the summed gradient
        z = x.clone()
        z.copy_(w[0])  # broadcast; x gets no gradient through z
        k = x.clone().masked_fill_(w > 0, w[2, 2])
        return y * x, z, k

    _same(f, X, W)


def test_copy_casts_dtype_and_gradient_back():
    for m in (cr, torch):
        a = m.zeros(3, dtype=m.float32)
        s = m.tensor([1.0, 2.0, 3.0], dtype=m.float64, requires_grad=True)
        a.copy_(s)
        (a * a).sum().backward()
        assert str(a.dtype).endswith("float32") and str(s.grad.dtype).endswith("float64")
        np.testing.assert_allclose(_np(s.grad), [2.0, 4.0, 6.0])


def test_index_add_and_scatter_inplace():
    idx = np.array([2, 0, 2])

    def f(m, x, w):
        y = x.clone().index_add_(0, m.tensor(idx), w, alpha=2.0)
        z = x.clone().scatter_(1, m.tensor([[0, 3], [1, 2], [2, 0]]), w[:, :2])
        return y, z

    _same(f, X, W)


def test_second_order_through_inplace():
    for m in (cr, torch):
        x = m.tensor([0.5, -1.0, 2.0], dtype=m.float64, requires_grad=True)
        y = x * 1.0
        y.mul_(x).sin_()  # sin(x^2): sin reads its input, saved before the write
        y[1].mul_(x[0])
        (g,) = m.autograd.grad(y.sum(), x, create_graph=True)
        (h,) = m.autograd.grad(g.sum(), x)
        if m is cr:
            got = (_np(g), _np(h))
        else:
            np.testing.assert_allclose(got[0], _np(g), rtol=1e-12)
            np.testing.assert_allclose(got[1], _np(h), rtol=1e-12)


def test_forward_mode_through_inplace_and_views():
    x0 = np.array([0.5, -1.0, 2.0])
    v0 = np.array([1.0, 2.0, -1.0])
    with fwad.dual_level():
        x = fwad.make_dual(cr.tensor(x0), cr.tensor(v0))
        y = x.clone()
        y.mul_(x)  # x^2
        y[1:].exp_()
        y[0].add_(x[2])
        t = fwad.unpack_dual(y).tangent._array
    want = np.array([2 * x0[0] * v0[0] + v0[2], *(np.exp(x0[1:] ** 2) * 2 * x0[1:] * v0[1:])])
    np.testing.assert_allclose(t, want, rtol=1e-12)


# ---- version counters ----------------------------------------------------------------------------
@BOTH
def test_version_counter_bumps_and_is_shared_by_views_and_detach(m):
    x = m.zeros(3, 4)
    v = x[1]
    d = x.detach()
    assert x._version == 0
    v.add_(1)
    assert x._version == v._version == d._version == 1
    x.mul_(2)
    d[0, 0] = 3.0
    assert x._version == v._version == 3
    assert x[0, 0].item() == 3.0 and v.sum().item() == 8.0


@BOTH
def test_modifying_a_saved_input_raises_before_backward(m):
    a = m.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1.0
    c = b * b  # saves b
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation") as e:
        c.sum().backward()
    if m is cr:
        assert (
            "MulBackward0" in str(e.value)
            and "version 1" in str(e.value)
            and "version 0" in str(e.value)
        )


@BOTH
def test_chained_inplace_ops_that_save_their_result_raise_as_torch(m):
    y = m.tensor([1.0, 2.0], requires_grad=True) * 1.0
    y.exp_().relu_()  # relu_ modifies exp's saved result
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@BOTH
def test_modifying_a_saved_output_raises(m):
    a = m.tensor([1.0, 2.0], requires_grad=True)
    b = (a * 1.0).exp_()  # exp saves its result: b itself
    c = b * 1.0
    b.add_(1)
    with pytest.raises(
        RuntimeError,
        match="one of the variables needed for gradient computation has been "
        "modified by an inplace operation",
    ):
        c.sum().backward()


@BOTH
def test_no_error_where_the_backward_does_not_read_the_value(m):
    a = m.tensor([1.0, 2.0], requires_grad=True)
    b = m.tensor([3.0, 4.0], requires_grad=True)
    a1 = a * 1.0
    y = a1 + b  # add reads neither input
    a1.add_(1)
    z = a1.exp()  # exp reads its output only
    a1.mul_(2)
    (y.sum() + z.sum()).backward()
    np.testing.assert_allclose(_np(b.grad), [1.0, 1.0])
    np.testing.assert_allclose(_np(a.grad), 1.0 + np.exp([2.0, 3.0]), rtol=1e-6)


@BOTH
def test_leaf_requiring_grad_cannot_be_modified_in_place(m):
    p = m.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match="a leaf Variable that requires grad is being used in an in-place operation.",
    ):
        p.add_(1)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        p[0] = 3.0
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        p[0].mul_(2)  # a view of it: torch says "a view of a leaf Variable ..."
    assert p._version == 0


@BOTH
def test_optimizer_style_update_under_no_grad(m):
    p = m.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    with m.no_grad():
        p.add_(p.grad, alpha=-0.1)
        p.mul_(0.5)
        p[0] = p[0] + 1
        p.grad.zero_()
    assert p._version == 3 and p.is_leaf and p.requires_grad and p.grad_fn is None
    np.testing.assert_allclose(_np(p), [1.4, 0.8], rtol=1e-6)
    np.testing.assert_allclose(_np(p.grad), [0.0, 0.0])


@BOTH
def test_integer_tensor_with_float_result_raises(m):
    i = m.tensor([1, 2, 3])
    with pytest.raises(
        RuntimeError, match="result type Float can't be cast to the desired output type Long"
    ):
        i.add_(1.5)
    with pytest.raises(
        RuntimeError, match="result type Float can't be cast to the desired output type Long"
    ):
        i.div_(2)
    i.mul_(2)
    assert i.tolist() == [2, 4, 6]


@BOTH
def test_broadcast_that_grows_the_target_raises(m):
    x = m.zeros(3)
    with pytest.raises(
        RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"
    ):
        x.add_(m.ones(2, 3))


@BOTH
def test_expanded_tensor_cannot_be_written(m):
    x = m.zeros(1, 3).expand(2, 3)
    with pytest.raises(
        RuntimeError,
        match="more than one element of the written-to tensor refers to a single memory location",
    ):
        x.add_(1)


@BOTH
def test_advanced_setitem_requires_matching_dtypes(m):
    x = m.zeros(3, dtype=m.float64)
    with pytest.raises(
        RuntimeError, match="Index put requires the source and destination dtypes match"
    ):
        x[m.tensor([0, 1])] = m.tensor([1.5, 2.0], dtype=m.float32)
    x[0] = m.tensor(1.5, dtype=m.float32)  # basic indexing copies with a cast
    xi = m.zeros(3, dtype=m.int64)
    xi[1] = 2.7
    assert _np(x).tolist() == [1.5, 0.0, 0.0] and _np(xi).tolist() == [0, 2, 0]


def test_views_taken_before_an_inplace_change_of_their_base_see_the_new_history():
    def f(m, x, w):
        y = x * 1.0
        v, a = y[0], y[1:, 2]
        y.mul_(w)  # v and a were made before: their history must now go through the mul
        a.exp_()  # a sibling view changes y again
        return v * 2.0, y

    _same(f, X, W)


def test_view_of_a_constant_joins_the_graph_when_its_base_does():
    def f(m, x, w):
        z = m.zeros(3, 4, dtype=m.float64)
        u = z[1:]
        z.copy_(x * w)
        return u * 1.0

    _same(f, X, W)


def test_augmented_assignment_through_indexing():
    def f(m, x, w):
        y = x * 1.0
        y[1] += w[1]  # basic index: a view, then setitem of the same values
        y[m.tensor([0, 2])] *= w[:2]  # advanced index: a copy, modified, written back
        y[y > 1.0] -= 1.0
        y[:, 0] /= 2.0
        return y

    _same(f, X, W)


@BOTH
def test_retain_grad_follows_the_tensor_through_inplace_ops(m):
    x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.mul_(3)
    (y * y).sum().backward()
    np.testing.assert_allclose(_np(y.grad), 2 * _np(y))  # w.r.t. the value after mul_
    np.testing.assert_allclose(_np(x.grad), [72.0, 144.0])
