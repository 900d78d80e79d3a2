"""Shared machinery of the generic op tests: build inputs from op_db samples, run, compare."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.autograd import forward_ad as fwad

EPS = 1e-6


def make_inputs(sample, m=cr, dtype="float64", requires_grad=True):
    """Tensors of module ``m`` for a sample; returns (args, positions of differentiable args)."""
    args, diff = [], []
    for i, a in enumerate(sample.args):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            rg = requires_grad and i not in sample.nograd
            args.append(m.tensor(a, dtype=getattr(m, dtype), requires_grad=rg))
            if rg:
                diff.append(i)
        elif isinstance(a, np.ndarray):
            args.append(m.tensor(a))
        else:
            args.append(a)
    return args, diff


def flat_outputs(res) -> list:
    if isinstance(res, (tuple, list)):
        out = []
        for r in res:
            out.extend(flat_outputs(r))
        return out
    return [res]


def float_outputs(res) -> list:
    return [o for o in flat_outputs(res) if o.is_floating_point()]


def evaluate(info, sample, arrays: dict) -> list:
    """Forward with the differentiable args replaced by ``arrays`` (float64); float outputs as arrays."""
    args = list(sample.args)
    for i, a in arrays.items():
        args[i] = np.asarray(a, dtype=np.float64)
    s = type(sample)(*args, nograd=sample.nograd, **sample.kwargs)
    with cr.no_grad():
        ins, _ = make_inputs(s, requires_grad=False)
        return [o._array.astype(np.float64) for o in float_outputs(info.fn(cr, *ins, **sample.kwargs))]


def cotangents(rng, outs) -> list:
    return [rng.standard_normal(o.shape) for o in outs]


def reverse(info, sample, us, create_graph=False):
    ins, diff = make_inputs(sample)
    outs = float_outputs(info.fn(cr, *ins, **sample.kwargs))
    pairs = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
    if not pairs:
        return ins, diff, [None] * len(diff)
    grads = cr.autograd.grad([o for o, _ in pairs], [ins[i] for i in diff],
                             [cr.tensor(u) for _, u in pairs], allow_unused=True,
                             create_graph=create_graph)
    return ins, diff, list(grads)


def numeric_vjp(info, sample, diff, us) -> list:
    res = []
    for i in diff:
        x = sample.args[i].astype(np.float64)
        g = np.zeros_like(x)
        for k in np.ndindex(x.shape):
            xp, xm = x.copy(), x.copy()
            xp[k] += EPS
            xm[k] -= EPS
            fp = evaluate(info, sample, {i: xp})
            fm = evaluate(info, sample, {i: xm})
            g[k] = sum(np.sum(u * (a - b)) for u, a, b in zip(us, fp, fm)) / (2 * EPS)
        res.append(g)
    return res


def forward(info, sample, vs: dict) -> list:
    """Output tangents by forward-mode AD (tangent ``vs[i]`` on arg i)."""
    ins, _ = make_inputs(sample, requires_grad=False)
    with fwad.dual_level():
        for i, v in vs.items():
            ins[i] = fwad.make_dual(ins[i], cr.tensor(v))
        outs = float_outputs(info.fn(cr, *ins, **sample.kwargs))
        ts = [fwad.unpack_dual(o).tangent for o in outs]
        return [np.zeros(o.shape) if t is None else t._array.astype(np.float64) for o, t in zip(outs, ts)]


def numeric_jvp(info, sample, vs: dict) -> list:
    plus = {i: sample.args[i] + EPS * v for i, v in vs.items()}
    minus = {i: sample.args[i] - EPS * v for i, v in vs.items()}
    return [(a - b) / (2 * EPS) for a, b in zip(evaluate(info, sample, plus), evaluate(info, sample, minus))]


def dense(g, like) -> np.ndarray:
    return np.zeros(like.shape) if g is None else g._array.astype(np.float64)


def assert_close(actual, expected, info, what: str, sample) -> None:
    np.testing.assert_allclose(
        actual, expected, rtol=info.rtol, atol=info.atol,
        err_msg=f"{info.name}: {what} differs for {sample!r}",
    )
