"""Special functions on NumPy arrays (no SciPy at run time): erf, erfc, erfinv, lgamma, digamma,
polygamma. Vectorized; computed in float64 and returned in the input's floating dtype.

erf/erfc use the rational approximations of Moshier's Cephes library (public domain), accurate to
about 1e-16 relative; lgamma/digamma/polygamma shift the argument up by the recurrence and sum the
Stirling/asymptotic series (reflection formulas below 0.5); erfinv starts from Giles' single
precision approximation and polishes it with two Halley steps on erf/erfc.
"""

from __future__ import annotations

import math

import numpy as np

# Cephes ndtr.c coefficients, highest degree first
_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
      7.00332514112805075473e3, 5.55923013010394962768e4)
_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
      2.26290000613890934246e4, 4.92673942608635921086e4)
_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
      4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
      9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
      9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
      1.65666309194161350182e3, 5.57535340817727675546e2)
_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
      6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0)
_S = (1.0, 2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
      1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0)


def _poly(x, coef):
    r = np.full_like(x, coef[0])
    for c in coef[1:]:
        r *= x
        r += c
    return r


def _f64(x):
    x = np.asarray(x)
    dt = x.dtype if x.dtype.kind == "f" else None
    return (x.astype(np.float64) if x.dtype != np.float64 else x), dt


def _back(r, dt):
    return r.astype(dt, copy=False) if dt is not None else r


def _erf_small(x):  # |x| <= 1
    z = x * x
    return x * _poly(z, _T) / _poly(z, _U)


def _erfc_large(a):  # |a| >= 1 (or nan), a of any sign; each branch on its own elements
    a = np.where(np.isinf(a), np.copysign(30.0, a), a)
    x = np.abs(a)
    y = np.exp(-a * a)
    near = x < 8.0
    xn = x[near]
    y[near] *= _poly(xn, _P) / _poly(xn, _Q)
    far = ~near
    xf = x[far]
    y[far] *= _poly(xf, _R) / _poly(xf, _S)
    neg = a < 0
    y[neg] = 2.0 - y[neg]
    return y


def _split(x, small_fn, large_fn, small):
    r = np.empty_like(x)
    r[small] = small_fn(x[small])
    big = ~small
    r[big] = large_fn(x[big])
    return r


def erf(x):
    x, dt = _f64(x)
    with np.errstate(all="ignore"):
        r = _split(x, _erf_small, lambda v: 1.0 - _erfc_large(v), np.abs(x) <= 1.0)
    return _back(r, dt)


def erfc(x):
    x, dt = _f64(x)
    with np.errstate(all="ignore"):
        r = _split(x, lambda v: 1.0 - _erf_small(v), _erfc_large, np.abs(x) < 1.0)
    return _back(r, dt)


def erfinv(y):
    y, dt = _f64(y)
    with np.errstate(all="ignore"):
        # Giles (2010), "Approximating the erfinv function", single precision branch
        w = -np.log((1.0 - y) * (1.0 + y))
        w1 = w - 2.5
        p1 = _poly(w1, (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                        0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941))
        w2 = np.sqrt(w) - 3.0
        p2 = _poly(w2, (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                        0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682))
        x = np.where(w < 5.0, p1, p2) * y
        ok = np.abs(y) < 1.0
        x = np.where(ok, x, 0.0)
        tail = np.abs(y) > 0.5
        q = np.where(tail & ok, 1.0 - np.abs(y), 0.5)  # exact for |y| > 0.5
        ax = np.abs(x)
        for _ in range(3):
            # centre: Halley on erf(x) = y; tails: Newton on log erfc(|x|) = log(1 − |y|), which
            # is nearly linear there
            dens = 1.1283791670955126 * np.exp(-x * x)
            u = np.where(ok, (erf(x) - y) / dens, 0.0)
            xc = x - u / (1.0 + x * u)
            ec = erfc(ax)
            axt = ax + (np.log(ec) - np.log(q)) * ec / (1.1283791670955126 * np.exp(-ax * ax))
            x = np.where(tail, np.sign(y) * axt, xc)
            ax = np.abs(x)
        r = np.where(ok, x, np.where(np.abs(y) == 1.0, np.sign(y) * np.inf, np.nan))
    return _back(r, dt)


def _sinpi(x):
    # sin(πx) with the argument reduced first, so large |x| keeps its accuracy
    r = x - 2.0 * np.round(x / 2.0)
    return np.sin(np.pi * r)


def _tanpi(x):
    r = x - np.round(x)
    return np.tan(np.pi * r)


_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156,
             -3617 / 122400)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _shift_up(x, low_bound, fill):
    """z = x + n with n the smallest count making z >= low_bound, and the n added terms x + k
    (as a (K, …) array, ``fill`` where k >= n) — the recurrences of lgamma and digamma."""
    n = np.maximum(np.ceil(low_bound - x), 0.0)
    kmax = int(n.max()) if n.size else 0
    ks = np.arange(kmax, dtype=x.dtype).reshape((kmax,) + (1,) * x.ndim)
    terms = np.where(ks < n, x + ks, fill)
    return x + n, terms


def _lgamma_pos(x):  # x >= 0.5
    z, terms = _shift_up(x, 12.0, 1.0)
    shift = np.log(np.prod(terms, axis=0)) if terms.shape[0] else 0.0  # ≤ 12 factors < 24
    iz = 1.0 / z
    iz2 = iz * iz
    s = np.zeros_like(z)
    for c in reversed(_STIRLING):
        s = s * iz2 + c
    return (z - 0.5) * np.log(z) - z + _HALF_LOG_2PI + s * iz - shift


def lgamma(x):
    x, dt = _f64(x)
    with np.errstate(all="ignore"):
        pole = (x <= 0) & (x == np.floor(x))
        refl = x < 0.5
        xp = np.where(refl, 1.0 - x, x)
        xp = np.where(np.isfinite(xp), xp, 1.0)
        lp = _lgamma_pos(xp)
        r = np.where(refl, np.log(np.pi / np.abs(_sinpi(x))) - lp, lp)
        r = np.where(pole | np.isinf(x), np.inf, r)
        r = np.where(np.isnan(x), np.nan, r)
    return _back(r, dt)


_DIG = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12, -3617 / 8160)


def _digamma_pos(x):  # x >= 0.5
    z, terms = _shift_up(x, 10.0, np.inf)  # 1/inf = 0 past each element's own count
    acc = -np.sum(1.0 / terms, axis=0) if terms.shape[0] else 0.0
    iz2 = 1.0 / (z * z)
    s = np.zeros_like(z)
    for c in reversed(_DIG):
        s = s * iz2 + c
    return acc + np.log(z) - 0.5 / z - s * iz2


def digamma(x):
    x, dt = _f64(x)
    with np.errstate(all="ignore"):
        refl = x < 0.5
        xp = np.where(refl, 1.0 - x, x)
        xp = np.where(np.isfinite(xp), xp, 1.0)
        dp = _digamma_pos(xp)
        r = np.where(refl, dp - np.pi / _tanpi(x), dp)
        # torch: −inf at +0, +inf at −0, nan at the negative integers
        r = np.where(x == 0, np.copysign(np.inf, -np.copysign(1.0, x)), r)
        r = np.where((x < 0) & (x == np.floor(x)), np.nan, r)
        r = np.where(x == np.inf, np.inf, np.where(x == -np.inf, np.nan, r))
        r = np.where(np.isnan(x), np.nan, r)
    return _back(r, dt)


# Bernoulli numbers B_2k, k = 1..10
_B2K = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798,
        -174611 / 330)


def polygamma(n: int, x):
    """ψ⁽ⁿ⁾(x), the n-th derivative of digamma (n ≥ 0)."""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return digamma(x)
    x, dt = _f64(x)
    sgn = 1.0 if n % 2 else -1.0  # (−1)^(n+1)
    nf = math.factorial(n)
    with np.errstate(all="ignore"):
        pole = (x <= 0) & (x == np.floor(x))
        z = np.where(np.isfinite(x) & ~pole, x, 20.0)
        acc = np.zeros_like(z)
        big = 20.0 + n
        while True:  # ψ⁽ⁿ⁾(z) = ψ⁽ⁿ⁾(z + 1) + (−1)^(n+1) n!/z^(n+1)
            low = z < big
            if not low.any():
                break
            acc = acc + np.where(low, sgn * nf / z ** (n + 1), 0.0)
            z = np.where(low, z + 1.0, z)
        s = math.factorial(n - 1) / z**n + nf / (2 * z ** (n + 1))
        for k, b in enumerate(_B2K, start=1):
            s = s + b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) / z ** (2 * k + n)
        r = acc + sgn * s
        r = np.where(pole, np.inf if n % 2 else np.nan, r)
        r = np.where(x == np.inf, 0.0, r)
        r = np.where(np.isnan(x) | (x == -np.inf), np.nan, r)
    return _back(r, dt)
