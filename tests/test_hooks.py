"""Hooks: tensor, node and post-accumulate hooks in torch's documented order; saved-tensor hooks;
offloading; the memory report."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import Function
from chainrule.autograd.graph import memory, save_on_cpu, save_to_disk, saved_tensors_hooks


@pytest.fixture(autouse=True)
def _no_hook_left_behind():
    yield
    from chainrule import _context

    assert _context.proc.node_hooks == () and _context.current() == (), "a test left a node hook installed"


def _r(g):
    return None if g is None else [round(float(v), 5) for v in np.asarray(g.detach()).ravel()]


def hook_log(m) -> tuple:
    """Every hook kind on a small graph; the log of calls (kind, values) in order."""
    log = []
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y.sin()
    y.retain_grad()
    y.register_hook(lambda g: (log.append(("tensor_hook1", _r(g))), g * 10)[1])
    y.grad_fn.register_prehook(
        lambda go: (log.append(("node_pre", _r(go[0]), "y.grad", _r(y.grad))), (go[0] + 1,))[1])
    y.grad_fn.register_hook(lambda gi, go: log.append(("node_post", _r(gi[0]), _r(go[0]))))
    y.register_hook(lambda g: (log.append(("tensor_hook2", _r(g))), None)[1])
    x.register_hook(lambda g: (log.append(("leaf_hook", _r(g))), g + 100)[1])
    x.register_post_accumulate_grad_hook(lambda t: log.append(("post_acc", _r(t.grad))))
    acc = y.grad_fn.next_functions[0][0]
    acc.register_prehook(lambda go: log.append(("acc_pre", _r(go[0]))))
    acc.register_hook(lambda gi, go: log.append(("acc_post", len(gi), _r(go[0]))))
    z.sum().backward()
    return log, _r(y.grad), _r(x.grad)


def test_hook_order_and_values_match_torch():
    ours, theirs = hook_log(cr), hook_log(torch)
    assert [e[0] for e in ours[0]] == [
        "tensor_hook1", "tensor_hook2", "node_pre", "node_post", "leaf_hook", "acc_pre",
        "post_acc", "acc_post"]
    assert [e[0] for e in ours[0]] == [e[0] for e in theirs[0]]
    for a, b in zip(ours[0], theirs[0]):
        for u, v in zip(a[1:], b[1:]):
            if isinstance(u, str) or u is None:
                assert u == v
            else:
                np.testing.assert_allclose(u, v, rtol=1e-5)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5)


def grad_log(m):
    log = []
    x = m.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: (log.append("leaf_hook"), g + 100)[1])
    x.register_post_accumulate_grad_hook(lambda t: log.append("post_acc"))
    acc = (x * 1).grad_fn.next_functions[0][0]
    acc.register_prehook(lambda go: log.append("acc_pre"))
    (gx,) = m.autograd.grad((x * 3).sum(), x)
    y = x * 2
    y.register_hook(lambda g: (log.append("th"), g * 10)[1])
    y.grad_fn.register_prehook(lambda go: (log.append("pre"), (go[0] + 1,))[1])
    (gy,) = m.autograd.grad(y.sin().sum(), y)
    return log, _r(gx), _r(gy), x.grad


def test_autograd_grad_runs_tensor_hooks_but_not_the_captured_node():
    ours, theirs = grad_log(cr), grad_log(torch)
    assert ours[0] == theirs[0] == ["leaf_hook", "th"]
    np.testing.assert_allclose(ours[1], theirs[1])  # 3 + 100: leaf hook applied
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5)  # 10 cos(y): node pre-hook not run
    assert ours[3] is None and theirs[3] is None  # grad() accumulates nothing


def test_retain_grad_accumulates_and_handles_remove():
    for m in (cr, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        y.retain_grad()
        (y * 3).sum().backward(retain_graph=True)
        (y * 3).sum().backward()
        np.testing.assert_allclose(y.grad.numpy(), [6.0, 6.0])
        h = x.register_hook(lambda g: g * 0)
        h.remove()
        x.grad = None
        (x * 3).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_every_hook_kind_removes():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    y = x * 2
    handles = [
        y.register_hook(lambda g: calls.append("t")),
        y.grad_fn.register_prehook(lambda go: calls.append("pre")),
        y.grad_fn.register_hook(lambda gi, go: calls.append("post")),
        x.register_hook(lambda g: calls.append("leaf")),
        x.register_post_accumulate_grad_hook(lambda t: calls.append("acc")),
    ]
    y.sum().backward(retain_graph=True)
    assert sorted(calls) == ["acc", "leaf", "post", "pre", "t"]
    for h in handles:
        h.remove()
    calls.clear()
    y.sum().backward()
    assert calls == []
    with x.register_hook(lambda g: g * 0):  # a handle is also a context manager
        (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad._array, [2 + 2 + 0, 2 + 2 + 0])


def test_post_hook_replaces_grad_inputs_and_prehook_grad_outputs():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.grad_fn.register_prehook(lambda go: (go[0] * 2,))
    y.grad_fn.register_hook(lambda gi, go: (gi[0] + 1,))
    y.sum().backward()
    np.testing.assert_allclose(x.grad._array, [3 * 2 + 1, 3 * 2 + 1])


def test_hook_must_keep_shape():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match="changed the gradient's shape"):
        (x * 1).sum().backward()


# ---- saved-tensor hooks --------------------------------------------------------------------------
def count_packs(m, op):
    x = m.tensor(np.array([[0.5, 1.0], [2.0, 3.0]]), requires_grad=True)
    w = m.tensor(np.array([[1.0, 2.0], [0.5, 0.25]]), requires_grad=True)
    n = [0]

    def pack(t):
        n[0] += 1
        return t

    with m.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        {"mul": lambda: x * w, "exp": lambda: x.exp(), "add": lambda: x + w,
         "tanh": lambda: x.tanh(), "matmul": lambda: x @ w, "div": lambda: x / w,
         "relu": lambda: m.relu(x), "log": lambda: x.log()}[op]()
    return n[0]


@pytest.mark.parametrize("op", ["mul", "exp", "add", "tanh", "matmul", "div", "relu", "log"])
def test_pack_hook_sees_what_torch_saves(op):
    assert count_packs(cr, op) == count_packs(torch, op)


def test_unpacked_values_are_the_ones_backward_uses():
    x = cr.tensor([1.0, 2.0], requires_grad=True, dtype=cr.float64)
    unpacked = []

    def unpack(t):
        unpacked.append(t)
        return t * 10  # backward now sees 10x the saved value

    with saved_tensors_hooks(lambda t: t, unpack):
        y = x.exp()  # saves its output
    y.sum().backward()
    assert len(unpacked) == 1
    np.testing.assert_allclose(x.grad._array, 10 * np.exp([1.0, 2.0]))


def test_custom_function_saves_go_through_hooks():
    packed = []

    class Sq(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = cr.tensor([3.0], requires_grad=True)
    with saved_tensors_hooks(lambda t: (packed.append(t), t._array.copy())[1],
                             lambda a: cr.tensor(a)):
        y = Sq.apply(x)
    assert len(packed) == 1 and packed[0] is x
    y.backward()
    np.testing.assert_allclose(x.grad._array, [6.0])


def test_innermost_hooks_apply_and_disable():
    outer, inner = [], []
    x = cr.tensor([1.0], requires_grad=True)
    with saved_tensors_hooks(lambda t: (outer.append(1), t)[1], lambda t: t):
        with saved_tensors_hooks(lambda t: (inner.append(1), t)[1], lambda t: t):
            x.exp()
        x.exp()
    assert inner == [1] and outer == [1]
    with cr.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
        with pytest.raises(RuntimeError, match="no hooks here"):
            with saved_tensors_hooks(lambda t: t, lambda t: t):
                pass
    from chainrule import _context

    assert _context.proc.node_hooks == () and _context.current() == ()  # no cost left behind


def test_inplace_check_still_works_under_hooks():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    with saved_tensors_hooks(lambda t: t, lambda t: t):
        y = a * a
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def mlp(m, x, ws):
    h = x
    for w in ws:
        h = (h @ w).tanh()
    return h.sum()


def _params(seed=0, n=4, d=8):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((5, d)), [rng.standard_normal((d, d)) * 0.5 for _ in range(n)]


@pytest.mark.parametrize("hooks", ["cpu", "disk"])
def test_offloading_gives_the_same_gradients(hooks, tmp_path):
    xa, was = _params()
    grads = []
    for use in (False, True):
        ws = [cr.tensor(w, requires_grad=True) for w in was]
        ctx = (save_on_cpu() if hooks == "cpu" else save_to_disk(str(tmp_path))) if use else None
        if ctx is not None:
            with ctx:
                loss = mlp(cr, cr.tensor(xa), ws)
        else:
            loss = mlp(cr, cr.tensor(xa), ws)
        if use and hooks == "disk":
            files = glob.glob(os.path.join(str(tmp_path), "*.npy"))
            # matmul saves both inputs, tanh its output; sum (linear) saves nothing, as torch
            assert len(files) == 3 * len(ws)
            assert memory(loss).intermediate_bytes == 0  # nothing of them left in RAM
        loss.backward()
        grads.append([w.grad._array for w in ws])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)
    if hooks == "disk":
        import gc

        del loss
        gc.collect()
        assert glob.glob(os.path.join(str(tmp_path), "*.npy")) == []  # files removed with graph


# ---- memory report -------------------------------------------------------------------------------
def test_memory_report_bytes_by_hand():
    x = cr.tensor(np.ones((100, 10)), dtype=cr.float32)  # leaf, no grad: 4000 bytes
    w = cr.ones(10, 20, requires_grad=True)  # leaf: 800 bytes
    h = x @ w  # MatmulBackward0 holds x, w (and its output, 8000 bytes)
    y = h.tanh()  # TanhBackward0 holds h (its input, same block) and its output (8000)
    loss = y.sum()  # SumBackward0 holds y (same block as tanh's output) and the loss (4)
    rep = memory(loss)
    assert rep.n_nodes == 3
    assert rep.leaf_bytes == 4000 + 800
    assert rep.intermediate_bytes == 8000 + 8000 + 4
    assert rep.total_bytes == 4000 + 800 + 16004
    text = str(rep)
    for s in ("MatmulBackward0", "TanhBackward0", "SumBackward0", "float32[100, 20]",
              "total kept alive", "intermediates 15.6 KiB"):
        assert s in text, s
    loss.backward()
    after = memory(loss)
    assert after.intermediate_bytes == 0 and after.n_freed == 3
    assert after.total_bytes == 800  # the leaf w, through its AccumulateGrad


def test_memory_report_shows_create_graph_leak():
    w = cr.ones(50, 50, requires_grad=True, dtype=cr.float64)
    loss = (w.tanh() * w).sum()
    loss.backward(create_graph=True)  # w.grad now holds a graph (the classic leak)
    rep = memory(w.grad)
    assert rep.n_nodes > 0 and rep.intermediate_bytes >= 50 * 50 * 8
    assert "intermediate" in str(rep)
    w2 = cr.ones(50, 50, requires_grad=True, dtype=cr.float64)
    (w2.tanh() * w2).sum().backward()
    assert memory(w2.grad).total_bytes == 0 and w2.grad.grad_fn is None


def test_memory_report_custom_function_and_ctx_attributes():
    class Keep(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.extra = np.zeros(1000)  # 8000 bytes stashed on ctx
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = cr.ones(10, requires_grad=True, dtype=cr.float64)
    rep = memory(Keep.apply(x))
    assert rep.leaf_bytes == 80 and rep.intermediate_bytes == 8000
    assert "ctx.extra" in str(rep)
