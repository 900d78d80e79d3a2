"""chainrule.compile's fast paths give eager's bits: Python numbers as typed 0-d arrays, 2-D
matmul through np.matmul, one computation for x*x, planned broadcast sums, and the compiled node
adding gradients into hook-free leaves itself (hooks, shared leaves and old .grad fall back)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def _run(fn, arrays, rg, calls=3, grad=None):
    """(outputs, grads) of ``calls`` calls of compiled ``fn`` and of eager ``fn``."""
    comp = cr.compile(fn)
    res = []
    for f in (fn, comp):
        for _ in range(calls):
            ts = [cr.tensor(a, requires_grad=r) for a, r in zip(arrays, rg)]
            out = f(*ts)
            out.backward(grad)
        res.append((out.detach().numpy(), [t.grad.numpy() if t.grad is not None else None
                                           for t in ts]))
    assert comp.stats()["compiled"] == 1 and comp.stats()["replays"] == calls - 1
    return res


def _same(a, b):
    assert a[0].dtype == b[0].dtype
    np.testing.assert_array_equal(a[0], b[0])
    for x, y in zip(a[1], b[1]):
        assert (x is None) == (y is None)
        if x is not None:
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_python_numbers_give_eager_bits(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(7).astype(dtype)

    def f(x):
        y = (x * 0.9 + 3) - 1e-3
        y = cr.tanh(0.1 * y) * 7 - (-0.0)
        return (2.5 - y * y).sum()

    _same(*_run(f, [x], [True]))


def test_python_numbers_with_a_gradient_of_another_dtype():
    x = np.linspace(-1, 1, 5).astype(np.float32)
    g = cr.tensor(np.linspace(0.3, 2, 5))  # float64 gradient into a float32 output

    def f(x):
        return cr.tanh(x * 0.7) * 0.3

    eager, comp = _run(f, [x], [True], grad=g)
    _same(eager, comp)


def test_matmul_and_broadcast_sums_give_eager_bits():
    rng = np.random.default_rng(1)
    arrs = [rng.standard_normal(s).astype(np.float32)
            for s in [(20, 3), (3, 16), (16,), (16, 4), (1, 4), (20, 1)]]

    def f(x, w1, b1, w2, b2, c):
        h = cr.tanh(x @ w1 + b1)
        return ((h @ w2 + b2) * c).mean()

    eager, comp = _run(f, arrs, [False, True, True, True, True, True], calls=4)
    _same(eager, comp)


def test_square_by_product_gives_eager_bits():
    x = np.linspace(-2, 2, 9)

    def f(x):
        y = -(x * x)
        return (y * y).sum()

    _same(*_run(f, [x], [True]))


def _mlp_step(f, ws, x):
    f(x, *ws).backward()
    return [w.grad.numpy().copy() for w in ws]


def _make_mlp(seed=0):
    rng = np.random.default_rng(seed)
    w1 = cr.tensor(rng.standard_normal((3, 8)).astype(np.float32), requires_grad=True)
    b1 = cr.tensor(np.zeros(8, np.float32), requires_grad=True)
    x = cr.tensor(rng.standard_normal((5, 3)).astype(np.float32))
    return [w1, b1], x


def _loss(x, w1, b1):
    return cr.tanh(x @ w1 + b1).sum()


def test_direct_accumulation_adds_into_old_grads_like_eager():
    comp = cr.compile(_loss)
    for f in (_loss, comp):
        ws, x = _make_mlp()
        for _ in range(3):  # .grad accumulates over steps
            got = _mlp_step(f, ws, x)
        if f is _loss:
            want = got
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)
    assert comp.stats()["replays"] == 2


def test_leaf_hooks_and_shared_leaves_still_run():
    comp = cr.compile(_loss)
    ws, x = _make_mlp()
    for _ in range(2):
        _mlp_step(comp, ws, x)
    for w in ws:
        w.grad = None
    seen, post = [], []
    h = ws[0].register_hook(lambda g: seen.append(g.numpy().copy()) or g * 2)
    h2 = ws[1].register_post_accumulate_grad_hook(lambda t: post.append(t.grad.numpy().copy()))
    got = _mlp_step(comp, ws, x)
    ws_e, x_e = _make_mlp()
    want = _mlp_step(_loss, ws_e, x_e)
    assert len(seen) == 1 and len(post) == 1
    np.testing.assert_array_equal(seen[0], want[0])
    np.testing.assert_array_equal(got[0], 2 * want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(post[0], want[1])
    h.remove()
    h2.remove()
    # the leaf also feeds an eager op: its two gradients are summed first, as eager does
    for w in ws + ws_e:
        w.grad = None
    (comp(x, *ws) + (ws[1] * 3).sum()).backward()
    (_loss(x_e, *ws_e) + (ws_e[1] * 3).sum()).backward()
    np.testing.assert_array_equal(ws[1].grad.numpy(), ws_e[1].grad.numpy())
    np.testing.assert_array_equal(ws[0].grad.numpy(), ws_e[0].grad.numpy())


def test_autograd_grad_through_the_region_leaves_grad_alone():
    comp = cr.compile(_loss)
    ws, x = _make_mlp()
    for _ in range(2):
        comp(x, *ws).sum()
    gs = cr.autograd.grad(comp(x, *ws), ws)
    assert all(w.grad is None for w in ws)
    ws_e, x_e = _make_mlp()
    want = cr.autograd.grad(_loss(x_e, *ws_e), ws_e)
    for a, b in zip(gs, want):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_broadcast_sum_over_leading_and_kept_dims_gives_eager_bits():
    rng = np.random.default_rng(2)
    arrs = [rng.standard_normal(s) for s in [(2, 3, 4), (3, 1), (4,)]]

    def f(x, a, b):
        return ((x * a + b) * (x - a)).sum()

    _same(*_run(f, arrs, [True, True, True], calls=4))
