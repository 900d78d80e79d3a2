"""Op database: matrix products."""

import numpy as np

from op_db import OpInfo, S, randn

OPS = [
    OpInfo("matmul", lambda m, x, y: x @ y,
           lambda r: [S(randn(r, 3, 4), randn(r, 4, 5)), S(randn(r, 4), randn(r, 4)), S(randn(r, 4), randn(r, 4, 2)),
                      S(randn(r, 3, 4), randn(r, 4)), S(randn(r, 2, 3, 4), randn(r, 4, 5)),
                      S(randn(r, 3, 1, 2, 4), randn(r, 2, 4, 3)), S(randn(r, 4), randn(r, 2, 4, 3)),
                      S(randn(r, 2, 3, 4), randn(r, 4))],
           ref=np.matmul),
]
