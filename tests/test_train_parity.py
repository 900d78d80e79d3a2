"""Training parity: the same MLP and CNN in torch and chainrule, from the same initial weights and
data order, trained 20 steps with each optimizer in float64, end with parameters equal to 1e-8."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
tnn = torch.nn

STEPS = 20
BATCH = 16


def data():
    """Digit-like 8×8 images: class templates plus noise (deterministic, no download)."""
    rng = np.random.default_rng(0)
    templates = rng.random((10, 1, 8, 8))
    y = rng.integers(0, 10, STEPS * BATCH)
    x = templates[y] + 0.3 * rng.standard_normal((len(y), 1, 8, 8))
    order = rng.permutation(len(y))  # one data order, used by both
    return x[order], y[order]


def mlp(m):
    return m.Sequential(m.Flatten(), m.Linear(64, 32), m.ReLU(), m.Linear(32, 10))


def cnn(m):
    return m.Sequential(m.Conv2d(1, 4, 3, padding=1), m.ReLU(), m.MaxPool2d(2),
                        m.Conv2d(4, 8, 3, padding=1), m.ReLU(), m.Flatten(), m.Linear(128, 10))


OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1)),
    ("Adam", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.05, amsgrad=True)),
    ("RMSprop", dict(lr=1e-3, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.05, lr_decay=1e-3)),
    ("Adamax", dict(lr=1e-2)),
    ("NAdam", dict(lr=1e-2)),
    ("RAdam", dict(lr=1e-2, weight_decay=1e-3)),
]


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("opt_name,kw", OPTIMIZERS,
                         ids=[f"{o}-{i}" for i, (o, _) in enumerate(OPTIMIZERS)])
def test_training_parity(arch, opt_name, kw):
    make = {"mlp": mlp, "cnn": cnn}[arch]
    torch.manual_seed(0)
    tm = make(tnn).double()
    cm = make(nn).double()
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    init = [p.detach().numpy().copy() for p in tm.parameters()]
    topt = getattr(torch.optim, opt_name)(tm.parameters(), **kw)
    copt = getattr(cr.optim, opt_name)(cm.parameters(), **kw)
    x, y = data()
    losses = []
    for s in range(STEPS):
        xb, yb = x[s * BATCH:(s + 1) * BATCH], y[s * BATCH:(s + 1) * BATCH]
        tl = tnn.functional.cross_entropy(tm(torch.tensor(xb)), torch.tensor(yb))
        topt.zero_grad()
        tl.backward()
        topt.step()
        cl = nn.functional.cross_entropy(cm(cr.tensor(xb)), cr.tensor(yb))
        copt.zero_grad()
        cl.backward()
        copt.step()
        losses.append((tl.item(), cl.item()))
    for (name, tp), (name2, cp) in zip(tm.named_parameters(), cm.named_parameters()):
        assert name == name2
        diff = np.abs(cp.detach().numpy() - tp.detach().numpy()).max()
        assert diff < 1e-8, f"{name}: parameters differ by {diff:.3g} after {STEPS} steps"
    np.testing.assert_allclose([c for _, c in losses], [t for t, _ in losses], rtol=1e-9)
    moved = max(np.abs(p.detach().numpy() - a).max() for p, a in zip(cm.parameters(), init))
    assert moved > 1e-3  # it really trained (the comparison is not between frozen weights)


def test_main_demo_runs(tmp_path):
    """examples/train_digits.py end to end (few epochs): checkpoints, reload, plot, graph."""
    pytest.importorskip("sklearn")
    import importlib.util
    import os

    spec = importlib.util.spec_from_file_location(
        "train_digits", os.path.join(os.path.dirname(__file__), "..", "examples",
                                     "train_digits.py"))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    demo.main(["--out", str(tmp_path), "--epochs-mlp", "2", "--epochs-cnn", "1"])
    for name, epochs in (("mlp", 2), ("cnn", 1)):
        ck = cr.load(tmp_path / f"digits_{name}.ckpt")
        assert set(ck) == {"model", "optimizer", "scheduler", "epoch", "history"}
        assert ck["epoch"] == epochs and len(ck["history"]["test_acc"]) == epochs
        assert ck["history"]["test_acc"][-1] > 0.8  # even one epoch learns most digits
        model = demo.make_mlp() if name == "mlp" else demo.make_cnn()
        model.load_state_dict(ck["model"])
    pytest.importorskip("matplotlib")
    assert (tmp_path / "digits_training.png").stat().st_size > 10_000
