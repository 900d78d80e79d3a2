"""chainrule.save / chainrule.load: round trips, no pickle, atomic writes, clear errors."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.serialization import CheckpointError


def test_round_trip_nested(tmp_path):
    t = cr.randn(3, 4)
    obj = {
        "model": OrderedDict(w=t, b=cr.arange(5)),
        "step": 12, "lr": 1e-3, "name": "run-1", "flags": [True, None, float("inf")],
        "shared": [t, t], "pair": (cr.tensor(2.5, dtype=cr.float64), cr.zeros(0, 3)),
        3: "int key", 0.5: "float key", "dtype": cr.float16,
        "np": np.arange(4, dtype=np.int16), "scalar": cr.tensor(True),
        "u8": cr.tensor([1, 2], dtype=cr.uint8),
    }
    path = tmp_path / "ck.pt"
    cr.save(obj, path)
    out = cr.load(path)
    assert isinstance(out["model"], OrderedDict) and list(out["model"]) == ["w", "b"]
    np.testing.assert_array_equal(out["model"]["w"].numpy(), t.numpy())
    assert out["model"]["w"].dtype == cr.float32 and out["model"]["b"].dtype == cr.int64
    assert out["step"] == 12 and isinstance(out["step"], int) and out["lr"] == 1e-3
    assert out["flags"] == [True, None, float("inf")] and out["name"] == "run-1"
    assert out["shared"][0] is out["shared"][1] is out["model"]["w"]  # stored once
    assert isinstance(out["pair"], tuple) and out["pair"][0].dtype == cr.float64
    assert out["pair"][1].shape == (0, 3)
    assert out[3] == "int key" and out[0.5] == "float key" and out["dtype"] is cr.float16
    assert out["np"].dtype == np.int16 and isinstance(out["np"], np.ndarray)
    assert out["scalar"].dtype == cr.bool and out["scalar"].shape == ()
    assert out["u8"].dtype == cr.uint8


def test_loaded_tensors_are_writable(tmp_path):
    big = cr.randn(300, 300)
    cr.save({"w": big, "p": nn.Parameter(cr.ones(2))}, tmp_path / "w")
    out = cr.load(tmp_path / "w")
    out["w"]._array += 1  # in-place updates (optimizer steps) must work on loaded tensors
    np.testing.assert_allclose(out["w"].numpy(), big.numpy() + 1)
    opt = cr.optim.SGD([out["p"]], lr=0.5)
    out["p"].grad = cr.ones(2)
    opt.step()
    assert out["p"].tolist() == [0.5, 0.5]


def test_requires_grad_and_parameters(tmp_path):
    p = nn.Parameter(cr.ones(2))
    x = cr.ones(3, requires_grad=True)
    cr.save({"p": p, "x": x, "y": (x * 2)}, tmp_path / "a")
    out = cr.load(tmp_path / "a")
    assert isinstance(out["p"], nn.Parameter) and out["p"].requires_grad
    assert out["x"].requires_grad and out["x"].is_leaf
    assert out["y"].is_leaf and out["y"].tolist() == [2.0, 2.0, 2.0]


def test_model_state_dict_and_file_objects():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    buf = io.BytesIO()
    cr.save(net.state_dict(), buf)
    buf.seek(0)
    net2 = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    net2.load_state_dict(cr.load(buf))
    x = cr.randn(5, 3)
    net.eval()
    net2.eval()
    np.testing.assert_array_equal(net(x).detach().numpy(), net2(x).detach().numpy())
    assert net2[1].num_batches_tracked.dtype == cr.int64


def test_format_is_npz_without_pickle(tmp_path):
    path = tmp_path / "m.ckpt"
    cr.save({"w": cr.ones(2)}, path)
    with zipfile.ZipFile(path) as z:
        names = sorted(z.namelist())
    assert names == ["__chainrule__.npy", "t0.npy"]
    with np.load(path, allow_pickle=False) as z:  # readable by plain NumPy, no pickle needed
        assert z["t0"].tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="cannot save an object of type Linear"):
        cr.save(nn.Linear(2, 2), path)
    with pytest.raises(TypeError, match="never pickled"):
        pickle.dumps(cr.ones(2))


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "ck"
    cr.save({"v": cr.tensor([1.0])}, path)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        cr.save({"v": cr.tensor([2.0])}, path)
    monkeypatch.undo()
    assert cr.load(path)["v"].tolist() == [1.0]  # the old checkpoint survived intact
    assert os.listdir(tmp_path) == ["ck"]  # and no temporary file was left behind


def test_truncated_file(tmp_path):
    path = tmp_path / "ck"
    cr.save({"w": cr.randn(100, 100)}, path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 10):
        bad = tmp_path / f"cut{cut}"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=f"cut{cut}.*(truncated|corrupted)"):
            cr.load(bad)


def test_corrupted_bytes_detected(tmp_path):
    path = tmp_path / "ck"
    cr.save({"w": cr.zeros(1000)}, path)
    data = bytearray(path.read_bytes())
    i = data.index(b"\x00" * 64) + 32  # inside the array's payload
    data[i] ^= 0xFF
    bad = tmp_path / "flipped"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="flipped.*corrupted"):
        cr.load(bad)


def test_foreign_files(tmp_path):
    torch = pytest.importorskip("torch")
    tp = tmp_path / "torch.pt"
    torch.save({"w": torch.ones(2)}, tp)
    with pytest.raises(CheckpointError, match="torch.pt.*PyTorch checkpoint.*never unpickles"):
        cr.load(tp)
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="legacy.pt.*pickle"):
        cr.load(legacy)
    npz = tmp_path / "plain.npz"
    np.savez(npz, a=np.ones(2))
    with pytest.raises(CheckpointError, match="plain.npz.*not a chainrule checkpoint"):
        cr.load(npz)
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    with pytest.raises(CheckpointError, match="notes.txt' is not a chainrule checkpoint"):
        cr.load(txt)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        cr.load(empty)
    with pytest.raises(FileNotFoundError, match="nope"):
        cr.load(tmp_path / "nope")


def test_malicious_pickle_in_npz_is_never_run(tmp_path):
    """An npz whose array is a pickled object array: loading must refuse, not execute."""
    flag = tmp_path / "pwned"
    path = tmp_path / "evil.npz"

    class Evil:
        def __reduce__(self):
            return (open, (str(flag), "w"))

    arr = np.empty(1, dtype=object)
    arr[0] = Evil()
    manifest = b'{"format":"chainrule.checkpoint","version":1,"root":{"$":"ndarray","k":"t0"}}'
    np.savez(path, t0=arr, __chainrule__=np.frombuffer(manifest, np.uint8), allow_pickle=True)
    with pytest.raises(CheckpointError, match="evil.npz.*pickled object array; refused"):
        cr.load(path)
    assert not flag.exists()


def test_torch_weights_through_numpy():
    torch = pytest.importorskip("torch")
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 3))
    cm = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 3))
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(cm(cr.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), atol=1e-6)


def test_torch_weights_example_runs(capsys):
    pytest.importorskip("torch")
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "torch_weights", os.path.join(os.path.dirname(__file__), "..", "examples",
                                      "torch_weights.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main() == 0
    out = capsys.readouterr().out
    assert "<All keys matched successfully>" in out and "refused" in out and "OK" in out
