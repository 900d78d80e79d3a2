"""``chainrule.save`` / ``chainrule.load``: checkpoints that never execute code when read.

Format: a NumPy ``.npz`` archive (a zip of ``.npy`` arrays, readable with ``allow_pickle=False``)
holding one array per tensor (``t0``, ``t1`` …) and ``__chainrule__``, the UTF-8 bytes of a JSON
manifest that describes the saved object: dicts (with their key types), lists, tuples, numbers,
strings, dtypes and tensors (by array name, with dtype, shape, requires_grad, Parameter-ness). A
tensor reached twice is stored once and loads as one object, as torch.

Writes are atomic: a temporary file in the target's folder (named
``.<target>.chainrule-save.<host>.<pid>.<random>.tmp``), fsync, rename. A save killed mid-write
leaves the target intact; its temporary is removed by the next save to the same target once the
writing process is gone. Nothing else is ever deleted.

Reads trust nothing in the file: every size is checked against the bytes actually there and
against ``max_bytes`` before anything is allocated, deflate streams are inflated in bounded
steps, CRC-32 checks catch flipped bits, and every malformed file raises ``CheckpointError``.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import re
import secrets
import socket
import stat
import struct
import zipfile
import zlib
from collections import OrderedDict

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: liveness by PID only
    fcntl = None
from typing import Any, Callable

import numpy as np

from . import _dtype
from ._creation import from_numpy
from ._tensor import Tensor

FORMAT = "chainrule.checkpoint"
VERSION = 1
_MANIFEST = "__chainrule__"
# Deeper nesting is refused by save, so everything save writes load can read (the manifest's
# JSON nests about three levels per container, well inside Python's recursion limit).
_MAX_DEPTH = 100
_MIN_CAP = 256 << 20  # the default max_bytes: the larger of this and _CAP_RATIO × the file's size
_CAP_RATIO = 4
_CHUNK = 1 << 20
_DEFLATE_MAX_RATIO = 1032  # deflate cannot inflate one byte to more than this


class CheckpointError(RuntimeError):
    """A file given to ``chainrule.load`` is not a readable chainrule checkpoint."""


# -- save -----------------------------------------------------------------------------------------

def _encode(obj: Any, arrays: dict, seen: dict, path: str, depth: int = 0):
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            return {"$": "float", "v": repr(obj)}
        return obj
    if isinstance(obj, Tensor):
        key = seen.get(id(obj))
        if key is None:
            key = f"t{len(arrays)}"
            seen[id(obj)] = key
            arrays[key] = obj._array if obj._array.flags.c_contiguous else obj._array.copy()
        from .nn.parameter import Parameter

        return {"$": "tensor", "k": key, "dtype": obj.dtype.name, "shape": list(obj.shape),
                "rg": bool(obj.requires_grad), "param": isinstance(obj, Parameter)}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf" or obj.dtype.fields is not None:
            raise TypeError(f"chainrule.save: cannot save a NumPy array of dtype {obj.dtype} at "
                            f"{path}")
        key = f"t{len(arrays)}"
        arrays[key] = obj if obj.flags.c_contiguous else obj.copy()
        return {"$": "ndarray", "k": key}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), arrays, seen, path, depth)
    if isinstance(obj, _dtype.dtype):
        return {"$": "dtype", "v": obj.name}
    if isinstance(obj, (dict, list, tuple)) and depth >= _MAX_DEPTH:
        raise ValueError(f"chainrule.save: {path} is nested more than {_MAX_DEPTH} containers "
                         "deep (or contains itself)")
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not (k is None or isinstance(k, (str, int, float, bool))):
                raise TypeError(f"chainrule.save: dict key {k!r} at {path} is a "
                                f"{type(k).__name__}; keys must be str, int, float, bool or None")
            items.append([k, _encode(v, arrays, seen, f"{path}[{k!r}]", depth + 1)])
        return {"$": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        vals = [_encode(v, arrays, seen, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj)]
        return {"$": "tuple" if isinstance(obj, tuple) else "list", "v": vals}
    raise TypeError(
        f"chainrule.save: cannot save an object of type {type(obj).__name__} at {path} (only "
        "tensors, NumPy arrays, numbers, strings, None, dtypes and dicts/lists/tuples of them; "
        "save a module's state_dict(), not the module)"
    )


_TMP_TAG = "chainrule-save"
_HOST = format(zlib.crc32(socket.gethostname().encode("utf-8", "replace")), "08x")
_ACTIVE: set = set()  # temporaries this process is writing right now


def _tmp_prefix(base: str) -> str:
    # the target's name is shortened so the temporary's name stays under 255 bytes
    return f".{base[:100]}.{_TMP_TAG}."


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":  # os.kill(pid, 0) is no probe on Windows: assume it may be running
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but is not ours to signal
        return True
    return True


def _remove_stale(folder: str, base: str) -> None:
    """Remove temporaries of earlier saves to this target whose writer is gone.

    Only names of our exact pattern, only regular files, only this host's, never one a live
    process (or a save in flight in this one) may still be writing, and, where ``flock`` exists,
    never one whose writer still holds its lock (a writer in another PID namespace).
    """
    pat = re.compile(re.escape(_tmp_prefix(base)) + r"([0-9a-f]{8})\.(\d{1,10})\.[0-9a-f]{8}\.tmp")
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for entry in names:
        m = pat.fullmatch(entry)
        if m is None or m.group(1) != _HOST:
            continue
        full = os.path.join(folder, entry)
        pid = int(m.group(2))
        if full in _ACTIVE or (pid != os.getpid() and _alive(pid)):
            continue
        try:
            fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while its writer lives
            os.unlink(full)
        except OSError:
            pass
        finally:
            os.close(fd)


def _remove_active() -> None:  # at interpreter exit: a save interrupted in another thread
    for tmp in list(_ACTIVE):
        try:
            os.unlink(tmp)
        except OSError:
            pass
    _ACTIVE.clear()


atexit.register(_remove_active)


def _open_tmp(folder: str, base: str) -> tuple[int, str]:
    while True:
        name = f"{_tmp_prefix(base)}{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        tmp = os.path.join(folder, name)
        try:  # 0o666 less the umask: the saved file gets the mode open() would give it
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
        except FileExistsError:
            continue
        if fcntl is not None:  # held until the file is closed or the process dies
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                pass
        return fd, tmp


def save(obj: Any, f, *, compress: bool = False) -> None:
    """Save tensors, state dicts, and nested dicts/lists/tuples of them to ``f``.

    ``f`` is a path (written atomically: a crash never leaves a half-written file under that
    name, and a later save removes what a killed one left behind) or a writable binary file
    object. Nothing is pickled.

    Example:
        >>> net = chainrule.nn.Linear(3, 2)
        >>> chainrule.save(net.state_dict(), "linear.ckpt")
        >>> net.load_state_dict(chainrule.load("linear.ckpt"))
        <All keys matched successfully>
    """
    arrays: dict = {}
    root = _encode(obj, arrays, {}, "obj")
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "root": root},
                          allow_nan=False, separators=(",", ":"))
    arrays[_MANIFEST] = np.frombuffer(manifest.encode("utf-8"), dtype=np.uint8)
    writer = np.savez_compressed if compress else np.savez
    if hasattr(f, "write"):
        writer(f, allow_pickle=False, **arrays)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    _remove_stale(folder, base)
    fd, tmp = _open_tmp(folder, base)
    _ACTIVE.add(tmp)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer(fh, allow_pickle=False, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    finally:
        _ACTIVE.discard(tmp)
    try:  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# -- load -----------------------------------------------------------------------------------------

class _Budget:
    def __init__(self, cap: int, name: str) -> None:
        self.cap, self.used, self.name = cap, 0, name

    def take(self, nbytes: int, what: str) -> None:
        if self.used + nbytes > self.cap:
            raise CheckpointError(
                f"{self.name}: {what} needs {nbytes} bytes, which would make load allocate "
                f"{self.used + nbytes} bytes in all, over max_bytes={self.cap} (pass a larger "
                "max_bytes= to chainrule.load if you trust this file)")
        self.used += nbytes


class _Member:
    """One zip member's payload, stored or deflated, read in bounded steps with its CRC."""

    def __init__(self, fh, info: zipfile.ZipInfo, end: int, bad: Callable[[str], Exception]):
        self.bad = bad
        if info.flag_bits & 0x1:
            raise bad("is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise bad(f"uses an unsupported compression method {info.compress_type}")
        self.deflated = info.compress_type == zipfile.ZIP_DEFLATED
        if not self.deflated and info.file_size != info.compress_size:
            raise bad("declares different stored and unpacked sizes")
        fh.seek(info.header_offset)
        head = fh.read(30)
        if len(head) != 30 or head[:4] != b"PK\x03\x04":
            raise bad("has no local header where the directory says")
        n_name, n_extra = struct.unpack("<HH", head[26:30])
        start = info.header_offset + 30 + n_name + n_extra
        if start + info.compress_size > end:
            raise bad(f"claims {info.compress_size} bytes but the file ends first")
        fh.seek(start)
        self.fh, self.size, self.crc_want = fh, info.file_size, info.CRC
        self.left_in, self.out, self.crc = info.compress_size, 0, 0
        self.zd = zlib.decompressobj(-15) if self.deflated else None

    def _next(self, want: int) -> bytes:
        """At most ``want`` (≤ _CHUNK) bytes of payload; b"" at its end."""
        want = min(want, _CHUNK)
        if self.zd is None:
            k = min(want, self.left_in)
            data = self.fh.read(k)
            if len(data) != k:
                raise self.bad("is truncated")
            self.left_in -= k
        else:
            zd = self.zd
            while True:
                if zd.unconsumed_tail:
                    inp = zd.unconsumed_tail
                elif self.left_in > 0 and not zd.eof:
                    inp = self.fh.read(min(_CHUNK, self.left_in))
                    if not inp:
                        raise self.bad("is truncated")
                    self.left_in -= len(inp)
                else:
                    return b""
                try:  # bounded: a deflate bomb cannot make this grow past `want`
                    data = zd.decompress(inp, want)
                except zlib.error as e:
                    raise self.bad(f"has a corrupted deflate stream ({e})") from None
                if data or zd.eof:
                    break
        self.out += len(data)
        if self.out > self.size:
            raise self.bad("unpacks to more bytes than the directory says")
        self.crc = zlib.crc32(data, self.crc)
        return data

    def read(self, n: int) -> bytes:  # the file-like read numpy's header parser needs
        parts, got = [], 0
        while got < n:
            data = self._next(n - got)
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def readinto(self, view: memoryview) -> None:
        pos = 0
        while pos < len(view):
            data = self._next(len(view) - pos)
            if not data:
                raise self.bad("is truncated")
            view[pos:pos + len(data)] = data
            pos += len(data)

    def finish(self) -> None:
        if self._next(1):
            raise self.bad("is longer than its array header says")
        if self.out != self.size or (self.zd is not None and not self.zd.eof):
            raise self.bad("is truncated")
        if self.crc != self.crc_want:
            raise self.bad("fails its CRC-32 check")


def _read_npy(fh, info, end: int, budget: _Budget, name: str, key: str) -> np.ndarray:
    def bad(msg: str) -> CheckpointError:
        return CheckpointError(f"{name} is truncated or corrupted (array {key!r} {msg})")

    m = _Member(fh, info, end, bad)
    fmt = np.lib.format
    try:
        version = fmt.read_magic(m)
        if version == (1, 0):
            shape, fortran, dt = fmt.read_array_header_1_0(m, max_header_size=10000)
        elif version == (2, 0):
            shape, fortran, dt = fmt.read_array_header_2_0(m, max_header_size=10000)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except CheckpointError:
        raise
    except Exception as e:  # numpy's parser of untrusted bytes: any failure is a bad header
        raise bad(f"has an unreadable header: {type(e).__name__}: {e}") from None
    if dt.hasobject:
        raise CheckpointError(f"{name}: array {key!r} is a pickled object array; refused, since "
                              "unpickling could run code (not a file chainrule.save wrote)")
    if dt.kind not in "biuf" or dt.fields is not None or dt.subdtype is not None:
        raise bad(f"has an unsupported dtype {dt}")
    if len(shape) > 64 or any(d < 0 for d in shape):
        raise bad(f"declares an invalid shape {shape}")
    count = 1
    for d in shape:
        count *= d  # Python ints: a huge declared shape cannot overflow
    nbytes = count * dt.itemsize
    if nbytes != m.size - m.out:  # declared shape × dtype against the payload actually there
        raise bad(f"declares {dt}{list(shape)} ({nbytes} bytes) but holds {m.size - m.out} "
                  "bytes")
    packed = m.left_in + (len(m.zd.unconsumed_tail) if m.deflated else 0)
    if m.deflated and nbytes > _DEFLATE_MAX_RATIO * packed + 1024:
        raise bad(f"declares {nbytes} bytes, more than {packed} deflated bytes can hold")
    budget.take(nbytes, f"array {key!r} ({dt}{list(shape)})")
    arr = np.empty(count, dtype=dt)
    if nbytes:
        m.readinto(memoryview(arr).cast("B"))
    m.finish()
    if fortran:
        return arr.reshape(shape[::-1]).T
    return arr.reshape(shape)


def _check_node(cond: bool, name: str, what: str) -> None:
    if not cond:
        raise CheckpointError(f"{name} is corrupted (malformed manifest: {what})")


def _decode(node: Any, arrays: Callable[[str], np.ndarray], made: dict, name: str,
            depth: int = 0):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    _check_node(isinstance(node, dict), name, f"a bare {type(node).__name__}")
    _check_node(depth <= _MAX_DEPTH, name, f"nested more than {_MAX_DEPTH} deep")
    kind = node.get("$")
    if kind == "tensor":
        key = node.get("k")
        _check_node(isinstance(key, str), name, "tensor without an array name")
        if key in made:
            _check_node(isinstance(made[key], Tensor), name, f"array {key!r} named twice")
            return made[key]
        dname, shape = node.get("dtype"), node.get("shape")
        rg, param = node.get("rg", False), node.get("param", False)
        _check_node(isinstance(dname, str) and dname in _dtype._NAMES, name,
                    f"unknown dtype {dname!r}")
        _check_node(isinstance(shape, list) and all(type(d) is int for d in shape), name,
                    f"bad shape {shape!r}")
        _check_node(isinstance(rg, bool) and isinstance(param, bool), name, "bad flags")
        dt = _dtype._by_name(dname)
        _check_node(not rg or dt.is_floating_point, name,
                    f"requires_grad on a {dname} tensor")
        arr = arrays(key)
        if arr.dtype != dt.np or list(arr.shape) != shape:
            raise CheckpointError(
                f"{name}: array {key} is {arr.dtype}{list(arr.shape)} but the manifest says "
                f"{dname}{shape} (the file is corrupted)"
            )
        if param:
            from .nn.parameter import Parameter

            t: Tensor = Parameter(from_numpy(arr), requires_grad=rg)
        else:
            t = from_numpy(arr)  # the array just read: no copy
            if rg:
                t.requires_grad_(True)
        made[key] = t
        return t
    if kind == "ndarray":
        key = node.get("k")
        _check_node(isinstance(key, str) and key not in made, name, "bad ndarray entry")
        made[key] = arr = arrays(key)
        return arr
    if kind == "float":
        v = node.get("v")
        _check_node(v in ("nan", "inf", "-inf"), name, f"bad float {v!r}")
        return float(v)
    if kind == "dtype":
        v = node.get("v")
        _check_node(isinstance(v, str) and v in _dtype._NAMES, name, f"unknown dtype {v!r}")
        return _dtype._by_name(v)
    if kind in ("dict", "odict"):
        items = node.get("items")
        _check_node(isinstance(items, list), name, "dict without items")
        d = OrderedDict() if kind == "odict" else {}
        for item in items:
            _check_node(isinstance(item, list) and len(item) == 2, name, "bad dict item")
            k, v = item
            _check_node(k is None or isinstance(k, (str, int, float, bool)), name,
                        f"bad dict key {k!r}")
            d[k] = _decode(v, arrays, made, name, depth + 1)
        return d
    if kind in ("list", "tuple"):
        vals = node.get("v")
        _check_node(isinstance(vals, list), name, "list without values")
        out = [_decode(v, arrays, made, name, depth + 1) for v in vals]
        return tuple(out) if kind == "tuple" else out
    raise CheckpointError(f"{name}: malformed manifest (unknown entry {kind!r})")


def load(f, *, map_location=None, weights_only: bool = True, mmap=None,
         max_bytes: int | None = None) -> Any:
    """Load what ``save`` wrote. Never unpickles: loading an untrusted file runs no code.

    ``max_bytes`` caps the bytes the file's arrays (and manifest) may make ``load`` allocate; it
    is checked against each array's declared shape × dtype before anything is read or inflated.
    The default (``None``) is the larger of 256 MiB and 4 × the file's size, which every file
    ``save`` writes uncompressed passes; a ``compress=True`` checkpoint that inflates further
    (mostly zeros) needs an explicit, larger ``max_bytes``.

    Raises ``CheckpointError`` (a ``RuntimeError``) naming the file when it is truncated,
    corrupted, over ``max_bytes``, or not a chainrule checkpoint (e.g. a ``torch.save`` pickle).
    """
    if map_location not in (None, "cpu") and str(map_location) != "cpu":
        raise RuntimeError(f"chainrule.load: chainrule runs on the CPU only (map_location="
                           f"{map_location!r})")
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int)
                                  or max_bytes < 0):
        raise TypeError(f"chainrule.load: max_bytes must be a non-negative int or None, got "
                        f"{max_bytes!r}")
    name = repr(getattr(f, "name", None) or "<file object>") if hasattr(f, "read") \
        else repr(os.fspath(f))
    if not hasattr(f, "read"):
        path = os.fspath(f)
        if not os.path.exists(path):
            raise FileNotFoundError(f"chainrule.load: no such file: {path!r}")
        with open(path, "rb") as fh:  # read from the file itself: no second copy in memory
            return _load_zip(fh, name, max_bytes)
    seekable = hasattr(f, "seek") and (not hasattr(f, "seekable") or f.seekable())
    return _load_zip(f if seekable else io.BytesIO(f.read()), name, max_bytes)


def _load_zip(fh, name: str, max_bytes: int | None) -> Any:
    head = fh.read(4)
    fh.seek(-len(head), 1)
    if head != b"PK\x03\x04":
        hint = ""
        if head[:1] == b"\x80":
            hint = " (it looks like a pickle, e.g. an old torch.save file: never unpickled here)"
        elif not head:
            hint = " (the file is empty)"
        raise CheckpointError(f"{name} is not a chainrule checkpoint: it is not a zip/npz "
                              f"archive{hint}")
    here = fh.tell()
    end = fh.seek(0, 2)
    fh.seek(here)
    budget = _Budget(max(_MIN_CAP, _CAP_RATIO * end) if max_bytes is None else max_bytes, name)
    try:
        zf = zipfile.ZipFile(fh)
        infos = {i.filename: i for i in zf.infolist()}
    except Exception as e:  # the stdlib's parser of untrusted bytes raises a zoo of types
        raise CheckpointError(f"{name} is truncated or corrupted (unreadable zip archive: "
                              f"{type(e).__name__}: {e})") from None
    if _MANIFEST + ".npy" not in infos:
        if "data.pkl" in {m.rsplit("/", 1)[-1] for m in infos}:
            raise CheckpointError(
                f"{name} is a PyTorch checkpoint (torch.save zip with pickled data): chainrule "
                "never unpickles; convert the weights through NumPy arrays instead (see "
                "examples/torch_weights.py)"
            )
        raise CheckpointError(f"{name} is a zip/npz archive but not a chainrule checkpoint (no "
                              f"{_MANIFEST} manifest)")

    def read(key: str) -> np.ndarray:
        info = infos.get(key + ".npy")
        if info is None:
            raise CheckpointError(f"{name}: array {key!r} named in the manifest is missing "
                                  "(the file is corrupted)")
        try:
            return _read_npy(fh, info, end, budget, name, key)
        except (OSError, EOFError, ValueError, OverflowError) as e:
            raise CheckpointError(f"{name} is truncated or corrupted (array {key!r}: {e})") \
                from None

    raw = read(_MANIFEST)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"{name} is corrupted (the manifest is {raw.dtype}{raw.shape})")
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # JSONDecodeError, digits
        raise CheckpointError(f"{name} is corrupted (unreadable manifest: "
                              f"{type(e).__name__}: {e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{name} is not a chainrule checkpoint (bad manifest header)")
    version = manifest.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(f"{name} is corrupted (format version {version!r})")
    if version > VERSION:
        raise CheckpointError(f"{name} was written by a newer chainrule (format version "
                              f"{version} > {VERSION})")
    try:
        return _decode(manifest.get("root"), read, {}, name)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
        raise CheckpointError(f"{name} is corrupted (malformed manifest: {e!r})") from None
