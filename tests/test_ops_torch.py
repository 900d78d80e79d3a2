"""Parity with torch over the op database: values, dtypes, shapes and gradients (float64 and float32)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from _check import float_outputs, flat_outputs, make_inputs
from op_db import OPS

torch = pytest.importorskip("torch")

CASES = [(info, k) for info in OPS if info.torch for k in range(len(info.samples(info.rng())))]


def _run(info, sample, m, dtype):
    ins, diff = make_inputs(sample, m=m, dtype=dtype, requires_grad=info.grad)
    fn = info.torch_fn if (m is torch and info.torch_fn is not None) else info.fn
    return ins, diff, fn(m, *ins, **sample.kwargs)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0].name}-{c[1]}")
def test_matches_torch(case, dtype):
    info, k = case
    if dtype == "float32" and not info.float32:
        pytest.skip("float64 only")
    s = info.samples(info.rng())[k]
    c_ins, diff, c_res = _run(info, s, cr, dtype)
    t_ins, _, t_res = _run(info, s, torch, dtype)
    c_outs, t_outs = flat_outputs(c_res), flat_outputs(t_res)
    assert len(c_outs) == len(t_outs), f"{info.name}: {len(c_outs)} outputs, torch has {len(t_outs)}"
    tol = dict(rtol=1e-6, atol=1e-8) if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)
    for j, (c, t) in enumerate(zip(c_outs, t_outs)):
        assert tuple(c.shape) == tuple(t.shape), f"{info.name}: output {j} shape"
        assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (
            f"{info.name}: output {j} dtype {c.dtype} vs torch {t.dtype}")
        assert c.requires_grad == t.requires_grad, f"{info.name}: output {j} requires_grad"
        np.testing.assert_allclose(c._array, t.detach().numpy(), **tol, err_msg=f"{info.name}: output {j}")
    if not info.grad or not diff:
        return
    rng = np.random.default_rng(k)
    c_f = [o for o in float_outputs(c_res) if o.requires_grad]
    t_f = [o for o in flat_outputs(t_res) if o.is_floating_point() and o.requires_grad]
    us = [rng.standard_normal(tuple(o.shape)) for o in c_f]
    if not c_f:
        return
    cg = cr.autograd.grad(c_f, [c_ins[i] for i in diff], [cr.tensor(u, dtype=c_f[0].dtype) for u in us],
                          allow_unused=True)
    tg = torch.autograd.grad(t_f, [t_ins[i] for i in diff],
                             [torch.tensor(u, dtype=t_f[0].dtype) for u in us], allow_unused=True)
    for i, a, b in zip(diff, cg, tg):
        if b is None:
            assert a is None or not np.any(a._array), f"{info.name}: torch has no grad for input {i}"
            continue
        assert a is not None, f"{info.name}: no grad for input {i}"
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_allclose(a._array, b.numpy(), **tol, err_msg=f"{info.name}: grad of input {i}")
