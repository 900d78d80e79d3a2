"""Runs the programs of this folder and writes what they report, for tests/test_torchcompat.py.

    python _driver.py OUTDIR CASE…                               # with the real torch
    python -m chainrule.torchcompat _driver.py OUTDIR CASE…      # the same files on chainrule

For each case it builds the model, saves its initial state to OUTDIR/CASE.npz (or, when that file
exists, loads it: so both runs start from the same weights), runs the program, and writes
OUTDIR/CASE.<framework>.json. The programs themselves only ``import torch``.
"""

import importlib
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

CASES = {
    "gpt": ("prog_gpt", {}),
    "gpt_manual_attention": ("prog_gpt", {"flash": False}),
    "char_lstm": ("prog_char_rnn", {"cell": "LSTM"}),
    "char_gru": ("prog_char_rnn", {"cell": "GRU"}),
    "mnist_net": ("prog_mnist", {}),
    "polynomial_manual": ("prog_autograd_tutorial", {"kind": "manual"}),
    "polynomial_autograd": ("prog_autograd_tutorial", {"kind": "autograd"}),
    "legendre_function": ("prog_autograd_tutorial", {"kind": "legendre"}),
    "linreg_scratch": ("prog_d2l", {"kind": "linreg_scratch"}),
    "linreg_concise": ("prog_d2l", {"kind": "linreg_concise"}),
    "softmax_regression": ("prog_d2l", {"kind": "softmax"}),
    "lenet": ("prog_d2l", {"kind": "lenet"}),
}


def _export(obj) -> dict:
    items = obj.state_dict().items() if isinstance(obj, torch.nn.Module) else obj.items()
    return {k: v.detach().cpu().numpy() for k, v in items}


def _load(obj, arrays) -> None:
    values = {k: torch.from_numpy(np.array(arrays[k])) for k in arrays.files}
    if isinstance(obj, torch.nn.Module):
        obj.load_state_dict(values)
    else:
        with torch.no_grad():
            for k, v in values.items():
                obj[k].copy_(v)


def run_case(case: str, outdir: str) -> dict:
    modname, kwargs = CASES[case]
    mod = importlib.import_module(modname)
    torch.manual_seed(0)
    obj = mod.build(**kwargs)
    init = os.path.join(outdir, case + ".npz")
    if os.path.exists(init):
        _load(obj, np.load(init))
    else:
        np.savez(init, **_export(obj))
    return mod.run(obj)


def main() -> None:
    outdir, cases = sys.argv[1], sys.argv[2:]
    framework = "chainrule" if torch.__name__ == "chainrule" or "chainrule" in torch.__file__ \
        else "torch"
    for case in cases:
        try:
            res = {"ok": True, **run_case(case, outdir)}
        except Exception as e:  # reported per case, so one failure does not hide the others
            import traceback

            res = {"ok": False, "error": f"{type(e).__name__}: {e}",
                   "traceback": traceback.format_exc()}
        with open(os.path.join(outdir, f"{case}.{framework}.json"), "w") as f:
            json.dump(res, f)


if __name__ == "__main__":
    main()
