"""gradcheck / gradgradcheck: pass on correct rules, fail readably on a deliberately broken one."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import GradcheckError, gradcheck, gradgradcheck
from chainrule.ops import TABLE


def _x(*shape, seed=0):
    return cr.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


FUNCS = [
    lambda x, y: (x.sin() * y).sum(1),
    lambda x, y: (x @ y.T).tanh(),
    lambda x, y: (x.softmax(-1) * y.exp(), x.var()),
]


@pytest.mark.parametrize("k", range(len(FUNCS)))
@pytest.mark.parametrize("fast", [False, True])
def test_correct_rules_pass(k, fast):
    x, y = _x(2, 3), _x(2, 3, seed=1)
    assert gradcheck(FUNCS[k], (x, y), check_forward_ad=True, fast_mode=fast,
                     check_batched_grad=True, check_batched_forward_grad=True)
    assert gradgradcheck(FUNCS[k], (x, y), check_fwd_over_rev=True, fast_mode=fast)


def _broken_cos(monkeypatch, which: str):
    op = TABLE["cos"]
    bad = (lambda m, g, out, x: g * m.sin(x),)  # sign error: d cos = −sin
    if which in ("vjp", "both"):
        monkeypatch.setattr(op, "vjp", bad)
    if which in ("jvp", "both"):
        monkeypatch.setattr(op, "jvp", bad)


@pytest.mark.parametrize("fast", [False, True])
def test_wrong_backward_fails_readably(monkeypatch, fast):
    _broken_cos(monkeypatch, "vjp")
    x = _x(3)
    with pytest.raises(GradcheckError) as e:
        gradcheck(lambda x: x.cos() * 2, (x,), fast_mode=fast)
    msg = str(e.value)
    assert "Jacobian mismatch" in msg and "reverse mode" in msg
    if not fast:
        # the diagonal entries differ by 2·(2 sin x) = 4 sin x; the report lists them
        assert "3 of 9 entries differ" in msg
        s = np.sin(x._array)
        worst = int(np.argmax(np.abs(s)))
        assert f"[{worst}] / [{worst}]" in msg
        assert f"{-2 * s[worst]: .6g}" in msg and f"{2 * s[worst]: .6g}" in msg
    assert not gradcheck(lambda x: x.cos(), (x,), raise_exception=False, fast_mode=fast)
    # the forward rule is still right: checking forward mode alone passes
    assert gradcheck(lambda x: x.cos(), (x,), check_forward_ad=True, check_backward_ad=False,
                     fast_mode=fast)


def test_wrong_forward_rule_fails_only_forward(monkeypatch):
    _broken_cos(monkeypatch, "jvp")
    x = _x(2)
    assert gradcheck(lambda x: x.cos(), (x,))
    with pytest.raises(GradcheckError, match="forward mode"):
        gradcheck(lambda x: x.cos(), (x,), check_forward_ad=True)


def test_wrong_second_derivative_fails_gradgradcheck(monkeypatch):
    """sin's backward uses cos; breaking cos's backward breaks the second derivative of sin only."""
    x = _x(3)
    assert gradcheck(lambda x: x.sin(), (x,))
    _broken_cos(monkeypatch, "vjp")
    assert gradcheck(lambda x: x.sin(), (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradgradcheck(lambda x: x.sin(), (x,))


def test_warns_on_single_precision_and_needs_a_differentiable_input():
    x = cr.tensor([1.0, 2.0], requires_grad=True)  # float32
    with pytest.warns(UserWarning, match="not a double precision"):
        gradcheck(lambda x: x * 2, (x,), atol=1e-2, rtol=1e-2, eps=1e-3)
    with pytest.raises(ValueError, match="requires_grad=True"):
        gradcheck(lambda x: x * 2, (cr.ones(2),))


def test_batched_checks_catch_a_wrong_batching_rule(monkeypatch):
    """A batching rule that is off (here mul's, by 0.1%) passes the plain checks but fails the
    batched backward and batched forward checks."""
    from chainrule import _batching

    wrong = lambda op, ts, kw, level: _batching._elementwise(op, ts, kw, level) * 1.001
    monkeypatch.setitem(_batching.RULES, "mul", wrong)
    x = _x(3)
    f = lambda x: x.exp() * 2
    assert gradcheck(f, (x,), check_forward_ad=True)
    with pytest.raises(GradcheckError, match="Batched gradient mismatch for input 0"):
        gradcheck(f, (x,), check_batched_grad=True)
    with pytest.raises(GradcheckError, match="Batched forward-mode mismatch for output 0"):
        gradcheck(f, (x,), check_batched_forward_grad=True)
