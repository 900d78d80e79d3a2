"""Explain.chain on tensors of every shape: v · J_n · … · J_1 with the recorded numbers, against
the chain rule by hand; the forward order; 1-element tensors; batches; what the size limits cut."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import _jacobian


def seed_example():
    """The seed's example: x = ones(1, 4), y = 2x + 1, z = ‖y‖₂ (dim 1), z.backward(ones(1))."""
    x = cr.ones(1, 4, requires_grad=True)
    with cr.explain() as ex:
        y = 2 * x + 1
        z = cr.norm(y, 2, dim=1)
        z.backward(cr.ones(1))
    return ex, x, y, z


def test_seed_vector_chain_reverse_order():
    ex, x, _y, _z = seed_example()
    # by hand: dz/dy = y/‖y‖ = 3/6 = 0.5 each (1×4); dy/d(2x) = I; d(2x)/dx = 2I
    lines = ex.chain(x).splitlines()
    assert lines[0] == ("v · dz/dx = v · J_norm(z) · J_add(y) · J_mul = [1] · "
                        "[[0.5, 0.5, 0.5, 0.5]] · I · 2I = [[1, 1, 1, 1]]")
    assert lines[1] == ("reverse accumulation multiplies from the output side: "
                        "((v · J_norm(z)) · J_add(y)) · J_mul")
    assert lines[2:] == ["  v · J_norm(z) [1×4] = [0.5, 0.5, 0.5, 0.5]",
                         "    · J_add(y) [4×4] = [0.5, 0.5, 0.5, 0.5]",
                         "    · J_mul [4×4] = [[1, 1, 1, 1]]"]
    np.testing.assert_allclose(x.grad._array, np.ones((1, 4)))
    norm, add, mul, _acc = ex.steps
    J = norm.jac[(0, 0)]
    assert (J.kind, J.rows, J.cols) == ("dense", 1, 4)
    np.testing.assert_allclose(J.value, [[0.5, 0.5, 0.5, 0.5]])
    assert add.jac[(0, 0)].kind == "diag" and add.jac[(0, 0)].text() == "I"
    assert mul.jac[(0, 1)].text() == "2I" and (0, 0) not in mul.jac  # the constant 2: no J


def test_seed_vector_chain_forward_order():
    ex, x, _y, _z = seed_example()
    lines = ex.chain(x, order="forward").splitlines()
    assert lines[0] == ("dz/dx = J_norm(z) · J_add(y) · J_mul = [[0.5, 0.5, 0.5, 0.5]] · I · 2I "
                        "= [[1, 1, 1, 1]]")
    assert lines[1].startswith("forward accumulation multiplies from the input side: "
                               "J_norm(z) · (J_add(y) · (J_mul · e_j)), one pass per entry of x "
                               "(j = 1 … 4)")
    # pass j: J_mul e_j = 2 e_j, J_add keeps it, J_norm gives 0.5 · 2 = 1 (column j of dz/dx)
    assert lines[2] == ("  pass 1: e_1 → J_mul·… = [2, 0, 0, 0]; J_add(y)·… = [2, 0, 0, 0]; "
                        "J_norm(z)·… = [1]")
    assert lines[5].startswith("  pass 4: e_4 → J_mul·… = [0, 0, 0, 2]")
    assert lines[6] == "then v · dz/dx = [1] · [[1, 1, 1, 1]] = [[1, 1, 1, 1]]"
    with pytest.raises(ValueError, match="order must be 'reverse' or 'forward'"):
        ex.chain(x, order="sideways")


def jacobian_example(v):
    """The seed's 3-vector function Y = (X0·X1, X1² + X2, sin(X2)·X0) at X = (1, 2, 3)."""
    X = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True, name="X")
    with cr.explain() as ex:
        Y = cr.stack([X[0] * X[1], X[1] ** 2 + X[2], cr.sin(X[2]) * X[0]])
        Y.backward(cr.tensor(v, dtype=cr.float64))
    return ex, X


J_HAND = np.array([[2.0, 1.0, 0.0], [0.0, 4.0, 1.0], [math.sin(3.0), 0.0, math.cos(3.0)]])


@pytest.mark.parametrize("v", [[1.0, 1.0, 1.0], [1 / 3, 1 / 3, 1 / 3]])
def test_jacobian_example_sums_paths(v):
    ex, X = jacobian_example(v)
    text = ex.chain(X)
    lines = text.splitlines()
    assert lines[0] == "v · dY/dX = Σ over 6 paths of v · J · … · J"
    vt = "[1, 1, 1]" if v[0] == 1 else "[0.3333, 0.3333, 0.3333]"
    # the path through X[0] of X0·X1: v · J_stack (3×1: row 0) · J_mul (X1 = 2) · J_index[0]
    assert f"path 1: v · J_stack(Y) · J_mul · J_index[0] = {vt} · [[1], [0], [0]] · 2I · " \
           f"[[1, 0, 0]] = [{'2' if v[0] == 1 else '0.6667'}, 0, 0]" in text
    assert "J_pow" in text and "4I" in text  # d(X1²)/dX1 = 2·X1 = 4
    assert "J_sin" in text and "-0.99I" in text  # cos(3)
    total = np.array(v) @ J_HAND  # vJ: the sum (or the mean) of the rows of J
    assert lines[-2 if v[0] != 1 else -2].startswith("  sum = ")
    got = [float(t) for t in lines[-2].split("[")[1].rstrip("]").split(",")]
    np.testing.assert_allclose(got, total, rtol=1e-3)
    np.testing.assert_allclose(X.grad._array, total, rtol=1e-14)
    fwd = ex.chain(X, order="forward").splitlines()
    assert fwd[0] == ("dY/dX = Σ over 6 paths of J · … · J = [[2, 1, 0], [0, 4, 1], "
                      "[0.1411, 0, -0.99]]")  # the whole Jacobian, as by hand
    assert fwd[2] == "  pass 1: e_1 → column 1 = [2, 0, 0.1411]"
    assert fwd[-1].startswith(f"then v · dY/dX = {vt} · [[2, 1, 0], [0, 4, 1], [0.1411, 0, -0.99]]")


def test_continuing_backprop_from_a_known_gradient():
    X = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True, name="X")
    Y = cr.stack([X[0] * X[1], X[1] ** 2 + X[2], cr.sin(X[2]) * X[0]])
    v = 2 * Y.detach()  # dl/dY for l = ΣY²
    with cr.explain() as ex:
        Y.backward(v)
    text = ex.chain(X)
    vt = f"[{2 * 2:g}, {2 * 7:g}, {2 * math.sin(3.0):.4g}]"
    assert f"path 1: v · J_stack(Y) · J_mul · J_index[0] = {vt}" in text
    np.testing.assert_allclose(X.grad._array, v._array @ J_HAND, rtol=1e-14)


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_one_element_tensors_chain_as_scalars(shape):
    # NumPy 2 refuses float() of a 1-element array: the chain must not depend on it
    a = cr.full(shape, 0.5, dtype=cr.float64, requires_grad=True)
    with cr.explain() as ex:
        (cr.tanh(a * 3) * a).sum().backward()
    t = math.tanh(1.5)
    # d/da tanh(3a)·a = 3(1 − t²)·a + t: two paths
    assert ex.chain(a) == (f"dSumBackward0/da = (1 · 0.5 · {1 - t * t:.6g} · 3) + (1 · {t:.6g}) "
                           f"= {3 * (1 - t * t) * 0.5 + t:.6g}")
    b = cr.tensor([0.5], requires_grad=True)
    with cr.explain() as ex:
        (b * b).backward(cr.ones(1))
    assert ex.chain(b) == "dMulBackward0/db = (0.5) + (0.5) = 1"


def test_batched_chain_and_size_limits():
    rng = np.random.default_rng(0)
    W = cr.tensor(rng.standard_normal((5, 3)))
    a = cr.tensor(rng.standard_normal((8, 5)), requires_grad=True)
    with cr.explain() as ex:
        cr.tanh(a @ W).sum().backward()
    text = ex.chain(a)
    # J_sum 1×24, J_tanh diagonal 24×24, J_matmul 24×40: too big to print, summarised by shape
    assert "J_sum [1×24]" in text and "J_tanh [24×24]" in text and "J_matmul [24×40]" in text
    assert "[24×40 matrix," in text and "left out" not in text
    step = next(s for s in ex.steps if s.name == "MmBackward0" or s.name == "MatmulBackward0")
    J = step.jac[(0, 0)].value  # d(aW)/da: row (i, k) has W[:, k] at columns (i, :)
    np.testing.assert_allclose(J[:3, :5], np.kron(np.eye(1), W._array.T), rtol=1e-12)
    fwd = ex.chain(a, order="forward")
    assert "… 32 more passes not written out (at most 8)" in fwd
    # over the row limit the Jacobian is not built, and the text says so
    big = cr.tensor(rng.standard_normal((100, 5)), requires_grad=True)
    with cr.explain() as ex:
        cr.tanh(big @ W).sum().backward()
    text = ex.chain(big)
    assert f"left out (too big to write or build): J_matmul [300×500] not built: over " \
           f"{_jacobian.MAX_ROWS} rows" in text
    assert "(as recorded)" in text  # the result is still the recorded vJ
    expect = (1 - np.tanh(big._array @ W._array) ** 2) @ W._array.T
    np.testing.assert_allclose(big.grad._array, expect, rtol=1e-12)
    assert "forward accumulation needs every local Jacobian" in ex.chain(big, order="forward")


def test_many_paths_are_cut_and_said_so():
    x = cr.tensor(0.5, dtype=cr.float64, requires_grad=True)
    with cr.explain() as ex:
        h = x
        for _ in range(5):
            h = h * h + h  # three paths per level from h to the previous h: 3^5 in all
        v = cr.stack([h, h])
        v.backward(cr.ones(2, dtype=cr.float64))
    text = ex.chain(x)
    assert "paths written out, at most 16; the sum below is over all of them" in text
    total = text.split("sum = ")[1].splitlines()[0]  # x is 0-d: the sum is one number
    np.testing.assert_allclose(float(total), x.grad.item(), rtol=1e-3)


def test_chain_of_a_tensor_not_reached():
    a = cr.tensor([1.0], requires_grad=True)
    other = cr.tensor([1.0], requires_grad=True)
    with cr.explain() as ex:
        (a * 2).sum().backward()
    with pytest.raises(ValueError, match="not reached by the recorded backward"):
        ex.chain(other)
