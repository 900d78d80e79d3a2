"""Resampling in ``chainrule.nn.functional``: ``pixel_shuffle``/``pixel_unshuffle`` and
``interpolate`` (nearest, linear family, bicubic, area; uint8 images through ``resample_u8``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _ns as _ns_module
from .._tensor import Tensor, _make
from ._public import public
from .resample_u8 import _cubic_matrix, resize_uint8

_ns: Any = _ns_module  # the rule namespace on Tensors, filled from the rule table at import


# ---- resampling --------------------------------------------------------------------------------------
@public("pixel_shuffle", method=False, ns="nn.functional")
def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(…, C·r², H, W) → (…, C, H·r, W·r), as ``torch.nn.functional.pixel_shuffle``."""
    r = upscale_factor
    c, h, w = input.shape[-3:]
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
                           f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    lead = tuple(input.shape[:-3])
    n = len(lead)
    y = _ns.reshape(input, lead + (c // (r * r), r, r, h, w))
    y = _ns.permute(y, tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2))
    return _ns.reshape(y, lead + (c // (r * r), h * r, w * r))


@public("pixel_unshuffle", method=False, ns="nn.functional")
def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(…, C, H·r, W·r) → (…, C·r², H, W): the inverse of ``pixel_shuffle``."""
    r = downscale_factor
    c, h, w = input.shape[-3:]
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, "
                           f"but input.size(-2)={h}, input.size(-1)={w}, downscale_factor={r}")
    lead = tuple(input.shape[:-3])
    n = len(lead)
    y = _ns.reshape(input, lead + (c, h // r, r, w // r, r))
    y = _ns.permute(y, tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3))
    return _ns.reshape(y, lead + (c * r * r, h // r, w // r))


def _dtype_name(dt) -> str:
    from .._dtype import torch_name

    return torch_name(dt)


def _linear_matrix(L, o, scale, align_corners):
    P = np.zeros((o, L))
    for i in range(o):
        if align_corners:
            src = i * (L - 1) / (o - 1) if o > 1 else 0.0
        else:
            src = max((i + 0.5) * scale - 0.5, 0.0)
        i0 = min(math.floor(src), L - 1)
        i1 = min(i0 + 1, L - 1)
        lam = src - i0
        P[i, i0] += 1 - lam
        P[i, i1] += lam
    return P


@public("interpolate", function=False, method=False, ns="nn.functional")
def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False) -> Tensor:
    """Resize the spatial dims (``torch.nn.functional.interpolate``): modes nearest, nearest-exact,
    linear, bilinear, bicubic, trilinear (align_corners) and area. Separable: one gather or matmul
    per dim. Example: ``interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)``."""
    from .pool import _adaptive_avg_fn, _separable

    nd = input.ndim - 2
    if not 1 <= nd <= 3:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for the "
            f"modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact "
            f"(got {mode})")
    sp = tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate(): antialias is not supported")
    if size is not None:
        osz = (int(size),) * nd if isinstance(size, (int, np.integer)) else tuple(int(s) for s in size)
        scales = [L / o for L, o in zip(sp, osz)]
    else:
        sf = (scale_factor,) * nd if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        osz = tuple(math.floor(L * f) for L, f in zip(sp, sf))
        scales = [L / o if recompute_scale_factor else 1.0 / f for L, o, f in zip(sp, osz, sf)]
    if len(osz) != nd:
        raise ValueError(f"interpolate(): expected size of {nd} spatial dims, got {osz}")
    want = {"linear": 1, "bilinear": 2, "trilinear": 3}
    if mode in want and want[mode] != nd:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {want[mode] + 2}D input")
    dt = input._array.dtype
    if dt.kind != "f":  # torch's kernels: uint8 images for nearest and 2-d (bi)linear/cubic only
        u8 = dt == np.uint8 and (mode in ("nearest", "nearest-exact") or (
            nd == 2 and mode in ("bilinear", "bicubic")))
        if not u8:
            raise NotImplementedError(f'"interpolate" ({mode}) not implemented for '
                                      f"'{_dtype_name(dt)}'")
        if mode in ("bilinear", "bicubic"):  # torch's fixed-point image kernel, exactly

            return _make(resize_uint8(input._array, osz, scales, bool(align_corners),
                                      mode == "bicubic"))
    if mode in ("nearest", "nearest-exact"):
        off = 0.5 if mode == "nearest-exact" else 0.0
        idx = [np.minimum(np.floor((np.arange(o) + off) * sc).astype(np.int64), L - 1)
               for L, o, sc in zip(sp, osz, scales)]
        grids = np.ix_(*idx)
        return input[(slice(None), slice(None)) + tuple(grids)]
    if mode in want:
        return _separable(input, [_linear_matrix(L, o, sc, bool(align_corners))
                                  for L, o, sc in zip(sp, osz, scales)])
    if mode == "bicubic":
        if nd != 2:
            raise NotImplementedError(f"Got {input.ndim}D input, but bicubic mode needs 4D input")
        return _separable(input, [_cubic_matrix(L, o, sc, bool(align_corners))
                                  for L, o, sc in zip(sp, osz, scales)])
    if mode == "area":
        return _adaptive_avg_fn(nd)(input, osz)
    raise NotImplementedError(f"interpolate(): mode {mode!r} is not supported")


@public("upsample", function=False, method=False, ns="nn.functional")
def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)
