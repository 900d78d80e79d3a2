"""Op database: reductions."""

import numpy as np

from op_db import OpInfo, S, distinct, pos, randn


def _dims(r):
    return [S(randn(r, 3, 4)), S(randn(r, 3, 4), dim=1), S(randn(r, 3, 4), dim=0, keepdim=True),
            S(randn(r, 2, 3, 4), dim=(0, 2)), S(randn(r, 2, 3, 4), dim=-1, keepdim=True), S(randn(r))]


OPS = [
    OpInfo("sum", lambda m, x, **k: m.sum(x, **k), _dims, ref=lambda x, dim=None, keepdim=False: np.sum(x, axis=dim, keepdims=keepdim)),
    OpInfo("mean", lambda m, x, **k: m.mean(x, **k), _dims, ref=lambda x, dim=None, keepdim=False: np.mean(x, axis=dim, keepdims=keepdim)),
    OpInfo("var", lambda m, x, **k: m.var(x, **k),
           lambda r: [S(randn(r, 3, 4)), S(randn(r, 3, 4), dim=1), S(randn(r, 3, 4), dim=0, keepdim=True),
                      S(randn(r, 2, 3, 4), dim=(0, 2), correction=0), S(randn(r, 5), unbiased=False)]),
    OpInfo("std", lambda m, x, **k: m.std(x, **k),
           lambda r: [S(randn(r, 3, 4)), S(randn(r, 3, 4), dim=1), S(randn(r, 3, 4), dim=0, keepdim=True),
                      S(randn(r, 2, 3, 4), dim=(0, 2), correction=0)]),
    OpInfo("amax", lambda m, x, **k: m.amax(x, **k),
           lambda r: [S(distinct(r, 3, 4), dim=1), S(distinct(r, 2, 3, 4), dim=(0, 2), keepdim=True),
                      S(distinct(r, 5), dim=0)]),
    OpInfo("amin", lambda m, x, **k: m.amin(x, **k),
           lambda r: [S(distinct(r, 3, 4), dim=1), S(distinct(r, 2, 3, 4), dim=(0, 2), keepdim=True)]),
    OpInfo("max_all", lambda m, x: m.max(x), lambda r: [S(distinct(r, 3, 4)), S(distinct(r, 5))],
           covers=("max_all",)),
    OpInfo("min_all", lambda m, x: x.min(), lambda r: [S(distinct(r, 3, 4))], covers=("min_all",)),
    OpInfo("max_dim", lambda m, x, **k: tuple(m.max(x, **k)),
           lambda r: [S(distinct(r, 3, 4), dim=1), S(distinct(r, 3, 4), dim=0, keepdim=True),
                      S(distinct(r, 2, 3, 4), dim=-1)], covers=("max_dim",)),
    OpInfo("min_dim", lambda m, x, **k: tuple(x.min(**k)),
           lambda r: [S(distinct(r, 3, 4), dim=1), S(distinct(r, 2, 3, 4), dim=0, keepdim=True)],
           covers=("min_dim",)),
    OpInfo("norm", lambda m, x, *a, **k: m.norm(x, *a, **k),
           lambda r: [S(randn(r, 3, 4)), S(randn(r, 3, 4), 2, dim=1), S(randn(r, 3, 4), 1, dim=0, keepdim=True),
                      S(distinct(r, 3, 4), float("inf"), dim=1), S(randn(r, 2, 3, 4), 3.0, dim=(1, 2)),
                      S(pos(r, 5), 0.5)]),
]
