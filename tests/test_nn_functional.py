"""chainrule.nn.functional against torch.nn.functional: convolution and pooling on awkward shapes
(odd sizes, stride > kernel, dilation, groups, padding, ceil_mode), second order through conv,
and the stateful or edge behaviour of dropout, embedding, batch norm, losses and attention."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
F = cr.nn.functional
TF = torch.nn.functional


def _pair(a, requires_grad=True):
    return (cr.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"),
            torch.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"))


def _compare(c_fn, t_fn, arrays, rng, *, tol=1e-10, grad=True):
    """Run both with the same float64 inputs; compare the output and every input's gradient."""
    pairs = [_pair(a) if isinstance(a, np.ndarray) else (a, a) for a in arrays]
    y = c_fn(*[p[0] for p in pairs])
    ty = t_fn(*[p[1] for p in pairs])
    if isinstance(ty, tuple):
        for a, b in zip(y[1:], ty[1:]):
            np.testing.assert_array_equal(a._array, b.numpy())
        y, ty = y[0], ty[0]
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y._array, ty.detach().numpy(), rtol=tol, atol=tol)
    if not grad:
        return
    u = rng.standard_normal(tuple(ty.shape))
    y.backward(cr.tensor(u))
    ty.backward(torch.tensor(u))
    for (c, t) in pairs:
        if isinstance(c, cr.Tensor) and c.requires_grad:
            np.testing.assert_allclose(c.grad._array, t.grad.numpy(), rtol=tol, atol=tol)


# ---- convolution on many awkward shapes ------------------------------------------------------------
CONV2D = [
    # (N, C, H, W), (O, C/g, kh, kw), stride, padding, dilation, groups
    ((2, 3, 7, 5), (4, 3, 3, 3), 1, 0, 1, 1),
    ((1, 2, 9, 8), (3, 2, 2, 3), (3, 2), 1, 1, 1),
    ((2, 4, 8, 9), (6, 2, 3, 2), 2, (2, 1), (2, 1), 2),
    ((1, 6, 11, 7), (6, 1, 3, 3), 4, 1, 1, 6),  # depthwise, stride > kernel
    ((2, 3, 5, 5), (2, 3, 1, 1), 3, 0, 1, 1),  # 1x1, stride > kernel
    ((1, 2, 6, 10), (4, 1, 2, 2), (1, 3), 0, (2, 3), 2),
    ((3, 1, 4, 4), (2, 1, 4, 4), 1, 0, 1, 1),  # kernel = input
    ((1, 3, 8, 7), (5, 3, 3, 2), 1, "same", (2, 1), 1),
    ((2, 2, 6, 6), (3, 2, 2, 2), 1, "same", 1, 1),  # even kernel: torch pads right
    ((1, 2, 5, 6), (2, 2, 3, 3), 1, "valid", 1, 1),
]


@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", CONV2D)
def test_conv2d_matches_torch(xs, ws, stride, padding, dilation, groups):
    rng = np.random.default_rng(sum(xs) + sum(ws))
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    kw = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about 'same' with even kernels
        _compare(lambda *a: F.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw), [x, w, b], rng)


@pytest.mark.parametrize("L,k,stride,padding,dilation,groups", [
    (7, 3, 1, 0, 1, 1), (10, 2, 3, 1, 2, 2), (5, 5, 1, 2, 1, 1), (13, 3, 5, 0, 3, 4), (6, 4, 1, "same", 1, 2)])
def test_conv1d_matches_torch(L, k, stride, padding, dilation, groups):
    rng = np.random.default_rng(L * 7 + k)
    x, w = rng.standard_normal((2, 4, L)), rng.standard_normal((4, 4 // groups, k))
    kw = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _compare(lambda *a: F.conv1d(*a, **kw), lambda *a: TF.conv1d(*a, **kw), [x, w], rng)


def test_conv3d_and_unbatched_match_torch():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((1, 2, 5, 6, 6)), rng.standard_normal((3, 2, 2, 3, 2)), rng.standard_normal(3)
    kw = {"stride": (2, 1, 3), "padding": (1, 0, 1), "dilation": (1, 2, 1)}
    _compare(lambda *a: F.conv3d(*a, **kw), lambda *a: TF.conv3d(*a, **kw), [x, w, b], rng)
    x2 = rng.standard_normal((3, 6, 5))  # unbatched (C, H, W)
    _compare(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1),
             [x2, rng.standard_normal((2, 3, 3, 3))], rng)


@pytest.mark.parametrize("xs,ws,stride,padding,output_padding,groups,dilation", [
    ((2, 3, 4, 5), (3, 2, 3, 3), 2, 1, 1, 1, 1),
    ((1, 4, 3, 3), (4, 1, 2, 3), (3, 1), (0, 1), (2, 0), 2, 1),
    ((1, 2, 5, 4), (2, 3, 3, 2), 1, 0, 0, 1, (2, 3)),
    ((2, 2, 3, 3), (2, 2, 1, 1), 3, 0, (1, 2), 1, 1),
])
def test_conv_transpose2d_matches_torch(xs, ws, stride, padding, output_padding, groups, dilation):
    rng = np.random.default_rng(sum(xs))
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[1] * groups)
    kw = {"stride": stride, "padding": padding, "output_padding": output_padding, "groups": groups, "dilation": dilation}
    _compare(lambda *a: F.conv_transpose2d(*a, **kw), lambda *a: TF.conv_transpose2d(*a, **kw), [x, w, b], rng)


def test_conv_transpose1d_matches_torch():
    rng = np.random.default_rng(5)
    kw = {"stride": 3, "padding": 2, "output_padding": 1, "dilation": 2}
    _compare(lambda *a: F.conv_transpose1d(*a, **kw), lambda *a: TF.conv_transpose1d(*a, **kw),
             [rng.standard_normal((2, 3, 6)), rng.standard_normal((3, 4, 3))], rng)


def test_conv2d_second_order_matches_torch():
    """Double backward through conv: grad of <dL/dx, v> + <dL/dw, u> w.r.t. x and w, as torch."""
    rng = np.random.default_rng(11)
    x, w = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((4, 2, 3, 2))
    (cx, tx), (cw, tw) = _pair(x), _pair(w)
    kw = {"stride": (2, 1), "padding": 1, "dilation": (1, 2), "groups": 2}
    cy = F.conv2d(cx, cw, **kw)
    ty = TF.conv2d(tx, tw, **kw)
    loss_c, loss_t = (cy * cy * cy).sum(), (ty * ty * ty).sum()
    gc = cr.autograd.grad(loss_c, [cx, cw], create_graph=True)
    gt = torch.autograd.grad(loss_t, [tx, tw], create_graph=True)
    v, u = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    hc = cr.autograd.grad((gc[0] * cr.tensor(v)).sum() + (gc[1] * cr.tensor(u)).sum(), [cx, cw])
    ht = torch.autograd.grad((gt[0] * torch.tensor(v)).sum() + (gt[1] * torch.tensor(u)).sum(), [tx, tw])
    for a, b in zip(hc, ht):
        np.testing.assert_allclose(a._array, b.numpy(), rtol=1e-9, atol=1e-9)


def test_conv_errors_use_torch_words():
    x, w = cr.randn(1, 3, 5, 5), cr.randn(4, 2, 3, 3)
    with pytest.raises(RuntimeError, match="expected input.*to have 2 channels, but got 3 channels"):
        F.conv2d(x, w)
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided convolutions"):
        F.conv2d(x, cr.randn(4, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
        F.conv2d(x, cr.randn(4, 3, 7, 7))
    with pytest.raises(RuntimeError, match="should be the same"):
        F.conv2d(x, cr.randn(4, 3, 3, 3, dtype=cr.float64))


def test_unfold_fold_match_torch():
    rng = np.random.default_rng(8)
    kw = {"kernel_size": (2, 3), "dilation": (2, 1), "padding": 1, "stride": (1, 2)}
    _compare(lambda x: F.unfold(x, **kw), lambda x: TF.unfold(x, **kw), [rng.standard_normal((2, 3, 7, 6))], rng)
    cols = rng.standard_normal(tuple(TF.unfold(torch.zeros(2, 3, 6, 5), **kw).shape))
    _compare(lambda c: F.fold(c, (6, 5), **kw), lambda c: TF.fold(c, (6, 5), **kw), [cols], rng)


# ---- pooling -------------------------------------------------------------------------------------
POOL2D = [
    # (N, C, H, W), kernel, stride, padding, dilation, ceil_mode
    ((2, 3, 7, 5), 2, None, 0, 1, False),
    ((1, 2, 7, 5), 3, 2, 1, 1, True),
    ((1, 1, 9, 8), (3, 2), (4, 3), (1, 1), 1, True),  # stride > kernel
    ((2, 2, 10, 9), 3, 2, 1, 2, False),
    ((1, 2, 11, 6), (2, 3), 1, (1, 1), (3, 2), True),
    ((2, 5, 5), 5, 1, 2, 1, False),  # unbatched, one window
    ((1, 1, 8, 8), 2, 3, 1, 1, True),
]


@pytest.mark.parametrize("xs,k,stride,padding,dilation,ceil_mode", POOL2D)
def test_max_pool2d_matches_torch(xs, k, stride, padding, dilation, ceil_mode):
    rng = np.random.default_rng(sum(xs))
    x = rng.permutation(int(np.prod(xs))).reshape(xs) * 0.1 + rng.uniform(0, 0.01, xs)  # no ties
    kw = {"stride": stride, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode, "return_indices": True}
    _compare(lambda x: F.max_pool2d(x, k, **kw), lambda x: TF.max_pool2d(x, k, **kw), [x], rng)


def test_max_pool_ties_and_nan_pick_like_torch():
    x = np.array([[[[1.0, 1.0, 0.0], [1.0, 0.5, np.nan], [2.0, 2.0, 2.0]]]])
    (cx, tx) = _pair(x)
    cv, ci = F.max_pool2d(cx, 2, 1, return_indices=True)
    tv, ti = TF.max_pool2d(tx, 2, 1, return_indices=True)
    np.testing.assert_array_equal(ci._array, ti.numpy())
    np.testing.assert_array_equal(np.isnan(cv._array), np.isnan(tv.detach().numpy()))
    cv.sum().backward()
    tv.sum().backward()
    np.testing.assert_array_equal(cx.grad._array, tx.grad.numpy())


@pytest.mark.parametrize("xs,k,stride,padding,ceil_mode,count_include_pad,divisor", [
    ((2, 3, 7, 5), 2, None, 0, False, True, None),
    ((1, 2, 7, 5), 3, 2, 1, True, True, None),
    ((1, 2, 7, 5), 3, 2, 1, True, False, None),
    ((1, 1, 9, 8), (3, 2), (4, 3), (1, 1), True, False, None),
    ((2, 2, 6, 6), 3, 2, 1, False, True, 7),
    ((2, 5, 5), 4, 3, 2, True, True, None),
])
def test_avg_pool2d_matches_torch(xs, k, stride, padding, ceil_mode, count_include_pad, divisor):
    rng = np.random.default_rng(sum(xs) + 1)
    kw = {"stride": stride, "padding": padding, "ceil_mode": ceil_mode, "count_include_pad": count_include_pad,
              "divisor_override": divisor}
    _compare(lambda x: F.avg_pool2d(x, k, **kw), lambda x: TF.avg_pool2d(x, k, **kw), [rng.standard_normal(xs)], rng)


@pytest.mark.parametrize("L,k,stride,padding,ceil_mode", [(9, 3, 2, 1, True), (10, 4, 5, 2, True), (7, 2, None, 0, False)])
def test_pool1d_matches_torch(L, k, stride, padding, ceil_mode):
    rng = np.random.default_rng(L)
    x = rng.permutation(2 * 3 * L).reshape(2, 3, L) * 0.1
    kw = {"stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    _compare(lambda x: F.max_pool1d(x, k, **kw), lambda x: TF.max_pool1d(x, k, **kw), [x], rng)
    _compare(lambda x: F.avg_pool1d(x, k, **kw), lambda x: TF.avg_pool1d(x, k, **kw), [x], rng)


@pytest.mark.parametrize("xs,out", [((2, 3, 7, 5), (3, 2)), ((1, 2, 5, 9), (5, 4)), ((2, 6, 6), 4),
                                    ((1, 1, 7, 7), (1, None)), ((1, 2, 3, 4), (6, 5))])
def test_adaptive_pools_match_torch(xs, out):
    rng = np.random.default_rng(sum(xs))
    x = rng.permutation(int(np.prod(xs))).reshape(xs) * 0.1
    _compare(lambda x: F.adaptive_avg_pool2d(x, out), lambda x: TF.adaptive_avg_pool2d(x, out), [x], rng)
    _compare(lambda x: F.adaptive_max_pool2d(x, out, return_indices=True),
             lambda x: TF.adaptive_max_pool2d(x, out, return_indices=True), [x], rng)


def test_max_unpool2d_matches_torch():
    rng = np.random.default_rng(4)
    x = torch.tensor(rng.standard_normal((2, 3, 7, 6)))
    v, i = TF.max_pool2d(x, 2, return_indices=True)
    _compare(lambda v: F.max_unpool2d(v, cr.tensor(i.numpy()), 2, output_size=(7, 6)),
             lambda v: TF.max_unpool2d(v, i, 2, output_size=(7, 6)), [v.numpy()], rng)


def test_pool_errors_use_torch_words():
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        F.max_pool2d(cr.randn(1, 1, 5, 5), 3, padding=2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.avg_pool2d(cr.randn(1, 1, 5, 5), 7)


@pytest.mark.parametrize("mode,kw", [("nearest", {"size": (7, 3)}), ("nearest", {"scale_factor": 2.5}),
                                     ("bilinear", {"size": (7, 9), "align_corners": True}),
                                     ("bilinear", {"scale_factor": (0.6, 1.7), "align_corners": False}),
                                     ("nearest-exact", {"size": (3, 8)}), ("area", {"size": (2, 3)}),
                                     ("bicubic", {"size": (8, 4), "align_corners": False}),
                                     ("bicubic", {"scale_factor": 1.6, "align_corners": True})])
def test_interpolate_matches_torch(mode, kw):
    rng = np.random.default_rng(9)
    _compare(lambda x: F.interpolate(x, mode=mode, **kw), lambda x: TF.interpolate(x, mode=mode, **kw),
             [rng.standard_normal((2, 3, 5, 6))], rng)


# ---- stateful and edge behaviour ------------------------------------------------------------------
def test_dropout_is_seeded_scaled_and_off_in_eval():
    x = cr.ones(2000, requires_grad=True)
    cr.manual_seed(7)
    a = F.dropout(x, 0.25)
    cr.manual_seed(7)
    b = F.dropout(x, 0.25)
    np.testing.assert_array_equal(a._array, b._array)
    kept = a._array != 0
    assert 0.70 < kept.mean() < 0.80
    np.testing.assert_allclose(a._array[kept], 1 / 0.75)
    a.sum().backward()
    np.testing.assert_allclose(x.grad._array, a._array)  # d/dx (x·mask/(1-p)) = mask/(1-p)
    assert F.dropout(x, 0.5, training=False) is x
    assert not np.any(F.dropout(x, 1.0)._array)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.dropout(x, 1.5)
    d2 = F.dropout2d(cr.ones(4, 8, 3, 3), 0.5)._array
    assert np.all(d2 == d2[:, :, :1, :1])  # whole channels


def test_alpha_dropout_keeps_mean_and_variance():
    cr.manual_seed(3)
    x = cr.randn(400000, dtype=cr.float64)
    y = F.alpha_dropout(x, 0.3, training=True)
    assert abs(y._array.mean()) < 0.01 and abs(y._array.std() - 1.0) < 0.01
    alpha = 1.7580993408473766
    a = 1 / np.sqrt((alpha**2 * 0.3 + 1) * 0.7)
    dropped = np.isclose(y._array, alpha * a * (0.3 - 1), rtol=0, atol=1e-12)  # SELU's saturation value, moved by the same affine map
    assert 0.29 < dropped.mean() < 0.31
    t = TF.alpha_dropout(torch.zeros(1000, dtype=torch.float64), 0.3, training=True)
    np.testing.assert_allclose(np.unique(t.numpy()), [alpha * a * (0.3 - 1), alpha * a * 0.3])  # torch's values
    assert F.alpha_dropout(x, 0.3) is x  # training defaults to False, as torch
    z = F.feature_alpha_dropout(cr.ones(8, 16, 3, 3), 0.5, training=True)._array
    assert np.all(z == z[:, :, :1, :1])


def test_gumbel_softmax_hard_is_one_hot_with_the_soft_gradient():
    logits = cr.randn(5, 7, dtype=cr.float64, requires_grad=True)
    w = cr.tensor(np.random.default_rng(1).standard_normal((5, 7)))
    cr.manual_seed(4)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    np.testing.assert_array_equal(hard._array.sum(-1), 1.0)
    assert set(np.unique(hard._array)) == {0.0, 1.0}
    (gh,) = cr.autograd.grad((hard * w).sum(), logits)
    cr.manual_seed(4)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_array_equal(np.argmax(soft._array, -1), np.argmax(hard._array, -1))
    (gs,) = cr.autograd.grad((soft * w).sum(), logits)
    np.testing.assert_allclose(gh._array, gs._array, rtol=1e-12)


def test_local_response_norm_matches_torch():
    rng = np.random.default_rng(14)
    for size in (1, 2, 3, 6):
        _compare(lambda x, s=size: F.local_response_norm(x, s, alpha=0.2, beta=0.7, k=1.5),
                 lambda x, s=size: TF.local_response_norm(x, s, alpha=0.2, beta=0.7, k=1.5),
                 [rng.standard_normal((2, 5, 3, 4))], rng)


def test_embedding_padding_idx_and_max_norm_like_torch():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((6, 3)) * 2
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    (cw, tw) = _pair(w)
    cy = F.embedding(cr.tensor(idx), cw, padding_idx=2, max_norm=1.5)
    ty = TF.embedding(torch.tensor(idx), tw, padding_idx=2, max_norm=1.5)
    np.testing.assert_allclose(cy._array, ty.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(cw._array, tw.detach().numpy(), rtol=1e-6)  # renormalized in place
    u = rng.standard_normal(idx.shape + (3,))
    cy.backward(cr.tensor(u))
    ty.backward(torch.tensor(u))
    np.testing.assert_allclose(cw.grad._array, tw.grad.numpy(), rtol=1e-6)
    assert not np.any(cw.grad._array[2])
    with pytest.raises(IndexError, match="index out of range"):
        F.embedding(cr.tensor([6]), cw)


def test_embedding_scale_grad_by_freq_matches_torch_and_differentiates_exactly():
    """Not the true gradient (so not in op_db): each row's gradient divided by its count, as torch.
    Its derivative (double backward) matches finite differences of that gradient, and torch."""
    rng = np.random.default_rng(21)
    w, idx = rng.standard_normal((5, 3)), np.array([[0, 2, 2], [1, 2, 0]])
    u, v = rng.standard_normal(idx.shape + (3,)), rng.standard_normal(w.shape)

    def grad_of(wa, create=False):
        cw = cr.tensor(wa, requires_grad=True)
        y = F.embedding(cr.tensor(idx), cw, padding_idx=1, scale_grad_by_freq=True)
        return cw, cr.autograd.grad((y * y * cr.tensor(u)).sum(), cw, create_graph=create)[0]

    tw = torch.tensor(w, requires_grad=True)
    ty = TF.embedding(torch.tensor(idx), tw, padding_idx=1, scale_grad_by_freq=True)
    gt = torch.autograd.grad((ty * ty * torch.tensor(u)).sum(), tw, create_graph=True)[0]
    ht = torch.autograd.grad((gt * torch.tensor(v)).sum(), tw)[0]
    cw, gc = grad_of(w, create=True)
    np.testing.assert_allclose(gc._array, gt.detach().numpy(), rtol=1e-12)
    hc = cr.autograd.grad((gc * cr.tensor(v)).sum(), cw)[0]._array
    np.testing.assert_allclose(hc, ht.numpy(), rtol=1e-12)
    num = np.zeros_like(w)
    for k in np.ndindex(w.shape):
        wp, wm = w.copy(), w.copy()
        wp[k] += 1e-6
        wm[k] -= 1e-6
        num[k] = np.sum((grad_of(wp)[1]._array - grad_of(wm)[1]._array) * v) / 2e-6
    np.testing.assert_allclose(hc, num, rtol=1e-6, atol=1e-8)


def test_batch_norm_running_stats_match_torch():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 5))
    rm_c, rv_c = cr.zeros(3, dtype=cr.float64), cr.ones(3, dtype=cr.float64)
    rm_t, rv_t = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(3):
        F.batch_norm(cr.tensor(x), rm_c, rv_c, training=True, momentum=0.2)
        TF.batch_norm(torch.tensor(x), rm_t, rv_t, training=True, momentum=0.2)
    np.testing.assert_allclose(rm_c._array, rm_t.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv_c._array, rv_t.numpy(), rtol=1e-12)
    _compare(lambda x: F.batch_norm(x, rm_c, rv_c, training=False),
             lambda x: TF.batch_norm(x, rm_t, rv_t, training=False), [x], rng)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        F.batch_norm(cr.randn(1, 3), None, None, training=True)


def test_cross_entropy_variants_match_torch():
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((5, 4, 3))
    target = rng.integers(0, 4, (5, 3))
    target[0, 1] = -100
    w = rng.uniform(0.5, 2, 4)
    for red, ls, wt in itertools.product(("mean", "sum", "none"), (0.0, 0.15), (None, w)):
        kw = {"reduction": red, "label_smoothing": ls}
        cw = None if wt is None else cr.tensor(wt)
        tw = None if wt is None else torch.tensor(wt)
        _compare(lambda x, cw=cw, kw=kw: F.cross_entropy(x, cr.tensor(target), cw, **kw),
                 lambda x, tw=tw, kw=kw: TF.cross_entropy(x, torch.tensor(target), tw, **kw), [logits], rng)
    big = np.array([[1000.0, -1000.0, 0.0]])  # stable: log_softmax is one fused row
    c = F.cross_entropy(cr.tensor(big), cr.tensor([1]))
    assert np.isfinite(c.item()) and abs(c.item() - 2000.0) < 1e-9
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        F.cross_entropy(cr.randn(2, 3), cr.tensor([0, 7]))


def test_losses_reject_bad_reduction_and_shapes():
    x = cr.randn(3)
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(x, cr.rand(3, 1))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(x * 0 + 2, cr.rand(3))


def test_bce_with_logits_gradient_at_zero_and_extremes():
    x = cr.tensor([0.0, 800.0, -800.0], dtype=cr.float64, requires_grad=True)
    t = cr.tensor([1.0, 0.0, 1.0], dtype=cr.float64)
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="sum")
    loss.backward()
    np.testing.assert_allclose(loss.item(), np.log(2) + 800 + 800, rtol=1e-12)
    np.testing.assert_allclose(x.grad._array, [-0.5, 1.0, -1.0])  # sigmoid(x) - t


def test_attention_fully_masked_and_causal_match_torch():
    rng = np.random.default_rng(12)
    q, k, v = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((2, 3, 6, 2))
    _compare(lambda *a: F.scaled_dot_product_attention(*a, is_causal=True),
             lambda *a: TF.scaled_dot_product_attention(*a, is_causal=True), [q, k, v], rng)
    mask = rng.random((4, 6)) > 0.4
    mask[:, 0] = True
    _compare(lambda *a: F.scaled_dot_product_attention(*a, attn_mask=cr.tensor(mask), scale=0.3),
             lambda *a: TF.scaled_dot_product_attention(*a, attn_mask=torch.tensor(mask), scale=0.3),
             [q, k, v], rng)


def test_one_hot_and_errors():
    np.testing.assert_array_equal(F.one_hot(cr.tensor([[0, 3], [1, 1]]), 5)._array,
                                  TF.one_hot(torch.tensor([[0, 3], [1, 1]]), 5).numpy())
    assert F.one_hot(cr.tensor([2, 0])).dtype == cr.int64
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes"):
        F.one_hot(cr.tensor([3]), 3)


def test_float32_conv_and_pool_dtypes_match_torch():
    rng = np.random.default_rng(13)
    x, w = rng.standard_normal((2, 3, 9, 9)).astype(np.float32), rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    cy = F.max_pool2d(F.conv2d(cr.tensor(x), cr.tensor(w), stride=2), 2)
    ty = TF.max_pool2d(TF.conv2d(torch.tensor(x), torch.tensor(w), stride=2), 2)
    assert cy.dtype == cr.float32
    np.testing.assert_allclose(cy._array, ty.numpy(), rtol=1e-5, atol=1e-5)


# ---- randomized shapes (hypothesis, derandomized by conftest) -------------------------------------
hyp = pytest.importorskip("hypothesis")
st = hyp.strategies


@st.composite
def _conv_case(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 11))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 11))
    return (draw(st.integers(1, 3)), c, h, w), (o, c // groups, kh, kw), (sh, sw), (ph, pw), (dh, dw), groups


@hyp.given(_conv_case())
def test_conv2d_random_shapes_match_torch(case):
    xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    kw = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    _compare(lambda *a: F.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw),
             [rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])], rng, tol=1e-9)


@st.composite
def _pool_case(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, (dh * (kh - 1) + 1) // 2)), draw(st.integers(0, (dw * (kw - 1) + 1) // 2))
    sh, sw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 12))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 12))
    return (2, 2, h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw), draw(st.booleans())


@hyp.given(_pool_case())
def test_pool2d_random_shapes_match_torch(case):
    xs, k, stride, padding, dilation, ceil_mode = case
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    x = rng.permutation(int(np.prod(xs))).reshape(xs) * 0.1  # no ties
    kw = {"stride": stride, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode,
          "return_indices": True}
    _compare(lambda x: F.max_pool2d(x, k, **kw), lambda x: TF.max_pool2d(x, k, **kw), [x], rng)
    if dilation == (1, 1):
        for cip in (True, False):
            akw = {"stride": stride, "padding": padding, "ceil_mode": ceil_mode, "count_include_pad": cip}
            _compare(lambda x, akw=akw: F.avg_pool2d(x, k, **akw), lambda x, akw=akw: TF.avg_pool2d(x, k, **akw),
                     [x], rng)
