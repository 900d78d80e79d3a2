"""``chainrule.torchcompat``: PyTorch programs run unchanged with chainrule as ``torch`` and train
to the same losses as the real torch from the same initial weights.

The programs (tests/programs/prog_*.py, written in the style of nanoGPT, the PyTorch examples and
tutorials, and d2l) only ``import torch``. ``_driver.py`` builds each model, saves its initial
state, runs it and writes what it reports; it runs here with the real torch (in a subprocess, so
the hooked run cannot disturb this process's torch) and under ``python -m chainrule.torchcompat``.
Dropout is at p=0 and batches are not shuffled, because the random streams differ from torch's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "programs"
sys.path.insert(0, str(PROGRAMS))
from _driver import CASES  # noqa: E402

sys.path.remove(str(PROGRAMS))


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


def _py(*args, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=_env(),
                          timeout=timeout, cwd=str(ROOT))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("programs")
    driver = str(PROGRAMS / "_driver.py")
    r = _py(driver, str(out), *CASES)  # the real torch first: it writes the initial weights
    assert r.returncode == 0, r.stderr
    r = _py("-m", "chainrule.torchcompat", driver, str(out), *CASES)
    assert r.returncode == 0, r.stderr
    res = {}
    for case in CASES:
        res[case] = {fw: json.loads((out / f"{case}.{fw}.json").read_text())
                     for fw in ("torch", "chainrule")}
    return res


@pytest.mark.parametrize("case", sorted(CASES))
def test_program_matches_torch(results, case):
    t, c = results[case]["torch"], results[case]["chainrule"]
    assert t["ok"], t.get("traceback")
    assert c["ok"], c.get("traceback")
    assert set(c) == set(t)
    for key, tv in t.items():
        cv = c[key]
        if isinstance(tv, list) and tv and isinstance(tv[0], float) or isinstance(tv, float):
            np.testing.assert_allclose(cv, tv, rtol=2e-4, atol=1e-6, err_msg=f"{case}: {key}")
        else:
            assert cv == tv, f"{case}: {key}"
    assert len(t["losses"]) >= 3
    assert t["losses"][-1] != t["losses"][0]  # it trained


# ---- the hook itself -----------------------------------------------------------------------
_HOOKED = r"""
import sys, chainrule
import torch as real
with chainrule.as_torch():
    import torch, torch.nn as nn, torch.nn.functional as F
    import torch.optim, torch.optim.lr_scheduler, torch.utils.data, torch.autograd
    import torch.func, torch.linalg, torch.nn.init, torch.backends.cudnn, torch.testing
    import torch.cuda.amp, torch.amp, torch.utils.data.sampler
    from torch.utils.data.dataloader import DataLoader
    from torch.nn.modules.linear import Linear
    assert torch is chainrule and nn is chainrule.nn and F is chainrule.nn.functional
    assert torch.optim.lr_scheduler is chainrule.optim.lr_scheduler
    assert DataLoader is chainrule.utils.data.DataLoader and Linear is chainrule.nn.Linear
    import torch.distributed
    assert torch.distributed is chainrule.distributed
    try:
        import torch.fx
    except ModuleNotFoundError as e:
        assert "torch.fx" in str(e) and "chainrule" in str(e), e
        assert e.name == "torch.fx"
    else:
        raise AssertionError("torch.fx imported")
    # chainrule's own lazy imports still work while its modules answer to torch's names
    torch.nn.Linear(2, 2)(torch.randn(1, 2)).sum().backward()
import torch
assert torch is real and "chainrule" not in torch.__file__
assert sys.modules["torch.nn"] is real.nn
print("ok")
"""


def test_as_torch_and_restore():
    r = _py("-c", _HOOKED)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_module_runs_a_script_with_arguments(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import sys, torch\nprint(torch.__name__, sys.argv[1:], __name__)\n")
    r = _py("-m", "chainrule.torchcompat", str(script), "--lr", "3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "chainrule ['--lr', '3'] __main__"
    r = _py("-m", "chainrule.torchcompat")
    assert r.returncode == 2 and "usage" in r.stderr


def test_module_form(tmp_path):
    pkg = tmp_path / "pkgx"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "run.py").write_text("import sys, torch.nn as nn\nprint(nn.__name__, sys.argv[1:])\n")
    env_cwd = dict(cwd=str(tmp_path))
    r = subprocess.run([sys.executable, "-m", "chainrule.torchcompat", "-m", "pkgx.run", "a"],
                       capture_output=True, text=True, env=_env(), timeout=120, **env_cwd)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "chainrule.nn ['a']"


def test_missing_submodule_is_a_clear_import_error(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import torch.distributions\n")
    r = _py("-m", "chainrule.torchcompat", str(script))
    assert r.returncode != 0
    assert "ModuleNotFoundError: No module named 'torch.distributions'" in r.stderr
    assert "chainrule" in r.stderr
