"""Op database: elementwise arithmetic and unary functions."""

import numpy as np

from op_db import OpInfo, S, away, pos, randn


def _binary(r):
    return [
        S(randn(r, 3, 4), randn(r, 3, 4)),
        S(randn(r, 3, 1, 4), randn(r, 4)),  # broadcasting
        S(randn(r, 2, 3), randn(r, 1, 3)),
        S(randn(r, 5), 2.5),  # Python scalar on the right
        S(1.5, randn(r, 5)),  # and on the left
        S(randn(r), randn(r, 3)),  # 0-dim with a vector
    ]


def _unary(gen):
    return lambda r: [S(gen(r, 3, 4)), S(gen(r, 5)), S(gen(r))]


OPS = [
    OpInfo("add", lambda m, x, y: x + y, _binary, ref=np.add),
    OpInfo("add_alpha", lambda m, x, y: m.add(x, y, alpha=0.5), lambda r: [S(randn(r, 2, 3), randn(r, 3))],
           covers=("add",)),
    OpInfo("sub", lambda m, x, y: x - y, _binary, ref=np.subtract),
    OpInfo("sub_alpha", lambda m, x, y: m.sub(x, y, alpha=2.0), lambda r: [S(randn(r, 2, 3), randn(r, 3))],
           covers=("sub",)),
    OpInfo("mul", lambda m, x, y: x * y, _binary, ref=np.multiply),
    OpInfo("div", lambda m, x, y: x / y,
           lambda r: [S(randn(r, 3, 4), away(r, 3, 4, gap=0.5)), S(randn(r, 3, 1, 4), away(r, 4, gap=0.5)),
                      S(randn(r, 5), 2.5), S(1.5, away(r, 5, gap=0.5))], ref=np.divide),
    OpInfo("neg", lambda m, x: -x, _unary(randn), ref=np.negative),
    OpInfo("pow_scalar", lambda m, x, p: x ** p,
           lambda r: [S(pos(r, 3, 4), 2.5), S(randn(r, 5), 2), S(randn(r, 5), 3), S(pos(r, 4), -1.5),
                      S(randn(r, 3), 0)],
           covers=("pow",), ref=np.power),
    OpInfo("rpow", lambda m, b, x: b ** x, lambda r: [S(2.0, randn(r, 3, 4)), S(0.5, randn(r, 5))],
           covers=("pow",), ref=np.power),
    OpInfo("pow_tensor", lambda m, x, y: x ** y,
           lambda r: [S(pos(r, 3, 4), randn(r, 3, 4)), S(pos(r, 2, 3), randn(r, 3))],
           covers=("pow",), ref=np.power),
    OpInfo("exp", lambda m, x: m.exp(x), _unary(randn), ref=np.exp),
    OpInfo("log", lambda m, x: m.log(x), _unary(pos), ref=np.log),
    OpInfo("sqrt", lambda m, x: m.sqrt(x), _unary(pos), ref=np.sqrt),
    OpInfo("abs", lambda m, x: m.abs(x), _unary(away), ref=np.abs),
    OpInfo("sign", lambda m, x: m.sign(x) * x, _unary(away), ref=lambda x: np.sign(x) * x),
    OpInfo("sin", lambda m, x: m.sin(x), _unary(randn), ref=np.sin),
    OpInfo("cos", lambda m, x: m.cos(x), _unary(randn), ref=np.cos),
    OpInfo("tanh", lambda m, x: m.tanh(x), _unary(randn), ref=np.tanh),
    OpInfo("sigmoid", lambda m, x: m.sigmoid(x),
           lambda r: [S(randn(r, 3, 4) * 3), S(np.array([-40.0, -1.0, 0.3, 40.0]))],
           ref=lambda x: 1 / (1 + np.exp(-x))),
    OpInfo("relu", lambda m, x: m.relu(x), _unary(away), ref=lambda x: np.maximum(x, 0)),
    OpInfo("maximum", lambda m, x, y: m.maximum(x, y),
           lambda r: [S(randn(r, 3, 4), randn(r, 3, 4)), S(randn(r, 3, 1, 4), randn(r, 4))], ref=np.maximum),
    OpInfo("minimum", lambda m, x, y: m.minimum(x, y),
           lambda r: [S(randn(r, 3, 4), randn(r, 3, 4)), S(randn(r, 2, 3), randn(r, 1, 3))], ref=np.minimum),
    OpInfo("clamp", lambda m, x, **k: m.clamp(x, **k),
           lambda r: [S(away(r, 3, 4, gap=0.1) * 2, min=-0.5, max=0.5), S(randn(r, 6) + 3, min=0.0),
                      S(randn(r, 6) - 3, max=0.0)],
           ref=lambda x, min=None, max=None: np.clip(x, min, max)),
    OpInfo("clamp_tensor", lambda m, x, lo, hi: m.clamp(x, lo, hi),
           lambda r: [S(randn(r, 3, 4) * 2, randn(r, 4) - 1.5, randn(r, 3, 1) + 1.5)],
           covers=("clamp",)),
]
