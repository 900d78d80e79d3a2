"""Torch's exception types and words for bad inputs (bool, NaN, mismatched dtypes, bad
arguments), and the op database's ``error_inputs``, each next to torch."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from test_semantics_dtype import F, _grad, _same, i64

torch = pytest.importorskip("torch")


# ---- bool inputs, solver failures, in-place shapes, argument checks ------------------------------
@pytest.mark.parametrize(
    "fn",
    [
        lambda m: -m.tensor([True]),
        lambda m: m.tensor([True]) - 1.0,
        lambda m: 1 - m.tensor([True]),
        lambda m: m.relu(m.tensor([True])),
        lambda m: F(m).hardtanh(m.tensor([True])),
        lambda m: m.abs(m.tensor([True])),
        lambda m: m.floor(m.tensor([True])),
        lambda m: m.round(m.tensor([True])),
        lambda m: F(m).threshold(m.tensor([True]), 0, 0),
        lambda m: m.sign(m.tensor([True, False])),
        lambda m: m.tensor([True]) * 2,
        lambda m: m.clamp(m.tensor([True]), 0, 1),
        lambda m: m.floor(m.tensor([2])),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_bool_inputs(fn):
    _same(fn)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.linalg.inv(m.zeros(2, 2)),
        lambda m: m.linalg.cholesky(-m.eye(2)),
        lambda m: m.ones(3, 4).add_(m.ones(7, 5, 3)),
        lambda m: m.ones(3, 4).add_(m.ones(2, 1, 4)),
        lambda m: m.ones(3, 4).mul_(m.ones(5)),
        lambda m: m.outer(m.ones(()), m.ones(2)),
        lambda m: m.tensordot(m.ones(2, 2), m.ones(2, 2), dims=-1),
        lambda m: m.softmax(m.tensor(1.0), 1),
        lambda m: m.log_softmax(m.tensor(1.0), -1),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_more_errors(fn):
    _same(fn)


def test_linalg_error_is_torchs_type():
    assert issubclass(cr.linalg.LinAlgError, RuntimeError)
    with pytest.raises(cr.linalg.LinAlgError, match="singular"):
        cr.linalg.inv(cr.zeros(2, 2))


# ---- the op database's error_inputs, each against torch ----------------------------------------
def _error_cases():
    from op_db import OPS

    return [(info.name, k, e) for info in OPS for k, e in enumerate(info.error_inputs)]


@pytest.mark.parametrize("case", _error_cases(), ids=lambda c: f"{c[0]}-{c[1]}")
def test_error_inputs(case):
    """torch raises ``exc`` (the premise: a wrong guess of torch's behaviour fails here), and
    chainrule raises the same type, under that name, with a message matching ``regex``."""
    _name, _k, (fn, exc, regex) = case
    with pytest.raises(Exception) as t_info:
        fn(torch)
    assert type(t_info.value) is exc, f"torch: {type(t_info.value).__name__}: {t_info.value}"
    with pytest.raises(exc, match=regex) as c_info:
        fn(cr)
    assert type(c_info.value).__name__ == exc.__name__, f"chainrule: {c_info.value!r}"


def test_cross_entropy_probability_target_shapes():
    _same(lambda m: F(m).cross_entropy(m.ones(4, 3), m.ones(7, 5, 3)), "to match target batch_size")
    _same(lambda m: F(m).cross_entropy(m.ones(4, 3), m.ones(4, 5)))


def test_softmax_dtype_argument_casts_first():
    _same(lambda m: m.softmax(m.tensor([1, 2]), 0, dtype=m.float32))
    _same(lambda m: m.tensor([1, 2]).log_softmax(0, dtype=m.float64))
    _same(lambda m: m.softmax(m.ones(2), 0, dtype=m.int64))
    _same(lambda m: _grad(m, [1.0, 2.0], lambda m, x: m.softmax(x, 0, dtype=m.float64)[0]))


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.lerp(m.ones(2), m.ones(2), 0.5),
        lambda m: m.lerp(i64(m, 2), i64(m, 2), 0.5),
        lambda m: m.lerp(m.ones(2), m.ones(2), m.ones(2, dtype=m.float64)),
        lambda m: m.lerp(m.ones(2), m.ones(2, dtype=m.float64), 0.5),
        lambda m: m.isclose(m.ones(2), i64(m, 2)),
        lambda m: m.isclose(i64(m, 2), i64(m, 2)),
        lambda m: m.isclose(m.ones(2), m.ones(2, dtype=m.float64)),
        lambda m: m.linalg.vecdot(i64(m, 2), i64(m, 2)),
        lambda m: m.linalg.vecdot(m.ones(2), m.ones(2, dtype=m.float64)),
        lambda m: m.cdist(i64(m, 2, 2), i64(m, 2, 2)),
        lambda m: m.cdist(m.ones(2, 2), m.ones(2, 2, dtype=m.float64)),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_mixed_dtype_kernels(fn):
    _same(fn)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_losses_with_bool(name):
    b, f = [True, False], [1.0, 1.0]
    _same(lambda m: getattr(F(m), name)(m.tensor(b), m.tensor(f)))
    _same(lambda m: getattr(F(m), name)(m.tensor(f), m.tensor(b)))
    _same(lambda m: getattr(F(m), name)(m.tensor(b), m.tensor(b)))


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.tensordot(m.ones(()), m.ones(2), dims=([0], [0])),
        lambda m: m.tensordot(m.ones(2), m.ones(2), dims=([3], [0])),
        lambda m: m.tensordot(m.ones(2, 3), m.ones(2, 3), dims=([0], [1])),
        lambda m: m.tensordot(m.ones(2, 3), m.ones(3, 2), dims=([1], [0])),
        lambda m: F(m).interpolate(m.ones(2, 2), scale_factor=2),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_argument_errors(fn):
    _same(fn)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.amax(m.ones(0, 5), 0),
        lambda m: m.amax(m.ones(0, 5), 1),
        lambda m: m.amax(m.ones(0, 5)),
        lambda m: m.amin(m.ones(0, 5), (0, 1)),
        lambda m: m.logsumexp(m.ones(0, 5), 0),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_extremes_of_nothing(fn):
    _same(fn)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.linalg.cholesky(m.full((2, 2), float("nan"))),
        lambda m: m.linalg.cholesky(m.tensor([[float("nan"), 0.0], [0.0, 1.0]])),
        lambda m: F(m).binary_cross_entropy(m.tensor([float("nan"), 0.5]), m.ones(2)),
        lambda m: F(m).kl_div(m.tensor([True, False]), m.ones(2)),
        lambda m: F(m).kl_div(m.ones(2), m.tensor([1, 0])),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_nan_and_integral_inputs_refused(fn):
    _same(fn)


def test_array_operand_error_pickles_as_type_error():
    import pickle

    with pytest.raises(TypeError) as e:
        cr.sin(np.ones(2))
    back = pickle.loads(pickle.dumps(e.value))
    assert type(back) is TypeError and "must be Tensor" in str(back)
