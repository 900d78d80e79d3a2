"""``chainrule.save`` / ``chainrule.load``: checkpoints that never execute code when read.

Format: a NumPy ``.npz`` archive (a zip of ``.npy`` arrays, read with ``allow_pickle=False``)
holding one array per tensor (``t0``, ``t1`` …) and ``__chainrule__``, the UTF-8 bytes of a JSON
manifest that describes the saved object: dicts (with their key types), lists, tuples, numbers,
strings, dtypes and tensors (by array name, with dtype, shape, requires_grad, Parameter-ness). A
tensor reached twice is stored once and loads as one object, as torch. Zip members carry CRC-32
checks, so corrupted bytes are detected. Writes are atomic: temporary file in the same folder,
fsync, rename.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from . import _dtype
from ._creation import from_numpy
from ._tensor import Tensor

FORMAT = "chainrule.checkpoint"
VERSION = 1
_MANIFEST = "__chainrule__"


class CheckpointError(RuntimeError):
    """A file given to ``chainrule.load`` is not a readable chainrule checkpoint."""


def _encode(obj: Any, arrays: dict, seen: dict, path: str):
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
        if obj.dtype.kind not in "biuf":
            raise TypeError(f"chainrule.save: cannot save a NumPy array of dtype {obj.dtype} at "
                            f"{path}")
        key = f"t{len(arrays)}"
        arrays[key] = obj if obj.flags.c_contiguous else obj.copy()
        return {"$": "ndarray", "k": key}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), arrays, seen, path)
    if isinstance(obj, _dtype.dtype):
        return {"$": "dtype", "v": obj.name}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not (k is None or isinstance(k, (str, int, float, bool))):
                raise TypeError(f"chainrule.save: dict key {k!r} at {path} is a "
                                f"{type(k).__name__}; keys must be str, int, float, bool or None")
            items.append([k, _encode(v, arrays, seen, f"{path}[{k!r}]")])
        return {"$": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        vals = [_encode(v, arrays, seen, f"{path}[{i}]") for i, v in enumerate(obj)]
        return {"$": "tuple" if isinstance(obj, tuple) else "list", "v": vals}
    raise TypeError(
        f"chainrule.save: cannot save an object of type {type(obj).__name__} at {path} (only "
        "tensors, NumPy arrays, numbers, strings, None, dtypes and dicts/lists/tuples of them; "
        "save a module's state_dict(), not the module)"
    )


def save(obj: Any, f, *, compress: bool = False) -> None:
    """Save tensors, state dicts, and nested dicts/lists/tuples of them to ``f``.

    ``f`` is a path (written atomically: a crash never leaves a half-written file under that
    name) or a writable binary file object. Nothing is pickled.

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
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; a saved file is as open() makes it
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
    try:  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _decode(node: Any, arrays: Callable[[str], np.ndarray], made: dict, name: str):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        raise CheckpointError(f"{name}: malformed manifest (bare list)")
    kind = node.get("$")
    if kind == "tensor":
        key = node["k"]
        if key in made:
            return made[key]
        arr = arrays(key)
        if arr.dtype.name != _dtype.to_np(node["dtype"]).name or list(arr.shape) != node["shape"]:
            raise CheckpointError(
                f"{name}: array {key} is {arr.dtype}{list(arr.shape)} but the manifest says "
                f"{node['dtype']}{node['shape']} (the file is corrupted)"
            )
        if node.get("param"):
            from .nn.parameter import Parameter

            t: Tensor = Parameter(from_numpy(arr), requires_grad=node["rg"])
        else:
            t = from_numpy(arr)  # the array just read: no copy
            if node["rg"]:
                t.requires_grad_(True)
        made[key] = t
        return t
    if kind == "ndarray":
        return arrays(node["k"])
    if kind == "float":
        return float(node["v"])
    if kind == "dtype":
        return _dtype._by_name(node["v"])
    if kind in ("dict", "odict"):
        d = OrderedDict() if kind == "odict" else {}
        for k, v in node["items"]:
            d[k] = _decode(v, arrays, made, name)
        return d
    if kind in ("list", "tuple"):
        vals = [_decode(v, arrays, made, name) for v in node["v"]]
        return tuple(vals) if kind == "tuple" else vals
    raise CheckpointError(f"{name}: malformed manifest (unknown entry {kind!r})")


def load(f, *, map_location=None, weights_only: bool = True, mmap=None) -> Any:
    """Load what ``save`` wrote. Never unpickles: loading an untrusted file runs no code.

    Raises ``CheckpointError`` (a ``RuntimeError``) naming the file when it is truncated,
    corrupted, or not a chainrule checkpoint (e.g. a ``torch.save`` pickle).
    """
    if map_location not in (None, "cpu") and str(map_location) != "cpu":
        raise RuntimeError(f"chainrule.load: chainrule runs on the CPU only (map_location="
                           f"{map_location!r})")
    name = repr(getattr(f, "name", None) or "<file object>") if hasattr(f, "read") \
        else repr(os.fspath(f))
    if not hasattr(f, "read"):
        path = os.fspath(f)
        if not os.path.exists(path):
            raise FileNotFoundError(f"chainrule.load: no such file: {path!r}")
        with open(path, "rb") as fh:  # read from the file itself: no second copy in memory
            return _load_zip(fh, name)
    return _load_zip(f if hasattr(f, "seek") else io.BytesIO(f.read()), name)


def _load_zip(fh, name: str) -> Any:
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
    try:
        zf = zipfile.ZipFile(fh)
        members = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise CheckpointError(f"{name} is truncated or corrupted (unreadable zip archive: {e})") \
            from None
    if _MANIFEST + ".npy" not in members:
        if "data.pkl" in {m.rsplit("/", 1)[-1] for m in members}:
            raise CheckpointError(
                f"{name} is a PyTorch checkpoint (torch.save zip with pickled data): chainrule "
                "never unpickles; convert the weights through NumPy arrays instead (see "
                "examples/torch_weights.py)"
            )
        raise CheckpointError(f"{name} is a zip/npz archive but not a chainrule checkpoint (no "
                              f"{_MANIFEST} manifest)")

    def read(key: str) -> np.ndarray:
        try:
            with zf.open(key + ".npy") as fh:
                arr = np.lib.format.read_array(fh, allow_pickle=False)
                return arr if arr.flags.writeable else arr.copy()
        except KeyError:
            raise CheckpointError(f"{name}: array {key!r} named in the manifest is missing "
                                  "(the file is corrupted)") from None
        except ValueError as e:
            if "allow_pickle" in str(e):
                raise CheckpointError(
                    f"{name}: array {key!r} is a pickled object array; refused, since unpickling "
                    "could run code (not a file chainrule.save wrote)") from None
            raise CheckpointError(f"{name} is truncated or corrupted (array {key!r}: {e})") \
                from None
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise CheckpointError(f"{name} is truncated or corrupted (array {key!r}: {e})") \
                from None

    try:
        manifest = json.loads(bytes(read(_MANIFEST)).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{name} is corrupted (unreadable manifest: {e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{name} is not a chainrule checkpoint (bad manifest header)")
    if manifest.get("version", 0) > VERSION:
        raise CheckpointError(f"{name} was written by a newer chainrule (format version "
                              f"{manifest['version']} > {VERSION})")
    try:
        return _decode(manifest["root"], read, {}, name)
    except (KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{name} is corrupted (malformed manifest: {e!r})") from None
