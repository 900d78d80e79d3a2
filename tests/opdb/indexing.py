"""Op database: indexing, gather/scatter, index_*, masks, take, triangles, diagonals, pad."""

import numpy as np
from op_db import OpInfo, S, distinct, randn

_I = np.array


def _pad(mode):
    return lambda m, x, p: m.nn.functional.pad(x, p, mode=mode)


OPS = [
    OpInfo(
        "getitem_basic",
        lambda m, x: x[1:, ::2] * 1.0 + x[0, None, 1:2],
        lambda r: [S(randn(r, 3, 4))],
        covers=("basic_index", "index_backward"),
    ),
    OpInfo(
        "getitem_ellipsis",
        lambda m, x: x[..., 1] * 1.0 + x[1, ..., None, 2:3].sum(),
        lambda r: [S(randn(r, 2, 3, 4))],
        covers=("basic_index",),
    ),
    OpInfo(
        "getitem_int_array",
        lambda m, x, i: x[i] * 1.0,
        lambda r: [S(randn(r, 5, 3), _I([0, 2, 2, 4, 0]))],
        covers=("index",),
    ),
    OpInfo(
        "getitem_mixed",
        lambda m, x, i: x[:, i] * 1.0,
        lambda r: [S(randn(r, 3, 5), _I([[1, 1], [4, 0]]))],
        covers=("index",),
    ),
    OpInfo(
        "getitem_bool",
        lambda m, x: x[x > 0] * 1.0,
        lambda r: [S(randn(r, 4, 3))],
        covers=("index",),
    ),
    OpInfo(
        "index_put",
        lambda m, x, v, i: x.index_put((i,), v),
        lambda r: [
            S(randn(r, 5, 3), randn(r, 2, 3), _I([4, 1])),
            S(randn(r, 5, 3), randn(r, 3), _I([0, 3])),
        ],
    ),
    OpInfo(
        "index_put_accumulate",
        lambda m, x, v, i: x.index_put((i,), v, accumulate=True),
        lambda r: [S(randn(r, 5, 3), randn(r, 3, 3), _I([4, 1, 4]))],
        covers=("index_backward",),
    ),
    OpInfo(
        "where",
        lambda m, c, x, y: m.where(c > 0, x, y),
        lambda r: [
            S(randn(r, 3, 4), randn(r, 3, 4), randn(r, 3, 4), nograd=(0,)),
            S(randn(r, 3, 4), randn(r, 4), 0.5, nograd=(0,)),
        ],
    ),
    OpInfo(
        "take_along_dim",
        lambda m, x, i: m.take_along_dim(x, i, 1),
        lambda r: [S(randn(r, 3, 4), _I([[0, 3, 3], [1, 1, 2], [2, 0, 0]]))],
        covers=("take_along_dim", "put_along_dim"),
    ),
    OpInfo(
        "gather",
        lambda m, x, d, i: m.gather(x, d, i),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([[0, 3, 3], [1, 1, 2]])),
            S(randn(r, 3, 4), 0, _I([[2, 0, 1, 2]])),
            S(randn(r, 2, 3, 2), -1, _I([[[1], [0], [1]]])),
        ],
        covers=("gather", "scatter_add"),
    ),
    OpInfo(
        "scatter",
        lambda m, x, d, i, s: m.scatter(x, d, i, s),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([[0, 3], [1, 2], [2, 0]]), randn(r, 3, 2)),
            S(randn(r, 3, 4), 0, _I([[2, 0, 1, 1]]), randn(r, 1, 4)),
        ],
        covers=("scatter", "gather"),
    ),
    OpInfo(
        "scatter_value",
        lambda m, x, d, i: x.scatter(d, i, 2.5),
        lambda r: [S(randn(r, 3, 4), 1, _I([[0, 3], [1, 2], [2, 0]]))],
        covers=("scatter",),
    ),
    OpInfo(
        "scatter_add",
        lambda m, x, d, i, s: m.scatter_add(x, d, i, s),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]), randn(r, 3, 3)),
            S(randn(r, 3, 4), 0, _I([[2, 0, 2, 2], [2, 1, 0, 2]]), randn(r, 2, 4)),
        ],
        covers=("scatter_add", "gather"),
    ),
    OpInfo(
        "scatter_reduce",
        lambda m, x, d, i, s, red, **k: m.scatter_reduce(x, d, i, s, red, **k),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]), randn(r, 3, 3), "sum"),
            S(
                randn(r, 3, 4),
                1,
                _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]),
                randn(r, 3, 3),
                "sum",
                include_self=False,
            ),
            S(randn(r, 3, 4), 0, _I([[2, 0, 2, 2], [2, 1, 0, 2]]), randn(r, 2, 4), "mean"),
            S(
                randn(r, 3, 4),
                0,
                _I([[2, 0, 2, 2], [2, 1, 0, 2]]),
                randn(r, 2, 4),
                "mean",
                include_self=False,
            ),
            S(randn(r, 3, 4), 1, _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]), randn(r, 3, 3), "prod"),
            S(
                randn(r, 3, 4),
                1,
                _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]),
                randn(r, 3, 3),
                "prod",
                include_self=False,
            ),
            S(
                distinct(r, 3, 4),
                1,
                _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]),
                distinct(r, 3, 3),
                "amax",
            ),
            S(
                distinct(r, 3, 4),
                1,
                _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]),
                distinct(r, 3, 3),
                "amin",
                include_self=False,
            ),
        ],
        covers=("scatter_reduce",),
    ),
    OpInfo(
        "index_select",
        lambda m, x, d, i: m.index_select(x, d, i),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([0, 3, 3])),
            S(randn(r, 3, 4), 0, _I([2, 0])),
            S(randn(r, 5), 0, _I([4])),
        ],
        covers=("index_select", "index_add"),
    ),
    OpInfo(
        "index_add",
        lambda m, x, d, i, s, **k: m.index_add(x, d, i, s, **k),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([0, 3, 3]), randn(r, 3, 3)),
            S(randn(r, 3, 4), 0, _I([2, 0]), randn(r, 2, 4), alpha=-2.0),
        ],
        covers=("index_add", "index_select"),
    ),
    OpInfo(
        "index_copy",
        lambda m, x, d, i, s: m.index_copy(x, d, i, s),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([0, 3]), randn(r, 3, 2)),
            S(randn(r, 3, 4), 0, _I([2, 0]), randn(r, 2, 4)),
        ],
        covers=("index_copy", "index_select", "index_fill"),
    ),
    OpInfo(
        "index_fill",
        lambda m, x, d, i, v: m.index_fill(x, d, i, v),
        lambda r: [S(randn(r, 3, 4), 1, _I([0, 3]), -1.5), S(randn(r, 3, 4), 0, _I([2]), randn(r))],
        covers=("index_fill", "index_select"),
    ),
    OpInfo(
        "masked_fill",
        lambda m, x, c, v: m.masked_fill(x, c > 0, v),
        lambda r: [
            S(randn(r, 3, 4), randn(r, 3, 4), 2.0, nograd=(1,)),
            S(randn(r, 3, 4), randn(r, 4), randn(r), nograd=(1,)),
            S(randn(r, 4), randn(r, 3, 4), randn(r), nograd=(1,)),
        ],
    ),
    OpInfo(
        "masked_select",
        lambda m, x, c: m.masked_select(x, c > 0),
        lambda r: [
            S(randn(r, 3, 4), randn(r, 3, 4), nograd=(1,)),
            S(randn(r, 4), randn(r, 3, 4), nograd=(1,)),
        ],
        covers=("masked_select", "index_put"),
    ),
    OpInfo(
        "masked_scatter",
        lambda m, x, c, s: x.masked_scatter(c > 0, s),
        lambda r: [
            S(randn(r, 3, 4), randn(r, 3, 4), randn(r, 4, 4), nograd=(1,)),
            S(randn(r, 3, 4), randn(r, 4), randn(r, 12), nograd=(1,)),
        ],
        covers=("masked_scatter", "masked_select", "constant_pad"),
    ),
    OpInfo(
        "take",
        lambda m, x, i: m.take(x, i),
        lambda r: [S(randn(r, 3, 4), _I([0, 11, 5, 5])), S(randn(r, 3, 4), _I([[1, 2], [-1, 1]]))],
        covers=("take", "index_add"),
    ),
    OpInfo(
        "nonzero",
        lambda m, x: (m.nonzero(x > 0), m.nonzero(x > 0, as_tuple=True), m.argwhere(x > 1)),
        lambda r: [S(randn(r, 3, 4)), S(randn(r, 5))],
        grad="integer index outputs",
    ),
    OpInfo(
        "tril_triu",
        lambda m, x, *a: (m.tril(x, *a), m.triu(x, *a)),
        lambda r: [S(randn(r, 4, 4)), S(randn(r, 3, 5), 1), S(randn(r, 2, 4, 3), -1)],
        covers=("tril", "triu"),
    ),
    OpInfo(
        "diagonal",
        lambda m, x, *a: m.diagonal(x, *a) * 1.0,
        lambda r: [
            S(randn(r, 4, 4)),
            S(randn(r, 3, 5), 1),
            S(randn(r, 2, 4, 3), -1, 1, 2),
            S(randn(r, 2, 3, 4), 0, -1, 0),
        ],
        covers=("diagonal", "diagonal_backward"),
    ),
    OpInfo(
        "diag_embed",
        lambda m, x, *a: m.diag_embed(x, *a),
        lambda r: [S(randn(r, 3)), S(randn(r, 2, 3), 1), S(randn(r, 2, 3), -1, 0, 2)],
        covers=("diag_embed", "diagonal"),
    ),
    OpInfo(
        "diag",
        lambda m, x, *a: m.diag(x, *a),
        lambda r: [S(randn(r, 3)), S(randn(r, 3), -1), S(randn(r, 3, 4)), S(randn(r, 4, 3), 1)],
        covers=("diagonal",),
    ),
    OpInfo(
        "diagflat",
        lambda m, x, *a: m.diagflat(x, *a),
        lambda r: [S(randn(r, 2, 2)), S(randn(r, 3), -2)],
        covers=("diag_embed",),
    ),
    OpInfo(
        "trace",
        lambda m, x: m.trace(x),
        lambda r: [S(randn(r, 3, 3)), S(randn(r, 2, 4))],
        covers=("diagonal",),
    ),
    OpInfo(
        "meshgrid",
        lambda m, x, y, **k: m.meshgrid(x, y, **k),
        lambda r: [
            S(randn(r, 3), randn(r, 2), indexing="ij"),
            S(randn(r, 3), randn(r, 4), indexing="xy"),
        ],
        covers=("expand",),
    ),
    OpInfo(
        "pad_constant",
        lambda m, x, p, v=0.0: m.nn.functional.pad(x, p, value=v),
        lambda r: [
            S(randn(r, 2, 3), (1, 2)),
            S(randn(r, 2, 3, 4), (1, 0, 0, 2), 1.5),
            S(randn(r, 3, 4), (-1, 1, 1, -1)),
        ],
        covers=("constant_pad",),
    ),
    OpInfo(
        "pad_reflect",
        _pad("reflect"),
        lambda r: [S(randn(r, 2, 4), (2, 1)), S(randn(r, 1, 3, 4), (1, 2, 2, 0))],
        covers=("take",),
    ),
    OpInfo(
        "pad_replicate",
        _pad("replicate"),
        lambda r: [S(randn(r, 2, 3), (2, 3)), S(randn(r, 1, 2, 3, 2), (1, 0, 2, 1))],
        covers=("take",),
    ),
    OpInfo(
        "pad_circular",
        _pad("circular"),
        lambda r: [S(randn(r, 2, 4), (2, 1)), S(randn(r, 1, 2, 3, 3), (1, 3, 0, 2))],
        covers=("take",),
    ),
]
