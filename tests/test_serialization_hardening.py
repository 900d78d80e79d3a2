"""chainrule.load against hostile files, chainrule.save against kills: bounded memory, every
malformed file a CheckpointError, no temporaries left behind."""

from __future__ import annotations

import io
import json
import math
import os
import random
import signal
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
import zlib
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn, serialization
from chainrule.serialization import CheckpointError

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def _npy(shape, descr="<f8", payload=b"", fortran=False, version=1) -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    header = header.ljust(118) + "\n"
    if version == 1:
        return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + payload
    size = len(header).to_bytes(4, "little")
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + payload


def _manifest(root) -> bytes:
    m = json.dumps({"format": serialization.FORMAT, "version": 1, "root": root}).encode()
    return _npy((len(m),), "|u1", m)


def _zip(path, members: dict, deflate=False):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as z:
        for k, v in members.items():
            z.writestr(k, v)


def _same(a, b) -> bool:
    if isinstance(a, cr.Tensor):
        return (isinstance(b, cr.Tensor) and type(a) is type(b) and a.dtype == b.dtype
                and a.shape == b.shape and a.requires_grad == b.requires_grad
                and np.array_equal(a._array, b._array, equal_nan=a.dtype.is_floating_point))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return (type(a) is type(b) and list(a) == list(b)
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


def _sample():
    g = cr.Generator().manual_seed(0) if hasattr(cr, "Generator") else None
    w = cr.randn(3, 4, generator=g) if g is not None else cr.tensor(np.arange(12.0).reshape(3, 4))
    return OrderedDict(
        w=w, again=w, p=nn.Parameter(cr.ones(2, dtype=cr.float64)),
        g=cr.tensor([1.5, -2.0], requires_grad=True),
        nested={"ints": cr.arange(5), 3: [cr.tensor(True), (None, "s", 2.5, float("nan"))]},
        half=cr.zeros(2, 2, dtype=cr.float16), dt=cr.int16,
        nd=np.arange(3, dtype=np.uint16), empty=cr.zeros(0, 3),
    )


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    d = tmp_path_factory.mktemp("ck")
    out = {}
    for compress in (False, True):
        p = d / f"c{compress}"
        cr.save(_sample(), p, compress=compress)
        out[compress] = p.read_bytes()
    return out


def test_round_trip_of_the_sample(blobs):
    for data in blobs.values():
        got = cr.load(io.BytesIO(data))
        assert _same(_sample(), got)
        assert got["w"] is got["again"]


_MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(0, 7)),
    st.tuples(st.just("set"), st.integers(0, 1 << 20), st.integers(0, 255)),
    st.tuples(st.just("trunc"), st.integers(0, 1 << 20), st.just(0)),
    st.tuples(st.just("del"), st.integers(0, 1 << 20), st.integers(1, 64)),
    st.tuples(st.just("ins"), st.integers(0, 1 << 20), st.integers(0, 255)),
)


@settings(derandomize=True, max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(compress=st.booleans(), mutations=st.lists(_MUTATION, min_size=1, max_size=3))
def test_corrupted_checkpoints_raise_checkpoint_error_or_load_correctly(blobs, compress,
                                                                        mutations):
    data = bytearray(blobs[compress])
    for kind, pos, arg in mutations:
        if not data:
            break
        pos %= len(data)
        if kind == "flip":
            data[pos] ^= 1 << arg
        elif kind == "set":
            data[pos] = arg
        elif kind == "trunc":
            del data[pos:]
        elif kind == "del":
            del data[pos:pos + arg]
        else:
            data[pos:pos] = bytes([arg]) * 3
    try:
        got = cr.load(io.BytesIO(bytes(data)))
    except CheckpointError:
        return
    assert _same(_sample(), got)  # a change the format does not depend on (e.g. a local name)


def _bad(tmp_path, members, deflate=False, **kw):
    p = tmp_path / "bad.ckpt"
    _zip(p, members, deflate)
    with pytest.raises(CheckpointError, match="bad.ckpt") as e:
        cr.load(p, **kw)
    return str(e.value)


@pytest.mark.parametrize("root", [
    [1, 2],                                         # bare list
    {"$": "tensor"},                                # no array name
    {"$": "tensor", "k": 3, "dtype": "float32", "shape": [2]},
    {"$": "tensor", "k": "t0", "dtype": "complex64", "shape": [2], "rg": False},
    {"$": "tensor", "k": "t0", "dtype": "float64", "shape": "2", "rg": False},
    {"$": "tensor", "k": "t0", "dtype": "float64", "shape": [3], "rg": False},
    {"$": "tensor", "k": "t0", "dtype": "float64", "shape": [2], "rg": "yes"},
    {"$": "tensor", "k": "t0", "dtype": "int64", "shape": [2], "rg": True},
    {"$": "tensor", "k": ["t0"], "dtype": "float64", "shape": [2]},
    {"$": "dict", "items": [[[1], 2]]},             # unhashable key
    {"$": "dict", "items": [[1, 2, 3]]},
    {"$": "dict", "items": 5},
    {"$": "list", "v": {"a": 1}},
    {"$": "float", "v": 1},
    {"$": "float", "v": "__import__('os')"},
    {"$": "dtype", "v": ["float32"]},
    {"$": "ndarray", "k": "nope"},
    {"$": "list", "v": [{"$": "ndarray", "k": "t0"}, {"$": "ndarray", "k": "t0"}]},
    {"$": "list", "v": [{"$": "ndarray", "k": "t0"},
                        {"$": "tensor", "k": "t0", "dtype": "float64", "shape": [2]}]},
    {"$": "pickle", "v": "x"},
])
def test_malformed_manifests(tmp_path, root):
    t0 = _npy((2,), "<f8", np.array([1.0, 2.0]).tobytes())
    _bad(tmp_path, {"__chainrule__.npy": _manifest(root), "t0.npy": t0})


def test_malformed_headers_and_json(tmp_path):
    for raw in (b"{not json", b"\xff\xfe", b"[" * 100_000, b'{"format": 1}',
                b'{"format":"chainrule.checkpoint","version":"1","root":null}',
                b'{"format":"chainrule.checkpoint","version":1,"root":' + b"9" * 5000 + b"}"):
        _bad(tmp_path, {"__chainrule__.npy": _npy((len(raw),), "|u1", raw)})
    man = {"__chainrule__.npy": _manifest({"$": "tensor", "k": "t0", "dtype": "float64",
                                           "shape": [2], "rg": False})}
    for t0 in (b"", b"\x93NUMPY", b"NOTNUMPY" + bytes(100), _npy((2,), "<f8", bytes(15)),
               _npy((2,), "<f8", bytes(17)), _npy((2,), "|O", bytes(16)),
               _npy((2,), "<c16", bytes(32)), _npy((-2,), "<f8", bytes(0)),
               _npy((2,), "[('a', '<f8')]", bytes(16)), _npy("(" * 5000, "<f8"),
               _npy((2,), "<f8", bytes(16), version=3)):
        _bad(tmp_path, dict(man, **{"t0.npy": t0}))
    # a manifest that is not bytes
    _bad(tmp_path, {"__chainrule__.npy": _npy((2,), "<f8", bytes(16))})


def test_recursion_bombs(tmp_path):
    text = '{"format":"chainrule.checkpoint","version":1,"root":' + \
        '{"$":"list","v":[' * 5000 + "null" + "]}" * 5000 + "}"
    msg = _bad(tmp_path, {"__chainrule__.npy": _npy((len(text),), "|u1", text.encode())})
    assert "nested" in msg or "manifest" in msg
    # what save writes, load reads; deeper nesting is refused at save time, not at load time
    ok: list = []
    for _ in range(serialization._MAX_DEPTH - 1):
        ok = [ok]
    cr.save(ok, tmp_path / "deep")
    assert cr.load(tmp_path / "deep") == ok
    cyc: list = []
    cyc.append(cyc)
    with pytest.raises(ValueError, match="nested more than"):
        cr.save(cyc, tmp_path / "cyc")


def test_huge_declared_shapes_are_refused_before_allocating(tmp_path):
    man = {"__chainrule__.npy": _manifest({"$": "ndarray", "k": "t0"})}
    for shape in ((1 << 40,), (1 << 62, 1 << 62), (10**30,)):
        msg = _bad(tmp_path, dict(man, **{"t0.npy": _npy(shape, "<f8", bytes(16))}))
        assert "holds 16 bytes" in msg
    # a member whose directory sizes lie about the file's length
    p = tmp_path / "bad.ckpt"
    _zip(p, dict(man, **{"t0.npy": _npy((4,), "<f8", bytes(32))}))
    data = bytearray(p.read_bytes())
    cut = data.rindex(b"PK\x01\x02")
    p.write_bytes(bytes(data[:cut - 20]) + bytes(data[cut:]))
    with pytest.raises(CheckpointError, match="bad.ckpt"):
        cr.load(p)


def _zero_deflate(n_mib: int) -> bytes:
    """A raw deflate stream of n_mib MiB of zeros, built without compressing them all."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    assert block == c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    return block * n_mib + b"\x03\x00"  # then an empty final block


def _bomb(path, npy_header: bytes, stream: bytes, size: int, crc: int = 0):
    """A zip whose t0.npy is ``npy_header`` then ``stream``, deflated, declaring ``size``
    unpacked bytes (zip64 sizes, written by hand so the directory can lie)."""
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = head.compress(npy_header) + head.flush(zlib.Z_FULL_FLUSH)
    member = body + stream
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("__chainrule__.npy", _manifest({"$": "ndarray", "k": "t0"}))
    whole = out.getvalue()
    first = whole[:whole.index(b"PK\x01\x02")]
    cd_first = whole[whole.index(b"PK\x01\x02"):whole.index(b"PK\x05\x06")]
    name, off, z64 = b"t0.npy", len(first), 0xFFFFFFFF
    # zip64 extra fields carry the real sizes (and, in the directory, the offset)
    extra = struct.pack("<HHQQ", 1, 16, size, len(member))
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 45, 0, 8, 0, 0, crc, z64, z64,
                        len(name), len(extra)) + name + extra
    cd = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 45, 0, 8, 0, 0, crc, z64, z64,
                     len(name), 28, 0, 0, 0, 0, z64) + name \
        + struct.pack("<HHQQQ", 1, 24, size, len(member), off)
    cds = cd_first + cd
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 2, 2, len(cds),
                      off + len(local) + len(member), 0)
    path.write_bytes(first + local + member + cds + end)


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_deflate_bomb_is_refused_with_bounded_memory(tmp_path):
    stream = _zero_deflate(1024)  # ~1 MiB of deflate, 1 GiB of zeros
    assert len(stream) < 2 << 20
    n = (1 << 30) // 8
    header = _npy((n,), "<f8")
    p = tmp_path / "bomb.ckpt"
    _bomb(p, header, stream, len(header) + (1 << 30))

    def refused():
        with pytest.raises(CheckpointError, match="bomb.ckpt.*over max_bytes"):
            cr.load(p)

    assert _peak(refused) < 16 << 20
    # the same bomb behind a header that declares 1 MiB: inflation stops right after it
    header = _npy(((1 << 20) // 8,), "<f8")
    _bomb(p, header, stream, len(header) + (1 << 20))

    def lying():
        with pytest.raises(CheckpointError, match="bomb.ckpt.*(longer|more bytes)"):
            cr.load(p)

    assert _peak(lying) < 16 << 20
    # and a directory that lies about the unpacked size: stopped at the declared size
    _bomb(p, header, stream, len(header) + (1 << 40))

    def lying_dir():
        with pytest.raises(CheckpointError, match="bomb.ckpt"):
            cr.load(p)

    assert _peak(lying_dir) < 16 << 20


def test_trusted_compressed_file_loads_within_its_size(tmp_path):
    mib = 64
    header = _npy(((mib << 20) // 8,), "<f8")
    crc = zlib.crc32(bytes(mib << 20), zlib.crc32(header))
    p = tmp_path / "zeros.ckpt"
    _bomb(p, header, _zero_deflate(mib), len(header) + (mib << 20), crc)
    with pytest.raises(CheckpointError, match="over max_bytes"):
        cr.load(p, max_bytes=mib << 19)
    got = {}
    peak = _peak(lambda: got.setdefault("a", cr.load(p, max_bytes=mib << 21)))
    a = got["a"]
    assert a.shape == ((mib << 20) // 8,) and not a.any()
    assert peak < (mib + 8) << 20  # the array itself plus bounded chunks: never a second copy
    with pytest.raises(TypeError, match="max_bytes"):
        cr.load(p, max_bytes=-1)


def test_stale_temporaries_are_removed_and_nothing_else(tmp_path):
    target = tmp_path / "model.ckpt"
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(done.stdout)
    host = serialization._HOST
    pre = serialization._tmp_prefix("model.ckpt")
    stale = tmp_path / f"{pre}{host}.{dead}.0123abcd.tmp"
    live = tmp_path / f"{pre}{host}.{os.getppid()}.0123abcd.tmp"  # a running process's
    other_host = tmp_path / f"{pre}{'f' * 8 if host != 'f' * 8 else '0' * 8}.{dead}.0123abcd.tmp"
    other_target = tmp_path / f"{serialization._tmp_prefix('other')}{host}.{dead}.0123abcd.tmp"
    lookalike = tmp_path / f".model.ckpt.{dead}.tmp"
    subdir = tmp_path / f"{pre}{host}.{dead}.0000abcd.tmp"
    locked = tmp_path / f"{pre}{host}.{dead}.1111abcd.tmp"  # a writer in another PID namespace
    for f in (stale, live, other_host, other_target, lookalike, locked):
        f.write_bytes(b"PK partial")
    subdir.mkdir()
    fcntl = pytest.importorskip("fcntl")
    with open(locked, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        cr.save({"a": cr.ones(3)}, target)
    left = set(os.listdir(tmp_path))
    assert stale.name not in left
    assert {live.name, other_host.name, other_target.name, lookalike.name, subdir.name,
            locked.name, "model.ckpt"} == left


_CHILD = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {src!r})
    import chainrule as cr
    target, mode = sys.argv[1], sys.argv[2]
    if mode == "die-in-fsync":  # a kill at a known point: after the data, before the rename
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
    k = 0
    while True:
        k += 1
        cr.save({{"k": k, "w": cr.full((1 << 20,), float(k))}}, target)
        if k == 1:
            print("ready", flush=True)
""")


def test_kill_mid_write_keeps_target_and_next_save_cleans_up(tmp_path):
    target = tmp_path / "ck"
    cr.save({"k": 0, "w": cr.full((1 << 20,), 0.0)}, target)
    child = _CHILD.format(src=SRC)
    rnd = random.Random(1234)
    modes = ["loop"] * 4 + ["die-in-fsync"]  # each child's first save clears earlier debris
    for mode in modes:
        p = subprocess.Popen([sys.executable, "-c", child, str(target), mode],
                             stdout=subprocess.PIPE, text=True)
        try:
            if mode == "loop":
                assert p.stdout.readline() == "ready\n"
                # a random point in the next few saves (each writes 8 MiB)
                try:
                    p.wait(timeout=rnd.uniform(0.0, 0.2))
                except subprocess.TimeoutExpired:
                    pass
                p.send_signal(signal.SIGKILL)
            assert p.wait(timeout=60) == -signal.SIGKILL
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
        got = cr.load(target)  # intact: one whole checkpoint, old or new
        assert got["w"].shape == (1 << 20,) and bool((got["w"] == float(got["k"])).all())
    assert any(".chainrule-save." in n for n in os.listdir(tmp_path))  # the fsync kill left one
    cr.save({"k": -1, "w": cr.full((1 << 20,), -1.0)}, target)
    assert os.listdir(tmp_path) == ["ck"]
    assert cr.load(target)["k"] == -1
