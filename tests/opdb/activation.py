"""Op database: activation functions (chainrule.nn.functional)."""

import numpy as np
from op_db import OpInfo, S, away, randn


def kinkfree(r, *shape, kinks=(0.0,), scale=3.0, gap=0.15):
    """Normal samples times ``scale``, moved at least ``gap`` away from every kink."""
    a = np.asarray(r.standard_normal(shape) * scale)
    for k in kinks:
        d = a - k
        a = np.where(np.abs(d) < gap, k + np.sign(d + 1e-12) * (gap + np.abs(d)), a)
    return a


def _act(name, kinks=(0.0,), scale=3.0, **kw):
    fn = kw.pop("fn", None) or (lambda m, x, _n=name, **k: getattr(m.nn.functional, _n)(x, **k))
    extra = kw.pop("extra", [])
    return OpInfo(name, fn, lambda r: [S(kinkfree(r, 3, 4, kinks=kinks, scale=scale)),
                                        S(kinkfree(r, 7, kinks=kinks, scale=scale))] + [
        S(kinkfree(r, 6, kinks=kinks, scale=scale), **e) for e in extra], **kw)


OPS = [
    _act("relu", ref=lambda x: np.maximum(x, 0)),
    _act("relu6", kinks=(0.0, 6.0), scale=5.0, covers=("hardtanh",)),
    _act("leaky_relu", extra=[{"negative_slope": 0.2}]),
    _act("hardtanh", kinks=(-1.0, 1.0, -0.5, 2.0), extra=[{"min_val": -0.5, "max_val": 2.0}]),
    _act("elu", extra=[{"alpha": 0.5}],
           error_inputs=[
               (lambda m: m.nn.functional.elu(m.tensor([1, 2])),
                NotImplementedError, "not implemented for 'Long'")]),
    _act("selu", covers=("elu",)),
    _act("celu", covers=("elu",), extra=[{"alpha": 2.0}]),
    _act("gelu", extra=[{"approximate": "tanh"}]),
    _act("silu",
           error_inputs=[
               (lambda m: m.nn.functional.silu(m.tensor([1, 2])),
                NotImplementedError, "not implemented for 'Long'")]),
    _act("mish"),
    _act("softplus", kinks=(2.5,), extra=[{"beta": 2.0, "threshold": 5.0}]),
    _act("softsign"),
    _act("hardsigmoid", kinks=(-3.0, 3.0)),
    _act("hardswish", kinks=(-3.0, 3.0)),
    _act("logsigmoid", scale=10.0),
    _act("tanhshrink"),
    OpInfo("threshold", lambda m, x, t, v: m.nn.functional.threshold(x, t, v),
           lambda r: [S(kinkfree(r, 3, 4, kinks=(0.5,)), 0.5, -2.0), S(kinkfree(r, 6, kinks=(-1.0,)), -1.0, 0.0)]),
    OpInfo("threshold_toplevel", lambda m, x: m.threshold(x, 0.1, 20.0),
           lambda r: [S(kinkfree(r, 5, kinks=(0.1,)))], covers=("threshold",)),
    OpInfo("glu", lambda m, x, d: m.nn.functional.glu(x, d),
           lambda r: [S(randn(r, 3, 4), -1), S(randn(r, 4, 6), 0), S(randn(r, 2, 4, 3), 1)],
           covers=("sigmoid", "mul")),
    OpInfo("prelu", lambda m, x, w: m.nn.functional.prelu(x, w),
           lambda r: [S(away(r, 2, 3, 4), np.array([0.25, -0.5, 1.5])), S(away(r, 2, 3), np.array([0.1])),
                      S(away(r, 5), np.array([0.3]))],
           covers=("where",)),
]
OPS += [
    _act("hardshrink", kinks=(-0.5, 0.5, -1.0, 1.0), extra=[{"lambd": 1.0}]),
    _act("softshrink", kinks=(-0.5, 0.5, -1.0, 1.0), extra=[{"lambd": 1.0}]),
]
