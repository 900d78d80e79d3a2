"""chainrule.compile backends: the inline templates are the rows' own math; numba fusion (skipped
cleanly without numba) agrees with eager; without numba the NumPy backend is used."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule._compile import _numba
from chainrule._compile._templates import NS, TEMPLATES
from chainrule.ops import TABLE
from chainrule.ops._table import A


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_templates_equal_the_rows_bit_for_bit(name):
    op = TABLE[name]
    rng = np.random.default_rng(0)
    ins = [rng.standard_normal(5) for _ in range(op.nin)]
    names = [f"a{i}" for i in range(op.nin)]
    ns = dict(NS, **dict(zip(names, ins)))
    fwd_src = TEMPLATES[name][0](names, {})
    out = eval(fwd_src, ns)
    np.testing.assert_array_equal(out, op.fwd(*ins))
    g = rng.standard_normal(5)
    ns.update(g=g, out=out)
    for i, rule in enumerate(op.vjp):
        got = eval(TEMPLATES[name][1][i]("g", "out", names), ns)
        np.testing.assert_array_equal(got, rule(A, g, out, *ins))


def chain(x, w):
    y = x
    for _ in range(6):
        y = (y * 0.9 + w).tanh().sin() * y
        y = (-y).exp() * 0.5 + y.relu()
    return y.sum()


needs_numba = pytest.mark.skipif(not _numba.available(), reason="numba not installed")


@needs_numba
@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_numba_fuses_the_chain_and_matches_eager(dtype):
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.standard_normal(16) * 0.3, dtype=dtype, requires_grad=True)
    w = cr.tensor(rng.standard_normal(16) * 0.3, dtype=dtype, requires_grad=True)
    f = cr.compile(chain, backend="numba")
    want = chain(x, w)
    gw = cr.autograd.grad(want, (x, w))
    f(x, w)
    got = f(x, w)
    gg = cr.autograd.grad(got, (x, w))
    prog = f.entries()[0].prog
    assert prog.fused and len(prog.fused[0][0]) > 20  # one kernel for the elementwise run
    tol = 1e-4 if dtype is cr.float32 else 1e-12
    assert got.dtype == dtype
    np.testing.assert_allclose(got._array, want._array, rtol=tol)
    for a, b in zip(gg, gw):
        assert a.dtype == dtype
        np.testing.assert_allclose(a._array, b._array, rtol=tol, atol=tol)
    # higher order through a fused region: the traced rows are replayed differentiably
    (h,) = cr.autograd.grad(f(x, w), x, create_graph=True)
    (he,) = cr.autograd.grad(chain(x, w), x, create_graph=True)
    np.testing.assert_allclose(cr.autograd.grad(h.sum(), w)[0]._array,
                               cr.autograd.grad(he.sum(), w)[0]._array, rtol=tol, atol=tol)


def test_without_numba_the_numpy_backend_runs(monkeypatch):
    monkeypatch.setattr(_numba, "available", lambda: False)
    with pytest.warns(UserWarning, match="numba is not installed"):
        f = cr.compile(chain, backend="numba")
    x = cr.tensor(np.linspace(-1, 1, 8), requires_grad=True)
    w = cr.tensor(np.linspace(0, 1, 8), requires_grad=True)
    f(x, w)
    got = f(x, w)
    np.testing.assert_allclose(got._array, chain(x, w)._array, rtol=1e-13)
    assert f.backend == "numpy" and not f.entries()[0].prog.fused


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown backend"):
        cr.compile(chain, backend="tensorrt")
