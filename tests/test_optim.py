"""chainrule.optim vs torch.optim: every optimizer and option, schedulers, state dicts."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), (2, 2, 2)]


def run_both(cls_name, kwargs, steps=25, groups=None, sched=None):
    """Minimize a fixed quartic in both libraries; return the final parameters of each."""
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in SHAPES]
    targets = [rng.standard_normal(s) for s in SHAPES]
    tps = [torch.tensor(a, requires_grad=True) for a in init]
    cps = [cr.tensor(a, requires_grad=True) for a in init]

    def params(ps):
        if groups is None:
            return ps
        return [dict(params=ps[:1], **groups), {"params": ps[1:]}]

    topt = getattr(torch.optim, cls_name)(params(tps), **kwargs)
    copt = getattr(cr.optim, cls_name)(params(cps), **kwargs)
    tsch = csch = None
    if sched is not None:
        name, skw = sched
        tsch = getattr(torch.optim.lr_scheduler, name)(topt, **skw)
        csch = getattr(cr.optim.lr_scheduler, name)(copt, **skw)
    for _ in range(steps):
        for m, ps, opt, tg in ((torch, tps, topt, None), (cr, cps, copt, None)):
            opt.zero_grad()
            loss = 0
            for p, t in zip(ps, targets):
                d = p - m.tensor(t)
                loss = loss + (d * d * d * d).sum() * 0.1 + (d * d).sum()
            if kwargs.get("maximize"):  # maximize the negated loss: same minimum
                loss = -loss
            loss.backward()
            opt.step()
        if tsch is not None:
            tsch.step()
            csch.step()
            assert csch.get_last_lr() == pytest.approx(tsch.get_last_lr(), rel=1e-12)
    return [p.detach().numpy() for p in tps], [p.detach().numpy() for p in cps], topt, copt


CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.01, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, maximize=True, amsgrad=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, weight_decay=0.1, betas=(0.8, 0.99))),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.05)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
]


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_optimizer_matches_torch(name, kw):
    tps, cps, _, _ = run_both(name, kw)
    for t, c in zip(tps, cps):
        assert np.abs(t - c).max() < 1e-10
    # and the parameters really moved
    assert not np.allclose(tps[0], np.random.default_rng(0).standard_normal(SHAPES[0]))


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_param_groups(name):
    tps, cps, topt, copt = run_both(name, dict(lr=0.01, momentum=0.5) if name != "Adam"
                                    else dict(lr=0.01), groups=dict(lr=0.1))
    for t, c in zip(tps, cps):
        assert np.abs(t - c).max() < 1e-10
    assert [g["lr"] for g in copt.param_groups] == [0.1, 0.01]


def test_state_dict_round_trip_continues_identically(tmp_path):
    _, _, _, opt = run_both("Adam", dict(lr=0.05, amsgrad=True), steps=5)
    params = [p for g in opt.param_groups for p in g["params"]]
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    cr.save(sd, tmp_path / "opt.ckpt")
    clones = [cr.tensor(p.detach().numpy(), requires_grad=True) for p in params]
    opt2 = cr.optim.Adam(clones, lr=1.0)
    opt2.load_state_dict(cr.load(tmp_path / "opt.ckpt"))
    assert opt2.param_groups[0]["lr"] == 0.05 and opt2.param_groups[0]["amsgrad"]
    for o, ps in ((opt, params), (opt2, clones)):
        for _ in range(3):
            o.zero_grad()
            sum(((p - 1) ** 2).sum() for p in ps).backward()
            o.step()
    for a, b in zip(params, clones):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_state_dict_matches_torch_layout():
    _, _, topt, copt = run_both("SGD", dict(lr=0.05, momentum=0.9), steps=2)
    t, c = topt.state_dict(), copt.state_dict()
    assert list(t["state"]) == list(c["state"])
    assert set(t["state"][0]) == set(c["state"][0])
    np.testing.assert_allclose(c["state"][1]["momentum_buffer"].numpy(),
                               t["state"][1]["momentum_buffer"].numpy(), atol=1e-12)
    assert set(t["param_groups"][0]) <= set(c["param_groups"][0]) | {"fused", "foreach"}


def test_optimizer_errors():
    p = cr.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        cr.optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="empty parameter list"):
        cr.optim.Adam([])
    with pytest.raises(ValueError, match="non-leaf"):
        cr.optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="sets"):
        cr.optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        cr.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        cr.optim.SGD([p], lr=0.1, nesterov=True)
    opt = cr.optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})


def test_step_bumps_version_and_closure():
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = cr.optim.SGD([p], lr=0.1)
    y = (p * p).sum()
    p.grad = cr.ones(2)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == pytest.approx(0.9**2 + 1.9**2)


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda e: 1 / (e + 1))),
    ("LinearLR", dict(start_factor=0.25, total_iters=6)),
    ("ConstantLR", dict(factor=0.5, total_iters=4)),
    ("PolynomialLR", dict(total_iters=10, power=2.0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2, eta_min=0.001)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3)),
    ("OneCycleLR", dict(max_lr=0.05, total_steps=26)),
    ("OneCycleLR", dict(max_lr=[0.05, 0.02], total_steps=26, three_phase=True,
                        anneal_strategy="linear")),
]


@pytest.mark.parametrize("name,kw", SCHEDULERS,
                         ids=[f"{s[0]}-{i}" for i, s in enumerate(SCHEDULERS)])
@pytest.mark.parametrize("opt", ["SGD", "Adam"])
def test_scheduler_matches_torch(name, kw, opt):
    okw = dict(lr=0.05, momentum=0.9) if opt == "SGD" else dict(lr=0.05)
    groups = dict(lr=0.1) if isinstance(kw.get("max_lr"), list) else None
    tps, cps, topt, copt = run_both(opt, okw, steps=25, sched=(name, kw), groups=groups)
    for t, c in zip(tps, cps):
        assert np.abs(t - c).max() < 1e-10
    if name == "OneCycleLR":
        key = "momentum" if opt == "SGD" else "betas"
        assert copt.param_groups[0][key] == pytest.approx(topt.param_groups[0][key], rel=1e-12)


def test_sequential_and_plateau():
    def make(m):
        p = m.zeros(1, requires_grad=True)
        opt = m.optim.SGD([p], lr=1.0)
        ls = m.optim.lr_scheduler
        s = ls.SequentialLR(opt, [ls.LinearLR(opt, 0.1, total_iters=3),
                                  ls.ExponentialLR(opt, 0.5)], milestones=[4])
        return opt, s

    (to, ts), (co, cs) = make(torch), make(cr)
    for _ in range(10):
        to.step()
        co.step()
        ts.step()
        cs.step()
        assert cs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)

    metrics = [5, 4, 4, 4, 4, 3, 3.0, 3, 3, 3, 3, 2.99995, 1]
    for mode in ("min", "max"):
        res = []
        for m in (torch, cr):
            p = m.zeros(1, requires_grad=True)
            opt = m.optim.SGD([p], lr=1.0)
            s = m.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=2,
                                                       cooldown=1, min_lr=0.1)
            lrs = []
            for v in metrics:
                s.step(v)
                lrs.append(opt.param_groups[0]["lr"])
            res.append(lrs)
        assert res[0] == pytest.approx(res[1])


def test_scheduler_state_dict():
    p = cr.zeros(1, requires_grad=True)
    opt = cr.optim.SGD([p], lr=1.0)
    s = cr.optim.lr_scheduler.StepLR(opt, 2, 0.5)
    for _ in range(3):
        s.step()
    sd = s.state_dict()
    opt2 = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    s2 = cr.optim.lr_scheduler.StepLR(opt2, 5, 0.1)
    s2.load_state_dict(sd)
    opt2.load_state_dict(opt.state_dict())  # the lr lives in the optimizer, as torch
    assert s2.last_epoch == 3 and s2.step_size == 2
    s.step()
    s2.step()
    assert s.get_last_lr() == s2.get_last_lr() == [0.25]


def test_cosine_closed_form():
    p = cr.zeros(1, requires_grad=True)
    opt = cr.optim.SGD([p], lr=1.0)
    s = cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for e in range(1, 11):
        s.step()
        assert s.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi * e / 10)) / 2, abs=1e-12)


RESUMABLE = [s for s in SCHEDULERS  # (a LambdaLR's function is code: it is not saved)
             if s[0] != "LambdaLR" and not isinstance(s[1].get("max_lr"), list)]


@pytest.mark.parametrize("name,kw", RESUMABLE, ids=[f"{s[0]}-{i}" for i, s in enumerate(RESUMABLE)])
def test_scheduler_checkpoint_resume(tmp_path, name, kw):
    """Scheduler and optimizer state through chainrule.save/load: resuming continues exactly."""
    def make():
        p = cr.zeros(2, requires_grad=True)
        opt = cr.optim.SGD([p], lr=0.05, momentum=0.9)
        return p, opt, getattr(cr.optim.lr_scheduler, name)(opt, **kw)

    p, opt, s = make()
    for _ in range(5):
        opt.step()
        s.step()
    cr.save({"opt": opt.state_dict(), "sched": s.state_dict()}, tmp_path / "ck")
    p2, opt2, s2 = make()
    ck = cr.load(tmp_path / "ck")
    opt2.load_state_dict(ck["opt"])
    s2.load_state_dict(ck["sched"])
    for _ in range(6):
        opt.step()
        s.step()
        opt2.step()
        s2.step()
        assert s2.get_last_lr() == s.get_last_lr()


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad", "RMSprop", "NAdam"])
def test_add_param_group_later_matches_torch(name):
    res = []
    for m in (torch, cr):
        a = m.tensor([1.0, -2.0], dtype=m.float64, requires_grad=True)
        b = m.tensor([0.5, 3.0], dtype=m.float64, requires_grad=True)
        kw = dict(lr=0.1, momentum=0.9) if name in ("SGD", "RMSprop") else dict(lr=0.1)
        opt = getattr(m.optim, name)([a], **kw)
        for i in range(6):
            if i == 2:
                opt.add_param_group({"params": [b], "lr": 0.05})
            opt.zero_grad()
            ((a * a).sum() + (b * b * b).sum()).backward()
            opt.step()
        res.append(np.concatenate([a.detach().numpy(), b.detach().numpy()]))
    np.testing.assert_allclose(res[1], res[0], atol=1e-12)
