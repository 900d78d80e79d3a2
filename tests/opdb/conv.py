"""Op database: convolution, folding and pooling (``nn.functional``)."""

import numpy as np
from op_db import OpInfo, S, distinct, randn


def F(m):
    return m.nn.functional


def _conv2d(r):
    return [S(randn(r, 2, 3, 5, 4), randn(r, 2, 3, 3, 2), randn(r, 2), padding=1),
            S(randn(r, 1, 4, 6, 5), randn(r, 4, 2, 2, 3), None, stride=(2, 3), padding=(1, 0), dilation=(2, 1),
              groups=2),
            S(randn(r, 2, 5, 4), randn(r, 3, 2, 3, 3), None, padding="same", dilation=(1, 2)),
            S(randn(r, 1, 2, 7, 6), randn(r, 2, 2, 2, 2), randn(r, 2), stride=3)]


def _conv1d(r):
    return [S(randn(r, 2, 3, 7), randn(r, 4, 3, 3), randn(r, 4), stride=2, padding=2, dilation=2),
            S(randn(r, 1, 4, 6), randn(r, 2, 2, 2), None, padding="same", groups=2)]


def _conv3d(r):
    return [S(randn(r, 1, 2, 4, 3, 3), randn(r, 2, 2, 2, 2, 2), randn(r, 2), padding=(1, 0, 1))]


def _conv_t2d(r):
    return [S(randn(r, 2, 3, 3, 4), randn(r, 3, 2, 3, 2), randn(r, 2), stride=2, padding=1, output_padding=1),
            S(randn(r, 1, 4, 3, 3), randn(r, 4, 1, 2, 2), None, stride=(1, 2), groups=2, dilation=(2, 1))]


def _conv_t1d(r):
    return [S(randn(r, 2, 3, 4), randn(r, 3, 2, 3), randn(r, 2), stride=3, padding=1, output_padding=2)]


def _pool(r, nd):
    if nd == 1:
        return [S(distinct(r, 2, 3, 9), 3, 2, 1), S(distinct(r, 3, 8), 2, ceil_mode=True),
                S(distinct(r, 1, 2, 11), 3, 4, 1, dilation=2, ceil_mode=True)]
    return [S(distinct(r, 2, 2, 5, 6), 2), S(distinct(r, 1, 2, 7, 6), (3, 2), (2, 3), 1, ceil_mode=True),
            S(distinct(r, 2, 5, 5), 2, 1, dilation=2), S(distinct(r, 1, 1, 9, 8), 3, 4, 1, dilation=(2, 1))]


def _avg(r, nd):
    if nd == 1:
        return [S(randn(r, 2, 3, 9), 3, 2, 1), S(randn(r, 2, 3, 8), 3, 2, 1, ceil_mode=True, count_include_pad=False)]
    return [S(randn(r, 2, 2, 5, 6), 2), S(randn(r, 1, 2, 7, 6), (3, 2), (2, 3), 1, ceil_mode=True),
            S(randn(r, 1, 2, 7, 6), 3, 2, 1, ceil_mode=True, count_include_pad=False),
            S(randn(r, 2, 5, 5), 3, 2, 1, divisor_override=4)]


def _with_idx(name):
    return lambda m, x, *a, **k: getattr(F(m), name)(x, *a, return_indices=True, **k)


OPS = [
    OpInfo("conv2d", lambda m, *a, **k: F(m).conv2d(*a, **k), _conv2d, covers=("conv",),
           error_inputs=[
               (lambda m: m.nn.functional.conv2d(m.ones(1, 1, 3, 3), m.ones(1, 1, 2, 2), stride=0),
                RuntimeError, "non-positive stride is not supported"),
               (lambda m: m.nn.functional.conv2d(m.ones(1, 1, 3, 3), m.ones(1, 1, 2, 2), padding=-1),
                RuntimeError, "negative padding is not supported")]),
    OpInfo("conv1d", lambda m, *a, **k: F(m).conv1d(*a, **k), _conv1d, covers=("conv",)),
    OpInfo("conv3d", lambda m, *a, **k: F(m).conv3d(*a, **k), _conv3d, covers=("conv",)),
    OpInfo("conv_transpose2d", lambda m, *a, **k: F(m).conv_transpose2d(*a, **k), _conv_t2d, covers=("col2im",)),
    OpInfo("conv_transpose1d", lambda m, *a, **k: F(m).conv_transpose1d(*a, **k), _conv_t1d, covers=("col2im",)),
    OpInfo("unfold", lambda m, x, *a, **k: F(m).unfold(x, *a, **k),
           lambda r: [S(randn(r, 2, 2, 5, 4), (2, 3), padding=1, stride=(2, 1)), S(randn(r, 2, 4, 5), 2, dilation=2)],
           covers=("im2col",)),
    OpInfo("fold", lambda m, x, *a, **k: F(m).fold(x, *a, **k),
           lambda r: [S(randn(r, 2, 12, 15), (4, 5), (2, 3), padding=1, stride=(2, 1)),
                      S(randn(r, 8, 9), (5, 5), 2, dilation=2)],
           covers=("col2im",)),
    OpInfo("max_pool2d", _with_idx("max_pool2d"), lambda r: _pool(r, 2), covers=("max_pool",)),
    OpInfo("max_pool1d", _with_idx("max_pool1d"), lambda r: _pool(r, 1), covers=("max_pool",)),
    OpInfo("max_pool3d", lambda m, x, *a, **k: F(m).max_pool3d(x, *a, **k),
           lambda r: [S(distinct(r, 1, 2, 4, 5, 3), 2, (1, 2, 2), 1)], covers=("max_pool",)),
    OpInfo("avg_pool2d", lambda m, x, *a, **k: F(m).avg_pool2d(x, *a, **k), lambda r: _avg(r, 2),
           covers=("matmul",)),
    OpInfo("avg_pool1d", lambda m, x, *a, **k: F(m).avg_pool1d(x, *a, **k), lambda r: _avg(r, 1),
           covers=("matmul",)),
    OpInfo("adaptive_avg_pool2d", lambda m, x, o: F(m).adaptive_avg_pool2d(x, o),
           lambda r: [S(randn(r, 2, 2, 7, 5), (3, 2)), S(randn(r, 2, 5, 6), (None, 4)), S(randn(r, 1, 3, 4, 4), 1)],
           covers=("matmul",)),
    OpInfo("adaptive_avg_pool1d", lambda m, x, o: F(m).adaptive_avg_pool1d(x, o),
           lambda r: [S(randn(r, 2, 2, 7), 3)], covers=("matmul",)),
    OpInfo("adaptive_max_pool2d", _with_idx("adaptive_max_pool2d"),
           lambda r: [S(distinct(r, 2, 2, 7, 5), (3, 2)), S(distinct(r, 2, 5, 6), (2, 4))],
           covers=("adaptive_max_pool",)),
    OpInfo("adaptive_max_pool1d", _with_idx("adaptive_max_pool1d"),
           lambda r: [S(distinct(r, 2, 2, 7), 3)], covers=("adaptive_max_pool",)),
    OpInfo("max_unpool2d", lambda m, x, i, *a, **k: F(m).max_unpool2d(x, i, *a, **k),
           lambda r: [S(randn(r, 2, 2, 3, 2), np.array([[[[0, 3], [13, 15], [24, 27]]] * 2] * 2), 2,
                        output_size=(6, 5))],
           covers=("pool_scatter", "pool_gather")),
]
