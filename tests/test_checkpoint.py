"""Activation checkpointing: same gradients, at most half the saved memory, recomputation checks."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.graph import memory
from chainrule.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential

DEPTH, WIDTH, BATCH = 20, 64, 32


@pytest.fixture(autouse=True)
def _no_hook_left_behind():
    yield
    from chainrule import _context

    assert _context.proc.node_hooks == () and _context.current() == (), "a test left a node hook installed"


def params(seed=0):
    rng = np.random.default_rng(seed)
    ws = [cr.tensor(rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH), dtype=cr.float32,
                    requires_grad=True) for _ in range(DEPTH)]
    bs = [cr.tensor(rng.standard_normal(WIDTH) * 0.1, dtype=cr.float32, requires_grad=True)
          for _ in range(DEPTH)]
    x = cr.tensor(rng.standard_normal((BATCH, WIDTH)), dtype=cr.float32, requires_grad=True)
    return x, ws, bs


def layer(h, w, b):
    return (h @ w + b).tanh()


def forward(x, ws, bs, mode):
    h = x
    for w, b in zip(ws, bs):
        if mode == "plain":
            h = layer(h, w, b)
        elif mode == "reentrant":
            h = checkpoint(layer, h, w, b, use_reentrant=True)
        else:  # non-reentrant, parameters reached through a closure
            h = checkpoint(lambda t, w=w, b=b: layer(t, w, b), h, use_reentrant=False)
    return (h * h).mean()


def run(mode):
    x, ws, bs = params()
    loss = forward(x, ws, bs, mode)
    rep = memory(loss)
    loss.backward()
    return rep, loss.item(), [t.grad._array.copy() for t in [x, *ws, *bs]]


@pytest.mark.parametrize("mode", ["non_reentrant", "reentrant"])
def test_20_layer_mlp_saved_memory_at_least_halves_with_equal_gradients(mode):
    plain, v0, g0 = run("plain")
    ck, v1, g1 = run(mode)
    assert v0 == v1
    for a, b in zip(g0, g1):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    act = BATCH * WIDTH * 4  # one activation, float32
    # plain: per layer the graph keeps h@w, h@w+b and tanh's output alive
    assert plain.intermediate_bytes >= 3 * (DEPTH - 1) * act
    # checkpointed: each segment's input (19 of them: x is a leaf), plus what the loss
    # (h * h).mean() outside the checkpoints keeps: h and h * h, and the loss value
    assert ck.intermediate_bytes == (DEPTH - 1) * act + 2 * act + 4
    assert ck.intermediate_bytes * 2 <= plain.intermediate_bytes
    assert ck.leaf_bytes == plain.leaf_bytes  # parameters and input: alive either way


def test_non_reentrant_works_with_autograd_grad_on_closed_over_parameters():
    x, ws, bs = params()
    g_plain = cr.autograd.grad(forward(x, ws, bs, "plain"), ws[:3])
    g_ck = cr.autograd.grad(forward(x, ws, bs, "non_reentrant"), ws[:3])
    for a, b in zip(g_plain, g_ck):
        np.testing.assert_allclose(b._array, a._array, rtol=1e-6, atol=1e-7)


def test_recompute_happens_once_per_segment_and_only_in_backward():
    calls = []

    def seg(t):
        calls.append(1)
        return t.sin() * t

    x = cr.tensor([0.5, 1.5], requires_grad=True, dtype=cr.float64)
    y = checkpoint(seg, x)
    assert len(calls) == 1
    y.sum().backward()
    assert len(calls) == 2
    np.testing.assert_allclose(x.grad._array, np.cos(x._array) * x._array + np.sin(x._array))


def test_random_numbers_are_replayed():
    def noisy(t):
        return t * cr.rand(t.shape[0], dtype=cr.float64)

    cr.manual_seed(3)
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True, dtype=cr.float64)
    y = checkpoint(noisy, x)
    cr.rand(5)  # the generator moves on before backward
    y.sum().backward()
    cr.manual_seed(3)
    np.testing.assert_array_equal(x.grad._array, cr.rand(3, dtype=cr.float64)._array)
    np.testing.assert_array_equal(y._array, x.grad._array * x._array)


def test_non_deterministic_function_is_caught():
    state = {"n": 0}

    def changing(t):
        state["n"] += 1
        return t.exp() if state["n"] == 1 else t.exp().exp()

    x = cr.tensor([1.0], requires_grad=True)
    y = checkpoint(changing, x)
    with pytest.raises(CheckpointError, match="different number of tensors"):
        y.sum().backward()


def test_under_no_grad_it_just_runs():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        y = checkpoint(lambda t: t * 2, x)
    assert not y.requires_grad and y.item() == 2.0


def test_reentrant_refuses_kwargs_and_warns_without_grad_inputs():
    with pytest.raises(ValueError, match="Unexpected keyword arguments"):
        checkpoint(lambda t, k=1: t, cr.ones(1, requires_grad=True), use_reentrant=True, k=2)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        checkpoint(lambda t: t * 2, cr.ones(1), use_reentrant=True)


def test_checkpoint_sequential_matches_plain():
    x, ws, bs = params()
    fns = [lambda t, w=w, b=b: layer(t, w, b) for w, b in zip(ws, bs)]
    out = checkpoint_sequential(fns, 4, x, use_reentrant=False)
    ref = x
    for f in fns:
        ref = f(ref)
    np.testing.assert_array_equal(out._array, ref._array)
    (g1,) = cr.autograd.grad(out.sum(), ws[0])
    (g2,) = cr.autograd.grad(ref.sum(), ws[0])
    np.testing.assert_allclose(g1._array, g2._array, rtol=1e-6, atol=1e-7)


def test_memory_report_lists_checkpoint_handles():
    x, ws, bs = params()
    loss = forward(x, ws[:2], bs[:2], "non_reentrant")
    text = str(memory(loss))
    assert "_Handle" in text and "MatmulBackward0" in text


@pytest.mark.parametrize("reentrant", [False, True])
def test_double_backward_is_refused_not_silently_wrong(reentrant):
    x = cr.tensor([0.5, 1.5], requires_grad=True, dtype=cr.float64)
    y = checkpoint(lambda t: t.sin() * t, x, use_reentrant=reentrant)
    with pytest.raises(CheckpointError, match="create_graph=True"):
        cr.autograd.grad(y.sum(), x, create_graph=True)
