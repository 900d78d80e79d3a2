"""chainrule.compile: guards, graph breaks, autograd semantics, modules, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _x(*shape, rg=True, seed=0, dtype=cr.float64):
    a = np.random.default_rng(seed).standard_normal(shape)
    return cr.tensor(a, dtype=dtype, requires_grad=rg)


def f_chain(x, y):
    return ((x * 0.9 + y).tanh().sin() * x).exp().sum()


def test_replay_values_and_grads_match_eager():
    f = cr.compile(f_chain)
    x, y = _x(5), _x(5, seed=1)
    want = f_chain(x, y)
    gx, gy = cr.autograd.grad(want, (x, y))
    for _ in range(3):
        got = f(x, y)
        hx, hy = cr.autograd.grad(got, (x, y))
        np.testing.assert_allclose(got._array, want._array, rtol=1e-13)
        np.testing.assert_allclose(hx._array, gx._array, rtol=1e-13)
        np.testing.assert_allclose(hy._array, gy._array, rtol=1e-13)
    assert type(got.grad_fn).__name__ == "CompiledNode"
    assert got.grad_fn.name() == "CompiledFunctionBackward"
    assert f.stats()["traces"] == 1 and f.stats()["replays"] == 2


def test_decorator_forms():
    @cr.compile
    def a(x):
        return x * 2

    @cr.compile(fullgraph=True, backend="numpy")
    def b(x):
        return x * 3

    x = _x(3)
    for _ in range(2):
        np.testing.assert_allclose(a(x)._array, 2 * x._array)
        np.testing.assert_allclose(b(x)._array, 3 * x._array)


@pytest.mark.parametrize("change", ["shape", "dtype", "requires_grad", "grad_mode", "scalar"])
def test_guards_retrace(change):
    f = cr.compile(lambda x, c: (x * c).sin().sum())
    x = _x(4)
    f(x, 2.0)
    f(x, 2.0)
    assert f.stats()["traces"] == 1
    if change == "shape":
        x2, c = _x(6), 2.0
    elif change == "dtype":
        x2, c = _x(4, dtype=cr.float32), 2.0
    elif change == "requires_grad":
        x2, c = _x(4, rg=False), 2.0
    elif change == "scalar":
        x2, c = x, 3.0
    else:
        x2, c = x, 2.0
    ctx = cr.no_grad() if change == "grad_mode" else warnings.catch_warnings()
    with ctx:
        out = f(x2, c)
        out2 = f(x2, c)
    assert f.stats()["traces"] == 2
    want = (x2._array * c)
    np.testing.assert_allclose(out2._array, np.sin(want).sum(), rtol=1e-6)
    assert out2.dtype == x2.dtype
    assert out2.requires_grad == (x2.requires_grad and change != "grad_mode")
    assert out.requires_grad == out2.requires_grad


def test_recompile_limit_warns_once_then_runs_eagerly():
    f = cr.compile(lambda x: x.sum())
    with pytest.warns(UserWarning, match="recompile_limit") as rec:
        for n in range(1, 13):
            out = f(_x(n))
            assert out.shape == ()
    assert len([w for w in rec if "recompile_limit" in str(w.message)]) == 1
    assert f.stats()["traces"] == cr.compile.recompile_limit


# ---- graph breaks: each class falls back to eager and gives eager's answer ----------------------
def _item(x):
    return x * (x.sum().item() > 0)


def _bool(x):
    if x.sum() > 0:
        return x * 2
    return x * -1


def _numpy(x):
    return x * float(x.detach().numpy()[0, 0])


def _print(x):
    repr(x)
    return x * 2


def _random(x):
    return x * cr.rand(*x.shape)


def _dropout(x):
    return cr.nn.functional.dropout(x, 0.5, training=True)


def _inplace_input(x):
    x.detach().mul_(1.0)
    return x * x


def _inplace_mid(x):
    y = x * 2
    y.add_(1.0)
    return y


def _hook(x):
    y = x * 2
    y.register_hook(lambda g: g * 10)
    return y.sum()


def _backward_inside(x):
    y = (x * x).sum()
    (g,) = cr.autograd.grad(y, x, create_graph=True)
    return g.sum()


def _const_from_values(x):
    return cr.nn.functional.nll_loss(x.log_softmax(-1), cr.tensor([0, 1, 0]))


BREAKS = [_item, _bool, _numpy, _print, _random, _dropout, _inplace_input, _inplace_mid, _hook,
          _backward_inside]


@pytest.mark.parametrize("fn", BREAKS, ids=lambda f: f.__name__)
def test_graph_breaks_fall_back_to_eager(fn):
    f = cr.compile(fn)
    for sign in (1.0, -1.0, 1.0):
        x = cr.tensor(sign * np.abs(np.random.default_rng(0).standard_normal((3, 4))) + 0.1,
                      requires_grad=True)
        cr.manual_seed(0)
        want = fn(x)
        (gw,) = cr.autograd.grad(want.sum(), x)
        x2 = cr.tensor(x._array.copy(), requires_grad=True)
        cr.manual_seed(0)
        got = f(x2)
        (gg,) = cr.autograd.grad(got.sum(), x2)
        np.testing.assert_allclose(got._array, want._array)
        np.testing.assert_allclose(gg._array, gw._array)
    st = f.stats()
    assert st["compiled"] == 0 and st["breaks"], st


@pytest.mark.parametrize("fn", BREAKS, ids=lambda f: f.__name__)
def test_fullgraph_raises_naming_the_event_and_line(fn):
    f = cr.compile(fn, fullgraph=True)
    x = cr.tensor(np.ones((3, 4)), requires_grad=True)
    with pytest.raises(cr.compile.GraphBreak, match=r"graph break in .* at test_compile\.py:\d+"):
        f(x)


def test_value_dependent_constant_is_a_break():
    f = cr.compile(_const_from_values)
    x = _x(3, 2)
    for _ in range(2):
        np.testing.assert_allclose(f(x)._array, _const_from_values(x)._array)
    assert f.stats()["compiled"] == 0


# ---- autograd semantics ---------------------------------------------------------------------
def test_accumulation_hooks_retain_grad_and_no_grad():
    f = cr.compile(f_chain)
    x, y = _x(5), _x(5, seed=1)
    f(x, y)
    seen = []
    x.register_hook(lambda g: seen.append(g._array.copy()))
    out = f(x, y)
    out.backward()
    out = f(x, y)
    out.retain_grad()
    out.backward()
    xe, ye = cr.tensor(x._array, requires_grad=True), cr.tensor(y._array, requires_grad=True)
    f_chain(xe, ye).backward()
    f_chain(xe, ye).backward()
    np.testing.assert_allclose(x.grad._array, xe.grad._array, rtol=1e-13)
    np.testing.assert_allclose(y.grad._array, ye.grad._array, rtol=1e-13)
    assert len(seen) == 2 and out.grad.item() == 1.0
    with cr.no_grad():
        r = f(x, y)
    assert not r.requires_grad and r.grad_fn is None
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward()


def test_second_order_through_the_region():
    A = cr.tensor(np.random.default_rng(3).standard_normal((4, 4)))
    f = cr.compile(lambda x: (A @ x).tanh().sum())
    x = _x(4)
    for _ in range(2):
        h = cr.autograd.functional.hessian(f, x)
    he = cr.autograd.functional.hessian(lambda x: (A @ x).tanh().sum(), x)
    np.testing.assert_allclose(h._array, he._array, rtol=1e-12)
    assert f.stats()["replays"] >= 1


def test_inplace_on_saved_input_after_forward_raises_as_eager():
    f = cr.compile(lambda x, w: (x * w).sum())
    w = _x(3)
    x = cr.tensor(np.ones(3))
    f(x, w)
    out = f(x, w)
    x.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_multiple_outputs_and_partial_gradients():
    def g(x):
        y = x.sin()
        return y, (y * x).sum(), x.shape[0]

    f = cr.compile(g)
    x = _x(4)
    f(x)
    y, s, n = f(x)
    assert n == 4
    (gx,) = cr.autograd.grad(s, x, retain_graph=True)
    xe = cr.tensor(x._array, requires_grad=True)
    (ge,) = cr.autograd.grad(g(xe)[1], xe)
    np.testing.assert_allclose(gx._array, ge._array, rtol=1e-13)
    (gy,) = cr.autograd.grad(y.sum(), x)
    np.testing.assert_allclose(gy._array, np.cos(x._array), rtol=1e-13)


def test_external_tensor_rebinding_retraces():
    W = {"w": cr.tensor(np.ones(3), requires_grad=True)}
    f = cr.compile(lambda x: (x * W["w"]).sum())
    x = _x(3)
    f(x)
    f(x)
    W["w"] = cr.tensor(np.full(3, 2.0), requires_grad=True)
    np.testing.assert_allclose(f(x)._array, 2 * x._array.sum())
    out = f(x)
    np.testing.assert_allclose(out._array, 2 * x._array.sum())
    out.backward()
    np.testing.assert_allclose(W["w"].grad._array, x._array)


def test_error_in_replay_names_the_op_and_the_line():
    f = cr.compile(lambda x, i: x.gather(0, i).sum())
    x = _x(3)
    f(x, cr.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="gather") as info:
        f(x, cr.tensor([0, 7]))
    assert any("test_compile.py" in n and "gather" in n for n in info.value.__notes__)


# ---- modules: compiled and trained, identical to eager ----------------------------------------
def _train(model, make_batch, loss_fn, steps=4, compiled=False):
    cr.manual_seed(0)
    opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    run = cr.compile(model) if compiled else model
    losses = []
    for k in range(steps):
        x, y = make_batch(k)
        opt.zero_grad()
        loss = loss_fn(run(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p._array.copy() for p in model.parameters()], run


def _models():
    rng = np.random.default_rng(0)

    def R(shape):
        return cr.tensor(rng.standard_normal(shape).astype(np.float32))

    def mlp():
        return nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(),
                             nn.Linear(16, 1))

    def conv():
        return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2))

    class LSTMHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 5, batch_first=True)
            self.out = nn.Linear(5, 1)

        def forward(self, x):
            h, _ = self.lstm(x)
            return self.out(h[:, -1])

    def tel():
        return nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)

    data = {
        "mlp": (mlp, lambda k: (R((20, 3)), R((20, 1)))),
        "conv": (conv, lambda k: (R((4, 1, 6, 6)), R((4, 2)))),
        "lstm": (LSTMHead, lambda k: (R((3, 6, 4)), R((3, 1)))),
        "transformer": (tel, lambda k: (R((2, 5, 8)), R((2, 5, 8)))),
    }
    return data


@pytest.mark.parametrize("name", ["mlp", "conv", "lstm", "transformer"])
def test_module_training_identical_to_eager(name):
    make, batch = _models()[name]
    batches = [batch(k) for k in range(4)]
    cr.manual_seed(1)
    m1 = make()
    cr.manual_seed(1)
    m2 = make()
    mse = cr.nn.functional.mse_loss
    l1, p1, _ = _train(m1, lambda k: batches[k], mse)
    l2, p2, run = _train(m2, lambda k: batches[k], mse, compiled=True)
    np.testing.assert_allclose(l2, l1, rtol=1e-5, atol=1e-6)
    for a, b in zip(p1, p2):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    st = run._compiled.stats()
    if name == "lstm":  # a custom autograd.Function (the fused cell): runs eagerly
        assert st["compiled"] == 0 and "made outside the traced ops" in st["breaks"][0][0]
    else:
        assert st["compiled"] == 1 and st["replays"] == 3, st
    assert list(run.parameters())[0] is list(m2.parameters())[0]


def test_module_train_eval_switch_retraces():
    m = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5))
    c = cr.compile(m)
    x = _x(2, 3, rg=False, dtype=cr.float32)
    m.eval()
    a = c(x)
    b = c(x)
    np.testing.assert_allclose(a._array, b._array)
    m.train()
    cr.manual_seed(0)
    got = c(x)
    cr.manual_seed(0)
    np.testing.assert_allclose(got._array, m(x)._array)


# ---- explain -------------------------------------------------------------------------------
def test_explain_reports_rows_guards_breaks_and_fusion():
    W = cr.tensor(np.ones(3), requires_grad=True)

    def f(x):
        return ((x * W).tanh() * 2).sum()

    rep = cr.compile.explain(f, _x(3))
    text = str(rep)
    assert rep.op_count == 4 and rep.graph_count == 1 and rep.graph_break_count == 0
    assert "tanh(s2)" in text and "external tensor 'W'" in text and "test_compile.py:" in text
    assert "requires_grad=True" in text

    def g(x):
        return x * 2 if x.sum() > 0 else x

    rep = cr.compile.explain(g, _x(3))
    assert rep.graph_break_count == 1 and "Tensor.bool()" in rep.break_reasons[0][0]
    assert rep.break_reasons[0][1].startswith("test_compile.py:")
    if cr.compile.numba_available():
        rep = cr.compile.explain(cr.compile(f, backend="numba"), _x(3))
        assert rep.fused and rep.fused[0][0] == ["mul", "tanh", "mul"]
        assert "fused kernel\\nmul\\ntanh\\nmul" in rep.to_dot()


def test_method_decorator_compiles_per_instance():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)

        @cr.compile
        def forward(self, x):
            return self.lin(x).tanh().sum()

    net = Net()
    x = _x(4, 3, rg=False, dtype=cr.float32)
    net(x)
    out = net(x)
    out.backward()
    assert out.grad_fn.name() == "CompiledFunctionBackward"
    w = net.lin.weight
    ge = cr.autograd.grad(net.lin(x).tanh().sum(), w)[0]
    np.testing.assert_allclose(w.grad._array, ge._array, rtol=1e-6)


SCALE = 2.0


def test_python_numbers_read_from_globals_closures_and_modules_are_guarded():
    global SCALE
    f = cr.compile(lambda x: (x * SCALE).sum())
    x = _x(3)
    f(x)
    f(x)
    SCALE = 3.0
    try:
        np.testing.assert_allclose(f(x)._array, 3 * x._array.sum())
        np.testing.assert_allclose(f(x)._array, 3 * x._array.sum())
    finally:
        SCALE = 2.0
    m = nn.LeakyReLU(0.1)
    c = cr.compile(m)
    z = cr.tensor([-1.0, 1.0])
    c(z)
    c(z)
    m.negative_slope = 0.5
    np.testing.assert_allclose(c(z)._array, [-0.5, 1.0])


def test_under_vmap_and_forward_ad_the_call_runs_eagerly():
    f = cr.compile(lambda x: (x.sin() * 2).sum())
    x = _x(3, 4, rg=False)
    f(x[0])
    f(x[0])
    got = cr.func.vmap(f)(x)
    np.testing.assert_allclose(got._array, (np.sin(x._array) * 2).sum(1), rtol=1e-13)
    import chainrule.autograd.forward_ad as fwad

    with fwad.dual_level():
        d = fwad.make_dual(x[0], cr.ones(4, dtype=cr.float64))
        t = fwad.unpack_dual(f(d)).tangent
    np.testing.assert_allclose(t._array, (2 * np.cos(x._array[0])).sum(), rtol=1e-13)
