"""``gradcheck`` and ``gradgradcheck``: analytical derivatives against central finite differences.

Reverse mode (vᵀJ, one row of J per output element) and forward mode (J·v, one column per input
element) are each compared with the numerical Jacobian. ``fast_mode`` compares a single random
projection uᵀ J v instead of the full matrices. On failure the report names each (output, input)
pair that differs and lists the worst entries: index, numerical, analytical, difference.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from .._tensor import Tensor, _make

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck/gradgradcheck when derivatives disagree (a RuntimeError, as torch)."""


def _tuple(x) -> tuple:
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _outputs(func, inputs) -> tuple:
    out = func(*inputs)
    return _tuple(out)


def _diff_inputs(inputs: tuple) -> list:
    return [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]


def _eval(func, inputs, i, arr) -> list:
    """Float outputs of ``func`` with input ``i`` replaced by array ``arr`` (no graph)."""
    from .grad_mode import no_grad

    args = list(inputs)
    args[i] = _make(arr)
    with no_grad():
        return [o._array.astype(np.float64) for o in _outputs(func, args)
                if o._array.dtype.kind == "f"]


def _numerical(func, inputs, outs, i, eps) -> list:
    """Numerical Jacobian blocks d out_j / d in_i, shape (out_j.size, in_i.size)."""
    x = inputs[i]._array
    blocks = [np.zeros((o.size, x.size)) for o in outs]
    flat = x.reshape(-1)
    for k in range(x.size):
        xp = flat.copy()
        xm = flat.copy()
        xp[k] += eps
        xm[k] -= eps
        fp = _eval(func, inputs, i, xp.reshape(x.shape))
        fm = _eval(func, inputs, i, xm.reshape(x.shape))
        for j, (a, b) in enumerate(zip(fp, fm)):
            blocks[j][:, k] = ((a - b) / (2 * eps)).reshape(-1)
    return blocks


def _directional(func, inputs, vs: dict, eps) -> list:
    """Numerical J·v for tangents ``vs`` (input index → array) at once."""
    from .grad_mode import no_grad

    def at(sign):
        args = list(inputs)
        for i, v in vs.items():
            args[i] = _make(inputs[i]._array + sign * eps * v)
        with no_grad():
            return [o._array.astype(np.float64) for o in _outputs(func, args)
                    if o._array.dtype.kind == "f"]

    return [(a - b) / (2 * eps) for a, b in zip(at(1), at(-1))]


def _reverse(func, inputs, diff) -> list:
    """Analytical Jacobian blocks by reverse mode: block[j][i] (out_j.size, in_i.size)."""
    from .api import grad

    outs = [o for o in _outputs(func, inputs) if o._array.dtype.kind == "f"]
    blocks = [[np.zeros((o._array.size, inputs[i]._array.size)) for i in diff] for o in outs]
    for j, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for r in range(o._array.size):
            u = np.zeros(o._array.size, dtype=o._array.dtype)
            u[r] = 1
            gs = grad(o, [inputs[i] for i in diff], _make(u.reshape(o._array.shape)),
                      retain_graph=True, allow_unused=True)
            for c, g in enumerate(gs):
                if g is not None:
                    blocks[j][c][r, :] = g._array.reshape(-1)
    return blocks


def _forward(func, inputs, diff) -> list:
    """Analytical Jacobian blocks by forward mode (one dual pass per input element)."""
    from . import forward_ad as fwad

    blocks = None
    for c, i in enumerate(diff):
        x = inputs[i]
        for k in range(x._array.size):
            t = np.zeros(x._array.size, dtype=x._array.dtype)
            t[k] = 1
            with fwad.dual_level():
                args = list(inputs)
                args[i] = fwad.make_dual(x.detach(), _make(t.reshape(x._array.shape)))
                outs = [o for o in _outputs(func, args) if o._array.dtype.kind == "f"]
                if blocks is None:
                    blocks = [[np.zeros((o._array.size, inputs[q]._array.size)) for q in diff]
                              for o in outs]
                for j, o in enumerate(outs):
                    tan = fwad.unpack_dual(o).tangent
                    if tan is not None:
                        blocks[j][c][:, k] = tan._array.reshape(-1)
    return blocks or []


def _report(kind: str, j: int, i: int, num: np.ndarray, ana: np.ndarray, atol, rtol,
            shapes) -> str:
    diff = np.abs(num - ana)
    bad = diff > atol + rtol * np.abs(num)
    out_shape, in_shape = shapes
    lines = [
        (f"Jacobian mismatch for output {j} with respect to input {i} ({kind} mode): "
         f"{int(bad.sum())} of {bad.size} entries differ (atol={atol}, rtol={rtol}); "
         f"max |difference| {diff.max():.6g}"),
        "  worst entries  [output index] / [input index]:  numerical  analytical  difference",
    ]
    order = np.argsort(-(diff * bad).reshape(-1))[: min(8, int(bad.sum()))]
    for flat in order:
        r, c = np.unravel_index(flat, diff.shape)
        oi = np.unravel_index(r, out_shape) if out_shape else ()
        ii = np.unravel_index(c, in_shape) if in_shape else ()
        lines.append(
            f"    {list(map(int, oi))} / {list(map(int, ii))}:  {num[r, c]: .6g}  "
            f"{ana[r, c]: .6g}  {ana[r, c] - num[r, c]: .3g}"
        )
    lines.append(f"numerical:\n{num}\nanalytical:\n{ana}")
    return "\n".join(lines)


def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked: bool | None = None) -> bool:
    """Check the derivatives of ``func`` at ``inputs`` (float64 tensors that require grad) against
    central finite differences; True if they agree, else raise (or return False).

    Example:
        >>> x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
        >>> gradcheck(lambda x: x.sin() * x, (x,), check_forward_ad=True)
        True
    """
    inputs = _tuple(inputs)
    diff = _diff_inputs(inputs)
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of the them have requires_grad=True.")
    for i in diff:
        if inputs[i]._array.dtype != np.float64:
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. "
                "This check will likely fail if all the inputs are not of double precision "
                "floating point. ",
                UserWarning, stacklevel=2,
            )
    outs0 = [o for o in _outputs(func, inputs) if o._array.dtype.kind == "f"]
    failures: list = []
    if fast_mode:
        failures = _fast(func, inputs, diff, outs0, eps, atol, rtol, check_forward_ad,
                         check_backward_ad)
    else:
        outs_np = [o._array.astype(np.float64) for o in outs0]
        num = {i: _numerical(func, inputs, outs_np, i, eps) for i in diff}
        modes = []
        if check_backward_ad:
            modes.append(("reverse", _reverse(func, inputs, diff)))
        if check_forward_ad:
            modes.append(("forward", _forward(func, inputs, diff)))
        for kind, ana in modes:
            for j, o in enumerate(outs0):
                for c, i in enumerate(diff):
                    n, a = num[i][j], ana[j][c]
                    if not np.allclose(a, n, rtol=rtol, atol=atol, equal_nan=True):
                        failures.append(_report(kind, j, i, n, a, atol, rtol,
                                                (tuple(o.shape), tuple(inputs[i].shape))))
    if check_batched_grad:
        failures += _batched_backward(func, inputs, diff, atol, rtol)
    if check_batched_forward_grad:
        failures += _batched_forward(func, inputs, diff, atol, rtol)
    if failures:
        msg = "\n\n".join(failures)
        if raise_exception:
            raise GradcheckError(msg)
        return False
    return True


def _batched_backward(func, inputs, diff, atol, rtol, nb: int = 3) -> list:
    """One backward pass with ``nb`` stacked cotangents against ``nb`` single passes."""
    from .api import grad

    rng = np.random.default_rng(1)
    outs = [o for o in _outputs(func, inputs) if o._array.dtype.kind == "f" and o.requires_grad]
    if not outs:
        return []
    us = [rng.standard_normal((nb, *o._array.shape)).astype(o._array.dtype) for o in outs]
    xs = [inputs[i] for i in diff]
    got = grad(outs, xs, [_make(u) for u in us], retain_graph=True, allow_unused=True,
               is_grads_batched=True)
    res = []
    for b in range(nb):
        want = grad(outs, xs, [_make(u[b]) for u in us], retain_graph=True, allow_unused=True)
        for i, g, w in zip(diff, got, want):
            a = np.zeros(inputs[i]._array.shape) if g is None else g._array[b]
            e = np.zeros(inputs[i]._array.shape) if w is None else w._array
            if not np.allclose(a, e, rtol=rtol, atol=atol):
                res.append(f"Batched gradient mismatch for input {i}, cotangent {b} of {nb}: "
                           f"max |difference| {np.abs(a - e).max():.6g}\nbatched:\n{a}\n"
                           f"one by one:\n{e}")
    return res


def _batched_forward(func, inputs, diff, atol, rtol, nb: int = 3) -> list:
    """Forward mode with ``nb`` stacked tangents (vmap over jvp) against ``nb`` single passes."""
    from ..func import jvp, vmap

    rng = np.random.default_rng(2)
    primals = tuple(inputs[i].detach() for i in diff)
    ts = [rng.standard_normal((nb, *p._array.shape)).astype(p._array.dtype) for p in primals]

    def f(*xs):
        args = list(inputs)
        for i, x in zip(diff, xs):
            args[i] = x
        return tuple(o for o in _outputs(func, args) if o._array.dtype.kind == "f")

    got = vmap(lambda *t: jvp(f, primals, t)[1])(*[_make(t) for t in ts])
    res = []
    for b in range(nb):
        want = jvp(f, primals, tuple(_make(t[b]) for t in ts))[1]
        for j, (g, w) in enumerate(zip(got, want)):
            if not np.allclose(g._array[b], w._array, rtol=rtol, atol=atol):
                res.append(f"Batched forward-mode mismatch for output {j}, tangent {b} of {nb}: "
                           f"max |difference| {np.abs(g._array[b] - w._array).max():.6g}")
    return res


def _fast(func, inputs, diff, outs, eps, atol, rtol, fwd: bool, rev: bool) -> list:
    """Compare uᵀ J v: numerical (one directional difference) vs reverse (uᵀJ)·v and uᵀ(J v)."""
    from . import forward_ad as fwad
    from .api import grad

    rng = np.random.default_rng(0)
    vs = {i: rng.standard_normal(inputs[i]._array.shape) for i in diff}
    us = [rng.standard_normal(o._array.shape) for o in outs]
    jv = _directional(func, inputs, vs, eps)
    num = sum(float(np.sum(u * t)) for u, t in zip(us, jv))
    res = []

    def check(kind, ana):
        if not abs(ana - num) <= atol + rtol * abs(num):
            res.append(
                f"Jacobian mismatch ({kind} mode, fast_mode: random projection uᵀJv): "
                f"numerical {num:.10g}, analytical {ana:.10g}, difference {ana - num:.3g} "
                f"(atol={atol}, rtol={rtol}). Run with fast_mode=False to see which entries."
            )

    if rev:
        pairs = [(o, u) for o, u in zip(_outputs(func, inputs), us) if o.requires_grad]
        ana = 0.0
        if pairs:
            gs = grad([o for o, _ in pairs], [inputs[i] for i in diff],
                      [_make(u.astype(o._array.dtype)) for o, u in pairs], allow_unused=True)
            ana = sum(float(np.sum(g._array * vs[i])) for g, i in zip(gs, diff) if g is not None)
        check("reverse", ana)
    if fwd:
        with fwad.dual_level():
            args = list(inputs)
            for i in diff:
                args[i] = fwad.make_dual(inputs[i].detach(),
                                         _make(vs[i].astype(inputs[i]._array.dtype)))
            o2 = [o for o in _outputs(func, args) if o._array.dtype.kind == "f"]
            ana = 0.0
            for o, u in zip(o2, us):
                t = fwad.unpack_dual(o).tangent
                if t is not None:
                    ana += float(np.sum(t._array * u))
        check("forward", ana)
    return res


def _leaf(x: Tensor) -> Tensor:
    """A leaf that requires grad with ``x``'s value and forward-mode tangents."""
    from .forward_ad import _fw

    y = _make(x._array).requires_grad_()
    fw = _fw(x)
    if fw:
        y._extra()["fw"] = dict(fw)
    return y


def gradgradcheck(func: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False,
                  masked: bool = False) -> bool:
    """Check second derivatives: gradcheck of ``(inputs, v) -> vᵀJ(inputs)`` (reverse over reverse;
    ``check_fwd_over_rev`` also runs forward mode through the backward pass).

    Example:
        >>> x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
        >>> gradgradcheck(lambda x: x ** 3, (x,))
        True
    """
    from .api import grad

    inputs = _tuple(inputs)
    diff = _diff_inputs(inputs)
    outs = [o for o in _outputs(func, inputs) if o._array.dtype.kind == "f" and o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            _make(rng.standard_normal(o._array.shape).astype(o._array.dtype)).requires_grad_()
            for o in outs
        )
    else:
        grad_outputs = _tuple(grad_outputs)
    n_in = len(inputs)

    def first(*args):
        from .grad_mode import enable_grad

        with enable_grad():  # the numerical pass evaluates this under no_grad, on plain inputs
            xs = [x if i not in diff or x.requires_grad else _leaf(x)
                  for i, x in enumerate(args[:n_in])]
            vs = args[n_in:]
            os_ = [o for o in _outputs(func, xs) if o._array.dtype.kind == "f" and o.requires_grad]
            gs = grad(os_, [xs[i] for i in diff], list(vs), create_graph=True, allow_unused=True)
            return tuple(g for g in gs if g is not None)

    return gradcheck(first, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, check_forward_ad=check_fwd_over_rev,
                     check_backward_ad=check_rev_over_rev, fast_mode=fast_mode)
