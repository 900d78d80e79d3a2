"""vmap and batched passes: every op_db case under vmap, batched backward (is_grads_batched) and
batched forward mode against the per-example loop; per-example gradients vs torch.func."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.func as TF
from _check import float_outputs, make_inputs
from op_db import OPS

import chainrule as cr
from chainrule import func as F
from chainrule import _batching
from chainrule._batching import core as _bcore
from chainrule.ops import TABLE

NB = 3
CASES = [(info, k) for info in OPS for k in range(len(info.samples(info.rng())))]
GRAD_CASES = [(i, k) for i, k in CASES if i.grad]


def _ids(case):
    return f"{case[0].name}-{case[1]}"


def _sample(info, k):
    return info.samples(info.rng())[k]


def _batch_args(s, rng):
    """Float array args get a batch of NB perturbed copies (dim 0); others stay unbatched."""
    out, dims = [], []
    for i, a in enumerate(s.args):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            out.append(a[None] * (1 + 0.05 * rng.standard_normal((NB,) + a.shape)))
            dims.append(0)
        else:
            out.append(a)
            dims.append(None)
    return out, dims


def _to_tensor(a):
    return cr.tensor(a) if isinstance(a, np.ndarray) else a


@pytest.fixture(autouse=True)
def _fresh_loop_warnings(monkeypatch):
    """Every test sees the loop warnings again (they are issued once per process)."""
    fresh: set = set()
    monkeypatch.setattr(_bcore, "_warned", fresh)
    monkeypatch.setattr(_batching, "_warned", fresh)


def _loops_are_errors():
    """Ignore warnings, except a per-example loop of an op not listed in STILL_LOOPING: error."""
    w = warnings.catch_warnings()
    w.__enter__()
    warnings.simplefilter("ignore")
    warnings.filterwarnings("error", message=r".*not listed in STILL_LOOPING")
    return w


def _close(a, b, what):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, equal_nan=True, err_msg=what)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_vmap_matches_loop_over_op_db(case):
    """vmap(op) over a batch of perturbed inputs equals the op applied example by example."""
    info, k = case
    s = _sample(info, k)
    rng = np.random.default_rng(k)
    args, dims = _batch_args(s, rng)
    if all(d is None for d in dims):
        pytest.skip("no float input to batch")
    pos = [i for i, d in enumerate(dims) if d is not None]

    def f(*xs):
        full = [_to_tensor(a) for a in args]
        for i, x in zip(pos, xs):
            full[i] = x
        return tuple(float_outputs(info.fn(cr, *full, **s.kwargs)))

    w = _loops_are_errors()
    try:
        got = F.vmap(f)(*[cr.tensor(args[i]) for i in pos])
    finally:
        w.__exit__(None, None, None)
    for b in range(NB):
        want = f(*[cr.tensor(args[i][b]) for i in pos])
        for j, (g, w) in enumerate(zip(got, want)):
            _close(g._array[b], w._array, f"{info.name}: output {j}, example {b}, {s!r}")


@pytest.mark.parametrize("case", GRAD_CASES, ids=_ids)
def test_batched_backward_matches_loop(case):
    """grad(..., is_grads_batched=True): one pass with NB cotangents equals NB single passes."""
    info, k = case
    s = _sample(info, k)
    rng = np.random.default_rng(10 + k)
    ins, diff = make_inputs(s)
    outs = [o for o in float_outputs(info.fn(cr, *ins, **s.kwargs)) if o.requires_grad]
    if not outs or not diff:
        pytest.skip("no differentiable output")
    us = [rng.standard_normal((NB,) + tuple(o.shape)) for o in outs]
    w = _loops_are_errors()
    try:
        got = cr.autograd.grad(outs, [ins[i] for i in diff], [cr.tensor(u) for u in us],
                               retain_graph=True, allow_unused=True, is_grads_batched=True)
    finally:
        w.__exit__(None, None, None)
    for b in range(NB):
        want = cr.autograd.grad(outs, [ins[i] for i in diff], [cr.tensor(u[b]) for u in us],
                                retain_graph=True, allow_unused=True)
        for i, g, w in zip(diff, got, want):
            if w is None:
                assert g is None or not np.any(g._array[b]), f"{info.name}: input {i}"
                continue
            _close(g._array[b], w._array, f"{info.name}: batched vJ for input {i}, row {b}, {s!r}")


@pytest.mark.parametrize("case", [c for c in GRAD_CASES if c[0].fwd_ad], ids=_ids)
def test_batched_forward_matches_loop(case):
    """vmap over tangents of jvp (batched forward mode) equals one jvp per tangent."""
    info, k = case
    s = _sample(info, k)
    rng = np.random.default_rng(20 + k)
    ins, diff = make_inputs(s, requires_grad=False)
    if not diff:
        _, diff = make_inputs(s)
    if not diff:
        pytest.skip("no differentiable input")
    primals = tuple(ins[i] for i in diff)
    ts = [rng.standard_normal((NB,) + tuple(p.shape)) for p in primals]

    def f(*xs):
        full = list(ins)
        for i, x in zip(diff, xs):
            full[i] = x
        return tuple(float_outputs(info.fn(cr, *full, **s.kwargs)))

    w = _loops_are_errors()
    try:
        got = F.vmap(lambda *t: F.jvp(f, primals, t)[1])(*[cr.tensor(t) for t in ts])
    finally:
        w.__exit__(None, None, None)
    for b in range(NB):
        want = F.jvp(f, primals, tuple(cr.tensor(t[b]) for t in ts))[1]
        for j, (g, w) in enumerate(zip(got, want)):
            _close(g._array[b], w._array, f"{info.name}: batched Jv for output {j}, row {b}, {s!r}")


# ---- vmap semantics vs torch.func.vmap ---------------------------------------------------------
def _both(fn_cr, fn_t, *arrays, **kw):
    got = F.vmap(fn_cr, **kw)(*[cr.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays])
    want = TF.vmap(fn_t, **kw)(*[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays])
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    for g, w in zip(got, want):
        assert tuple(g.shape) == tuple(w.shape)
        np.testing.assert_allclose(g._array, w.numpy(), rtol=1e-12, atol=1e-12)


def test_vmap_in_dims_out_dims_and_unbatched_inputs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 4))
    w = rng.standard_normal((4, 2))
    _both(lambda x, w: (x @ w).tanh(), lambda x, w: (x @ w).tanh(), x, w, in_dims=(1, None))
    _both(lambda x: x.sum(0), lambda x: x.sum(0), x, in_dims=2, out_dims=1)
    _both(lambda x: (x.softmax(-1), x.mean()), lambda x: (x.softmax(-1), x.mean()), x,
          out_dims=(1, 0))


def test_vmap_vector_matrix_products_all_cases():
    rng = np.random.default_rng(1)
    v, M = rng.standard_normal((4, 3)), rng.standard_normal((4, 3, 3))
    mm = lambda a, b: a @ b
    for dims in [(0, 0), (0, None), (None, 0)]:
        a = v[0] if dims[0] is None else v
        b = v[0] if dims[1] is None else v
        _both(mm, mm, a, b, in_dims=dims)  # vector · vector
        _both(mm, mm, a, M[0] if dims[1] is None else M, in_dims=dims)  # vector · matrix
        _both(mm, mm, M[0] if dims[0] is None else M, b, in_dims=dims)  # matrix · vector
        _both(mm, mm, M[0] if dims[0] is None else M, M[0] if dims[1] is None else M,
              in_dims=dims)


def test_nested_vmap_outer_product_and_reductions():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    f = lambda m: (lambda x, y: (x * y).sum() + m.exp(x).amax())
    got = F.vmap(F.vmap(f(cr), in_dims=(None, 0)), in_dims=(0, None))(cr.tensor(a), cr.tensor(b))
    want = TF.vmap(TF.vmap(f(torch), in_dims=(None, 0)), in_dims=(0, None))(
        torch.tensor(a), torch.tensor(b))
    assert tuple(got.shape) == (3, 5)
    np.testing.assert_allclose(got._array, want.numpy(), rtol=1e-12)


def test_vmap_grad_per_example_gradients_of_mlp_match_torch():
    rng = np.random.default_rng(3)
    W1, b1 = rng.standard_normal((6, 8)) * 0.3, rng.standard_normal(8) * 0.1
    W2 = rng.standard_normal((8, 3)) * 0.3
    X, Y = rng.standard_normal((10, 6)), rng.integers(0, 3, 10)

    def loss(m):
        def f(params, x, y):
            w1, bb, w2 = params
            h = m.tanh(x @ w1 + bb)
            logp = (h @ w2).log_softmax(-1)
            return -(logp * (m.arange(3) == y)).sum()
        return f

    p_cr = tuple(cr.tensor(a) for a in (W1, b1, W2))
    p_t = tuple(torch.tensor(a) for a in (W1, b1, W2))
    got = F.vmap(F.grad(loss(cr)), in_dims=(None, 0, 0))(p_cr, cr.tensor(X), cr.tensor(Y))
    want = TF.vmap(TF.grad(loss(torch)), in_dims=(None, 0, 0))(p_t, torch.tensor(X), torch.tensor(Y))
    for g, w in zip(got, want):
        assert tuple(g.shape) == tuple(w.shape)
        np.testing.assert_allclose(g._array, w.numpy(), rtol=1e-10, atol=1e-12)
    # and each per-example gradient is the plain gradient of that example's loss
    g0 = F.grad(loss(cr))(p_cr, cr.tensor(X[4]), cr.tensor(Y[4]))
    for g, w in zip(got, g0):
        np.testing.assert_allclose(g._array[4], w._array, rtol=1e-12, atol=1e-14)


def test_vmap_of_jacrev_jacfwd_hessian_match_torch():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((3, 3))
    xs = rng.standard_normal((5, 3))
    f = lambda m: (lambda x: m.tanh(m.tensor(A) @ x) * x.sum())
    for ours, theirs in [(F.jacrev, TF.jacrev), (F.jacfwd, TF.jacfwd)]:
        got = F.vmap(ours(f(cr)))(cr.tensor(xs))
        want = TF.vmap(theirs(f(torch)))(torch.tensor(xs))
        np.testing.assert_allclose(got._array, want.numpy(), rtol=1e-10, atol=1e-12)
    h = lambda m: (lambda x: (m.tanh(m.tensor(A) @ x) ** 2).sum())
    got = F.vmap(F.hessian(h(cr)))(cr.tensor(xs))
    want = TF.vmap(TF.hessian(h(torch)))(torch.tensor(xs))
    np.testing.assert_allclose(got._array, want.numpy(), rtol=1e-10, atol=1e-12)


def test_grad_of_vmap_and_jvp_of_vmap():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3))
    got = F.grad(lambda x: F.vmap(lambda r: (r.sin() * r).sum())(x).pow(2).sum())(cr.tensor(x))
    want = TF.grad(lambda x: TF.vmap(lambda r: (r.sin() * r).sum())(x).pow(2).sum())(torch.tensor(x))
    np.testing.assert_allclose(got._array, want.numpy(), rtol=1e-12)
    t = rng.standard_normal((4, 3))
    got = F.jvp(F.vmap(lambda r: r.exp() * r), (cr.tensor(x),), (cr.tensor(t),))[1]
    want = TF.jvp(TF.vmap(lambda r: r.exp() * r), (torch.tensor(x),), (torch.tensor(t),))[1]
    np.testing.assert_allclose(got._array, want.numpy(), rtol=1e-12)


def test_function_reading_batched_values_runs_per_example_with_a_warning(monkeypatch):
    """A function that reads raw values (here through .data) cannot batch: vmap loops, exactly."""
    monkeypatch.setattr(_batching, "_warned", set())

    def f(r):
        return r * float(r._array.sum()) if not isinstance(r, _batching.Batched) else \
            r * float(np.asarray(r._array).sum())

    x = np.arange(6.0).reshape(3, 2)
    with pytest.warns(UserWarning, match="runs once per example"):
        got = F.vmap(f)(cr.tensor(x))
    np.testing.assert_allclose(got._array, x * x.sum(1, keepdims=True))


def test_vmap_chunk_size_and_errors():
    x = cr.tensor(np.arange(12.0).reshape(6, 2))
    np.testing.assert_allclose(F.vmap(lambda r: r * 2, chunk_size=4)(x)._array, x._array * 2)
    with pytest.raises(ValueError, match="same size in the mapped dimension"):
        F.vmap(lambda a, b: a + b)(cr.ones(3), cr.ones(4))
    with pytest.raises(ValueError, match="in_dim"):
        F.vmap(lambda a: a, in_dims=2)(cr.ones(3, 2))
    with pytest.raises(RuntimeError, match=r"\.item\(\)"):
        F.vmap(lambda a: a.sum().item())(cr.ones(3, 2))


def test_op_without_batching_rule_loops_and_warns_once(monkeypatch):
    """An op with no rule runs per example (exact) and warns once, naming the op."""
    op = TABLE["softmax"]
    monkeypatch.delitem(_batching.RULES, "softmax")
    monkeypatch.setitem(_batching.STILL_LOOPING, "softmax", "switched off by this test")
    x = np.random.default_rng(6).standard_normal((4, 3))
    with pytest.warns(UserWarning, match="no batching rule for op 'softmax'"):
        got = F.vmap(lambda r: r.softmax(0))(cr.tensor(x))
    want = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    np.testing.assert_allclose(got._array, want, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # second time: no warning
        F.vmap(lambda r: r.softmax(0))(cr.tensor(x))
    assert op.name == "softmax"


def test_common_layers_batch_without_falling_back():
    """conv, matmul, reductions, shape ops, linalg: real batching rules (no loop warning)."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 2, 3, 6, 6))  # vmap over 4 mini-batches of N=2 images
    w, b = rng.standard_normal((5, 3, 3, 3)), rng.standard_normal(5)
    lin = rng.standard_normal((5, 2))
    M = rng.standard_normal((4, 3, 3))

    def f(m, nnF):
        def g(x, w, b, lin):
            y = nnF.conv2d(x, w, b, padding=1).relu()
            z = y.flip(-1).roll(1, -2).amax((-2, -1)) @ lin
            return z.log_softmax(-1).split(1, -1)[0].sum() + m.diagonal(y[0, 0], 0, 0, 1).sum()
        return g

    import torch.nn.functional as tnnF

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = F.vmap(f(cr, cr.nn.functional), in_dims=(0, None, None, None))(
            cr.tensor(x), cr.tensor(w), cr.tensor(b), cr.tensor(lin))
        gm = F.vmap(lambda a: cr.linalg.inv(a) @ a.tril())(cr.tensor(M))
    want = TF.vmap(f(torch, tnnF), in_dims=(0, None, None, None))(
        torch.tensor(x), torch.tensor(w), torch.tensor(b), torch.tensor(lin))
    np.testing.assert_allclose(got._array, want.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gm._array, np.linalg.inv(M) @ np.tril(M), rtol=1e-10, atol=1e-12)


#: rule-table ops batched by a registered rule (no per-example loop), and op_db entries using them
BATCHED_INDEX_OPS = set(_batching.RULES) - set(_batching.STILL_LOOPING)
BATCHED_INDEX_CASES = [c for c in CASES if c[0].name in {
    "gather", "scatter", "scatter_", "scatter_add", "scatter_reduce", "scatter_value",
    "index_select", "index_add", "index_add_", "index_copy", "index_fill", "take",
    "take_along_dim", "embedding", "einsum", "solve", "solve_triangular", "cholesky_solve",
    "max_pool1d", "max_pool2d", "max_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "fold", "unfold", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "diag", "diagonal", "diag_embed", "cross", "cross_dim", "prod", "nansum", "nanmean",
    "argmax_argmin", "all_any_count", "logsumexp", "batch_norm", "group_norm",
    "instance_norm", "layer_norm", "roll", "cumsum", "cumprod", "masked_fill", "matrix_norm_sv",
    "scaled_dot_product_attention", "tensor_unfold", "view_dtype", "getitem_int_then_tensor",
    "getitem_fresh_strides",
}]
@pytest.mark.parametrize("case", BATCHED_INDEX_CASES, ids=_ids)
def test_indexing_pooling_einsum_linalg_batch_without_loop(case, monkeypatch):
    """vmap, batched backward and batched forward over these ops use their batching rules (a
    regression to the per-example loop fails here); values are checked by the tests above."""
    looped = []
    orig = _bcore._loop

    def spy(op, tensors, kw, level):
        looped.append(op.name)
        return orig(op, tensors, kw, level)

    monkeypatch.setattr(_bcore, "_loop", spy)
    tests = [test_vmap_matches_loop_over_op_db]
    if case in GRAD_CASES:
        tests.append(test_batched_backward_matches_loop)
        if case[0].fwd_ad:
            tests.append(test_batched_forward_matches_loop)
    ran = 0
    for t in tests:
        try:
            t(case)
            ran += 1
        except pytest.skip.Exception:
            pass
    if not ran:
        pytest.skip("nothing batched in this case")
    bad = {n for n in looped if n in BATCHED_INDEX_OPS}
    assert not bad, f"{_ids(case)}: ops {sorted(bad)} ran as a per-example loop"


def test_every_op_has_a_batching_rule_or_kind_or_a_reason_to_loop():
    unlisted = [n for n, op in TABLE.items() if n not in _batching.RULES
                and n not in _batching.STILL_LOOPING and _batching._by_kind(op) is None]
    assert not unlisted, f"ops without a batching rule, kind or STILL_LOOPING reason: {unlisted}"
    for n, why in _batching.STILL_LOOPING.items():
        assert n in TABLE and len(why) > 15, (n, why)


def test_a_batching_rule_registered_twice_is_an_error():
    with pytest.raises(ValueError, match="batching rule for op 'matmul' registered twice"):
        _batching.register(lambda op, ts, kw, lvl: None, "matmul")
    assert _batching.RULES["matmul"].__name__ == "_matmul"


# ---- cross entropy with class indices: per-example gradients without a loop ---------------------
@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"label_smoothing": 0.1},
                                {"weight": True, "ignore_index": 2}, {"reduction": "none"}])
@pytest.mark.parametrize("labels_batched", [True, False])
def test_vmap_grad_cross_entropy_no_loop(kw, labels_batched):
    rng = np.random.default_rng(3)
    w1, b1 = rng.standard_normal((6, 4)), rng.standard_normal(6)
    w2, x = rng.standard_normal((5, 6)), rng.standard_normal((7, 3, 4))
    y = rng.integers(0, 5, (7, 3))
    if not labels_batched:
        y = np.broadcast_to(y[0], (7, 3)).copy()
    wt = rng.uniform(0.5, 2.0, 5)

    def run(m, func):
        kws = dict(kw)
        if kws.pop("weight", False):
            kws["weight"] = m.tensor(wt)
        ps = [m.tensor(a) for a in (w1, b1, w2)]

        def loss(ps, x, y):
            h = m.tanh(x @ ps[0].T + ps[1])
            out = m.nn.functional.cross_entropy(h @ ps[2].T, y, **kws)
            return out.sum() if kws.get("reduction") == "none" else out

        yd = 0 if labels_batched else None
        yy = m.tensor(y if labels_batched else y[0])
        vg = func.vmap(func.grad(loss), in_dims=(None, 0, yd))(ps, m.tensor(x), yy)
        return [g.detach().numpy() for g in vg], loss, ps, yy

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no per-example fallback anywhere
        got, loss, ps, _ = run(cr, F)
    want, *_ = run(torch, TF)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # and vs the per-example loop of chainrule itself
    for i in range(7):
        gi = F.grad(loss)(ps, cr.tensor(x[i]), cr.tensor(y[i]))
        for a, b in zip(got, gi):
            np.testing.assert_allclose(a[i], b.numpy(), rtol=1e-10, atol=1e-12)


def test_vmap_cross_entropy_idx_rule_1d_and_jacrev():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = F.vmap(cr.nn.functional.cross_entropy)(cr.tensor(x), cr.tensor(y))
        j = F.jacrev(lambda z: cr.nn.functional.cross_entropy(z, cr.tensor(y), reduction="none"))(
            cr.tensor(x))
    want = TF.vmap(torch.nn.functional.cross_entropy)(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    tf = torch.nn.functional.cross_entropy
    tj = TF.jacrev(lambda z: tf(z, torch.tensor(y), reduction="none"))(torch.tensor(x))
    np.testing.assert_allclose(j.numpy(), tj.numpy(), rtol=1e-10, atol=1e-12)


# ---- median / nanmedian of all elements ---------------------------------------------------------
def _median_cases():
    rng = np.random.default_rng(5)
    ties = rng.integers(0, 3, (6, 2, 4)).astype(np.float64)  # many ties: the gradient is shared
    nan = rng.standard_normal((6, 7))
    nan[1, 2] = np.nan
    nan[3, :] = np.nan
    nan[4, ::2] = np.nan
    return {"ties": ties, "even": rng.standard_normal((5, 8)),
            "odd": rng.standard_normal((5, 3, 3)),
            "nan": nan, "f32": rng.standard_normal((4, 6)).astype(np.float32),
            "scalar": rng.standard_normal(5)}


@pytest.mark.parametrize("name", ["median", "nanmedian"])
@pytest.mark.parametrize("case", list(_median_cases()))
def test_vmap_median_all_rule_matches_loop(name, case):
    x = _median_cases()[case]

    def f(z):
        return getattr(cr, name)(z)

    def g(z):
        return getattr(cr, name)(z * z) * 3

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rule, not the loop
        got = F.vmap(f)(cr.tensor(x))
        gg = F.vmap(F.grad(g))(cr.tensor(x))
        jf = F.vmap(F.jacfwd(g))(cr.tensor(x))
    for i in range(x.shape[0]):
        np.testing.assert_array_equal(got.numpy()[i], f(cr.tensor(x[i])).numpy())
        tw = getattr(torch, name)(torch.tensor(x[i])).numpy()
        np.testing.assert_array_equal(got.numpy()[i], tw)
        gi = F.grad(g)(cr.tensor(x[i])).numpy()
        np.testing.assert_allclose(gg.numpy()[i], gi, rtol=1e-6, equal_nan=True)
        # forward mode: a NaN tangent at a NaN input (not the median) is NaN·0 = NaN unbatched but
        # dropped by the rule (the median of the rest and its derivative are exact)
        ok = ~np.isnan(x[i])
        np.testing.assert_allclose(jf.numpy()[i][ok], gi[ok], rtol=1e-6, equal_nan=True)
    assert gg.dtype == cr.tensor(x).dtype


def test_vmap_median_all_int_and_nested():
    rng = np.random.default_rng(6)
    xi = rng.integers(-5, 5, (4, 3, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = F.vmap(F.vmap(cr.median))(cr.tensor(xi))
    want = np.array([[torch.median(torch.tensor(r)).item() for r in blk] for blk in xi])
    np.testing.assert_array_equal(got.numpy(), want)
    assert got.dtype == cr.int64


# ---- randomness= ------------------------------------------------------------------------------
_RANDOM_FNS = {
    "dropout": lambda m, z: m.nn.functional.dropout(z, 0.5),
    "rand_like": lambda m, z: z + m.rand_like(z),
    "randn_like": lambda m, z: z + m.randn_like(z),
    "randint_like": lambda m, z: z + m.randint_like(z, 0, 1000),
    "randn": lambda m, z: z + m.randn(6, dtype=z.dtype),
    "alpha_dropout": lambda m, z: m.nn.functional.alpha_dropout(z, 0.5, training=True),
    "gumbel_softmax": lambda m, z: m.nn.functional.gumbel_softmax(z),
}


@pytest.mark.parametrize("name", list(_RANDOM_FNS))
def test_vmap_randomness_modes(name):
    f = _RANDOM_FNS[name]
    x = np.random.default_rng(7).uniform(1, 2, (5, 6))
    msg = "vmap: called random operation while in randomness error mode"
    for m, vmap in ((cr, F.vmap), (torch, TF.vmap)):
        with pytest.raises(RuntimeError, match=msg):  # the default, as torch
            vmap(lambda z: f(m, z))(m.tensor(x))
        with pytest.raises(RuntimeError, match=msg):
            vmap(lambda z: f(m, z), randomness="error")(m.tensor(x))
    cr.manual_seed(0)
    same = F.vmap(lambda z: f(cr, z) - z, randomness="same")(cr.tensor(x * 0 + 1)).numpy()
    assert same.shape == (5, 6)
    np.testing.assert_array_equal(same, np.broadcast_to(same[0], same.shape))  # one shared draw
    assert len(np.unique(same)) > 1  # a draw, not a constant
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cr.manual_seed(0)
        diff = F.vmap(lambda z: f(cr, z) - z, randomness="different")(cr.tensor(x * 0 + 1)).numpy()
    assert diff.shape == (5, 6)
    for i in range(1, 5):  # independent draws: no two examples alike
        assert not np.array_equal(diff[0], diff[i])
    # the generator is restored after vmap: plain draws work and are seeded as usual
    cr.manual_seed(3)
    a = cr.rand(4).numpy()
    cr.manual_seed(3)
    np.testing.assert_array_equal(a, cr.rand(4).numpy())


def test_vmap_randomness_different_distribution_and_loop_fallback_same():
    # 'different' dropout keeps about 1 - p of each example's elements, each example on its own
    cr.manual_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = F.vmap(lambda z: cr.nn.functional.dropout(z, 0.25), randomness="different")(
            cr.ones(8, 400)).numpy()
    kept = (y != 0).mean(1)
    assert np.all(np.abs(kept - 0.75) < 0.1)
    np.testing.assert_allclose(y[y != 0], 1 / 0.75)

    # 'same' also holds when the function must run per example (it reads a value)
    def f(z):
        return z * float(z._array.sum() > -1e9) + cr.randn(3)  # reads .data: per example

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = F.vmap(f, randomness="same")(cr.zeros(4, 3)).numpy()
    np.testing.assert_array_equal(s, np.broadcast_to(s[0], s.shape))
    s = F.vmap(lambda z: z + cr.randn(3), randomness="same", chunk_size=2)(cr.zeros(5, 3)).numpy()
    np.testing.assert_array_equal(s, np.broadcast_to(s[0], s.shape))  # across chunks too
    with pytest.raises(RuntimeError, match="Only allowed values"):
        F.vmap(f, randomness="sometimes")
