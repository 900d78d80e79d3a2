"""uint8 bilinear/bicubic resize with torch's arithmetic: separable passes (width, then height)
with int16 fixed-point weights, each pass rounded and clamped to 0..255.

torch's CPU kernel for uint8 images works this way, so a float resize rounded once differs from
it by a unit here and there; this reproduces it exactly."""

from __future__ import annotations

import math

import numpy as np


def _triangle(x):
    x = abs(x)
    return 1.0 - x if x < 1.0 else 0.0


def _weights(L: int, o: int, scale: float, align_corners: bool) -> np.ndarray:
    """(o, L) linear weights as torch's separable kernel computes them: the taps within one
    pixel of the source centre, renormalized where the border cuts them."""
    support = 1.0
    f = _triangle
    P = np.zeros((o, L))
    for i in range(o):
        center = scale * i + 0.5 if align_corners else scale * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), L)
        w = [f(j - center + 0.5) for j in range(lo, hi)]
        tot = sum(w)
        for j, wj in zip(range(lo, hi), w):
            P[i, j] = wj / tot if tot else 0.0
    return P


def _fixed(P: np.ndarray) -> tuple[np.ndarray, int]:
    w_max = float(P.max()) if P.size else 0.0
    prec = 0
    while prec < 22 and int(0.5 + w_max * (1 << (prec + 1))) < (1 << 15):
        prec += 1
    v = P * (1 << prec)
    return np.where(v < 0, v - 0.5, v + 0.5).astype(np.int16).astype(np.int64), prec


def _pass(x: np.ndarray, P: np.ndarray, axis: int) -> np.ndarray:
    W, prec = _fixed(P)
    xm = np.moveaxis(x.astype(np.int64), axis, -1)
    acc = xm @ W.T + (1 << (prec - 1) if prec else 0)
    return np.moveaxis(np.clip(acc >> prec, 0, 255).astype(np.uint8), -1, axis)


def _cubic_matrix(L, o, scale, align_corners, a=-0.75):
    """torch's bicubic (Keys, a = −0.75), border indices clamped, as one (o, L) matrix."""
    P = np.zeros((o, L))
    for i in range(o):
        if align_corners:
            src = i * (L - 1) / (o - 1) if o > 1 else 0.0
        else:
            src = (i + 0.5) * scale - 0.5  # not clamped at 0 for cubic, as torch
        i0 = math.floor(src)
        t = src - i0
        ws = (((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
              ((a + 2) * t - (a + 3)) * t * t + 1,
              ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
              ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a)
        for k, wk in enumerate(ws):
            P[i, min(max(i0 - 1 + k, 0), L - 1)] += wk
    return P


def resize_uint8(
    x: np.ndarray, osz: tuple, scales: list, align_corners: bool, cubic: bool
) -> np.ndarray:
    """x (N, C, H, W) uint8 → (N, C, *osz); ``scales`` as interpolate computes them."""
    out = x
    for axis in (3, 2):  # width first, as torch
        L, o = x.shape[axis], osz[axis - 2]
        if L == o:
            continue
        sc = (
            (L - 1) / (o - 1)
            if align_corners and o > 1
            else (0.0 if align_corners else scales[axis - 2])
        )
        if cubic:  # bicubic without antialiasing clamps border indices (no renormalizing)
            P = _cubic_matrix(L, o, scales[axis - 2], align_corners)
        else:
            P = _weights(L, o, sc, align_corners)
        out = _pass(out, P, axis)
    return out
