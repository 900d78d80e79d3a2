"""Op database: indexing and selection."""

import numpy as np

from op_db import OpInfo, S, randn

OPS = [
    OpInfo("getitem_basic", lambda m, x: x[1:, ::2] * 1.0 + x[0, None, 1:2], lambda r: [S(randn(r, 3, 4))],
           covers=("basic_index", "index_backward")),
    OpInfo("getitem_ellipsis", lambda m, x: x[..., 1] * 1.0 + x[1, ..., None, 2:3].sum(),
           lambda r: [S(randn(r, 2, 3, 4))], covers=("basic_index",)),
    OpInfo("getitem_int_array", lambda m, x, i: x[i] * 1.0,
           lambda r: [S(randn(r, 5, 3), np.array([0, 2, 2, 4, 0]))], covers=("index",)),
    OpInfo("getitem_mixed", lambda m, x, i: x[:, i] * 1.0,
           lambda r: [S(randn(r, 3, 5), np.array([[1, 1], [4, 0]]))], covers=("index",)),
    OpInfo("getitem_bool", lambda m, x: x[x > 0] * 1.0, lambda r: [S(randn(r, 4, 3))], covers=("index",)),
    OpInfo("where", lambda m, c, x, y: m.where(c > 0, x, y),
           lambda r: [S(randn(r, 3, 4), randn(r, 3, 4), randn(r, 3, 4), nograd=(0,)),
                      S(randn(r, 3, 4), randn(r, 4), 0.5, nograd=(0,))]),
    OpInfo("take_along_dim", lambda m, x, i: m.take_along_dim(x, i, 1),
           lambda r: [S(randn(r, 3, 4), np.array([[0, 3, 3], [1, 1, 2], [2, 0, 0]]))],
           covers=("take_along_dim", "put_along_dim")),
]
