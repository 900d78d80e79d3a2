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


# ---- index dtypes of the row kernels (int32/int64 only; some int64 only) -------------------------
_ROW_OPS = {
    "gather": lambda m, i: m.gather(m.zeros(3, 2), 0, i.reshape(1, 2)),
    "scatter": lambda m, i: m.scatter(m.zeros(3, 2), 0, i.reshape(1, 2), m.ones(1, 2)),
    "scatter_add": lambda m, i: m.scatter_add(m.zeros(3, 2), 0, i.reshape(1, 2), m.ones(1, 2)),
    "scatter_reduce": lambda m, i: m.scatter_reduce(m.zeros(3, 2), 0, i.reshape(1, 2),
                                                    m.ones(1, 2), "sum"),
    "index_select": lambda m, i: m.index_select(m.zeros(3, 2), 0, i),
    "index_add": lambda m, i: m.index_add(m.zeros(3, 2), 0, i, m.ones(2, 2)),
    "index_copy": lambda m, i: m.index_copy(m.zeros(3), 0, i, m.ones(2)),
    "index_fill": lambda m, i: m.index_fill(m.zeros(3), 0, i, 1.0),
    "take": lambda m, i: m.take(m.zeros(3), i),
    "take_along_dim": lambda m, i: m.take_along_dim(m.zeros(3, 2), i.reshape(1, 2), 0),
    "take_along_dim_flat": lambda m, i: m.take_along_dim(m.zeros(3, 2), i),
}


@pytest.mark.parametrize("dt", ["int16", "int32", "uint8", "bool", "int8", "float32"])
@pytest.mark.parametrize("op", list(_ROW_OPS))
def test_row_kernel_index_dtypes(op, dt):
    _same(lambda m: _ROW_OPS[op](m, m.zeros(2, dtype=getattr(m, dt))))


def test_row_kernel_index_dtype_words():
    _same(lambda m: m.gather(m.zeros(3, 2), 0, m.zeros(1, 2, dtype=m.int16)),
          "gather(): Expected dtype int32/int64 for index")
    _same(lambda m: m.index_add(m.zeros(3), 0, m.zeros(1, dtype=m.uint8), m.ones(1)),
          "Expected dtype int32/int64 for index but got: Byte")
    _same(lambda m: m.take_along_dim(m.zeros(3), m.zeros(1, dtype=m.int32), 0),
          "dtype of indices should be Long but got Int")


@pytest.mark.parametrize(
    "fn",
    [  # torch's order: the dim's range, then the index's dtype, then self's and src's dtypes
        lambda m: m.gather(m.zeros(2, 2), 4, m.zeros(2, 2)),
        lambda m: m.scatter(m.zeros(2, dtype=m.bool), -2, i64(m, 1), m.ones(1)),
        lambda m: m.scatter(m.zeros(2, dtype=m.bool), 0, m.zeros(1, dtype=m.int16), m.ones(1)),
        lambda m: m.scatter_add(m.zeros(0, dtype=m.bool), -2, i64(m, 0), i64(m, 0)),
        lambda m: m.index_add(m.zeros(2, dtype=m.bool), -2, i64(m, 2), i64(m, 2)),
        lambda m: m.index_add(m.zeros(2, dtype=m.bool), 0, m.zeros(2, dtype=m.int16), i64(m, 2)),
        lambda m: m.index_select(m.zeros(2), 3, m.zeros(1, dtype=m.int16)),
        lambda m: m.take_along_dim(m.zeros(0, 1, dtype=m.bool), m.zeros(0, 3, dtype=m.int32), -5),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_row_kernel_check_order(fn):
    _same(fn)


# ---- joins, empty convolutions and pools, factories ---------------------------------------------
_E = lambda m: m.zeros(0, dtype=m.int16)  # noqa: E731  (a legacy empty tensor)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.cat([_E(m)], dim=1),
        lambda m: m.cat([_E(m), _E(m)], dim=5),
        lambda m: m.cat([_E(m), m.ones(2, 3)], dim=1),
        lambda m: m.cat([m.ones(2, 3), m.ones(())], dim=4),  # the 0-d tensor is named first
        lambda m: m.cat([m.ones(2, 3), m.ones(1, 2)], dim=4),
        lambda m: m.cat([_E(m), m.zeros(0, 2)], dim=2),
        lambda m: m.stack([m.ones(1), m.ones(1, 4, 2)], dim=-5),  # the dim before the sizes
        lambda m: m.stack([m.ones(1), m.ones(1, 4, 2)], dim=1),
        lambda m: F(m).conv2d(m.zeros(1, 1, 0, 2), m.ones(3, 1, 3, 1), padding=3),
        lambda m: F(m).conv2d(m.zeros(0, 1, 0, 2), m.ones(3, 1, 3, 1), padding=3),
        lambda m: F(m).conv1d(m.zeros(1, 0), m.ones(3, 1, 1), padding=1),
        lambda m: F(m).max_pool2d(m.zeros(1, 1, 3, 0), 2, 1, 1, ceil_mode=True),
        lambda m: F(m).max_pool2d(m.zeros(1, 0, 3, 3), 2, 1, 1),
        lambda m: F(m).max_pool1d(m.zeros(0, 2, 3), 2),
        lambda m: F(m).max_pool2d(i64(m, 0, 1, 4, 4), 1),
        lambda m: F(m).avg_pool2d(m.zeros(0, 1, 4, 0), 2, 1, 1, ceil_mode=True),
        lambda m: F(m).avg_pool2d(m.zeros(0, 3, 3), 1),
        lambda m: m.zeros(),
        lambda m: m.ones(),
        lambda m: m.zeros(()),
        lambda m: m.arange(2**63, dtype=m.uint8),
        lambda m: m.arange(2**63 - 1),
        lambda m: m.arange(2**62),
        lambda m: m.arange(5, 0, -2),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_joins_empty_windows_factories(fn):
    _same(fn)


def test_max_pool_empty_batch_backward():
    for m in (cr, torch):
        x = m.zeros(0, 2, 1, 5, requires_grad=True)
        F(m).max_pool2d(x, 1, ceil_mode=True).sum().backward()
        assert tuple(x.grad.shape) == (0, 2, 1, 5)


# ---- empty inputs: torch's checks do not depend on there being elements -------------------------
@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.pow(m.zeros(0, 4, dtype=m.int16), -3),  # refused even with nothing to compute
        lambda m: m.pow(i64(m, 1), -3),
        lambda m: m.remainder(m.zeros(1, 0, 4, dtype=m.uint8), m.tensor(0, dtype=m.uint8)),
        lambda m: m.remainder(i64(m, 1), 0),
        lambda m: m.div(m.zeros(0, dtype=m.int64), 0, rounding_mode="floor"),
        lambda m: F(m).cross_entropy(m.zeros(2, 0), m.zeros(2, 0)),  # 0/0 classes: NaN
        lambda m: F(m).cross_entropy(m.zeros(0), m.zeros(0)),
        lambda m: F(m).cross_entropy(m.zeros(2, 3), m.ones(2, 3) / 3),
        lambda m: m.index_select(m.zeros(0, 2, dtype=m.int8), 0, i64(m, 1) * 0),
        lambda m: m.index_select(m.zeros(2, 0), 1, i64(m, 1) * 0),
        lambda m: m.index_select(m.zeros(0, 2), 0, m.zeros(0, dtype=m.int64)),
        lambda m: m.index_select(m.zeros(0, dtype=m.int8), 0, -i64(m, 1)),
        lambda m: m.arange(0, 4, float("nan")),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_empty_inputs_checked_as_torch(fn):
    _same(fn)
