"""Engine semantics of issue 2, each checked against torch or a closed form."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def test_seed_example_norm_vjp():
    x = cr.ones(1, 4, requires_grad=True)
    y = 2 * x + 1
    z = cr.norm(y, 2, dim=1)
    assert z.shape == (1,)
    z.backward(cr.ones(1))
    # dz/dy = y/|y| = 3/6 = 0.5, dy/dx = 2
    np.testing.assert_array_equal(x.grad._array, np.ones((1, 4), np.float32))
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        z.sum().backward()


def test_backward_v_equals_v_times_explicit_jacobian():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(3)
    x = cr.tensor(a, requires_grad=True)
    y = cr.stack([x[0] * x[1], cr.sin(x[2]) * x[0], x.exp().sum()])
    J = np.array([
        [a[1], a[0], 0.0],
        [np.sin(a[2]), 0.0, a[0] * np.cos(a[2])],
        np.exp(a),
    ])
    v = np.array([1.0, 1.0, 1.0])
    y.backward(cr.tensor(v))
    np.testing.assert_allclose(x.grad._array, v @ J, rtol=1e-12)
    # the mean, and a weighted v
    for w in (np.full(3, 1 / 3), np.array([0.2, 3.0, -1.0])):
        x.grad = None
        y2 = cr.stack([x[0] * x[1], cr.sin(x[2]) * x[0], x.exp().sum()])
        y2.backward(cr.tensor(w))
        np.testing.assert_allclose(x.grad._array, w @ J, rtol=1e-12)


def test_backward_continues_from_known_gradient():
    """l = g(y) computed elsewhere: y.backward(dl/dy) gives dl/dx (the seed's Q3)."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3))
    x = cr.tensor(a, requires_grad=True)
    y = cr.tanh(x) * 3
    y_det = y.detach().requires_grad_()
    l = (y_det ** 2).sum()
    l.backward()
    y.backward(y_det.grad)
    x2 = cr.tensor(a, requires_grad=True)
    ((cr.tanh(x2) * 3) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad._array, x2.grad._array, rtol=1e-12)


def test_non_scalar_without_gradient_names_shape():
    x = cr.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for scalar outputs.*\[2, 3\]"):
        (x * 2).backward()


def test_gradient_of_wrong_shape():
    x = cr.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(cr.ones(2))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.ones(3).sum().backward()
    with torch.no_grad():
        pass
    x = cr.ones(3, requires_grad=True)
    with cr.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_retain_graph_allows_second_backward_and_accumulates():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad._array, [4.0, 8.0])


def test_grad_accumulates_across_calls_and_intermediates_do_not():
    x = cr.tensor([1.0, -2.0, 3.0], requires_grad=True)
    for k in range(3):
        h = x * 3
        (h * h).sum().backward()
        np.testing.assert_allclose(x.grad._array, (k + 1) * 18 * x._array)


def test_nonleaf_grad_warns_and_is_none():
    x = cr.ones(2, requires_grad=True)
    y = x * 2
    y.sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert y.grad is None


def test_retain_grad_populates_and_accumulates_like_torch():
    res = []
    for m in (cr, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        y.retain_grad()
        z = (y * y).sum()
        z.backward(retain_graph=True)
        first = y.grad.clone()
        z.backward()
        res.append((np.asarray(first.detach().numpy()), np.asarray(y.grad.detach().numpy())))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y.grad  # no warning once retained
    np.testing.assert_allclose(res[0][0], res[1][0])
    np.testing.assert_allclose(res[0][1], res[1][1])


def test_diamonds():
    a = cr.tensor(3.0, requires_grad=True)
    (a + a).backward()
    assert a.grad.item() == 2.0
    a = cr.tensor(3.0, requires_grad=True)
    b = cr.tensor(4.0, requires_grad=True)
    x = a * b
    y = x * a  # a²b
    y.backward()
    assert a.grad.item() == pytest.approx(2 * 3 * 4)
    assert b.grad.item() == pytest.approx(9)


def test_shared_gradient_arrays_are_not_aliased():
    """a + b hands the same incoming gradient to both leaves; their .grad must not share memory."""
    a = cr.ones(3, requires_grad=True)
    b = cr.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad._array[0] = 100.0
    assert b.grad._array[0] == 1.0
    v = cr.tensor([1.0, 2.0, 3.0])
    c = cr.ones(3, requires_grad=True)
    (c + 0).backward(v)
    c.grad._array[0] = 50.0
    assert v._array[0] == 1.0


def test_autograd_grad_basic_and_unused_input():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    u = cr.tensor([5.0], requires_grad=True)
    y = (x * w).sum()
    gx, gw = cr.autograd.grad(y, [x, w], retain_graph=True)
    np.testing.assert_array_equal(gx._array, [3.0, 4.0])
    np.testing.assert_array_equal(gw._array, [1.0, 2.0])
    assert x.grad is None  # grad() never accumulates
    with pytest.raises(RuntimeError, match=r"appears to not have been used in the graph.*inputs\[1\]"):
        cr.autograd.grad(y, [x, u], retain_graph=True)
    gx, gu = cr.autograd.grad(y, [x, u], allow_unused=True, retain_graph=True)
    assert gu is None
    gx, gu = cr.autograd.grad(y, [x, u], materialize_grads=True)
    np.testing.assert_array_equal(gu._array, [0.0])


def test_autograd_grad_input_not_requiring_grad():
    x = cr.ones(2, requires_grad=True)
    c = cr.ones(2)
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.autograd.grad((x * c).sum(), [c])


def test_grad_wrt_intermediate_and_output_itself():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    (gh,) = cr.autograd.grad(y, h, retain_graph=True)
    np.testing.assert_allclose(gh._array, 2 * h._array)
    (gy,) = cr.autograd.grad(y, y)
    assert gy.item() == 1.0


def test_create_graph_grad_of_grad():
    x = cr.tensor(2.0, requires_grad=True)
    y = x ** 3
    (dx,) = cr.autograd.grad(y, x, create_graph=True)
    assert dx.requires_grad and dx.item() == pytest.approx(12.0)
    (ddx,) = cr.autograd.grad(dx, x, create_graph=True)
    assert ddx.item() == pytest.approx(12.0)
    (dddx,) = cr.autograd.grad(ddx, x)
    assert dddx.item() == pytest.approx(6.0)


def test_create_graph_backward_accumulates_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x.sin() * x).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    (gg,) = cr.autograd.grad(g.sum(), x)
    a = x._array
    np.testing.assert_allclose(gg._array, 2 * np.cos(a) - a * np.sin(a), rtol=1e-6)


def test_backward_inputs_only_accumulates_listed():
    x = cr.ones(2, requires_grad=True)
    w = cr.ones(2, requires_grad=True)
    (x * w * 3).sum().backward(inputs=[w])
    assert x.grad is None
    np.testing.assert_array_equal(w.grad._array, [3.0, 3.0])


def test_backward_inputs_non_leaf():
    x = cr.ones(2, requires_grad=True)
    h = x * 2
    (h * h).sum().backward(inputs=[h])
    assert x.grad is None
    np.testing.assert_array_equal(h.grad._array, [4.0, 4.0])


def test_hooks_see_and_replace_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    hx = x.register_hook(lambda g: seen.append(g._array.copy()) or g * 10)
    y = x * 2
    y.register_hook(lambda g: g + 1)
    y.sum().backward()
    np.testing.assert_array_equal(seen[0], [4.0, 4.0])  # (1 + 1) * 2
    np.testing.assert_array_equal(x.grad._array, [40.0, 40.0])
    hx.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad._array, [2.0, 2.0])


def test_grad_fn_name_and_next_functions_like_torch():
    for m in (cr, torch):
        x = m.ones(2, requires_grad=True)
        w = m.ones(2, requires_grad=True)
        y = (x * w).exp()
        assert y.grad_fn.name() == "ExpBackward0"
        (mul, _), = y.grad_fn.next_functions
        assert mul.name() == "MulBackward0"
        names = [f.name() for f, _ in mul.next_functions]
        assert all(n.endswith("AccumulateGrad") for n in names) and len(names) == 2
        assert mul.next_functions[0][0].variable is x
    c = cr.ones(2)
    z = cr.ones(2, requires_grad=True) * c
    assert z.grad_fn.next_functions[1] == (None, 0)


def test_repr_like_torch():
    assert repr(cr.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    for vals in ([1.5, 2.25], [[1.0, 2.0], [3.0, 4.0]], [1e-5, 1.0], [1, 2, 3], [True, False], 3.5,
                 [1, 10, -100], [[1.5, -2.0], [30.25, 4.0]], [], [float("nan"), 1.0, float("inf")],
                 [[True], [False]], [0.1, 0.2, 123.0]):
        assert repr(cr.tensor(vals)) == repr(torch.tensor(vals))
    assert repr(cr.tensor([1.5], dtype=cr.float64)) == "tensor([1.5000], dtype=chainrule.float64)"


def test_grad_mode_context_decorator_and_thread_local():
    x = cr.ones(2, requires_grad=True)
    with cr.no_grad():
        assert not (x * 2).requires_grad
        with cr.enable_grad():
            assert (x * 2).requires_grad
    assert cr.is_grad_enabled()

    @cr.no_grad()
    def f():
        return (x * 2).requires_grad

    assert f() is False and cr.is_grad_enabled()
    cr.set_grad_enabled(False)
    assert not cr.is_grad_enabled()
    cr.set_grad_enabled(True)
    with cr.set_grad_enabled(False):
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    seen = []
    with cr.no_grad():
        t = threading.Thread(target=lambda: seen.append(cr.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]  # grad mode is per thread, as torch


def test_deep_chain_no_recursion():
    x = cr.tensor([0.5], dtype=cr.float64, requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0001
    y.sum().backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 20000, rel=1e-9)
    del y


def test_broadcast_gradients_summed_to_input_shape():
    a = cr.randn(3, 1, 4, dtype=cr.float64, requires_grad=True)
    b = cr.randn(4, dtype=cr.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1, 4) and b.grad.shape == (4,)
    np.testing.assert_allclose(b.grad._array, a._array.sum(axis=(0, 1)))


def test_cast_gradient_dtype():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    y = x.float() * cr.tensor([3.0, 4.0])
    assert y.dtype == cr.float32
    y.sum().backward()
    assert x.grad.dtype == cr.float64
    np.testing.assert_array_equal(x.grad._array, [3.0, 4.0])


def test_mixed_precision_grad_dtype_matches_input():
    a = cr.ones(2, requires_grad=True)  # float32
    b = cr.ones(2, dtype=cr.float64, requires_grad=True)
    y = a * b
    assert y.dtype == cr.float64
    y.sum().backward()
    assert a.grad.dtype == cr.float32 and b.grad.dtype == cr.float64


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        cr.tensor([1, 2], requires_grad=True)
    x = cr.ones(2, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False
    assert not (x > 0).requires_grad
    assert not cr.ones(2).requires_grad
    assert y.detach().requires_grad is False and y.detach().is_leaf


def test_numpy_of_tensor_requiring_grad():
    x = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\).numpy\(\)"):
        x.numpy()
    assert x.detach().numpy().shape == (2,)
    a = np.arange(3.0)
    t = cr.from_numpy(a)
    a[0] = 7.0
    assert t[0].item() == 7.0  # shares memory


def test_second_backward_through_nodes_that_save_nothing_works_like_torch():
    """Linear ops and add save no values for backward, so torch lets a second backward through."""
    for m in (cr, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = (x + 1).reshape(2, 1).sum()
        y.backward()
        y.backward()
        np.testing.assert_array_equal(np.asarray(x.grad.detach().numpy()), [2.0, 2.0])
        z = (x.exp() + 1).sum()
        z.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            z.backward()


def test_backward_rules_are_silent_about_inf():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr.sqrt(x).sum().backward()
    assert np.isinf(x.grad._array[0]) and x.grad._array[1] == 0.5
