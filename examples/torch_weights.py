"""Move weights between PyTorch and chainrule through NumPy arrays — never through pickle.

    python examples/torch_weights.py

1. Build the same model in both libraries (same module names → same state_dict keys).
2. torch → chainrule: ``{k: chainrule.tensor(v.numpy())}`` and ``load_state_dict``.
3. Save with ``chainrule.save`` (an .npz + JSON manifest that never runs code when loaded), load it
   back, and check both libraries compute the same outputs and gradients.
4. chainrule → torch: ``{k: torch.from_numpy(v.numpy())}``.

(``load_state_dict`` also takes torch's tensors directly and converts them through NumPy the same
way: ``cmodel.load_state_dict(tmodel.state_dict())``.)

A ``torch.save`` file is a pickle: ``chainrule.load`` refuses it with a clear error rather than
unpickling it. If you have one, load it in PyTorch (with ``weights_only=True``) and convert as here.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

import chainrule as cr
from chainrule.serialization import CheckpointError


def build(nn):
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 32), nn.GELU(), nn.LayerNorm(32), nn.Linear(32, 10),
    )


def main() -> int:
    try:
        import torch
    except ImportError:
        print("this example needs PyTorch: pip install torch")
        return 1
    torch.manual_seed(0)
    tmodel = build(torch.nn).eval()
    cmodel = build(cr.nn).eval()

    # torch → chainrule, through NumPy (BatchNorm's running stats and counter come along)
    state = {k: cr.tensor(v.detach().numpy()) for k, v in tmodel.state_dict().items()}
    print(cmodel.load_state_dict(state))  # strict: every key must match, with the same shapes

    # a pickle-free checkpoint, written atomically
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "converted.ckpt")
    cr.save(cmodel.state_dict(), path)
    reloaded = build(cr.nn).eval()
    reloaded.load_state_dict(cr.load(path))

    x = np.random.default_rng(0).standard_normal((4, 1, 8, 8)).astype(np.float32)
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    ty, cy = tmodel(tx), reloaded(cx)
    ty.logsumexp(1).sum().backward()
    cy.logsumexp(1).sum().backward()
    out_err = np.abs(cy.detach().numpy() - ty.detach().numpy()).max()
    grad_err = np.abs(cx.grad.numpy() - tx.grad.numpy()).max()
    print(f"max |output difference|   = {out_err:.2e}")
    print(f"max |input-grad difference| = {grad_err:.2e}")

    # chainrule → torch
    back = build(torch.nn).eval()
    back.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                          for k, v in reloaded.state_dict().items()})
    round_trip = max((a - b).abs().max().item()
                     for a, b in zip(back.state_dict().values(), tmodel.state_dict().values()))
    print(f"torch → chainrule → file → chainrule → torch: max weight change {round_trip:.1e}")

    # and a torch.save file is refused, never unpickled
    tpath = os.path.join(folder, "model.pt")
    torch.save(tmodel.state_dict(), tpath)
    try:
        cr.load(tpath)
    except CheckpointError as e:
        print(f"chainrule.load(torch file) refused: {e}")
    ok = out_err < 1e-4 and grad_err < 1e-4 and round_trip == 0
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
