"""Torch's dtype rules, refused values, NaN/inf edges and exception types, each next to torch.

Every case runs the same code on ``chainrule`` and on ``torch``: both must raise the same exception
type (and, for torch's famous messages, the same words), or return the same values and dtypes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

F = lambda m: m.nn.functional  # noqa: E731
i64 = lambda m, *s: m.ones(*s, dtype=m.int64)  # noqa: E731


def _outcome(m, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", fn(m)
        except Exception as e:  # noqa: BLE001 - the type is what is compared
            return "raise", e


def _flat(r):
    if isinstance(r, (tuple, list)):
        return [v for x in r for v in _flat(x)]
    return [r]


def _same(fn, match: str | None = None):
    kc, c = _outcome(cr, fn)
    kt, t = _outcome(torch, fn)
    assert kc == kt, f"chainrule: {kc} {c!r}; torch: {kt} {t!r}"
    if kc == "raise":
        want = cr.linalg.LinAlgError if type(t).__name__ == "_LinAlgError" else type(t)
        assert isinstance(c, want), (
            f"chainrule raised {type(c).__name__}: {c}; torch {type(t).__name__}: {t}"
        )
        if match:
            assert match in str(c) and match in str(t), (str(c), str(t))
        return
    for a, b in zip(_flat(c), _flat(t), strict=True):
        if isinstance(b, torch.Tensor):
            assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
            np.testing.assert_allclose(a._array, b.detach().numpy(), rtol=1e-5, atol=1e-6)
        elif isinstance(b, torch.dtype):
            assert str(a).split(".")[-1] == str(b).split(".")[-1]
        else:
            assert a == b


def _grad(m, x, f, dtype="float32"):
    t = m.tensor(x, dtype=getattr(m, dtype), requires_grad=True)
    out = f(m, t)
    out.sum().backward() if out.ndim else out.backward()
    return out, t.grad


# ---- dtype policy: matmul-like kernels do not promote -------------------------------------------
MATMUL = {
    "mm": lambda m, a, b: m.mm(a, b),
    "matmul": lambda m, a, b: m.matmul(a, b),
    "operator": lambda m, a, b: a @ b,
    "bmm": lambda m, a, b: m.bmm(a[None], b[None]),
    "dot": lambda m, a, b: m.dot(a[0], b[0]),
    "mv": lambda m, a, b: m.mv(a, b[0]),
    "einsum": lambda m, a, b: m.einsum("ij,jk->ik", a, b),
}


@pytest.mark.parametrize("other", ["float64", "int64"])
@pytest.mark.parametrize("name", sorted(MATMUL))
def test_matmul_family_refuses_mixed_dtypes(name, other):
    f = MATMUL[name]
    _same(lambda m: f(m, m.ones(2, 2), m.ones(2, 2, dtype=getattr(m, other))))


def test_matmul_mismatch_message_has_torch_words():
    with pytest.raises(
        RuntimeError, match="expected m1 and m2 to have the same dtype, but got: float != double"
    ):
        cr.ones(2, 2) @ cr.ones(2, 2, dtype=cr.float64)
    _same(lambda m: m.mm(i64(m, 2, 2), i64(m, 2, 2)))  # integers alone are fine, as torch


FLOAT_ONLY = [
    "leaky_relu",
    "elu",
    "selu",
    "celu",
    "gelu",
    "silu",
    "mish",
    "softplus",
    "hardsigmoid",
    "hardswish",
    "hardshrink",
    "softshrink",
    "logsigmoid",
]
INT_OK = ["relu", "relu6", "hardtanh", "softsign", "tanhshrink"]  # torch: int result or promotes


@pytest.mark.parametrize("name", FLOAT_ONLY + INT_OK)
def test_activations_of_integer_tensors(name):
    _same(lambda m: getattr(F(m), name)(m.tensor([-2, 0, 3])))


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: F(m).softmax(i64(m, 2, 3), 1),
        lambda m: F(m).log_softmax(i64(m, 2, 3), 1),
        lambda m: F(m).softmin(i64(m, 2, 3), 1),
        lambda m: F(m).cross_entropy(i64(m, 2, 3), m.tensor([0, 1])),
        lambda m: F(m).nll_loss(i64(m, 2, 3), m.tensor([0, 1])),
        lambda m: F(m).mse_loss(i64(m, 2), i64(m, 2)),
        lambda m: F(m).kl_div(i64(m, 2), i64(m, 2)),
        lambda m: F(m).binary_cross_entropy_with_logits(i64(m, 2), i64(m, 2)),
        lambda m: m.hypot(i64(m, 2), i64(m, 2)),
        lambda m: m.logaddexp(i64(m, 2), i64(m, 2)),
        lambda m: m.frac(i64(m, 2)),
        lambda m: m.logcumsumexp(i64(m, 2), 0),
        lambda m: m.linalg.inv(i64(m, 2, 2)),
        lambda m: m.linalg.det(i64(m, 2, 2)),
        lambda m: m.linalg.vector_norm(i64(m, 2)),
        lambda m: m.linalg.cholesky(i64(m, 2, 2)),
        lambda m: m.sin(i64(m, 2)),  # promotes to float, as torch
        lambda m: m.hypot(i64(m, 2), m.ones(2)),  # a float operand: promotes
        lambda m: F(m).interpolate(i64(m, 1, 1, 2, 2), scale_factor=2, mode="bilinear"),
        lambda m: F(m).interpolate(i64(m, 1, 1, 2, 2), scale_factor=2, mode="nearest"),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_float_only_ops_raise_on_integers(fn):
    _same(fn)


def test_float_only_message():
    with pytest.raises(NotImplementedError, match="\"silu\" not implemented for 'Long'"):
        F(cr).silu(cr.tensor([1, 2]))


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.clamp(i64(m, 3), m.tensor(0.5), m.tensor(1.5)),
        lambda m: m.clamp(i64(m, 3), 0.5, 1.5),
        lambda m: m.add(i64(m, 2), 0, alpha=0.5),
        lambda m: m.add(i64(m, 2), i64(m, 2), alpha=0.5),
        lambda m: m.sub(i64(m, 2), i64(m, 2), alpha=1.5),
        lambda m: m.add(i64(m, 2), 1.0, alpha=0.5),  # a float operand: float result, alpha allowed
        lambda m: m.add(m.ones(2), i64(m, 2), alpha=0.5),
        lambda m: m.tensor([0, 1, -1, 2, -2, 3]) ** m.tensor([-1, -1, -1, -1, -1, -2]),
        lambda m: m.where(m.tensor([True, False]), float("nan"), 0.0),
        lambda m: m.where(m.tensor([True, False]), 1, 0),
        lambda m: m.where(m.tensor([True, False]), 1.0, 0),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_promotion_cases(fn):
    _same(fn)


def test_add_alpha_message():
    _same(
        lambda m: m.add(i64(m, 2), 0, alpha=0.5),
        "For integral input tensors, argument alpha must not be a floating point number.",
    )


# ---- NumPy arrays where a Tensor is required ----------------------------------------------------
@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.sin(np.ones(2)),
        lambda m: m.matmul(m.ones(2, 2), np.ones((2, 2))),
        lambda m: m.cat([np.ones(2)]),
        lambda m: m.add(m.ones(2), np.ones(2)),
        lambda m: m.ones(2).add(np.ones(2)),
        lambda m: m.where(m.ones(2) > 0, m.ones(2), np.ones(2)),
        lambda m: F(m).linear(np.ones((1, 2), np.float32), m.ones(3, 2)),
        lambda m: m.nn.Linear(2, 3)(np.ones((1, 2), np.float32)),
        lambda m: m.ones(2) + np.ones(2),  # the operators convert, as torch's
        lambda m: m.ones(2) * np.ones(2),
        lambda m: np.ones(2, np.float32) == m.ones(2),
        lambda m: m.ones(2) ** np.ones(2),
        lambda m: m.ones(2) + [1, 2],
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_numpy_arrays_as_tensors(fn):
    _same(fn)


def test_numpy_array_message_names_the_argument():
    with pytest.raises(
        TypeError,
        match=r"sin\(\): argument 'input' \(position 1\) must be Tensor, not numpy.ndarray",
    ):
        cr.sin(np.ones(2))
    with pytest.raises(
        TypeError, match=r"matmul\(\): argument 'other' \(position 2\) must be Tensor"
    ):
        cr.matmul(cr.ones(2, 2), np.ones((2, 2)))


# ---- Python ints beyond int64 -------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.tensor([2**70]),
        lambda m: m.tensor([1, 2**63]),  # NumPy would silently make float64
        lambda m: m.tensor([[1, 2], [3, 2**64]]),
        lambda m: m.tensor([1.5, 2**70]),
        lambda m: m.tensor([2**63 - 1]),
        lambda m: m.tensor(-(2**63)),
        lambda m: i64(m, 2) + 2**70,
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_int64_overflow(fn):
    _same(fn)


def test_overflow_never_leaks_numpy_words():
    with pytest.raises(OverflowError) as e:
        i64(cr, 2) + 2**70
    assert "C long" not in str(e.value) and "add()" in str(e.value)


# ---- values torch refuses -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.arange(1, 0),
        lambda m: m.arange(0, 1, -1),
        lambda m: m.arange(0, 1, 0),
        lambda m: m.arange(float("nan")),
        lambda m: m.arange(5, 1, -2),
        lambda m: m.arange(0, 0),
        lambda m: m.linspace(0, 1, -1),
        lambda m: m.linspace(0, 1, 0),
        lambda m: m.logspace(0, 1, -2),
        lambda m: m.eye(-1),
        lambda m: m.eye(2, -1),
        lambda m: m.autograd.grad((m.ones(2, requires_grad=True) * 2).sum(), []),
        lambda m: F(m).cross_entropy(m.ones(2, 3), m.ones(2, 3) / 3, ignore_index=1),
        lambda m: F(m).cross_entropy(m.ones(2, 3), m.ones(2, 3) / 3),
        lambda m: F(m).conv2d(m.ones(1, 1, 3, 3), m.ones(1, 1, 2, 2), stride=0),
        lambda m: F(m).conv2d(m.ones(1, 1, 3, 3), m.ones(1, 1, 2, 2), stride=-1),
        lambda m: F(m).conv2d(m.ones(1, 1, 3, 3), m.ones(1, 1, 2, 2), dilation=0),
        lambda m: F(m).conv2d(m.ones(1, 1, 3, 3), m.ones(1, 1, 2, 2), padding=-1),
        lambda m: F(m).conv1d(m.ones(1, 1, 3), m.ones(1, 1, 2), stride=0),
        lambda m: F(m).max_pool2d(m.ones(1, 1, 4, 4), 2, stride=0),
        lambda m: F(m).avg_pool2d(m.ones(1, 1, 4, 4), 0),
        lambda m: F(m).unfold(m.ones(1, 1, 4, 4), 2, stride=0),
        lambda m: F(m).conv_transpose2d(m.ones(1, 1, 3, 3), m.ones(1, 1, 2, 2), stride=0),
        lambda m: F(m).softmax(m.ones(2, 0), 1),
        lambda m: F(m).log_softmax(m.ones(2, 0), 1),
        lambda m: F(m).softmax(m.ones(0, 3), 1),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_refused_values(fn):
    _same(fn)


def test_refused_values_words():
    _same(lambda m: m.arange(1, 0), "upper bound and lower bound inconsistent with step sign")
    _same(lambda m: m.linspace(0, 1, -1), "number of steps must be non-negative")
    _same(
        lambda m: m.autograd.grad((m.ones(2, requires_grad=True) * 2).sum(), []),
        "`inputs` argument to `grad()` cannot be empty.",
    )
    _same(
        lambda m: F(m).conv2d(m.ones(1, 1, 3, 3), m.ones(1, 1, 2, 2), stride=0),
        "non-positive stride is not supported",
    )
    _same(
        lambda m: F(m).cross_entropy(m.ones(2, 3), m.ones(2, 3) / 3, ignore_index=1),
        "ignore_index is not supported for floating point target",
    )


@pytest.mark.parametrize("name", ["std", "var"])
def test_std_var_without_degrees_of_freedom(name):
    # torch: NaN and a warning, not ZeroDivisionError
    _same(lambda m: _grad(m, [2.0], lambda m, x: getattr(x, name)()))
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        getattr(cr.tensor([2.0]), name)()


# ---- NaN / inf edges ----------------------------------------------------------------------------
INF, NAN = float("inf"), float("nan")
EDGES = {
    "abs_nan": ([NAN, -1.0, 0.0], lambda m, x: x.abs()),
    "sign_nan": ([NAN, -2.0, 0.0], lambda m, x: m.sign(x) * x),
    "logit_eps": ([0.05, 0.1, 0.5, 0.9, 0.95, 0.0, 1.0], lambda m, x: m.logit(x, eps=0.1)),
    "logit_outside": ([-0.1, 0.0, 0.5, 1.0, 1.1], lambda m, x: m.logit(x)),
    "atan2_origin": ([0.0, 0.0, 1.0], lambda m, x: m.atan2(x, m.tensor([0.0, 1.0, 0.0]))),
    "atan2_origin_y": ([0.0, 1.0, 0.0], lambda m, x: m.atan2(m.tensor([0.0, 0.0, 1.0]), x)),
    "vnorm_half_at_0": ([0.0, 2.0], lambda m, x: m.linalg.vector_norm(x, 0.5)),
    "vnorm_half_all_0": ([0.0, 0.0], lambda m, x: m.linalg.vector_norm(x, 0.5)),
    "vnorm_neg1_at_0": ([0.0, 2.0], lambda m, x: m.linalg.vector_norm(x, -1)),
    "vnorm_neg1_all_0": ([0.0, 0.0], lambda m, x: m.linalg.vector_norm(x, -1)),
    "vnorm_neg2": ([0.0, 2.0], lambda m, x: m.linalg.vector_norm(x, -2)),
    "vnorm_inf_overflow": ([3e38, 3e38, 1.0], lambda m, x: m.linalg.vector_norm(x, INF)),
    "vnorm_inf_nan": ([NAN, 1.0], lambda m, x: m.linalg.vector_norm(x, INF)),
    "vnorm_f32_overflow": ([3e20, 4e20], lambda m, x: m.linalg.vector_norm(x)),
    "vnorm_f32_p15": ([3e20, 4e20], lambda m, x: m.linalg.vector_norm(x, 1.5)),
    "mnorm_neg2_rankdef": ([[1.0, 0.0], [0.0, 0.0]], lambda m, x: m.linalg.matrix_norm(x, -2)),
    "softmax_single_neginf": ([-INF], lambda m, x: F(m).softmax(x, 0)),
    "softmin_single_inf": ([INF], lambda m, x: F(m).softmin(x, 0)),
    "pow_neg_scalar_base": ([-1.0, 0.5], lambda m, x: m.pow(-2.0, x)),
    "pow_half": ([-1.0, 0.0], lambda m, x: m.pow(x, 0.5)),
    "std_const_row": ([1.0, 1.0, 1.0, 1.0], lambda m, x: (x - x.mean()) / (x.std() + 1e-5)),
    "std_const_dim": ([[1.0, 2.0], [1.0, 3.0]], lambda m, x: x.std(0)),
    "relu_nan": ([NAN, 0.5, -1.0, 0.0], lambda m, x: m.relu(x)),
    "max_all_nan": ([NAN, 0.5, NAN], lambda m, x: m.max(x)),
    "min_all_nan": ([NAN, 0.5], lambda m, x: m.min(x)),
    "max_all_ties": ([2.0, 0.5, 2.0], lambda m, x: m.max(x)),
    "amax_nan": ([NAN, 0.5, NAN], lambda m, x: m.amax(x)),
    "max_dim_nan": ([[NAN, 0.5]], lambda m, x: m.max(x, 1).values),
}


@pytest.mark.parametrize("name", sorted(EDGES))
def test_nan_inf_edges(name):
    x, f = EDGES[name]
    _same(lambda m: _grad(m, x, f))


def test_cross_entropy_all_ignored_keeps_weights_finite():
    # torch: the loss is NaN (0/0) and the gradient 0, so one such batch leaves the model intact
    for fn in (
        lambda m, x: F(m).cross_entropy(x, m.tensor([-100, -100])),
        lambda m, x: F(m).nll_loss(F(m).log_softmax(x, 1), m.tensor([-100, -100])),
        lambda m, x: F(m).cross_entropy(x, m.tensor([3, 3]), ignore_index=3, label_smoothing=0.1),
    ):
        _same(lambda m: _grad(m, np.arange(6.0).reshape(2, 3), fn))
    x = cr.ones(2, 3, requires_grad=True)
    F(cr).cross_entropy(x, cr.tensor([-100, -100])).backward()
    assert np.all(x.grad._array == 0)


# ---- error translation --------------------------------------------------------------------------
def test_numpy_exceptions_are_translated():
    # NumPy's _UFuncOutputCastingError cannot be re-created from a message: the translator maps it
    with pytest.raises(
        RuntimeError, match="result type Float can't be cast to the desired output type Long"
    ):
        i64(cr, 2).add_(cr.ones(2))
    with pytest.raises(IndexError) as e:
        cr.ones(2, 3).sum(dim=3)
    assert "axis" not in str(e.value)


def test_pow_integer_negative_exponent_scalar_raises():
    _same(lambda m: m.pow(m.tensor([2, 3]), -1))


# ---- axis= alias --------------------------------------------------------------------------------
AXIS = [
    lambda m: m.sum(m.ones(2, 3), axis=0),
    lambda m: m.ones(2, 3).sum(axis=1),
    lambda m: m.ones(2, 3).mean(axis=(0, 1)),
    lambda m: m.all(m.ones(2, 3), axis=1),
    lambda m: m.ones(2, 3).any(axis=0),
    lambda m: m.max(m.ones(2, 3), axis=0),
    lambda m: m.ones(2, 3).min(axis=1),
    lambda m: m.std(m.ones(2, 3), axis=0),
    lambda m: m.ones(2, 3).var(axis=1),
    lambda m: m.std_mean(m.ones(2, 3), axis=0),
    lambda m: m.var_mean(m.ones(2, 3), axis=1),
    lambda m: m.ones(2, 3).prod(axis=0),
    lambda m: m.amax(m.ones(2, 3), axis=1),
    lambda m: m.ones(2, 3).amin(axis=0),
    lambda m: m.argmax(m.arange(6.0).reshape(2, 3), axis=1),
    lambda m: m.ones(2, 3).argmin(axis=0),
    lambda m: m.logsumexp(m.ones(2, 3), axis=1),
    lambda m: m.cumsum(m.ones(2, 3), axis=1),
    lambda m: m.ones(2, 3).cumprod(axis=0),
    lambda m: m.ones(2, 3).softmax(axis=0),
    lambda m: m.cat([m.ones(2)], axis=0),
    lambda m: m.stack([m.ones(2)], axis=0),
    lambda m: m.ones(1, 3).squeeze(axis=0),
    lambda m: m.ones(2, 3).unsqueeze(axis=0),
    lambda m: m.ones(2, 3).count_nonzero(axis=0),
    lambda m: m.ones(2, 3).nansum(axis=0),
    lambda m: m.ones(2, 3).sort(axis=0),
    lambda m: m.ones(2, 3).median(axis=0),
    lambda m: m.sum(m.ones(2, 3), axis=1, dim=1),
]


@pytest.mark.parametrize("fn", AXIS, ids=lambda f: f.__code__.co_firstlineno)
def test_axis_alias(fn):
    kc, c = _outcome(cr, fn)
    kt, t = _outcome(torch, fn)
    assert kc == kt, (c, t)
    if kc == "ok":
        for a, b in zip(_flat(c), _flat(t)):
            np.testing.assert_allclose(a._array, b.numpy())


# ---- shifts -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.tensor([1, -8, 3]) << 2,
        lambda m: m.tensor([1, -8, 3]) >> 1,
        lambda m: 2 << m.tensor([1, 2, 3]),
        lambda m: 64 >> m.tensor([1, 2, 3]),
        lambda m: m.tensor([1, -8]) << m.tensor([64, -1]),
        lambda m: m.tensor([-8, 8]) >> m.tensor([70, 70]),
        lambda m: m.tensor([1, 2], dtype=m.uint8) << 7,
        lambda m: m.tensor([1], dtype=m.int8) << 7,
        lambda m: m.bitwise_left_shift(m.tensor([1, 2]), 1),
        lambda m: m.tensor([8]).bitwise_right_shift(2),
        lambda m: m.tensor([True]) << 1,
        lambda m: m.ones(2) << 1,
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_shifts(fn):
    _same(fn)


def test_inplace_shift_keeps_identity():
    x = cr.tensor([1, 2])
    y = x
    x <<= 2
    x >>= 1
    assert y is x and x.tolist() == [2, 4]


# ---- uint8 images -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_interpolate_uint8_matches_torch_exactly(mode, align_corners):
    rng = np.random.default_rng(7)
    for _ in range(8):
        h, w, oh, ow = (int(v) for v in rng.integers(1, 10, 4))
        x = rng.integers(0, 256, (1, 2, h, w)).astype(np.uint8)
        c = F(cr).interpolate(cr.tensor(x), size=(oh, ow), mode=mode, align_corners=align_corners)
        t = F(torch).interpolate(
            torch.tensor(x), size=(oh, ow), mode=mode, align_corners=align_corners
        )
        assert c.dtype == cr.uint8
        np.testing.assert_array_equal(c._array, t.numpy())
    x = rng.integers(0, 256, (1, 1, 3, 5)).astype(np.uint8)
    c = F(cr).interpolate(cr.tensor(x), scale_factor=1.7, mode=mode, align_corners=align_corners)
    t = F(torch).interpolate(
        torch.tensor(x), scale_factor=1.7, mode=mode, align_corners=align_corners
    )
    np.testing.assert_array_equal(c._array, t.numpy())


# ---- kernels without a bool (or integer) version; the promoted dtype decides --------------------
_B = lambda m, *s: m.ones(*s, dtype=m.bool)  # noqa: E731


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.pow(_B(m, 2), _B(m, 2)),
        lambda m: m.pow(_B(m, 2), 2),  # bool and a Python int promote to int64: fine
        lambda m: m.pow(2, _B(m, 2)),
        lambda m: m.remainder(_B(m, 2), _B(m, 2)),
        lambda m: m.remainder(_B(m, 2), 1),
        lambda m: m.fmod(_B(m, 2), _B(m, 2)),
        lambda m: m.dot(_B(m, 0), _B(m, 0)),
        lambda m: m.mm(_B(m, 1, 2), _B(m, 2, 1)),
        lambda m: m.matmul(_B(m, 2), _B(m, 2)),
        lambda m: m.bmm(_B(m, 1, 1, 2), _B(m, 1, 2, 1)),
        lambda m: m.isclose(_B(m, 2), _B(m, 2)),  # the one matmul-like row with a bool kernel
        lambda m: m.dot(m.ones(2, dtype=m.uint8), m.ones(2, dtype=m.uint8)),
        lambda m: m.median(_B(m)),
        lambda m: m.median(_B(m, 2), 0),
        lambda m: m.nanmedian(_B(m, 2)),
        lambda m: m.median(i64(m, 0, 0, 0)),  # NaN cast to int64, as torch: its minimum
        lambda m: m.median(m.ones(0, dtype=m.int32)),
        lambda m: m.median(m.ones(0, dtype=m.uint8)),
        lambda m: F(m).max_pool1d(i64(m, 1, 1, 4), 3),
        lambda m: F(m).max_pool1d(m.ones(1, 1, 4, dtype=m.uint8), 2),
        lambda m: F(m).max_pool2d(_B(m, 1, 1, 4, 4), 2),
        lambda m: F(m).max_pool2d(i64(m, 1, 1, 4, 4), 2),
        lambda m: m.arange(3, dtype=m.bool),
        lambda m: m.arange(float("inf"), dtype=m.bool),  # the dtype is checked first
        lambda m: m.linspace(0, 1, 2, dtype=m.bool),
        lambda m: m.linspace(0, 1, 0, dtype=m.bool),
        lambda m: m.add(m.zeros(0, dtype=m.uint8), 0, alpha=True),
        lambda m: m.add(m.zeros(2), 1, alpha=False),
        lambda m: m.sub(m.zeros(2), 1, alpha=True),
        lambda m: m.add(_B(m, 2), True, alpha=True),
        lambda m: m.add(_B(m, 2), _B(m, 2), alpha=False),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_bool_and_integer_kernels(fn):
    _same(fn)


# ---- losses: target dtypes -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn",
    [
        lambda m: F(m).binary_cross_entropy(m.tensor(0.7), m.tensor(0.0, dtype=m.float16)),
        lambda m: F(m).binary_cross_entropy(m.tensor(0.7, dtype=m.float64), m.tensor(0.0)),
        lambda m: F(m).binary_cross_entropy(m.tensor(1.7), m.tensor(False)),  # dtype first
        lambda m: F(m).binary_cross_entropy(m.tensor([0.7]), m.tensor(0.0, dtype=m.float16)),
        lambda m: F(m).nll_loss(m.zeros(2, 3), m.tensor([0, 1], dtype=m.int32)),
        lambda m: F(m).nll_loss(m.zeros(2, 3), m.tensor([0, 1], dtype=m.uint8)),
        lambda m: F(m).nll_loss(m.zeros(2, 0, dtype=m.float16), m.tensor([0, -1], dtype=m.int16)),
        lambda m: F(m).nll_loss(m.zeros(2, 3), m.tensor([0.0, 1.0])),
        lambda m: F(m).cross_entropy(m.zeros(2, 3), m.tensor([0, 1], dtype=m.bool)),
        lambda m: F(m).cross_entropy(m.zeros(2, 3), m.tensor([0, 1], dtype=m.uint8)),
        lambda m: F(m).cross_entropy(m.zeros(4), m.zeros(4, dtype=m.float16), label_smoothing=1.5),
    ],
    ids=lambda f: f.__code__.co_firstlineno,
)
def test_loss_target_dtypes(fn):
    _same(fn, None)


def test_loss_target_dtype_words():
    _same(lambda m: F(m).nll_loss(m.zeros(2, 3), m.tensor([0, 1], dtype=m.int16)),
          "expected target dtype to be Long or Byte, but got Short")
    _same(lambda m: F(m).binary_cross_entropy(m.tensor(0.7), m.tensor(0.0, dtype=m.float16)),
          "Found dtype Half but expected Float")


# ---- gradients at NaN/inf where torch's kernel picks a branch ------------------------------------
@pytest.mark.parametrize("loss", ["smooth_l1_loss", "huber_loss"])
def test_piecewise_loss_gradient_at_inf_and_nan(loss):
    x = [-1.5, -np.inf, np.nan, 0.25, 3.0]
    y = [-np.inf, -np.inf, 1.0, 0.0, 1.0]
    gs = []
    for m in (cr, torch):
        a = m.tensor(x, requires_grad=True)
        b = m.tensor(y, requires_grad=True)
        getattr(F(m), loss)(a, b, reduction="sum").backward()
        gs.append((a.grad.detach().numpy() if m is torch else a.grad._array,
                   b.grad.detach().numpy() if m is torch else b.grad._array))
    # finite (±1) at an infinite difference, NaN at a NaN one, as torch
    np.testing.assert_allclose(gs[0][0], gs[1][0], equal_nan=True)
    np.testing.assert_allclose(gs[0][1], gs[1][1], equal_nan=True)
    assert gs[0][1][0] == -1.0 and np.isnan(gs[0][0][1]) and np.isnan(gs[0][0][2])


def test_logit_eps_gradient_nan_at_nan():
    x = [np.nan, 0.1, 0.5, -3.0, 2.0, 0.0]
    c = _grad(cr, x, lambda m, t: m.logit(t, eps=0.25))[1]._array
    t = _grad(torch, x, lambda m, t: m.logit(t, eps=0.25))[1].numpy()
    np.testing.assert_allclose(c, t, equal_nan=True)
    assert np.isnan(c[0]) and c[1] == 0.0 and c[2] == pytest.approx(4.0)
