"""Custom autograd Functions: torch's API, checked against torch and against closed forms."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import Function, nondifferentiable, once_differentiable


def f64(a, rg=True):
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


def functions(m):
    """The same custom Functions written once for chainrule (m=cr) and torch (m=torch)."""

    class Cube(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

    class ScaledMul(m.autograd.Function):  # non-tensor arguments, a None gradient
        @staticmethod
        def forward(ctx, x, y, k, shift=0.0):
            ctx.save_for_backward(x, y)
            ctx.k = k
            return k * x * y + shift

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return ctx.k * g * y, ctx.k * g * x, None, None

    class SinCos(m.autograd.Function):  # two outputs, setup_context style
        @staticmethod
        def forward(x):
            return x.sin(), x.cos()

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            return gs * x.cos() - gc * x.sin()

    class Exp(m.autograd.Function):  # saves its output
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    return Cube, ScaledMul, SinCos, Exp


CR = functions(cr)
TH = functions(torch)


def test_grad_fn_name_and_first_order_closed_form():
    Cube = CR[0]
    x = f64([1.0, -2.0, 0.5])
    y = Cube.apply(x)
    assert type(y.grad_fn).__name__ == "CubeBackward"
    assert repr(y.grad_fn).startswith("<CubeBackward object at")
    assert y.grad_fn.name() == "CubeBackward"
    assert y.grad_fn.next_functions[0][0] is cr.autograd.graph.accumulate_node(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad._array, 3 * np.array([1.0, 4.0, 0.25]))


@pytest.mark.parametrize("k", range(4))
def test_against_torch_values_and_grads(k):
    rng = np.random.default_rng(k)
    a, b = rng.standard_normal(4), rng.standard_normal(4)
    res = []
    for m, fns in ((cr, CR), (torch, TH)):
        Cube, ScaledMul, SinCos, Exp = fns
        x = m.tensor(a, requires_grad=True)
        y = m.tensor(b, requires_grad=True)
        s, c = SinCos.apply(x)
        out = Cube.apply(x) * 0.5 + ScaledMul.apply(x, y, 1.5, 2.0) + s * c + Exp.apply(y)
        out.sum().backward()
        res.append((out.detach().numpy(), x.grad.numpy(), y.grad.numpy()))
    for ours, theirs in zip(*res):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_double_backward_through_function_written_with_chainrule_ops():
    Cube = CR[0]
    x = f64([1.0, 2.0, -3.0])
    (g,) = cr.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g._array, 3 * x._array ** 2)
    (gg,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg._array, 6 * x._array)  # d/dx 3x^2


def test_double_backward_through_saved_output():
    Exp = CR[3]
    x = f64([0.3, -1.0])
    (g,) = cr.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
    (gg,) = cr.autograd.grad((g * g).sum(), x)  # d/dx e^{2x} = 2 e^{2x}
    np.testing.assert_allclose(gg._array, 2 * np.exp(2 * x._array))


def test_several_outputs_materialized_zero_grads_and_opt_out():
    seen = []

    class Two(Function):
        @staticmethod
        def forward(ctx, x, materialize):
            ctx.set_materialize_grads(materialize)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append((ga, gb))
            return (ga if ga is not None else 0) * 2 + (gb if gb is not None else 0) * 3, None

    x = f64([1.0, 2.0])
    a, _ = Two.apply(x, True)
    a.sum().backward()
    assert isinstance(seen[-1][1], cr.Tensor) and np.all(seen[-1][1]._array == 0)
    np.testing.assert_allclose(x.grad._array, [2.0, 2.0])
    x.grad = None
    a, _ = Two.apply(x, False)
    a.sum().backward()
    assert seen[-1][1] is None
    np.testing.assert_allclose(x.grad._array, [2.0, 2.0])


def test_non_tensor_outputs_and_inputs():
    class WithInfo(Function):
        @staticmethod
        def forward(ctx, x, n):
            return x * n, "info", n

        @staticmethod
        def backward(ctx, g, g_info, g_n):
            assert g_info is None and g_n is None
            return g * 4, None

    x = f64([1.0, 2.0])
    y, info, n = WithInfo.apply(x, 4)
    assert info == "info" and n == 4
    y.sum().backward()
    np.testing.assert_allclose(x.grad._array, [4.0, 4.0])


def test_backward_returning_none_leaves_grad_none():
    class Half(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g * 2, None

    x, y = f64([1.0]), f64([2.0])
    Half.apply(x, y).sum().backward()
    assert y.grad is None
    np.testing.assert_allclose(x.grad._array, [2.0])


def test_wrong_number_of_gradients_names_function():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g, g, g

    x, y = f64([1.0]), f64([2.0])
    with pytest.raises(RuntimeError, match=r"function BadBackward returned an incorrect number of "
                                           r"gradients \(expected 2, got 3\)"):
        Bad.apply(x, y).sum().backward()

    class ExtraNone(Function):  # trailing Nones are allowed, as torch
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g, None, None

    ExtraNone.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad._array, [1.0])


def test_wrong_gradient_shape_names_function_and_input():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g, cr.ones(3, dtype=cr.float64)

    x, y = f64([1.0, 2.0]), f64([3.0, 4.0])
    with pytest.raises(RuntimeError, match=r"Function BadShapeBackward returned an invalid "
                                           r"gradient at index 1 - got \[3\] but expected shape compatible "
                                           r"with \[2\]"):
        BadShape.apply(x, y).sum().backward()

    class Expanded(Function):  # a gradient the input broadcasts to is summed down, as torch
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return cr.ones(3, 2, dtype=cr.float64)

    Expanded.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad._array, [3.0, 3.0])


def test_gradient_for_non_tensor_input_is_an_error():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="returned a gradient different than None at position 2"):
        Bad.apply(f64([1.0]), 2.0).sum().backward()


def test_needs_input_grad_and_no_grad_inputs():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x, y, k):
            seen["fwd"] = ctx.needs_input_grad
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            return g, g, None

    x, y = f64([1.0]), f64([2.0], rg=False)
    out = Probe.apply(x, y, 3)
    assert seen["fwd"] == (True, False, False)
    assert out.requires_grad
    out2 = Probe.apply(y, y, 3)
    assert not out2.requires_grad and out2.grad_fn is None
    with cr.no_grad():
        out3 = Probe.apply(x, y, 3)
    assert not out3.requires_grad and seen["fwd"] == (False, False, False)


def test_forward_runs_without_recording_graph():
    class Inner(Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            assert not y.requires_grad and not cr.is_grad_enabled()
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2

    assert Inner.apply(f64([1.0])).requires_grad


def test_mark_non_differentiable():
    class SortWithIdx(Function):
        @staticmethod
        def forward(ctx, x):
            v, i = x.sort()
            ctx.mark_non_differentiable(i)
            ctx.save_for_backward(i)
            return v, i

        @staticmethod
        def backward(ctx, gv, gi):
            (i,) = ctx.saved_tensors
            out = cr.zeros_like(gv)
            out[i] = gv
            return out

    x = f64([3.0, 1.0, 2.0])
    v, i = SortWithIdx.apply(x)
    assert v.requires_grad and not i.requires_grad
    (v * cr.tensor([1.0, 10.0, 100.0], dtype=cr.float64)).sum().backward()
    np.testing.assert_allclose(x.grad._array, [100.0, 1.0, 10.0])


def test_mark_dirty_rebases_history_and_leaf_is_refused():
    class AddOne_(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    leaf = f64([1.0, 2.0])
    a = leaf * 2
    b = AddOne_.apply(a)
    assert b is a and type(a.grad_fn).__name__ == "AddOne_Backward"
    np.testing.assert_allclose(a._array, [3.0, 5.0])
    (b * b).sum().backward()
    np.testing.assert_allclose(leaf.grad._array, 2 * 2 * np.array([3.0, 5.0]))
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        AddOne_.apply(f64([1.0]))


def test_saved_tensor_modified_in_place_is_detected():
    Cube = CR[0]
    leaf = f64([1.0, 2.0])
    a = leaf * 1
    y = Cube.apply(a)
    a.mul_(2)
    with pytest.raises(RuntimeError, match=r"one of the variables needed for gradient computation "
                                           r"has been modified by an inplace operation: "
                                           r"\[float64 \[2\]\], which is saved tensor 0 of "
                                           r"CubeBackward, is at version 1; expected version 0"):
        y.sum().backward()


def test_saved_output_modified_in_place_is_detected():
    Exp = CR[3]
    y = Exp.apply(f64([1.0]))
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_backward_twice_needs_retain_graph():
    Cube = CR[0]
    x = f64([1.0])
    y = Cube.apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad._array, [6.0])
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_once_differentiable():
    class NpSin(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return cr.tensor(np.sin(x.detach().numpy()))

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return cr.tensor(g.detach().numpy() * np.cos(x.detach().numpy()))

    x = f64([0.3, 1.2])
    NpSin.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad._array, np.cos([0.3, 1.2]))
    (g,) = cr.autograd.grad(NpSin.apply(x).sum(), x, create_graph=True)
    assert g.requires_grad
    with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was "
                                           "marked with @once_differentiable"):
        g.sum().backward()


def test_hooks_on_function_outputs():
    Cube = CR[0]
    x = f64([1.0, 2.0])
    y = Cube.apply(x)
    y.retain_grad()
    y.register_hook(lambda g: g * 10)
    calls = []
    y.grad_fn.register_hook(lambda gi, go: calls.append((gi[0]._array.copy(), go[0]._array.copy())))
    y.sum().backward()
    np.testing.assert_allclose(y.grad._array, [10.0, 10.0])
    np.testing.assert_allclose(x.grad._array, 10 * 3 * x._array ** 2)
    np.testing.assert_allclose(calls[0][0], 10 * 3 * x._array ** 2)
    np.testing.assert_allclose(calls[0][1], [10.0, 10.0])


def test_dtype_of_gradient_follows_input():
    class Up(Function):
        @staticmethod
        def forward(ctx, x):
            return x.double()

        @staticmethod
        def backward(ctx, g):
            return g  # float64 for a float32 input: cast back, as torch

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    Up.apply(x).sum().backward()
    assert x.grad.dtype == cr.float32


def test_forward_mode_jvp():
    from chainrule.autograd import forward_ad as fwad

    class CubeJ(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_forward(x)
            return x ** 3

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * t

    x = f64([1.0, 2.0], rg=False)
    with fwad.dual_level():
        d = fwad.make_dual(x, cr.tensor([1.0, 0.5], dtype=cr.float64))
        out = CubeJ.apply(d).sin()
        t = fwad.unpack_dual(out).tangent
    np.testing.assert_allclose(t._array, np.cos(x._array ** 3) * 3 * x._array ** 2 * [1.0, 0.5])

    Cube = CR[0]
    with fwad.dual_level():
        d = fwad.make_dual(x, cr.ones(2, dtype=cr.float64))
        with pytest.raises(NotImplementedError, match="You must implement the jvp function"):
            Cube.apply(d)


def test_missing_backward_message():
    class NoBack(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

    with pytest.raises(NotImplementedError, match="You must implement either the backward or vjp"):
        NoBack.apply(f64([1.0])).sum().backward()


def test_vjp_alias_is_used():
    class ViaVjp(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 5

        @staticmethod
        def vjp(ctx, g):
            return g * 5

    x = f64([1.0])
    ViaVjp.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad._array, [5.0])


def test_numerical_opt_in_for_function_without_backward():
    class Softplus(Function):
        numerical = True

        @staticmethod
        def forward(ctx, x):
            return (1 + x.exp()).log()

    x = f64([-1.0, 0.0, 2.0])
    with pytest.warns(cr.autograd.NumericalDerivativeWarning, match="Softplus.*central"):
        Softplus.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad._array, 1 / (1 + np.exp(-x._array)), rtol=1e-8)


def test_wrong_backward_is_caught_by_finite_differences():
    """A wrong backward disagrees with central differences, and the report says where."""
    from chainrule.autograd.numerical import finite_difference

    class WrongSquare(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 * g * x

    x = f64([0.5, -1.5])
    (ours,) = cr.autograd.grad(WrongSquare.apply(x).sum(), x)
    (fd,), (err,), _ = finite_difference(lambda xs: [xs[0] ** 2], [x._array], [np.ones(2)],
                                         method="central", elementwise=True)
    np.testing.assert_allclose(fd, 2 * x._array, atol=err.max() * 2)
    assert np.all(np.abs(ours._array - fd) > 100 * err)


def test_gradcheck_reports_wrong_backward_and_passes_right_ones():
    from chainrule.autograd import GradcheckError, gradcheck, gradgradcheck

    class WrongSquare(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 * g * x

    x = f64([0.5, -1.5])
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongSquare.apply, (x,))
    text = str(info.value)
    assert "Jacobian mismatch for output 0 with respect to input 0" in text
    assert "[1] / [1]:  -3  -1.5" in text  # numerical -3 (= 2x) against analytical -1.5 (= x)
    Cube, ScaledMul, SinCos, Exp = CR
    assert gradcheck(Cube.apply, (f64([0.7, -1.2]),))
    assert gradgradcheck(Cube.apply, (f64([0.7, -1.2]),))
    assert gradcheck(lambda a, b: ScaledMul.apply(a, b, 1.5, 0.5), (f64([0.3]), f64([2.0])))
    assert gradcheck(SinCos.apply, (f64([0.1, 2.0]),))
    assert gradgradcheck(Exp.apply, (f64([0.1, 2.0]),))


# ---- non-differentiable ops and the explicit marker ---------------------------------------------
def test_nondifferentiable_marker_warns_once_and_gives_none():
    class Quantize(Function):
        @staticmethod
        def forward(ctx, x):
            return x.round()

        backward = staticmethod(nondifferentiable)

    x = f64([0.4, 1.6])
    y = Quantize.apply(x)
    assert y.requires_grad
    with pytest.warns(cr.autograd.function.NonDifferentiableWarning,
                      match="Quantize is not differentiable"):
        (y * 2 + x).sum().backward()
    np.testing.assert_allclose(x.grad._array, [1.0, 1.0])  # only the x term
    x2 = f64([1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once already: silent now
        Quantize.apply(x2).sum().backward()
    assert x2.grad is None


def test_nondifferentiable_as_class_decorator():
    @nondifferentiable
    class Floor(Function):
        @staticmethod
        def forward(ctx, x):
            return x.floor()

    x = f64([0.4, 1.6])
    with pytest.warns(cr.autograd.function.NonDifferentiableWarning, match="Floor"):
        Floor.apply(x).sum().backward()
    assert x.grad is None


@pytest.mark.parametrize("op", ["argmax", "eq", "gt", "round", "sign", "floor"])
def test_builtin_non_differentiable_ops_as_torch(op):
    a = np.array([0.3, -1.2, 2.5])
    res = []
    for m in (cr, torch):
        x = m.tensor(a, requires_grad=True)
        y = {"argmax": lambda: m.argmax(x), "eq": lambda: x == 0.3, "gt": lambda: x > 0,
             "round": lambda: m.round(x), "sign": lambda: m.sign(x),
             "floor": lambda: m.floor(x)}[op]()
        g = None
        if y.requires_grad:
            (g,) = m.autograd.grad(y.sum(), x)
            g = g.numpy()
        res.append((y.requires_grad, g))
    assert res[0][0] == res[1][0]
    if res[1][1] is not None:
        np.testing.assert_array_equal(res[0][1], res[1][1])


def test_vmap_and_jacrev_over_a_custom_function():
    """Under vmap a Function runs per example (with a warning); jacrev batches its backward."""
    from chainrule import func

    Cube = CR[0]
    x = f64([[1.0, 2.0], [3.0, 4.0]], rg=False)
    with pytest.warns(UserWarning, match="custom Function Cube .* once per example"):
        g = func.vmap(func.grad(lambda t: Cube.apply(t).sum()))(x)
    np.testing.assert_allclose(g._array, 3 * x._array ** 2)
    np.testing.assert_allclose(func.jacrev(Cube.apply)(x[0])._array, np.diag(3 * x._array[0] ** 2))
