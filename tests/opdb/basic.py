"""Op database: casts, copies, comparisons, logic."""

import numpy as np
from op_db import OpInfo, S, randn

OPS = [
    # a float32 round trip defeats float64 finite differences: the grads are checked against torch
    # (test_ops_torch) and by hand (test_engine: test_cast_gradient_dtype)
    OpInfo("to_dtype", lambda m, x: x.to(m.float32).to(m.float64) * 1.0, lambda r: [S(randn(r, 3, 2))],
           covers=("to_dtype",), grad="a float32 round trip defeats float64 finite differences"),
    OpInfo("double", lambda m, x: x.float().double(), lambda r: [S(randn(r, 4))], covers=("to_dtype",),
           grad="a float32 round trip defeats float64 finite differences"),
    OpInfo("clone", lambda m, x: m.clone(x) * 2, lambda r: [S(randn(r, 2, 3))], covers=("clone",)),
    OpInfo("sum_to_size", lambda m, x: x.sum_to_size(1, 3), lambda r: [S(randn(r, 4, 3))]),
    OpInfo("comparisons", lambda m, x, y: (x == y, x != y, x < y, x <= y, x > y, x >= y),
           lambda r: [S(randn(r, 3, 4), randn(r, 4)), S(randn(r, 5), 0.0)], grad="boolean outputs",
           covers=("eq", "ne", "lt", "le", "gt", "ge")),
    OpInfo("logical", lambda m, x, y: (m.logical_and(x > 0, y > 0), m.logical_or(x > 0, y > 0),
                                       m.logical_xor(x > 0, y > 0), m.logical_not(x > 0)),
           lambda r: [S(randn(r, 3, 4), randn(r, 3, 4))], grad="boolean outputs",
           covers=("logical_and", "logical_or", "logical_xor", "logical_not")),
    OpInfo("bitwise", lambda m, x, y: (x & y, x | y, x ^ y, ~x),
           lambda r: [S(r.integers(0, 16, (3, 4)), r.integers(0, 16, (3, 4)))],
           grad="integer inputs",
           covers=("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not")),
    # shifts by negative amounts and by the bit width or more are defined in torch (0 or −1)
    OpInfo("bitwise_shift", lambda m, x, y: (x << y, x >> y, m.bitwise_left_shift(x, 3), 3 << y,
                                             m.bitwise_right_shift(x, y)),
           lambda r: [S(r.integers(-64, 64, (3, 4)), r.integers(-2, 70, (3, 4))),
                      S(r.integers(0, 200, (5,)).astype(np.uint8),
                        r.integers(0, 9, (5,)).astype(np.uint8))],
           grad="integer-only ops", covers=("bitwise_left_shift", "bitwise_right_shift"),
           error_inputs=[
               (lambda m: m.ones(2) << 1, NotImplementedError, "not implemented for 'Float'")]),
]
