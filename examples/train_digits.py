"""Train an MLP and a small CNN on scikit-learn's handwritten digits with chainrule — the same code
you would write with PyTorch — then save a checkpoint, reload it and check it scores the same.

    pip install -e ".[examples]"      # numpy + scikit-learn, tqdm, matplotlib
    python examples/train_digits.py   # about half a minute on two cores

The digits (1,797 8×8 images, bundled with scikit-learn: no download) are split 80/20 with a
fixed seed. Written under ``--out`` (default ``out/``): the checkpoints, ``digits_training.png``
(loss and accuracy per epoch) and, when ``chainrule.viz`` is present, a picture of one training
step's computation graph.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import OrderedDict

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.utils.data import DataLoader, TensorDataset

try:
    from tqdm import tqdm
except ImportError:  # the demo still runs, with plain prints
    tqdm = None

TARGET = {"MLP": 0.95, "CNN": 0.97}


def load_digits(seed: int):
    """Images scaled to [0, 1] as (N, 1, 8, 8) float32, labels int64; a fixed 80/20 split."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    y = d.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = len(y) // 5
    test, train = order[:n_test], order[n_test:]
    return (cr.tensor(x[train]), cr.tensor(y[train])), (cr.tensor(x[test]), cr.tensor(y[test]))


def make_mlp() -> nn.Module:
    return nn.Sequential(OrderedDict(
        flatten=nn.Flatten(), fc1=nn.Linear(64, 128), relu=nn.ReLU(), fc2=nn.Linear(128, 10),
    ))


def make_cnn() -> nn.Module:
    return nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(1, 16, 3, padding=1), relu1=nn.ReLU(), pool=nn.MaxPool2d(2),  # 16×4×4
        conv2=nn.Conv2d(16, 32, 3, padding=1), relu2=nn.ReLU(),                       # 32×4×4
        flatten=nn.Flatten(), fc=nn.Linear(32 * 4 * 4, 10),
    ))


@cr.no_grad()
def evaluate(model: nn.Module, x: cr.Tensor, y: cr.Tensor) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on the whole set, in eval mode."""
    model.eval()
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, y).item()
    acc = (logits.argmax(1) == y).float().mean().item()
    model.train()
    return loss, acc


def train(name: str, model: nn.Module, train_set, test_set, epochs: int, lr: float, seed: int,
          out: str, draw_graph: bool) -> dict:
    x_test, y_test = test_set
    loader = DataLoader(TensorDataset(*train_set), batch_size=32, shuffle=True,
                        generator=cr.Generator().manual_seed(seed))
    opt = cr.optim.Adam(model.parameters(), lr=lr)
    sched = cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    hist: dict = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    bar = tqdm(range(1, epochs + 1), desc=f"{name:>3}", unit="epoch", ncols=100) if tqdm \
        else range(1, epochs + 1)
    t0 = time.perf_counter()
    for epoch in bar:
        total, correct, seen = 0.0, 0, 0
        for xb, yb in loader:
            logits = model(xb)
            loss = loss_fn(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if draw_graph:
                draw_step_graph(loss, model, os.path.join(out, f"{name.lower()}_step_graph"))
                draw_graph = False
            n = yb.shape[0]
            total += loss.item() * n
            correct += int((logits.argmax(1) == yb).sum().item())
            seen += n
        sched.step()
        test_loss, test_acc = evaluate(model, x_test, y_test)
        hist["train_loss"].append(total / seen)
        hist["train_acc"].append(correct / seen)
        hist["test_loss"].append(test_loss)
        hist["test_acc"].append(test_acc)
        stats = dict(loss=f"{total / seen:.4f}", acc=f"{correct / seen:.3f}",
                     test_acc=f"{test_acc:.3f}")
        if tqdm:
            bar.set_postfix(stats)
        else:
            print(f"{name} epoch {epoch:2d}/{epochs}  " + "  ".join(f"{k} {v}" for k, v in
                                                                   stats.items()))
    hist["seconds"] = time.perf_counter() - t0
    # checkpoint: model, optimizer, scheduler and history, in chainrule's pickle-free format
    path = os.path.join(out, f"digits_{name.lower()}.ckpt")
    cr.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "epoch": epochs, "history": hist}, path)
    hist["checkpoint"] = path
    return hist


def draw_step_graph(loss: cr.Tensor, model: nn.Module, stem: str) -> None:
    """A picture of the graph behind one training step's loss (only if chainrule.viz exists)."""
    try:
        from chainrule import viz
    except ImportError:
        return
    try:
        g = viz.graph(loss, params=dict(model.named_parameters()),
                      title="one training step: cross_entropy(model(x), y)")
        if viz.dot_available():
            path = g.render(stem + ".svg")
            path += ", " + g.render(stem + ".png")
        else:
            path = stem + ".svg"
            with open(path, "w") as f:
                f.write(g.builtin_svg())
        say(f"  graph of one training step → {path}")
    except Exception as e:  # a picture must never stop the training demo
        say(f"  (graph picture skipped: {e})")


def say(text: str) -> None:
    """Print without breaking a running progress bar."""
    if tqdm:
        tqdm.write(text, file=sys.stderr)
    else:
        print(text, file=sys.stderr)


def plot(histories: dict, path: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for name, h in histories.items():
        ep = range(1, len(h["train_loss"]) + 1)
        a1.plot(ep, h["train_loss"], label=f"{name} train")
        a1.plot(ep, h["test_loss"], "--", label=f"{name} test")
        a2.plot(ep, h["train_acc"], label=f"{name} train")
        a2.plot(ep, h["test_acc"], "--", label=f"{name} test")
    a1.set(title="cross-entropy loss", xlabel="epoch", yscale="log")
    lo = min(min(h["train_acc"] + h["test_acc"]) for h in histories.values())
    a2.set(title="accuracy", xlabel="epoch", ylim=(max(0.0, lo - 0.02), 1.005))  # all the data
    for a in (a1, a2):
        a.grid(alpha=0.3)
        a.legend()
    fig.suptitle("chainrule on scikit-learn digits")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="out", help="output folder (default: out/)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs-mlp", type=int, default=30)
    ap.add_argument("--epochs-cnn", type=int, default=20)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    cr.manual_seed(args.seed)
    train_set, test_set = load_digits(args.seed)
    print(f"digits: {len(train_set[1])} training and {len(test_set[1])} test images (8×8), "
          f"seed {args.seed}")

    results, histories = {}, {}
    for name, make, epochs, lr in (("MLP", make_mlp, args.epochs_mlp, 3e-3),
                                   ("CNN", make_cnn, args.epochs_cnn, 5e-3)):
        cr.manual_seed(args.seed)
        model = make()
        h = train(name, model, train_set, test_set, epochs, lr, args.seed, args.out,
                  draw_graph=(name == "CNN"))
        histories[name] = h
        # reload the checkpoint into a fresh model and score it again
        fresh = make()
        ckpt = cr.load(h["checkpoint"])
        fresh.load_state_dict(ckpt["model"])
        _, acc_reloaded = evaluate(fresh, *test_set)
        nparams = sum(p.numel() for p in model.parameters())
        results[name] = (nparams, epochs, h["seconds"], h["test_acc"][-1], acc_reloaded)

    png = os.path.join(args.out, "digits_training.png")
    plotted = plot(histories, png)

    print("\n  model   params  epochs   time   test acc   reloaded   target")
    ok = True
    for name, (n, ep, sec, acc, acc2) in results.items():
        good = acc >= TARGET[name] and acc2 == acc
        ok &= good
        print(f"  {name:5s} {n:8,d} {ep:7d} {sec:6.1f}s {acc:9.2%} {acc2:10.2%}   "
              f"≥{TARGET[name]:.0%} {'✓' if good else '✗'}")
    print("\n  checkpoints: " + ", ".join(h["checkpoint"] for h in histories.values()))
    if plotted:
        print(f"  plot:        {png}")
    print("\n" + ("All targets met; checkpoints reload to the same accuracy." if ok
                  else "A target was missed (see ✗ above)."))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
