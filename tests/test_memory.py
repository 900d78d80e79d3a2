"""Deep graphs and memory: 10^6-node chains build, backpropagate and are freed without recursion,
and repeated build/backward/free cycles do not grow memory.

The 10^6-node runs happen in a fresh interpreter, so that a crash in deallocation (CPython frees
nested objects recursively) fails the test instead of killing the test session.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import tracemalloc
import weakref

import numpy as np

import chainrule as cr

DEPTH = 10**6

# y*2, y-1, y*0.5, y+0.5: every op depends on the previous one, the value stays 0.5 and every block
# of four has derivative exactly 1, so d(sum y)/dx = 1 in exact arithmetic at any depth
_CHAIN = """
import gc, sys, weakref
import chainrule as cr

def chain(x, n):
    y = x
    for i in range(n):
        k = i & 3
        if k == 0:
            y = y * 2.0
        elif k == 1:
            y = y - 1.0
        elif k == 2:
            y = y * 0.5
        else:
            y = y + 0.5
    return y

assert sys.getrecursionlimit() <= 10**4  # nothing below may rely on a raised limit
x = cr.tensor([0.5], dtype=cr.float64, requires_grad=True)
"""


def _run(body: str) -> str:
    code = _CHAIN + textwrap.dedent(body)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                       check=False)
    assert r.returncode == 0, f"exit code {r.returncode}\n{r.stdout}\n{r.stderr[-3000:]}"
    return r.stdout


def _chain(x, n):
    y = x
    for i in range(n):
        k = i & 3
        if k == 0:
            y = y * 2.0
        elif k == 1:
            y = y - 1.0
        elif k == 2:
            y = y * 0.5
        else:
            y = y + 0.5
    return y


def test_chain_identity_closed_form():
    x = cr.tensor([0.5, -1.5], dtype=cr.float64, requires_grad=True)
    y = _chain(x, 400)
    np.testing.assert_array_equal(y._array, [0.5, -1.5])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad._array, [1.0, 1.0])


def test_million_node_chain_backpropagates_and_frees():
    out = _run(f"""
        y = chain(x, {DEPTH})
        first = weakref.ref(y.grad_fn)
        node = y.grad_fn
        for _ in range({DEPTH} // 2):        # walk to the middle of the chain, iteratively
            node = node.next_functions[0][0]
        mid_node = weakref.ref(node)
        mid_input = weakref.ref(node.saved[0])  # a tensor only the graph keeps alive
        del node
        y.sum().backward()
        assert x.grad._array.tolist() == [1.0], x.grad
        assert mid_input() is None, "saved values must be freed by backward"
        assert mid_node() is not None           # the graph itself lives as long as y
        try:
            y.sum().backward()
        except RuntimeError as e:
            assert "Trying to backward through the graph a second time" in str(e)
        else:
            raise AssertionError("second backward through freed buffers did not raise")
        del y
        assert first() is None and mid_node() is None, "graph not freed with its output"
        print("ok")
    """)
    assert out.strip() == "ok"


def test_deleting_unbackpropagated_million_node_graph():
    out = _run(f"""
        y = chain(x, {DEPTH})
        last, leaf = weakref.ref(y.grad_fn), weakref.ref(x)
        del y                                 # no backward: every saved tensor still in the graph
        assert last() is None, "graph not freed when its output was deleted"
        assert leaf() is not None and x.grad is None
        print("ok")
    """)
    assert out.strip() == "ok"


def _cycle(x, n: int) -> None:
    y = _chain(x, n)
    y.sum().backward()
    del y


def test_memory_does_not_grow_across_build_backward_free_cycles():
    x = cr.tensor(np.linspace(-1, 1, 64), requires_grad=True)
    n = 5_000
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(2):  # warm-up: caches, free lists, the leaf's .grad
            _cycle(x, n)
        gc.collect()
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        _cycle(x, n)
        gc.collect()
        _, one_peak = tracemalloc.get_traced_memory()
        for _ in range(5):
            _cycle(x, n)
        gc.collect()
        now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the graph of one cycle takes megabytes; what stays behind after 6 cycles must be tiny
    assert one_peak - base > 1_000_000, (base, one_peak)
    assert now - base < 64 * 1024, f"memory grew by {now - base} bytes over 6 cycles"
    # and later cycles need no more room than the first
    assert peak <= one_peak * 1.05 + 64 * 1024, (one_peak, peak)
    np.testing.assert_array_equal(x.grad._array, np.full(64, 8.0))  # 8 cycles, gradient 1 each


def test_retain_graph_cycles_free_everything_once_dropped():
    x = cr.tensor([0.25, 0.75], requires_grad=True)
    y = _chain(x, 1000)
    ref = weakref.ref(y.grad_fn)
    s = y.sum()
    for _ in range(3):
        s.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad._array, [3.0, 3.0])
    del y, s
    assert ref() is None  # freed by reference counting alone: the graph holds no cycles
