"""Tensor API, creation functions, dtypes and type promotion, checked against torch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _dt(t) -> str:
    return str(t.dtype).split(".")[-1]


@pytest.mark.parametrize("data", [[1.0, 2.0], [1, 2], [True, False], 3.5, 7, [[1, 2.5]],
                                  np.array([1.0, 2.0]), np.array([1, 2], dtype=np.int32),
                                  np.float32(2.0)])
def test_tensor_dtype_inference(data):
    assert _dt(cr.tensor(data)) == _dt(torch.tensor(data))


def test_default_dtype_switch():
    cr.set_default_dtype(cr.float64)
    assert cr.tensor([1.0]).dtype == cr.float64 and cr.ones(2).dtype == cr.float64
    assert cr.get_default_dtype() == cr.float64
    cr.set_default_dtype(cr.float32)
    assert cr.tensor([1.0]).dtype == cr.float32
    with pytest.raises(TypeError):
        cr.set_default_dtype(cr.int64)


_SAMPLES = {
    "f32": lambda m: m.tensor([1.5, 2.0]),
    "f64": lambda m: m.tensor([1.5, 2.0], dtype=m.float64),
    "i64": lambda m: m.tensor([1, 2]),
    "i32": lambda m: m.tensor([1, 2], dtype=m.int32),
    "b": lambda m: m.tensor([True, False]),
    "f64_0d": lambda m: m.tensor(2.0, dtype=m.float64),
    "i64_0d": lambda m: m.tensor(3),
    "pyfloat": lambda m: 2.5,
    "pyint": lambda m: 3,
    "pybool": lambda m: True,
}


@pytest.mark.parametrize("a,b", [p for p in itertools.product(_SAMPLES, repeat=2)
                                 if not (p[0].startswith("py") and p[1].startswith("py"))])
@pytest.mark.parametrize("op", ["add", "mul", "sub", "div", "maximum", "eq", "where"])
def test_type_promotion_matches_torch(a, b, op):
    def run(m):
        x, y = _SAMPLES[a](m), _SAMPLES[b](m)
        if op == "sub" and (a in ("b", "pybool") or b in ("b", "pybool")):
            return "skip"  # torch forbids subtracting bools
        if op == "maximum":
            if not (hasattr(x, "shape") and hasattr(y, "shape")):
                return "skip"
            return m.maximum(x, y)
        if op == "where":
            if not hasattr(x, "shape"):
                return "skip"
            return m.where(m.tensor([True, False]), x, y)
        if op == "div":
            return x / y
        return {"add": lambda: x + y, "mul": lambda: x * y, "sub": lambda: x - y,
                "eq": lambda: x == y}[op]()

    try:
        t = run(torch)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            run(cr)
        return
    if isinstance(t, str):
        return
    c = run(cr)
    assert _dt(c) == _dt(t), f"{a} {op} {b}: chainrule {c.dtype} vs torch {t.dtype}"
    np.testing.assert_allclose(c._array, t.numpy(), rtol=1e-6)


@pytest.mark.parametrize("fn", ["exp", "sqrt", "sin", "sigmoid"])
def test_integer_input_to_float_op_gives_default_float(fn):
    assert _dt(getattr(cr, fn)(cr.tensor([1, 2]))) == _dt(getattr(torch, fn)(torch.tensor([1, 2])))


def test_sum_of_ints_and_bools_is_int64():
    assert cr.tensor([1, 2], dtype=cr.int32).sum().dtype == cr.int64
    assert cr.tensor([True, True]).sum().item() == 2
    with pytest.raises(RuntimeError, match="mean"):
        cr.tensor([1, 2]).mean()


def test_creation_functions_shapes_dtypes():
    cr.manual_seed(0)
    checks = [
        (cr.zeros(2, 3), torch.zeros(2, 3)), (cr.ones((2, 3)), torch.ones((2, 3))),
        (cr.full((2,), 7), torch.full((2,), 7)), (cr.full((2,), 7.0), torch.full((2,), 7.0)),
        (cr.empty(3), torch.empty(3)), (cr.arange(5), torch.arange(5)),
        (cr.arange(0, 1, 0.25), torch.arange(0, 1, 0.25)), (cr.linspace(0, 1, 5), torch.linspace(0, 1, 5)),
        (cr.eye(3), torch.eye(3)), (cr.eye(2, 3), torch.eye(2, 3)),
        (cr.rand(2, 2), torch.rand(2, 2)), (cr.randn(4), torch.randn(4)),
        (cr.randint(0, 5, (3,)), torch.randint(0, 5, (3,))),
        (cr.zeros_like(cr.ones(2, dtype=cr.int32)), torch.zeros_like(torch.ones(2, dtype=torch.int32))),
        (cr.ones_like(cr.ones(2), dtype=cr.float64), torch.ones_like(torch.ones(2), dtype=torch.float64)),
        (cr.full_like(cr.ones(2), 3), torch.full_like(torch.ones(2), 3)),
        (cr.randn_like(cr.ones(2, 2)), torch.randn_like(torch.ones(2, 2))),
    ]
    for c, t in checks:
        assert tuple(c.shape) == tuple(t.shape) and _dt(c) == _dt(t)
    for c, t in checks[:4] + checks[5:10]:  # (torch.empty's contents are arbitrary)
        np.testing.assert_allclose(c._array, t.numpy(), rtol=1e-6)


def test_manual_seed_reproducible():
    cr.manual_seed(3)
    a = cr.randn(5)
    cr.manual_seed(3)
    assert np.array_equal(a._array, cr.randn(5)._array)
    r = cr.rand(1000)
    assert 0.0 <= r.min().item() and r.max().item() < 1.0


def test_tensor_api_surface():
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert x.shape == (2, 3) and x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert repr(x.shape) == "chainrule.Size([2, 3])"
    assert x.ndim == 2 and x.dim() == 2 and x.numel() == 6 and len(x) == 2
    assert x.is_leaf and x.grad_fn is None and x.requires_grad
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert x[1, 2].item() == 6.0
    assert [r.shape for r in x] == [(3,), (3,)]
    assert x.T.shape == (3, 2) and np.array_equal(np.asarray(x.detach()), x._array)
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    assert bool(cr.tensor([1.0])) is True
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        x.item()
    with pytest.raises(TypeError):
        len(cr.tensor(1.0))
    c = x.clone()
    assert c.grad_fn is not None and c.grad_fn.name() == "CloneBackward0"
    d = x.detach()
    d._array[0, 0] = 10.0
    assert x._array[0, 0] == 10.0  # detach shares storage
    x.detach_() if False else None
    z = cr.zeros(3)
    z.zero_()
    assert z._version == 1
    y = cr.ones(2)
    y.requires_grad_()
    assert y.requires_grad


def test_zero_on_leaf_requiring_grad_raises_like_torch():
    x = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.zero_()
    with cr.no_grad():
        x.zero_()
    assert x._array.sum() == 0


def test_reflected_operators_with_scalars():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    ys = [2 + x, 2 - x, 2 * x, 2 / x, 2 ** x, x + 2, x - 2, x * 2, x / 2, x ** 2, -x]
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    ts = [2 + t, 2 - t, 2 * t, 2 / t, 2 ** t, t + 2, t - 2, t * 2, t / 2, t ** 2, -t]
    for y, z in zip(ys, ts):
        np.testing.assert_allclose(y._array, z.detach().numpy(), rtol=1e-6)
        y.sum().backward()
        z.sum().backward()
    np.testing.assert_allclose(x.grad._array, t.grad.numpy(), rtol=1e-5)


def test_clear_errors_name_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(4\)"):
        cr.ones(3) + cr.ones(4)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        cr.ones(2, 3) @ cr.ones(4, 5)
    with pytest.raises(RuntimeError, match=r"shape '\[5\]' is invalid for input of size 6"):
        cr.ones(2, 3).reshape(5)
    with pytest.raises(IndexError, match="Dimension out of range"):
        cr.ones(2, 3).sum(dim=2)
    with pytest.raises(TypeError, match="expected Tensor or number"):
        cr.ones(2) + "a"
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        cr.ones(2, 3).t().view(6) if hasattr(cr.Tensor, "t") else cr.ones(2, 3).transpose(0, 1).view(6)


def test_max_min_return_types():
    x = cr.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    r = cr.max(x, dim=1)
    assert r.values.tolist() == [5.0, 7.0] and r.indices.tolist() == [1, 0]
    v, i = x.min(0)
    assert v.tolist() == [1.0, 0.0, 2.0] and i.dtype == cr.int64
    assert cr.max(x).item() == 7.0
    assert cr.max(x, cr.ones(2, 3)).shape == (2, 3)


def test_getitem_forms_match_torch():
    a = np.arange(60.0).reshape(3, 4, 5)
    x, t = cr.tensor(a), torch.tensor(a)
    idx = [1, (1, 2), slice(1, None), (Ellipsis, 2), (None, 0), (slice(None), [0, 2, 2]),
           ([0, 2], [1, 3]), (1, Ellipsis, None)]
    for i in idx:
        np.testing.assert_array_equal(x[i]._array, t[i].numpy())
    m = a > 30
    np.testing.assert_array_equal(x[cr.tensor(m)]._array, t[torch.tensor(m)].numpy())
    np.testing.assert_array_equal(x[cr.tensor([2, 0])]._array, t[torch.tensor([2, 0])].numpy())
    with pytest.raises(IndexError):
        x[5]
    with pytest.raises(IndexError, match="long, int, byte or bool"):
        x[cr.tensor([0.0])]


METHOD_CALLS = [
    "sum(1)", "sum((0, 1))", "mean(0, True)", "max(1)[0]", "max(1)[1]", "min()", "amax(1)", "argmax(1)",
    "transpose(0, 1)", "t()", "view(-1)", "view(4, 3)", "reshape(2, -1)", "permute(1, 0)", "flatten()",
    "clamp(0)", "clamp(-0.5, 0.5)", "clamp(max=0.1)", "norm()", "norm(1, 1)", "softmax(-1)",
    "log_softmax(0)", "std(0)", "var(1, keepdim=True)", "var(unbiased=False)", "unsqueeze(0)",
    "squeeze()", "expand(2, 3, 4)", "exp()", "abs()", "sign()", "relu()", "sigmoid()", "tanh()",
    "pow(2)", "sqrt()", "where(x > 0, y)", "matmul(y.T)", "mm(y.T)", "eq(y)", "gt(0)", "cumsum(1)",
    "prod(0)", "logsumexp(1)", "split(2, 1)[1]", "chunk(3, 0)[0]", "unbind(1)[2]", "flip(0)",
    "roll(1, 1)", "repeat(2, 1)", "tril()", "gather(1, idx)", "index_select(1, idx[0])",
    "masked_fill(x > 0, 0.0)", "diagonal()", "sort(1)[0]", "topk(2, 1)[0]", "float()", "double()",
    "type_as(y)", "new_zeros(2, 2)", "new_ones(3)", "new_full((2,), 3.0)", "new_tensor([1.0])",
    "add(y, alpha=2)", "sub(1)", "mul(y)", "div(2)", "neg()", "reciprocal()", "square()", "log1p()",
    "clone()", "detach()", "contiguous()", "to(x.dtype)", "numel()", "dim()", "size(0)", "item() if False else 1",
]


@pytest.mark.parametrize("call", METHOD_CALLS)
def test_tensor_methods_match_torch(call):
    a = np.arange(12.0).reshape(3, 4) / 7 - 0.6
    b = np.cos(np.arange(12.0)).reshape(3, 4)
    idx = np.array([[0, 2, 3], [1, 1, 0], [3, 0, 2]])

    def run(m):
        x, y = m.tensor(a, dtype=m.float64), m.tensor(b, dtype=m.float64)
        return eval("x." + call, {"x": x, "y": y, "idx": m.tensor(idx)})

    c, t = run(cr), run(torch)
    if isinstance(t, (int, float)):
        assert c == t
        return
    assert tuple(c.shape) == tuple(t.shape), call
    assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], call
    np.testing.assert_allclose(np.asarray(c._array, dtype=np.float64),
                               t.numpy().astype(np.float64), rtol=1e-12, atol=1e-12, err_msg=call)
