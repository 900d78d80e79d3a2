"""Op database: in-place ops, run on a clone so that gradients flow through the rebased history."""

import numpy as np
from op_db import OpInfo, S, away, pos, randn


def _setitem(m, x, v, idx):
    y = x.clone()
    y[idx] = v
    return y


def _view_mul(m, x, w):
    y = x * 1.0
    y[1:, ::2].mul_(w)  # through a view: the base's history gets CopySlices
    return y


def _chain(m, x, w):
    y = x * 1.0
    y.mul_(w).add_(1.0).exp_()
    return y


def _iops(m, x, w):
    y = x.clone()
    y += w
    y *= w
    y -= 0.5
    y /= 2.0
    return y


def _zero_fill(m, x, v):
    y = x.clone()
    y[0].zero_()
    y[1].fill_(v)
    return y * x


OPS = [
    OpInfo(
        "add_",
        lambda m, x, y, **k: x.clone().add_(y, **k),
        lambda r: [S(randn(r, 3, 4), randn(r, 4)), S(randn(r, 3), randn(r, 3), alpha=-2.0)],
        covers=("add",),
    ),
    OpInfo(
        "sub_",
        lambda m, x, y: x.clone().sub_(y),
        lambda r: [S(randn(r, 3, 4), randn(r, 3, 4))],
        covers=("sub",),
    ),
    OpInfo(
        "mul_",
        lambda m, x, y: x.clone().mul_(y),
        lambda r: [S(randn(r, 3, 4), randn(r, 4)), S(randn(r, 3), 2.5)],
        covers=("mul",),
    ),
    OpInfo(
        "div_",
        lambda m, x, y: x.clone().div_(y),
        lambda r: [S(randn(r, 3, 4), away(r, 4, gap=0.5))],
        covers=("div",),
    ),
    OpInfo(
        "pow_",
        lambda m, x, y: x.clone().pow_(y),
        lambda r: [S(pos(r, 3, 4), randn(r, 4)), S(pos(r, 3), 2.5)],
        covers=("pow",),
    ),
    OpInfo(
        "clamp_",
        lambda m, x: x.clone().clamp_(-0.5, 0.5),
        lambda r: [S(away(r, 3, 4, gap=0.1) * 2)],
        covers=("clamp",),
    ),
    OpInfo(
        "relu_sigmoid_tanh_exp_",
        lambda m, x: (x.clone().relu_(), x.clone().sigmoid_(), x.clone().tanh_(), x.clone().exp_()),
        lambda r: [S(away(r, 3, 4))],
        covers=("relu", "sigmoid", "tanh", "exp"),
    ),
    OpInfo(
        "inplace_chain",
        _chain,
        lambda r: [S(randn(r, 3, 4), randn(r, 4) * 0.5)],
        covers=("mul", "add", "exp"),
    ),
    OpInfo(
        "inplace_operators",
        _iops,
        lambda r: [S(randn(r, 3, 4), randn(r, 3, 4))],
        covers=("add", "mul", "sub", "div"),
    ),
    OpInfo(
        "inplace_view",
        _view_mul,
        lambda r: [S(randn(r, 3, 4), randn(r, 2, 2))],
        covers=("copy_slices", "mul"),
    ),
    OpInfo(
        "zero_fill_",
        _zero_fill,
        lambda r: [S(randn(r, 3, 4), randn(r))],
        covers=("fill", "copy_slices"),
    ),
    OpInfo(
        "copy_",
        lambda m, x, s: x.clone().copy_(s),
        lambda r: [S(randn(r, 3, 4), randn(r, 4)), S(randn(r, 2, 3), randn(r, 2, 3))],
        covers=("copy",),
    ),
    OpInfo(
        "setitem",
        _setitem,
        lambda r: [
            S(randn(r, 4, 3), randn(r, 3), 1),
            S(randn(r, 4, 3), randn(r, 2, 1), (slice(1, 3), slice(None))),
            S(randn(r, 4, 3), randn(r, 2, 3), np.array([3, 0])),
            S(randn(r, 4, 3), 2.5, (0, 1)),
        ],
        covers=("index_put",),
    ),
    OpInfo(
        "setitem_into_zeros",
        lambda m, x: _setitem(m, m.zeros(3, 2, dtype=x.dtype), x * 2.0, 1),
        lambda r: [S(randn(r, 2))],
        covers=("index_put",),
    ),
    OpInfo(
        "masked_fill_",
        lambda m, x, c, v: x.clone().masked_fill_(c > 0, v),
        lambda r: [S(randn(r, 3, 4), randn(r, 3, 4), randn(r), nograd=(1,))],
        covers=("masked_fill",),
    ),
    OpInfo(
        "index_add_",
        lambda m, x, i, s: x.clone().index_add_(0, i, s, alpha=2.0),
        lambda r: [S(randn(r, 3, 4), np.array([2, 0, 2]), randn(r, 3, 4))],
        covers=("index_add",),
    ),
    OpInfo(
        "scatter_",
        lambda m, x, i, s: x.clone().scatter_(1, i, s),
        lambda r: [S(randn(r, 3, 4), np.array([[0, 3], [1, 2], [2, 0]]), randn(r, 3, 2))],
        covers=("scatter",),
    ),
]
