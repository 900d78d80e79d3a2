"""Rule-table rows: constant padding, and the public ``pad`` (constant, reflect, replicate,
circular) and ``meshgrid`` built from rows."""

from __future__ import annotations

import numpy as np

from .. import _ns
from .._dispatch import apply
from .._tensor import Tensor
from . import _index_checks as _ic
from ._public import public
from ._table import TABLE, defop


# ---- padding -------------------------------------------------------------------------------------
def _pad_widths(ndim, pad):
    if len(pad) % 2:
        raise RuntimeError(f"Padding length must be divisible by 2, got {len(pad)}")
    if len(pad) // 2 > ndim:
        raise RuntimeError(
            f"Padding length should be less than or equal to two times the input "
            f"dimension but got padding length {len(pad)} and input of dimension {ndim}"
        )
    w = [(0, 0)] * ndim
    for k in range(len(pad) // 2):
        w[ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    return w


def _constant_pad(x, pad, value=0.0):
    w = _pad_widths(x.ndim, pad)
    crop = tuple(slice(max(-a, 0), x.shape[i] - max(-b, 0)) for i, (a, b) in enumerate(w))
    y = x[crop]
    if any(s < 0 for s in y.shape) or any(x.shape[i] + a + b < 0 for i, (a, b) in enumerate(w)):
        raise RuntimeError(
            f"The input size {list(x.shape)}, plus negative padding {list(pad)} resulted "
            "in a negative output size, which is invalid."
        )
    out = np.full(tuple(n + max(a, 0) + max(b, 0) for n, (a, b) in zip(y.shape, w)), value, y.dtype)
    out[tuple(slice(max(a, 0), max(a, 0) + n) for n, (a, b) in zip(y.shape, w))] = y
    return out


defop(
    "constant_pad",
    _constant_pad,
    lambda m, g, out, x, pad, value=0.0: m.constant_pad(g, tuple(-p for p in pad), 0.0),
    lambda m, t, out, x, pad, value=0.0: m.constant_pad(t, pad, 0.0),
    dtype="keep",
    saves=(),
    method=False,
    public=False,
    cls="ConstantPadNd",
    formula="constant pad: the gradient is cropped back",
)

_NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@public("pad", method=False, ns="nn.functional")
def pad(input, pad, mode: str = "constant", value=None):
    """Pad the last ``len(pad) // 2`` dimensions (``pad`` lists the last dimension first).

    Example:
        >>> chainrule.nn.functional.pad(chainrule.ones(2), (1, 2))
        tensor([0., 1., 1., 0., 0.])
    """
    _ic.check_int64("pad", "pad", tuple(pad), TypeError)
    if mode == "constant":
        return apply(TABLE["constant_pad"], input, tuple(pad), 0.0 if value is None else value)
    if mode not in _NP_MODE:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    nd = len(pad) // 2
    if not 1 <= nd <= 3 or input.ndim not in (nd + 1, nd + 2):
        raise NotImplementedError(
            f"Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now "
            f"(got {mode} padding of {nd} dimension(s) for a {input.ndim}-D input)"
        )
    w = _pad_widths(input.ndim, pad)
    for i, (a, b) in enumerate(w):
        n = input.shape[i]
        if mode == "reflect" and (a >= n or b >= n):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input dimension, "
                f"but got: padding ({a}, {b}) at dimension {i} of input {list(input.shape)}"
            )
        if mode == "circular" and (a > n or b > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        cropped = n + min(a, 0) + min(b, 0)  # what circular padding wraps around
        if mode == "circular" and (n + a + b < 0 or (min(a, b) < 0 and cropped <= 0 < n + a + b)):
            raise RuntimeError(
                f"Negative padding value is resulting in an empty dimension (padding ({a}, {b}) "
                f"at dimension {i} of input {list(input.shape)})"
            )
        if mode != "circular" and n + a + b <= 0:
            raise RuntimeError(
                f"input ({'WHD'[input.ndim - 1 - i]}: {n}) is too small. Calculated output "
                f"{'WHD'[input.ndim - 1 - i]}: {n + a + b} ({mode} padding ({a}, {b}))"
            )
    # the padded tensor gathers from a fixed index map; take's rule gives the scatter-add backward.
    # Negative padding crops: circular before wrapping, reflect/replicate after padding (torch)
    pos = np.arange(input.numel(), dtype=np.int64).reshape(tuple(input.shape))
    crop = lambda p: p[tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(p.shape, w))]
    widths = [(max(a, 0), max(b, 0)) for a, b in w]
    if mode == "circular":
        idx = np.pad(crop(pos), widths, mode="wrap")
    else:
        idx = crop(np.pad(pos, widths, mode=_NP_MODE[mode]))
    return _ns.take(input, Tensor(idx))


# ---- meshgrid ------------------------------------------------------------------------------------
@public("meshgrid", method=False)
def meshgrid(*tensors, indexing: str = "ij"):
    """Coordinate grids from 1-D tensors (``indexing="ij"`` by default, as torch; or ``"xy"``)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(
                f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}D"
            )
    ts = [_ns.reshape(t, (-1,)) for t in tensors]
    n = len(ts)
    swap = indexing == "xy" and n >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    out = []
    for k, t in enumerate(ts):
        s = [1] * n
        s[k] = shape[k]
        out.append(_ns.expand(_ns.reshape(t, tuple(s)), shape))
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)
