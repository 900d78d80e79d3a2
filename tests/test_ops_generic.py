"""Generic tests over the op database: every op's rules against finite differences (float64),
reverse vs forward agreement, second order, forward values against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import _context
from chainrule.ops import TABLE
from _check import (
    EPS, assert_close, cotangents, dense, evaluate, float_outputs, forward, make_inputs,
    numeric_jvp, numeric_vjp, reverse,
)
from op_db import OPS

CASES = [(info, k) for info in OPS for k in range(len(info.samples(info.rng())))]
GRAD_CASES = [(i, k) for i, k in CASES if i.grad]


def _ids(case):
    return f"{case[0].name}-{case[1]}"


def _sample(info, k):
    return info.samples(info.rng())[k]


def test_op_db_covers_table():
    covered = {n for info in OPS for n in info.covers}
    missing = sorted(set(TABLE) - covered)
    assert not missing, f"rule-table ops with no op_db entry: {missing}"
    unknown = sorted(covered - set(TABLE))
    assert not unknown, f"op_db entries cover ops that are not in the rule table: {unknown}"


@pytest.mark.parametrize("info", [i for i in OPS if i.grad], ids=lambda i: i.name)
def test_op_db_entry_runs_its_ops(info):
    """Each differentiable op an entry claims to cover is really recorded when it runs."""
    seen = set()

    class Observe(_context.Mode):
        def on_node(self, node):
            seen.add(node.op.name)

    with _context.active(Observe()):
        for s in info.samples(info.rng()):
            ins, diff = make_inputs(s)
            outs = [o for o in float_outputs(info.fn(cr, *ins, **s.kwargs)) if o.requires_grad]
            if outs:  # ops that only run inside backward rules (scatter-adds) are recorded here
                cr.autograd.grad(outs, [ins[i] for i in diff], [cr.ones_like(o, requires_grad=True) for o in outs],
                                 allow_unused=True, create_graph=True)
    claimed = {n for n in info.covers if TABLE[n].diff}
    assert claimed <= seen, f"{info.name} claims {sorted(claimed - seen)} but never records them"


@pytest.mark.parametrize("case", [c for c in CASES if c[0].ref is not None], ids=_ids)
def test_forward_matches_numpy(case):
    info, k = case
    s = _sample(info, k)
    ins, _ = make_inputs(s, requires_grad=False)
    got = float_outputs(info.fn(cr, *ins, **s.kwargs))[0]._array
    want = info.ref(*s.args, **s.kwargs)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", GRAD_CASES, ids=_ids)
def test_reverse_rule_vs_finite_differences(case):
    info, k = case
    s = _sample(info, k)
    rng = np.random.default_rng(k)
    outs = evaluate(info, s, {})
    us = cotangents(rng, outs)
    _, diff, grads = reverse(info, s, us)
    num = numeric_vjp(info, s, diff, us)
    for i, g, n in zip(diff, grads, num):
        assert_close(dense(g, n), n, info, f"vJ for input {i}", s)


@pytest.mark.parametrize("case", [c for c in GRAD_CASES if c[0].fwd_ad], ids=_ids)
def test_forward_rule_vs_finite_differences(case):
    info, k = case
    s = _sample(info, k)
    rng = np.random.default_rng(100 + k)
    _, diff = make_inputs(s)
    vs = {i: rng.standard_normal(np.shape(s.args[i])) for i in diff}
    got = forward(info, s, vs)
    want = numeric_jvp(info, s, vs)
    for j, (a, b) in enumerate(zip(got, want)):
        assert_close(a, b, info, f"Jv for output {j}", s)


@pytest.mark.parametrize("case", [c for c in GRAD_CASES if c[0].fwd_ad], ids=_ids)
def test_reverse_and_forward_rules_agree(case):
    """<u, J v> from forward mode equals <J^T u, v> from reverse mode."""
    info, k = case
    s = _sample(info, k)
    rng = np.random.default_rng(200 + k)
    outs = evaluate(info, s, {})
    us = cotangents(rng, outs)
    _, diff, grads = reverse(info, s, us)
    vs = {i: rng.standard_normal(np.shape(s.args[i])) for i in diff}
    jv = forward(info, s, vs)
    lhs = sum(float(np.sum(u * t)) for u, t in zip(us, jv))
    rhs = sum(float(np.sum(dense(g, vs[i]) * vs[i])) for i, g in zip(diff, grads))
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9), f"{info.name}: <u,Jv> != <J^T u,v> for {s!r}"


@pytest.mark.parametrize("case", [c for c in GRAD_CASES if c[0].second_order], ids=_ids)
def test_second_order_reverse_over_reverse(case):
    """d/dx <vJ(x), w> by create_graph=True against finite differences of vJ."""
    info, k = case
    s = _sample(info, k)
    rng = np.random.default_rng(300 + k)
    us = cotangents(rng, evaluate(info, s, {}))
    ins, diff, grads = reverse(info, s, us, create_graph=True)
    ws = [rng.standard_normal(np.shape(s.args[i])) for i in diff]
    terms = [(g * cr.tensor(w)).sum() for g, w in zip(grads, ws) if g is not None and g.requires_grad]
    if terms:
        h = terms[0]
        for t in terms[1:]:
            h = h + t
        hess = cr.autograd.grad(h, [ins[i] for i in diff], allow_unused=True)
    else:
        hess = [None] * len(diff)

    def h_at(i, x):
        args = list(s.args)
        args[i] = x
        s2 = type(s)(*args, nograd=s.nograd, **s.kwargs)
        _, _, g2 = reverse(info, s2, us)
        return sum(float(np.sum(dense(g, w) * w)) for g, w in zip(g2, ws))

    for i, hg in zip(diff, hess):
        x = s.args[i]
        num = np.zeros(np.shape(x))
        for idx in np.ndindex(num.shape):
            xp, xm = x.copy(), x.copy()
            xp[idx] += EPS
            xm[idx] -= EPS
            num[idx] = (h_at(i, xp) - h_at(i, xm)) / (2 * EPS)
        assert_close(dense(hg, num), num, info, f"second derivative for input {i}", s)


@pytest.mark.parametrize("case", [c for c in GRAD_CASES if c[0].second_order and c[0].fwd_ad],
                         ids=_ids)
def test_second_order_forward_over_reverse(case):
    """Hessian-vector product by forward mode through the backward pass (jvp of vJ) equals
    reverse over reverse (the gradient of <vJ, w>): Σ_j ∂²<u, f>/∂x_i∂x_j w_j both ways."""
    from chainrule.autograd import forward_ad as fwad

    info, k = case
    s = _sample(info, k)
    rng = np.random.default_rng(400 + k)
    us = cotangents(rng, evaluate(info, s, {}))
    ins, diff = make_inputs(s)
    ws = {i: rng.standard_normal(np.shape(s.args[i])) for i in diff}
    with fwad.dual_level():
        duals = list(ins)
        for i in diff:
            duals[i] = fwad.make_dual(ins[i], cr.tensor(ws[i]))
        outs = float_outputs(info.fn(cr, *duals, **s.kwargs))
        pairs = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
        if not pairs:
            pytest.skip("no differentiable output")
        grads = cr.autograd.grad([o for o, _ in pairs], [duals[i] for i in diff],
                                 [cr.tensor(u) for _, u in pairs], allow_unused=True,
                                 create_graph=True)
        fwd = [None if g is None else fwad.unpack_dual(g).tangent for g in grads]
    ins2, _, grads2 = reverse(info, s, us, create_graph=True)
    terms = [(g * cr.tensor(ws[i])).sum() for i, g in zip(diff, grads2)
             if g is not None and g.requires_grad]
    if terms:
        h = terms[0]
        for t in terms[1:]:
            h = h + t
        rev = cr.autograd.grad(h, [ins2[i] for i in diff], allow_unused=True)
    else:
        rev = [None] * len(diff)
    for i, a, b in zip(diff, fwd, rev):
        want = dense(b, ws[i])
        assert_close(dense(a, ws[i]), want, info, f"forward-over-reverse Hv for input {i}", s)


def test_every_skipped_check_says_why():
    """An entry turns a generic check off only with a reason (``grad="boolean outputs"``)."""
    from op_db import SKIP_FLAGS, OpInfo

    with pytest.raises(ValueError, match="without a reason"):
        OpInfo("x", lambda m, a: a, lambda r: [], grad=False)
    for info in OPS:
        for flag in SKIP_FLAGS:
            assert getattr(info, flag) is (flag not in info.skipped), (info.name, flag)
