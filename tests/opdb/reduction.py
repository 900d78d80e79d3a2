"""Op database: reductions, scans, sorting and order statistics, norms."""

import numpy as np
from op_db import OpInfo, S, distinct, pos, randn


def _dims(r):
    return [
        S(randn(r, 3, 4)),
        S(randn(r, 3, 4), dim=1),
        S(randn(r, 3, 4), dim=0, keepdim=True),
        S(randn(r, 2, 3, 4), dim=(0, 2)),
        S(randn(r, 2, 3, 4), dim=-1, keepdim=True),
        S(randn(r)),
    ]


def _ref_red(f):
    return lambda x, dim=None, keepdim=False: f(x, axis=dim, keepdims=keepdim)


def _with_zeros(r, *shape, at=()):
    a = randn(r, *shape)
    for i in at:
        a[i] = 0.0
    return a


def _nan(r):
    a = randn(r, 3, 4)
    a[0, 1] = a[2, 3] = np.nan
    return a


_INF = float("inf")

OPS = [
    OpInfo("sum", lambda m, x, **k: m.sum(x, **k), _dims, ref=_ref_red(np.sum)),
    OpInfo("mean", lambda m, x, **k: m.mean(x, **k), _dims, ref=_ref_red(np.mean)),
    OpInfo(
        "nansum",
        lambda m, x, **k: m.nansum(x, **k),
        lambda r: [
            S(_nan(r)),
            S(_nan(r), dim=1),
            S(_nan(r), dim=0, keepdim=True),
            S(randn(r, 2, 3)),
        ],
        ref=_ref_red(np.nansum),
    ),
    OpInfo(
        "nanmean",
        lambda m, x, **k: m.nanmean(x, **k),
        lambda r: [S(_nan(r)), S(_nan(r), dim=1), S(_nan(r), dim=0, keepdim=True)],
        covers=("nansum",),
        ref=_ref_red(np.nanmean),
    ),
    OpInfo(
        "prod",
        lambda m, x, *a, **k: m.prod(x, *a, **k),
        lambda r: [
            S(pos(r, 3, 4)),
            S(randn(r, 3, 4), 1),
            S(randn(r, 3, 4), 0, keepdim=True),
            S(randn(r)),
            S(_with_zeros(r, 3, 4, at=[(0, 1)])),  # one zero
            S(_with_zeros(r, 3, 4, at=[(0, 1), (2, 2)])),  # two zeros, all elements
            S(_with_zeros(r, 3, 4, at=[(0, 1), (1, 1), (1, 3)]), 1),  # one and two per row
            S(_with_zeros(r, 3, 4, at=[(1, 2)]), 0, keepdim=True),
        ],
        ref=lambda x, dim=None, keepdim=False: np.prod(x, axis=dim, keepdims=keepdim),
    ),
    OpInfo(
        "var",
        lambda m, x, **k: m.var(x, **k),
        lambda r: [
            S(randn(r, 3, 4)),
            S(randn(r, 3, 4), dim=1),
            S(randn(r, 3, 4), dim=0, keepdim=True),
            S(randn(r, 2, 3, 4), dim=(0, 2), correction=0),
            S(randn(r, 5), unbiased=False),
        ],
    ),
    OpInfo(
        "std",
        lambda m, x, **k: m.std(x, **k),
        lambda r: [
            S(randn(r, 3, 4)),
            S(randn(r, 3, 4), dim=1),
            S(randn(r, 3, 4), dim=0, keepdim=True),
            S(randn(r, 2, 3, 4), dim=(0, 2), correction=0),
        ],
    ),
    OpInfo(
        "var_mean",
        lambda m, x, **k: m.var_mean(x, **k),
        lambda r: [
            S(randn(r, 3, 4)),
            S(randn(r, 3, 4), dim=1, keepdim=True),
            S(randn(r, 3, 4), dim=0, correction=0),
        ],
        covers=("var", "mean"),
    ),
    OpInfo(
        "std_mean",
        lambda m, x, **k: m.std_mean(x, **k),
        lambda r: [S(randn(r, 3, 4)), S(randn(r, 3, 4), dim=1, correction=2)],
        covers=("std", "mean"),
    ),
    OpInfo(
        "amax",
        lambda m, x, **k: m.amax(x, **k),
        lambda r: [
            S(distinct(r, 3, 4), dim=1),
            S(distinct(r, 2, 3, 4), dim=(0, 2), keepdim=True),
            S(distinct(r, 5), dim=0),
        ],
    ),
    OpInfo(
        "amin",
        lambda m, x, **k: m.amin(x, **k),
        lambda r: [S(distinct(r, 3, 4), dim=1), S(distinct(r, 2, 3, 4), dim=(0, 2), keepdim=True)],
    ),
    OpInfo(
        "max_all",
        lambda m, x: m.max(x),
        lambda r: [S(distinct(r, 3, 4)), S(distinct(r, 5))],
        covers=("max_all",),
    ),
    OpInfo("min_all", lambda m, x: x.min(), lambda r: [S(distinct(r, 3, 4))], covers=("min_all",)),
    OpInfo(
        "max_dim",
        lambda m, x, **k: tuple(m.max(x, **k)),
        lambda r: [
            S(distinct(r, 3, 4), dim=1),
            S(distinct(r, 3, 4), dim=0, keepdim=True),
            S(distinct(r, 2, 3, 4), dim=-1),
        ],
        covers=("max_dim",),
    ),
    OpInfo(
        "min_dim",
        lambda m, x, **k: tuple(x.min(**k)),
        lambda r: [S(distinct(r, 3, 4), dim=1), S(distinct(r, 2, 3, 4), dim=0, keepdim=True)],
        covers=("min_dim",),
    ),
    OpInfo(
        "argmax_argmin",
        lambda m, x, **k: (m.argmax(x, **k), m.argmin(x, **k), x.argmax(), x.argmin()),
        lambda r: [
            S(distinct(r, 3, 4)),
            S(distinct(r, 3, 4), dim=1),
            S(distinct(r, 3, 4), dim=0, keepdim=True),
        ],
        covers=("argmax", "argmin"),
        grad="integer index outputs",
    ),
    OpInfo(
        "all_any_count",
        lambda m, x, **k: (
            m.all(x > 0, **k),
            m.any(x > 1, **k),
            (x > 0).all(),
            (x > 0).any(),
            m.count_nonzero(x > 0.5, **k),
        ),
        lambda r: [S(randn(r, 3, 4)), S(randn(r, 3, 4), dim=1), S(pos(r, 2, 3), dim=0)],
        covers=("all", "any", "count_nonzero"),
        grad="boolean and integer outputs",
    ),
    OpInfo(
        "logsumexp",
        lambda m, x, *a, **k: m.logsumexp(x, *a, **k),
        lambda r: [
            S(randn(r, 3, 4), 1),
            S(randn(r, 3, 4) * 30, 0, keepdim=True),
            S(randn(r, 2, 3, 4), (0, 2)),
            S(randn(r), 0),
        ],
    ),
    OpInfo(
        "cumsum",
        lambda m, x, d: m.cumsum(x, d),
        lambda r: [
            S(randn(r, 3, 4), 1),
            S(randn(r, 3, 4), 0),
            S(randn(r, 2, 3, 4), -1),
            S(randn(r), 0),
        ],
        ref=lambda x, d: np.cumsum(x, axis=d) if np.ndim(x) else x,
    ),
    OpInfo(
        "cumprod",
        lambda m, x, d: m.cumprod(x, d),
        lambda r: [S(randn(r, 3, 4), 1), S(randn(r, 3, 4), 0), S(randn(r), 0)],
    ),
    # with zeros the first derivative is exact; the second one, like torch's, misses the terms of
    # positions after a zero (test_reduction_edges checks it equals torch's)
    OpInfo(
        "cumprod_zeros",
        lambda m, x, d: m.cumprod(x, d),
        lambda r: [
            S(_with_zeros(r, 3, 5, at=[(0, 1), (1, 1), (1, 3), (2, 4)]), 1),  # one, two, last zero
            S(_with_zeros(r, 4, 3, at=[(0, 0), (2, 1), (3, 1)]), 0),
        ],
        covers=("cumprod",),
        second_order="with zeros the second derivative misses terms after a zero, as torch's",
    ),
    OpInfo(
        "cummax",
        lambda m, x, d: tuple(m.cummax(x, d)),
        lambda r: [S(distinct(r, 3, 4), 1), S(distinct(r, 3, 4), 0), S(distinct(r, 5), -1)],
    ),
    OpInfo(
        "cummin",
        lambda m, x, d: tuple(m.cummin(x, d)),
        lambda r: [S(distinct(r, 3, 4), 1), S(distinct(r, 2, 3, 4), 0)],
    ),
    OpInfo(
        "logcumsumexp",
        lambda m, x, d: m.logcumsumexp(x, d),
        lambda r: [S(randn(r, 3, 4), 1), S(randn(r, 3, 4) * 20, 0), S(randn(r, 6), 0)],
    ),
    OpInfo(
        "sort",
        lambda m, x, *a, **k: tuple(m.sort(x, *a, **k)),
        lambda r: [
            S(distinct(r, 3, 4)),
            S(distinct(r, 3, 4), 0),
            S(distinct(r, 3, 4), 1, True),
            S(distinct(r, 2, 3, 4), dim=1, descending=True, stable=True),
        ],
    ),
    OpInfo(
        "argsort",
        lambda m, x, *a, **k: m.argsort(x, *a, **k) * 1.0 + x,
        lambda r: [S(distinct(r, 3, 4)), S(distinct(r, 3, 4), 0, True)],
        covers=("sort",),
    ),
    OpInfo(
        "topk",
        lambda m, x, *a, **k: tuple(m.topk(x, *a, **k)),
        lambda r: [
            S(distinct(r, 3, 5), 2),
            S(distinct(r, 3, 5), 3, 0),
            S(distinct(r, 3, 5), 2, largest=False),
            S(distinct(r, 6), 6),
        ],
    ),
    OpInfo(
        "kthvalue",
        lambda m, x, *a, **k: tuple(m.kthvalue(x, *a, **k)),
        lambda r: [S(distinct(r, 3, 5), 2), S(distinct(r, 3, 5), 3, 0, True), S(distinct(r, 6), 1)],
    ),
    OpInfo(
        "median_dim",
        lambda m, x, *a, **k: tuple(m.median(x, *a, **k)),
        lambda r: [S(distinct(r, 3, 5), 1), S(distinct(r, 4, 3), 0, True), S(distinct(r, 6), 0)],
    ),
    OpInfo(
        "median_all",
        lambda m, x: m.median(x),
        lambda r: [S(distinct(r, 3, 5)), S(distinct(r, 4, 2))],
    ),
    OpInfo(
        "nanmedian_dim",
        lambda m, x, *a, **k: tuple(m.nanmedian(x, *a, **k)),
        lambda r: [S(_nan(r) + distinct(r, 3, 4), 1), S(distinct(r, 4, 3), 0, True)],
    ),
    OpInfo(
        "nanmedian_all", lambda m, x: m.nanmedian(x), lambda r: [S(_nan(r) + distinct(r, 3, 4))]
    ),
    OpInfo(
        "linalg_norm",
        lambda m, x, *a, **k: m.linalg.norm(x, *a, **k),
        lambda r: [
            S(randn(r, 3, 4)),
            S(randn(r, 2, 3, 4), dim=(0, 2)),
            S(distinct(r, 3, 4), 1),
            S(randn(r, 5), 3.0),
            S(randn(r, 3, 4), dim=1, keepdim=True),
        ],
        covers=("norm",),
    ),
    OpInfo(
        "mode",
        lambda m, x, *a, **k: tuple(m.mode(x, *a, **k)),
        lambda r: [S(distinct(r, 3, 5)), S(distinct(r, 3, 5), 0, True)],
    ),
    OpInfo(
        "norm",
        lambda m, x, *a, **k: m.norm(x, *a, **k),
        lambda r: [
            S(randn(r, 3, 4)),
            S(randn(r, 3, 4), 2, dim=1),
            S(randn(r, 3, 4), 1, dim=0, keepdim=True),
            S(distinct(r, 3, 4), float("inf"), dim=1),
            S(randn(r, 2, 3, 4), 3.0, dim=(1, 2)),
            S(pos(r, 5), 0.5),
        ],
    ),
    OpInfo(
        "vector_norm",
        lambda m, x, *a, **k: m.linalg.vector_norm(x, *a, **k),
        lambda r: [
            S(randn(r, 3, 4)),
            S(randn(r, 3, 4), 1, 1),
            S(distinct(r, 3, 4), _INF, (0, 1), True),
            S(distinct(r, 3, 4), -_INF, 0),
            S(randn(r, 2, 3, 4), 3.0, (0, 2)),
        ],
        covers=("norm",),
    ),
    OpInfo(
        "matrix_norm",
        lambda m, x, *a, **k: m.linalg.matrix_norm(x, *a, **k),
        lambda r: [
            S(randn(r, 3, 4)),
            S(distinct(r, 3, 4), 1),
            S(distinct(r, 3, 4), -1, keepdim=True),
            S(distinct(r, 2, 3, 4), _INF),
            S(distinct(r, 3, 4), -_INF, dim=(1, 0)),
        ],
        covers=("norm", "amax", "amin"),
    ),
    # singular values (second order through the differentiable svd row)
    OpInfo(
        "matrix_norm_sv",
        lambda m, x, *a, **k: m.linalg.matrix_norm(x, *a, **k),
        lambda r: [
            S(randn(r, 3, 4), "nuc"),
            S(randn(r, 4, 3), 2),
            S(randn(r, 3, 4), -2),
            S(randn(r, 2, 3, 4), "nuc", dim=(0, 2), keepdim=True),
        ],
        covers=("matrix_norm_sv", "svd_uvh"),
    ),
    OpInfo(
        # no gradient, as torch; NaNs are never equal to each other
        "unique",
        lambda m, x, **k: (
            m.unique(x, return_inverse=True, return_counts=True, **k),
            m.unique_consecutive(x, return_inverse=True, return_counts=True, **k),
        ),
        lambda r: [
            S(np.array([[2, 1, 2], [0, 1, 2], [2, 1, 2]])),
            S(np.array([[2, 1, 2], [0, 1, 2], [2, 1, 2]]), dim=0),
            S(np.array([[2, 1, 2], [0, 1, 2], [2, 1, 2]]), dim=-1),
            S(np.array([3.0, np.nan, 1.0, 3.0, np.nan])),
            S(np.zeros((0, 3)), dim=0),
        ],
        grad="unique values and counts are not differentiable",
        error_inputs=(
            (lambda m: m.unique(m.zeros(0, 3), dim=1), RuntimeError,
             r"There are 0 sized dimensions, and they aren't selected"),
        ),
    ),
]
