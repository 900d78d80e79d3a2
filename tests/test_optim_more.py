"""Adadelta, Rprop, ASGD and LBFGS (with and without the strong-Wolfe line search) follow torch's
iterates from the same start, in float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(0)
A = _RNG.normal(size=(6, 4))
B = _RNG.normal(size=6)
W0 = _RNG.normal(size=4)

CASES = {
    "adadelta": (lambda L, w: L.optim.Adadelta([w], lr=1.0, weight_decay=0.01), False),
    "adadelta_max": (lambda L, w: L.optim.Adadelta([w], rho=0.5, maximize=True), False),
    "rprop": (lambda L, w: L.optim.Rprop([w], lr=0.05), False),
    "rprop_etas": (lambda L, w: L.optim.Rprop([w], lr=0.3, etas=(0.3, 1.5),
                                              step_sizes=(1e-3, 0.5)), False),
    "asgd": (lambda L, w: L.optim.ASGD([w], lr=0.01, t0=2, weight_decay=0.1), False),
    "lbfgs": (lambda L, w: L.optim.LBFGS([w], lr=1, max_iter=5), True),
    "lbfgs_wolfe": (lambda L, w: L.optim.LBFGS([w], max_iter=10, history_size=3,
                                               line_search_fn="strong_wolfe"), True),
}


def _run(lib, make, closure_style, dtype, steps=6):
    w = lib.tensor(W0.astype(dtype), requires_grad=True)
    a, b = lib.tensor(A.astype(dtype)), lib.tensor(B.astype(dtype))
    opt = make(lib, w)
    losses = []

    def closure():
        opt.zero_grad()
        loss = ((a @ w - b) ** 2).sum() + 0.1 * (w ** 4).sum()
        loss.backward()
        return loss

    for _ in range(steps):
        if closure_style:
            losses.append(opt.step(closure).item())
        else:
            losses.append(closure().item())
            opt.step()
    return np.array(losses), w.detach().numpy().copy(), opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name, dtype):
    make, closure_style = CASES[name]
    lt, wt, _ = _run(torch, make, closure_style, dtype)
    lc, wc, _ = _run(cr, make, closure_style, dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(lc, lt, rtol=tol, atol=tol)
    np.testing.assert_allclose(wc, wt, rtol=10 * tol, atol=10 * tol)
    assert wc.dtype == dtype


def test_lbfgs_counts_evaluations_like_torch():
    make, _ = CASES["lbfgs_wolfe"]
    _, _, ot = _run(torch, make, True, np.float64, steps=2)
    _, _, oc = _run(cr, make, True, np.float64, steps=2)
    st, sc = next(iter(ot.state.values())), next(iter(oc.state.values()))
    assert (sc["func_evals"], sc["n_iter"]) == (st["func_evals"], st["n_iter"])


def test_lbfgs_needs_a_closure_and_one_group():
    w = cr.zeros(2, requires_grad=True)
    opt = cr.optim.LBFGS([w])
    with pytest.raises(TypeError):
        opt.step()  # as torch: the closure is a required argument
    with pytest.raises(RuntimeError, match="closure"):
        opt.step(None)
    with pytest.raises(ValueError, match="per-parameter options"):
        cr.optim.LBFGS([{"params": [w]}, {"params": [cr.zeros(1, requires_grad=True)]}])


@pytest.mark.parametrize("make, match", [
    (lambda w: cr.optim.Adadelta([w], rho=1.5), "Invalid rho value"),
    (lambda w: cr.optim.Rprop([w], etas=(1.5, 1.2)), "Invalid eta values"),
    (lambda w: cr.optim.ASGD([w], lr=-1), "Invalid learning rate"),
    (lambda w: cr.optim.LBFGS([w], lr=-1), "Invalid learning rate"),
])
def test_argument_checks(make, match):
    with pytest.raises(ValueError, match=match):
        make(cr.zeros(2, requires_grad=True))


def test_state_dict_names_match_torch():
    for name in ("adadelta", "rprop", "asgd"):
        make, _ = CASES[name]
        _, _, ot = _run(torch, make, False, np.float32, steps=1)
        _, _, oc = _run(cr, make, False, np.float32, steps=1)
        assert set(oc.state_dict()["state"][0]) == set(ot.state_dict()["state"][0])
        assert set(oc.state_dict()["param_groups"][0]) <= set(ot.state_dict()["param_groups"][0])
