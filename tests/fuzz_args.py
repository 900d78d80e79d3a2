"""Argument strategies of the differential fuzzer's table, part two: losses, norms, conv/pool,
creation functions, autograd argument checking, NumPy arrays where a Tensor is required."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from fuzz_core import Dt
from fuzz_strategies import (ANY, COMMON_F, FLOATS, INTS, dims, index_tensors, kw_options,
                             shapes, tensors)

_c = st.composite
_kw = kw_options


# -- losses ---------------------------------------------------------------------------------------

@_c
def _cross_entropy(draw):
    x = draw(tensors(["float32", "float64"] * 4 + ANY, min_dims=1, max_dims=3,
                     min_side=draw(st.sampled_from([1, 1, 1, 0]))))
    if x.a.ndim == 1 and draw(st.integers(0, 3)):
        x.a = x.a.reshape(1, -1)  # mostly batched: (N, C) or (N, C, d)
    c = x.a.shape[1] if x.a.ndim >= 2 else x.a.shape[0]
    tshape = (x.a.shape[0],) + x.a.shape[2:] if x.a.ndim >= 2 else ()
    if draw(st.integers(0, 3)):
        t = draw(index_tensors(c, tshape, dtype=draw(st.sampled_from(["int64"] * 8 + INTS))))
    else:
        t = draw(tensors(FLOATS + ["float32"] * 3, shape=x.a.shape, grad=False, special=False))
        t.a = np.abs(t.a)
    kw = _kw(draw, ignore_index=st.sampled_from([-100, 0, 1]),
             reduction=st.sampled_from(["mean", "sum", "none"] * 3 + ["avg"]),
             label_smoothing=st.sampled_from([0.0, 0.1, 0.0, 1.5]))
    return (x, t), kw


@_c
def _nll(draw):
    x = draw(tensors(["float32", "float64"] + ANY, min_dims=1, max_dims=3))
    c = x.a.shape[1] if x.a.ndim >= 2 else x.a.shape[0]
    tshape = (x.a.shape[0],) + x.a.shape[2:] if x.a.ndim >= 2 else ()
    t = draw(index_tensors(c, tshape))
    kw = _kw(draw, ignore_index=st.sampled_from([-100, 0, 1]),
             reduction=st.sampled_from(["mean", "sum", "none"]))
    return (x, t), kw


@_c
def _pair_loss(draw):
    x = draw(tensors(["float32", "float64"] + ANY))
    y = draw(tensors([x.a.dtype.name] * 3 + ANY,
                     shape=x.a.shape if draw(st.integers(0, 4)) else None))
    return (x, y), _kw(draw, reduction=st.sampled_from(["mean", "sum", "none"]))


@_c
def _bce(draw):
    x = draw(tensors(["float32", "float64"], special=False))
    x.a = 1 / (1 + np.exp(-x.a))
    if draw(st.integers(0, 5)) == 0:
        x.a = x.a * 3 - 1
    y = draw(tensors([x.a.dtype.name] * 3 + ["float16"], shape=x.a.shape, special=False,
                     grad=False))
    y.a = (y.a > 0).astype(y.a.dtype)
    return (x, y), _kw(draw, reduction=st.sampled_from(["mean", "sum", "none"]))


# -- norms, conv, pool ----------------------------------------------------------------------------

@_c
def _vector_norm(draw):
    x = draw(tensors(COMMON_F))
    kw = _kw(draw, ord=st.sampled_from([2, 1, 0, 3, 0.5, -1, float("inf"), -float("inf")]),
             keepdim=st.booleans())
    if draw(st.booleans()):
        kw["dim"] = draw(dims(x.a.ndim))
    return (x,), kw


@_c
def _matrix_norm(draw):
    x = draw(tensors(COMMON_F, min_dims=1, max_dims=3))
    kw = _kw(draw, ord=st.sampled_from(["fro", "nuc", 1, -1, 2, -2, float("inf"), 3]),
             keepdim=st.booleans())
    return (x,), kw


@_c
def _conv(draw, nd_sp=2):
    dt = draw(st.sampled_from(["float32", "float64", "float32", "int64", "float16"]))
    n, cin = draw(st.integers(0, 2)), draw(st.integers(1, 3))
    g = draw(st.sampled_from([1, 1, cin, 2]))
    cout = draw(st.sampled_from([g, 2 * g, 3]))
    sp = tuple(draw(st.integers(0, 5)) for _ in range(nd_sp))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd_sp))
    x = draw(tensors([dt], shape=(n, cin) + sp if draw(st.integers(0, 5)) else (cin,) + sp))
    w = draw(tensors([dt] * 5 + ["float64"], shape=(cout, max(cin // g, 1)) + k))
    kw = _kw(draw, stride=st.sampled_from([1, 2, 0, -1]), padding=st.sampled_from([0, 1, 3, -1]),
             dilation=st.sampled_from([1, 2, 0]), groups=st.just(g))
    if draw(st.booleans()):
        kw["bias"] = draw(tensors([dt], shape=(cout,)))
    return (x, w), kw


@_c
def _pool(draw, nd_sp=2):
    x = draw(tensors(["float32", "float64", "int64", "float16"],
                     shape=(draw(st.integers(0, 2)), draw(st.integers(1, 2)))
                     + tuple(draw(st.integers(0, 5)) for _ in range(nd_sp))))
    k = draw(st.sampled_from([1, 2, 3, 0]))
    kw = _kw(draw, stride=st.sampled_from([1, 2, 0]), padding=st.sampled_from([0, 1, 2]),
             ceil_mode=st.booleans())
    return (x, k), kw


# -- creation -------------------------------------------------------------------------------------

_cdt = st.sampled_from([Dt("float32"), Dt("int64"), Dt("float64"), Dt("int32"), Dt("bool"),
                        Dt("uint8")])
_num = st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False, width=32),
                 st.sampled_from([float("nan"), float("inf"), 2**63, 0]))


@_c
def _arange(draw):
    args = tuple(draw(st.lists(_num, min_size=1, max_size=3)))
    return args, _kw(draw, dtype=_cdt)


@_c
def _linspace(draw):
    return (draw(_num), draw(_num), draw(st.integers(-1, 5))), _kw(draw, dtype=_cdt)


@_c
def _zeros(draw):
    size = tuple(draw(st.lists(st.integers(-1, 3), max_size=3)))
    return size, _kw(draw, dtype=_cdt)


@_c
def _full(draw):
    return (tuple(draw(st.lists(st.integers(-1, 3), max_size=3))),
            draw(st.one_of(_num, st.booleans()))), _kw(draw, dtype=_cdt)


@_c
def _eye(draw):
    args = (draw(st.integers(-1, 4)),)
    if draw(st.booleans()):
        args += (draw(st.integers(-1, 4)),)
    return args, _kw(draw, dtype=_cdt)


# -- NumPy arrays where torch requires a Tensor ---------------------------------------------------

@_c
def _ndarray_args(draw):
    x = draw(tensors(["float32"], min_dims=1, max_dims=2, min_side=1, grad=False, special=False))
    kind = draw(st.sampled_from(["sin", "matmul", "cat", "add", "mul", "where"]))
    return (x, kind, np.ascontiguousarray(x.a)), {}


def _ndarray_fn(m, x, kind, arr):
    if kind == "sin":
        return m.sin(arr)
    if kind == "matmul":
        return m.matmul(x, arr.T.copy())
    if kind == "cat":
        return m.cat([x, arr])
    if kind == "add":
        return m.add(x, arr)
    if kind == "mul":
        return x * arr
    return m.where(x > 0, arr, x)


# -- autograd argument checking -------------------------------------------------------------------

@_c
def _grad_args(draw):
    x = draw(tensors(["float32", "float64", "float32", "int64"], grad=False))
    kind = draw(st.sampled_from(["grad", "backward", "twice", "empty", "nograd"]))
    gshape = x.a.shape if draw(st.integers(0, 3)) else draw(shapes(0, 2, 3))
    go = draw(st.one_of(st.none(), tensors(["float32", "float64"], shape=gshape, grad=False)))
    return (x, kind, go), _kw(draw, allow_unused=st.booleans())


def _grad_fn(m, x, kind, go, allow_unused=None):
    if kind != "nograd" and x.is_floating_point():
        x = x.detach().requires_grad_(True)
    y = (x * 2).sin() if x.is_floating_point() else x * 2
    if kind == "grad":
        return m.autograd.grad(y, [x], go, allow_unused=allow_unused)
    if kind == "empty":
        return m.autograd.grad(y.sum(), [], allow_unused=allow_unused)
    if kind == "nograd":
        return m.autograd.grad(y.sum(), [x], allow_unused=allow_unused)
    y.backward(go)
    if kind == "twice":
        y.backward(go)
    return x.grad
