"""Random sampling: ``multinomial``, ``normal``, ``bernoulli``, ``poisson`` and the in-place fills
(``normal_``, ``uniform_``, ``bernoulli_`` …) with torch's names, arguments and errors. Draws come
from ``generator`` or the global generator; the streams are NumPy's, not torch's, so the values
differ from torch's for the same seed (the distributions are the same). None of these is
differentiable: the fills overwrite through ``copy_``, so the old values get a zero gradient and a
leaf that requires grad is refused outside ``no_grad``, as torch.
"""

from __future__ import annotations

import numpy as np

from .. import _creation, _dtype, _ns
from .._tensor import Tensor, _make
from ._public import public


def _rng(generator) -> np.random.Generator:
    return _creation._gen(generator)


def _tname(t: Tensor) -> str:
    return _dtype.torch_name(t._array.dtype)


def _check_int(name: str, pos: int, v, op: str) -> int:
    if isinstance(v, Tensor) and v.ndim == 0 and v._array.dtype.kind in "iu":
        v = v.item()
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
        raise TypeError(f"{op}(): argument '{name}' (position {pos}) must be int, not "
                        f"{type(v).__name__}")
    return int(v)


@public("multinomial")
def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None,
                out=None) -> Tensor:
    """``num_samples`` category indices per row of ``input`` (1-D or 2-D non-negative weights, not
    necessarily summing to 1), int64. Without replacement each index appears at most once per row
    (torch's method: the largest ``p / E`` with ``E ~ Exp(1)``).

    Example:
        >>> g = chainrule.Generator().manual_seed(0)
        >>> chainrule.multinomial(chainrule.tensor([0.0, 1.0, 0.0]), 2, True, generator=g)
        tensor([1, 1])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    n = _check_int("num_samples", 2, num_samples, "multinomial")
    a = input._array
    if a.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_tname(input)}")
    if a.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim (multinomial: got shape {list(a.shape)})")
    if n <= 0:
        raise RuntimeError(f"cannot sample n_sample <= 0 samples (multinomial: num_samples={n})")
    k = a.shape[-1]
    if not replacement and n > k:
        raise RuntimeError(f"cannot sample n_sample > prob_dist.size(-1) samples without "
                           f"replacement (multinomial: num_samples={n}, {k} categories)")
    rows = a.reshape(-1, k).astype(np.float64)
    if rows.shape[0] == 0:
        res = np.zeros((0, n), np.int64)
        return _make(res if a.ndim == 2 else res.reshape(n))
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0 "
                           f"(multinomial: input of shape {list(a.shape)})")
    sums = rows.sum(axis=1)
    if (sums <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0) "
                           f"(multinomial: row {int(np.argmax(sums <= 0))} of {list(a.shape)})")
    rng = _rng(generator)
    if replacement:
        cdf = np.cumsum(rows / sums[:, None], axis=1)
        cdf[:, -1] = 1.0
        u = rng.random((rows.shape[0], n))
        res = np.stack([np.searchsorted(c, ur, side="right") for c, ur in zip(cdf, u)])
        res = np.minimum(res, k - 1)
    else:
        keys = rows / rng.exponential(1.0, rows.shape)
        res = np.argsort(-keys, axis=1, kind="stable")[:, :n]
    res = res.astype(np.int64)
    out_t = _make(res if a.ndim == 2 else res.reshape(n))
    if out is not None:
        out._array = out_t._array
        return out
    return out_t


def _sized(size) -> tuple:
    return _creation._size(tuple(size) if isinstance(size, (tuple, list)) else (size,))


@public("normal", method=False)
def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, requires_grad: bool = False) -> Tensor:
    """Samples of N(mean, std²): ``mean``/``std`` are tensors (broadcast) or numbers (then
    ``size`` is the shape). Not differentiable (as torch's, whose gradient is not defined)."""
    _creation._check_device(device)
    rng = _rng(generator)
    m = mean._array if isinstance(mean, Tensor) else mean
    s = std._array if isinstance(std, Tensor) else std
    if np.any(np.asarray(s) < 0):
        raise RuntimeError(f"normal expects all elements of std >= 0.0 (got std={std})")
    if size is not None:
        if isinstance(mean, Tensor) or isinstance(std, Tensor):
            raise TypeError("normal() received an invalid combination of arguments: size= is "
                            "for number mean and std")
        shape = _sized(size)
        npd = _creation._fdt(dtype)
    else:
        if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
            raise TypeError("normal() received an invalid combination of arguments: with number "
                            "mean and std, size is required")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        ts = [t for t in (mean, std) if isinstance(t, Tensor)]
        npd = np.result_type(*[t._array.dtype for t in ts])
        if npd.kind != "f":
            npd = _dtype.default_np()
    res = _creation._new((m + s * rng.standard_normal(shape)).astype(npd), requires_grad)
    if out is not None:
        out._array = res._array
        return out
    return res


@public("bernoulli")
def bernoulli(input: Tensor, p=None, *, generator=None, out=None) -> Tensor:
    """1 with probability ``input`` (or ``p``), else 0, in ``input``'s dtype."""
    a = input._array
    if a.dtype.kind != "f":
        raise RuntimeError(f"\"bernoulli_tensor_cpu_self_\" not implemented for '{_tname(input)}'")
    prob = a if p is None else p
    if np.any((np.asarray(prob) < 0) | (np.asarray(prob) > 1)) or np.any(np.isnan(prob)):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false. "
                           "(bernoulli: probabilities must lie in [0, 1])")
    res = (_rng(generator).random(a.shape) < prob).astype(a.dtype)
    return _make(res)


@public("poisson", method=False)
def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson samples with rates ``input`` (in ``input``'s dtype)."""
    a = input._array
    if a.dtype.kind != "f":
        raise RuntimeError(f"\"poisson_cpu\" not implemented for '{_tname(input)}'")
    if np.any(a < 0) or np.any(np.isnan(a)):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return _make(_rng(generator).poisson(a).astype(a.dtype))


# ---- in-place fills ------------------------------------------------------------------------
def _fill(self: Tensor, values: np.ndarray, op: str) -> Tensor:
    if not isinstance(self, Tensor):
        raise TypeError(f"{op}(): self must be a Tensor, not {type(self).__name__}")
    return _ns.copy_(self, _make(np.asarray(values).astype(self._array.dtype, copy=False)))


def _float_only(self: Tensor, op: str) -> None:
    if self._array.dtype.kind != "f":
        raise RuntimeError(f"\"{op}_kernel_cpu\" not implemented for '{_tname(self)}'")


@public("normal_", function=False)
def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of N(mean, std²) (e.g. ``p.data.normal_(0, 0.02)``)."""
    _float_only(self, "normal")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    return _fill(self, _rng(generator).normal(mean, std, self._array.shape), "normal_")


@public("uniform_", function=False)
def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None, **kw) -> Tensor:
    """Fill with samples of U(from, to) (torch's keywords ``from``/``to`` are accepted)."""
    a, b = kw.pop("from", a), kw.pop("to", b)
    if kw:
        raise TypeError(f"uniform_() got an unexpected keyword argument '{next(iter(kw))}'")
    _float_only(self, "uniform")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} "
                           f"> to={b}")
    return _fill(self, _rng(generator).uniform(a, b, self._array.shape), "uniform_")


@public("bernoulli_", function=False)
def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 1 with probability ``p`` (a number or a tensor), else 0."""
    prob = p._array if isinstance(p, Tensor) else p
    if np.any((np.asarray(prob) < 0) | (np.asarray(prob) > 1)):
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _fill(self, _rng(generator).random(self._array.shape) < prob, "bernoulli_")


@public("exponential_", function=False)
def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    _float_only(self, "exponential")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _fill(self, _rng(generator).exponential(1.0 / lambd, self._array.shape), "exponential_")


@public("log_normal_", function=False)
def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    _float_only(self, "log_normal")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    return _fill(self, _rng(generator).lognormal(mean, std, self._array.shape), "log_normal_")


@public("cauchy_", function=False)
def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    _float_only(self, "cauchy")
    vals = median + sigma * _rng(generator).standard_cauchy(self._array.shape)
    return _fill(self, vals, "cauchy_")


@public("geometric_", function=False)
def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return _fill(self, _rng(generator).geometric(p, self._array.shape), "geometric_")


@public("random_", function=False)
def random_(self: Tensor, a=None, b=None, *, generator=None, **kw) -> Tensor:
    """Integers: ``random_(to)`` in [0, to), ``random_(from, to)`` in [from, to); ``random_()`` in
    [0, 2^mantissa] for floats (as torch) or [0, max] for integers."""
    a, b = kw.pop("from", a), kw.pop("to", b)
    if a is not None and b is None:
        a, b = 0, a
    if a is None:
        dt = self._array.dtype
        if dt.kind == "f":
            b = 2 ** (np.finfo(dt).nmant + 1) + 1
        elif dt.kind == "b":
            b = 2
        else:
            b = int(np.iinfo(dt).max) + 1
        a = 0
    if a >= b:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={a} >= "
                           f"to={b}")
    return _fill(self, _rng(generator).integers(a, b, self._array.shape), "random_")
