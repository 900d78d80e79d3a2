"""B6–B8: function transforms. Full Jacobians (B6), a full Hessian (B7) and per-example
gradients (B8), each against torch.func and torch.autograd.functional in the same run.

float64 throughout (the Jacobian/Hessian are compared for equality in ``check()``).
"""

from __future__ import annotations

import numpy as np
from _harness import Bench, Skip

N6 = 256  # B6: g(x) = tanh(A x), R^256 → R^256
N7 = 200  # B7: f(x) = Σ tanh(A x), x ∈ R^200
B8_BATCH, B8_SIZES = 64, (32, 64, 10)  # B8: per-example gradients of a 32-64-10 tanh MLP

_rng = np.random.default_rng(0)
A6 = _rng.standard_normal((N6, N6)) / np.sqrt(N6)
X6 = _rng.standard_normal(N6)
A7 = _rng.standard_normal((N7, N7)) / np.sqrt(N7)
X7 = _rng.standard_normal(N7)
W1 = _rng.standard_normal(B8_SIZES[:2]) / np.sqrt(B8_SIZES[0])
B1 = np.zeros(B8_SIZES[1])
W2 = _rng.standard_normal(B8_SIZES[1:]) / np.sqrt(B8_SIZES[1])
XB = _rng.standard_normal((B8_BATCH, B8_SIZES[0]))
YB = _rng.integers(0, B8_SIZES[2], B8_BATCH)


def _torch():
    try:
        import torch
    except ImportError as e:
        raise Skip("torch not installed") from e
    return torch


def _cr():
    import chainrule as cr
    from chainrule import func
    from chainrule.autograd import functional

    return cr, func, functional


# ---- B6: full Jacobian of tanh(A x) ---------------------------------------------------------
def _b6(lib: str, how: str):
    def setup():
        if lib == "chainrule":
            cr, F, AF = _cr()
            A, x = cr.tensor(A6), cr.tensor(X6)
            g = lambda x: cr.tanh(A @ x)
            if how == "functional":
                return lambda: AF.jacobian(g, x)
            return lambda: getattr(F, how)(g)(x)
        torch = _torch()
        A, x = torch.tensor(A6), torch.tensor(X6)
        g = lambda x: torch.tanh(A @ x)
        if how == "functional":
            return lambda: torch.autograd.functional.jacobian(g, x)
        return lambda: getattr(torch.func, how)(g)(x)

    return setup


# ---- B7: full Hessian of Σ tanh(A x) ---------------------------------------------------------
def _b7(lib: str, how: str):
    def setup():
        if lib == "chainrule":
            cr, F, AF = _cr()
            A, x = cr.tensor(A7), cr.tensor(X7)
            f = lambda x: cr.tanh(A @ x).sum()
            if how == "functional":
                return lambda: AF.hessian(f, x)
            return lambda: F.hessian(f)(x)
        torch = _torch()
        A, x = torch.tensor(A7), torch.tensor(X7)
        f = lambda x: torch.tanh(A @ x).sum()
        if how == "functional":
            return lambda: torch.autograd.functional.hessian(f, x)
        return lambda: torch.func.hessian(f)(x)

    return setup


# ---- B8: per-example gradients of an MLP -------------------------------------------------------
def _loss(m, onehot):
    def f(params, x, y):
        w1, b1, w2 = params
        logits = m.tanh(x @ w1 + b1) @ w2
        return -(logits.log_softmax(-1) * onehot(y)).sum()

    return f


def _b8(lib: str, how: str):
    def setup():
        if lib == "chainrule":
            cr, F, _ = _cr()
            params = tuple(cr.tensor(a) for a in (W1, B1, W2))
            X, Y = cr.tensor(XB), cr.tensor(np.eye(B8_SIZES[2])[YB])
            f = _loss(cr, lambda y: y)
            if how == "loop":
                return lambda: [F.grad(f)(params, X[i], Y[i]) for i in range(B8_BATCH)]
            return lambda: F.vmap(F.grad(f), in_dims=(None, 0, 0))(params, X, Y)
        torch = _torch()
        params = tuple(torch.tensor(a) for a in (W1, B1, W2))
        X, Y = torch.tensor(XB), torch.tensor(np.eye(B8_SIZES[2])[YB])
        f = _loss(torch, lambda y: y)
        if how == "loop":
            def loop():
                out = []
                for i in range(B8_BATCH):
                    ps = tuple(p.detach().requires_grad_() for p in params)
                    out.append(torch.autograd.grad(f(ps, X[i], Y[i]), ps))
                return out
            return loop
        return lambda: torch.func.vmap(torch.func.grad(f), in_dims=(None, 0, 0))(params, X, Y)

    return setup


def check() -> None:
    """The chainrule results equal torch's (run: python benchmarks/bench_transforms.py)."""
    torch = _torch()
    for b in BENCHES:
        ref = None
        for name, setup in b.impls.items():
            r = setup()()
            if isinstance(r, list):  # a loop over examples: stack each gradient
                r = [torch.stack([torch.as_tensor(np.asarray(_arr(e[j]))) for e in r])
                     for j in range(len(r[0]))]
            flat = _flatten(r)
            arr = [np.asarray(t._array if hasattr(t, "_array") and not isinstance(t, torch.Tensor)
                              else t.detach().numpy()) for t in flat]
            if ref is None:
                ref = arr
            else:
                for a, c in zip(arr, ref):
                    np.testing.assert_allclose(a, c, rtol=1e-9, atol=1e-11, err_msg=f"{b.id} {name}")
        print(b.id, "ok:", ", ".join(b.impls))


def _arr(t):
    return t.detach().numpy() if type(t).__module__.startswith("torch") else t._array


def _flatten(r):
    if isinstance(r, (tuple, list)):
        out = []
        for x in r:
            out.extend(_flatten(x))
        return out
    return [r]


# "chainrule" / "torch" are the function transforms (chainrule.func vs torch.func: the ratio
# column); the "functional" impls are the autograd.functional calls with their defaults
BENCHES = [
    Bench("B6", f"full Jacobian of tanh(A x), R^{N6} → R^{N6}, float64, jacrev", "ms", 1e3,
          {"chainrule": _b6("chainrule", "jacrev"), "torch": _b6("torch", "jacrev"),
           "chainrule functional.jacobian": _b6("chainrule", "functional"),
           "torch functional.jacobian": _b6("torch", "functional")},
          repeat=7, number=3),
    Bench("B6-fwd", f"full Jacobian of tanh(A x), R^{N6} → R^{N6}, float64, jacfwd", "ms", 1e3,
          {"chainrule": _b6("chainrule", "jacfwd"), "torch": _b6("torch", "jacfwd")},
          repeat=7, number=3),
    Bench("B7", f"full Hessian of Σ tanh(A x), x ∈ R^{N7}, float64, func.hessian", "ms", 1e3,
          {"chainrule": _b7("chainrule", "func"), "torch": _b7("torch", "func"),
           "chainrule functional.hessian": _b7("chainrule", "functional"),
           "torch functional.hessian": _b7("torch", "functional")},
          repeat=5, number=1),
    Bench("B8", f"per-example grads, MLP {'-'.join(map(str, B8_SIZES))} tanh, batch {B8_BATCH}, "
          "float64, vmap(grad)", "ms", 1e3,
          {"chainrule": _b8("chainrule", "vmap"), "torch": _b8("torch", "vmap"),
           "chainrule loop of grad": _b8("chainrule", "loop"),
           "torch loop of autograd.grad": _b8("torch", "loop")},
          repeat=7, number=3),
]


if __name__ == "__main__":
    check()
