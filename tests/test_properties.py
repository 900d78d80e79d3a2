"""Property-based tests: random programs of table ops, run in chainrule and torch, must agree in
values and gradients (float64). Hypothesis is derandomized (tests/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import chainrule as cr

torch = pytest.importorskip("torch")

UNARY = {
    "tanh": lambda m, x: m.tanh(x),
    "sin": lambda m, x: m.sin(x),
    "sigmoid": lambda m, x: m.sigmoid(x),
    "exp_neg_sq": lambda m, x: m.exp(-x * x),
    "softplus_like": lambda m, x: m.log(1 + m.exp(m.clamp(x, -20.0, 20.0))),
    "sqrt_sq1": lambda m, x: m.sqrt(x * x + 1),
    "abs_plus": lambda m, x: m.abs(x) + 0.5 * x,
    "scale": lambda m, x: x * 1.7 - 0.3,
    "pow3": lambda m, x: x ** 3 / 4,
    "softmax_last": lambda m, x: m.softmax(x, -1) if x.ndim else x,
    "log_softmax_last": lambda m, x: m.log_softmax(x, -1) if x.ndim else x,
}
BINARY = {
    "add": lambda m, x, y: x + y,
    "mul": lambda m, x, y: x * y,
    "sub": lambda m, x, y: x - y,
    "div": lambda m, x, y: x / (1.5 + m.tanh(y)),
    "maximum": lambda m, x, y: m.maximum(x, y),
    "where": lambda m, x, y: m.where(x > y, x * 2, y),
}
REDUCE = {
    "sum0": lambda m, x: x.sum(0) if x.ndim else x,
    "mean_last_keep": lambda m, x: x.mean(-1, keepdim=True) if x.ndim else x,
    "amax0": lambda m, x: m.amax(x, 0) if x.ndim else x,
    "norm": lambda m, x: m.norm(x) + 0 * x.sum(),
    "std_last": lambda m, x: x.std(-1) if x.ndim and x.shape[-1] > 1 else x,
    "transpose": lambda m, x: x.transpose(0, -1) if x.ndim >= 2 else x,
    "flatten": lambda m, x: m.flatten(x),
    "getitem": lambda m, x: x[..., ::2] if x.ndim else x,
}
SHAPES = [(4,), (3, 4), (2, 3, 4), (1, 4), (3, 1)]

step = st.one_of(
    st.tuples(st.just("u"), st.sampled_from(sorted(UNARY))),
    st.tuples(st.just("b"), st.sampled_from(sorted(BINARY))),
    st.tuples(st.just("r"), st.sampled_from(sorted(REDUCE))),
)


def _run(m, program, arrays):
    xs = [m.tensor(a, dtype=m.float64, requires_grad=True) for a in arrays]
    pool = list(xs)
    for k, (kind, name) in enumerate(program):
        x = pool[-1]
        if kind == "u":
            pool.append(UNARY[name](m, x))
        elif kind == "r":
            pool.append(REDUCE[name](m, x))
        else:
            y = pool[k % len(pool)]
            try:
                np.broadcast_shapes(tuple(x.shape), tuple(y.shape))
            except ValueError:
                y = y.sum()
            pool.append(BINARY[name](m, x, y))
    out = pool[-1]
    loss = (out * out).sum() if out.ndim else out * out
    grads = m.autograd.grad(loss, xs, allow_unused=True)
    return out, grads


@given(
    program=st.lists(step, min_size=1, max_size=8),
    shapes=st.lists(st.sampled_from(SHAPES), min_size=1, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_random_programs_match_torch(program, shapes, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    c_out, c_g = _run(cr, program, arrays)
    t_out, t_g = _run(torch, program, arrays)
    assert tuple(c_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(c_out._array, t_out.detach().numpy(), rtol=1e-9, atol=1e-12)
    for a, b in zip(c_g, t_g):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a._array, b.numpy(), rtol=1e-8, atol=1e-10)


@given(
    program=st.lists(st.tuples(st.just("u"), st.sampled_from(sorted(UNARY))), min_size=1, max_size=5),
    seed=st.integers(0, 2**16),
)
def test_random_programs_second_order_match_torch(program, seed):
    a = np.random.default_rng(seed).standard_normal((3, 4))

    def hvp(m):
        x = m.tensor(a, dtype=m.float64, requires_grad=True)
        y = x
        for _, name in program:
            y = UNARY[name](m, y)
        (g,) = m.autograd.grad((y * y).sum(), x, create_graph=True)
        (h,) = m.autograd.grad((g * g).sum(), x)
        return h

    np.testing.assert_allclose(hvp(cr)._array, hvp(torch).numpy(), rtol=1e-7, atol=1e-9)
