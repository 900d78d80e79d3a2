"""Threads, as torch users run them (data loaders, servers, parallel evaluation): backward passes
in several threads, shared leaves, and per-thread modes next to process-wide ones. Each case runs
torch side by side where torch's behaviour is the reference."""

from __future__ import annotations

import sys
import threading
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import _context


def _run(n, target, *args):
    """Run ``target(i, *args)`` in ``n`` threads started together; re-raise a thread's error."""
    errors, barrier = [], threading.Barrier(n)

    def body(i):
        try:
            barrier.wait(10)
            target(i, *args)
        except BaseException as e:  # noqa: BLE001  (reported in the main thread)
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def _in_thread(fn):
    """``fn()`` run in a fresh thread; its result (or error)."""
    box = {}

    def body():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001
            box["error"] = e

    t = threading.Thread(target=body)
    t.start()
    t.join(30)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _mlp(m, x, w1, w2):
    return (m.tanh(x @ w1) @ w2).pow(2).sum()


def test_independent_graphs_in_parallel_match_torch():
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((8, 5)), rng.standard_normal((5, 6)), rng.standard_normal((6, 3)))
            for _ in range(8)]
    got = [None] * len(data)

    def work(i):
        for _ in range(20):
            x, w1, w2 = (cr.tensor(a, requires_grad=True) for a in data[i])
            _mlp(cr, x, w1, w2).backward()
        got[i] = (x.grad.numpy(), w1.grad.numpy(), w2.grad.numpy())

    _run(len(data), work)
    for (x, w1, w2), g in zip(data, got):
        tx, t1, t2 = (torch.tensor(a, requires_grad=True) for a in (x, w1, w2))
        _mlp(torch, tx, t1, t2).backward()
        for a, t in zip(g, (tx, t1, t2)):
            np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lib", ["chainrule", "torch"])
def test_backward_into_a_shared_leaf_loses_no_update(lib):
    m = cr if lib == "chainrule" else torch
    n_threads, steps, trials = 8, 5, 30
    coef = np.arange(1.0, 65.0)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: the first accumulations race for .grad
    try:
        for _ in range(trials):
            w = m.tensor(np.zeros(64), requires_grad=True)
            cs = [m.tensor(coef * (i + 1)) for i in range(n_threads)]

            def work(i, w=w, cs=cs):
                for _ in range(steps):
                    (w * cs[i]).sum().backward()

            _run(n_threads, work)
            # every addend is an integer: the float64 sum is exact whatever the order
            want = coef * steps * sum(range(1, n_threads + 1))
            np.testing.assert_array_equal(w.grad.numpy(), want)
    finally:
        sys.setswitchinterval(switch)


def test_no_grad_is_per_thread_as_torch():
    for m in (cr, torch):
        with m.no_grad():
            assert not m.is_grad_enabled()
            other = _in_thread(lambda: (m.is_grad_enabled(),
                                        (m.ones(2, requires_grad=True) * 2).requires_grad))
        assert other == (True, True), m.__name__
        off = _in_thread(lambda: _off(m))
        assert off is False and m.is_grad_enabled()


def _off(m):
    with m.no_grad():
        return (m.ones(2, requires_grad=True) * 2).requires_grad


def test_no_grad_in_one_thread_while_another_trains():
    started, stop = threading.Event(), threading.Event()
    seen = []

    def inference():
        started.set()
        with cr.no_grad():
            while not stop.is_set():
                seen.append((cr.ones(3, requires_grad=True) * 2).requires_grad)

    t = threading.Thread(target=inference)
    t.start()
    started.wait(10)
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for _ in range(50):
        loss = (w * w).sum()
        assert loss.requires_grad
        loss.backward()
    stop.set()
    t.join(10)
    np.testing.assert_allclose(w.grad.numpy(), 50 * 2 * np.array([1.0, 2.0, 3.0]))
    assert seen and not any(seen)


def test_explain_records_only_its_own_thread():
    stop, started = threading.Event(), threading.Event()

    def trainer():
        v = cr.tensor(np.ones(4), requires_grad=True)
        started.set()
        while not stop.is_set():
            (v.exp() * 3).sin().sum().backward()

    t = threading.Thread(target=trainer)
    t.start()
    started.wait(10)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    try:
        with cr.explain() as ex:
            for _ in range(20):  # the other thread runs backward all along
                (x * x).sum()
            (x * x).sum().backward()
    finally:
        stop.set()
        t.join(10)
    assert [s.node.name() for s in ex.steps] == ["SumBackward0", "MulBackward0", "AccumulateGrad"]
    assert ex.passes == 1
    assert _context.ctx.observers == ()


def test_anomaly_mode_is_process_wide_as_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m, enabled in ((cr, cr.autograd.is_anomaly_enabled), (torch, torch.is_anomaly_enabled)):
            with m.autograd.detect_anomaly():
                assert _in_thread(enabled) is True, m.__name__
            assert _in_thread(enabled) is False
        # a node made in another thread while anomaly mode is on knows where it was created
        with cr.autograd.detect_anomaly():
            node = _in_thread(lambda: (cr.ones(2, requires_grad=True) * 2).grad_fn)
        assert "site" in node.x


def test_anomaly_in_one_thread_names_nan_while_another_trains():
    stop, started = threading.Event(), threading.Event()
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    def trainer():
        started.set()
        while not stop.is_set():
            (w * 2).sum().backward()

    t = threading.Thread(target=trainer)
    t.start()
    started.wait(10)
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with cr.autograd.detect_anomaly():
                y = cr.log(x).sum()  # log's backward at 0: 1/0
                with pytest.raises(RuntimeError, match="Function 'LogBackward0' returned inf"):
                    y.backward()
    finally:
        stop.set()
        t.join(10)
    assert w.grad is not None and np.all(np.isfinite(w.grad.numpy()))


def test_saved_tensor_hooks_are_per_thread_as_torch():
    for m in (cr, torch):
        packed = []

        def pack(t, packed=packed):
            packed.append(threading.current_thread().name)
            return t

        with m.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            _in_thread(lambda: (m.ones(2, requires_grad=True) * 2).exp())
            assert packed == [], m.__name__
            (m.ones(2, requires_grad=True) * 2).exp()
        assert packed and set(packed) == {threading.current_thread().name}, m.__name__


def test_grads_in_threads_under_vmap_and_jacrev():
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((4, 3)) for _ in range(6)]
    got = [None] * len(xs)

    def work(i):
        f = lambda v: (v.sin() * v).sum()  # noqa: E731
        for _ in range(5):
            g = cr.func.vmap(cr.func.grad(f))(cr.tensor(xs[i]))
            j = cr.func.jacrev(lambda v: v.exp())(cr.tensor(xs[i][0]))
        got[i] = (g.numpy(), j.numpy())

    _run(len(xs), work)
    for x, (g, j) in zip(xs, got):
        np.testing.assert_allclose(g, np.sin(x) + x * np.cos(x), rtol=1e-12)
        np.testing.assert_allclose(j, np.diag(np.exp(x[0])), rtol=1e-12)
    assert _context.ctx.batch_sizes == {} and _context.current() == ()
