"""Every op_db entry compiled vs eager: values, dtypes, gradients, second order (a subset)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from _check import float_outputs, flat_outputs, make_inputs
from op_db import OPS

CASES = [(info, k) for info in OPS for k in range(len(info.samples(info.rng())))]
BACKENDS = ["numpy"] + (["numba"] if cr.compile.numba_available() else [])
# numba compiles a kernel per fused run (~0.3 s each): sweep it over the elementwise entries only
_NUMBA_OPS = {"add", "sub", "mul", "neg", "exp", "tanh", "sin", "cos", "relu", "square"}
_COMPILED: dict = {}


def _run(info, s, fn, ins, diff, us, create=False):
    cr.manual_seed(0)
    res = fn(*ins)
    outs = [o for o in float_outputs(res) if o.requires_grad]
    grads = []
    if outs and diff:
        grads = cr.autograd.grad(outs, [ins[i] for i in diff],
                                 [cr.tensor(u) for u in us[:len(outs)]],
                                 allow_unused=True, create_graph=create)
    return res, grads


def _close(a, b, what):
    if a is None or b is None:
        assert a is None and b is None, what
        return
    a, b = np.asarray(a._array), np.asarray(b._array)
    assert a.dtype == b.dtype and a.shape == b.shape, what
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, equal_nan=True, err_msg=what)


#: (entry, backend): every entry on the NumPy backend; the numba sweep takes the elementwise
#: entries only (the rows numba fuses)
CASES = [(i, "numpy") for i in OPS] + [(i, "numba") for i in OPS if i.name in _NUMBA_OPS
                                       and "numba" in BACKENDS]


@pytest.mark.parametrize("info,backend", CASES, ids=lambda c: getattr(c, "name", c))
def test_compiled_matches_eager(info, backend, monkeypatch):
    if backend == "numba":
        from chainrule._compile import _numba

        monkeypatch.setattr(_numba, "_MIN_RUN", 1)  # fuse even a single row
    for k, s in enumerate(info.samples(info.rng())):
        ins, diff = make_inputs(s)
        rng = np.random.default_rng(k)
        cr.manual_seed(0)
        eager_res = info.fn(cr, *ins, **s.kwargs)
        us = [rng.standard_normal(tuple(o.shape)) for o in float_outputs(eager_res)
              if o.requires_grad]
        fn = cr.compile(lambda *a: info.fn(cr, *a, **s.kwargs), backend=backend)
        want, wgrads = _run(info, s, lambda *a: info.fn(cr, *a, **s.kwargs), ins, diff, us)
        for call in range(2):  # the trace (eager) and the replay
            got, ggrads = _run(info, s, fn, ins, diff, us)
            wo, go = flat_outputs(want), flat_outputs(got)
            assert len(wo) == len(go)
            for a, b in zip(wo, go):
                if isinstance(a, cr.Tensor):
                    _close(a, b, f"{info.name}[{k}] value, call {call}")
                    assert a.requires_grad == b.requires_grad
                else:
                    assert a == b
            for i, (a, b) in enumerate(zip(wgrads, ggrads)):
                _close(a, b, f"{info.name}[{k}] grad {i}, call {call}")
        st = fn.stats()
        _COMPILED[(info.name, k, backend)] = st["compiled"] > 0 and st["replays"] > 0
        if info.second_order and st["compiled"] and diff and us and k == 0:
            want2 = _second(info, s, lambda *a: info.fn(cr, *a, **s.kwargs), ins, diff, us)
            got2 = _second(info, s, fn, ins, diff, us)
            for a, b in zip(want2, got2):
                _close(a, b, f"{info.name}[{k}] second order")


def _second(info, s, fn, ins, diff, us):
    _, grads = _run(info, s, fn, ins, diff, us, create=True)
    tot = sum((g * g).sum() for g in grads if g is not None and g.requires_grad)
    if not isinstance(tot, cr.Tensor):
        return []
    return cr.autograd.grad(tot, [ins[i] for i in diff], allow_unused=True)


def test_most_entries_really_compile():
    """The sweep above is not vacuous: most samples replay a compiled program."""
    if not _COMPILED:
        pytest.skip("run with the sweep")
    ok = [k for k, v in _COMPILED.items() if v]
    assert len(ok) >= 0.85 * len(_COMPILED), sorted(k for k, v in _COMPILED.items() if not v)

