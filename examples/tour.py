"""A short tour of the seed's examples: the chain rule, run by chainrule, with the numbers.

Run:  python examples/tour.py
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.autograd import forward_ad as fwad


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 66 - len(title)))


def main() -> None:
    section("1. Reverse accumulation: y = 2x + 1, z = ||y||_2 (the seed's example)")
    x = cr.ones(1, 4, requires_grad=True)
    y = 2 * x + 1
    z = cr.norm(y, 2, dim=1)
    print("z =", z)
    print("graph:", z.grad_fn.name(), "<-", y.grad_fn.name(), "<-",
          y.grad_fn.next_functions[0][0].name(), "<- x")
    z.backward(cr.ones(1))
    print("x.grad =", x.grad, "  (dz/dy = y/|y| = 3/6 = 0.5, dy/dx = 2, product 1)")
    try:
        z.sum().backward()
    except RuntimeError as e:
        print("second backward without retain_graph ->", str(e).split(".")[0])

    section("2. backward() starts from a scalar; a vector output needs gradient=v")
    X = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)

    def f(X):
        return cr.stack([X[0] * X[1], X[1] ** 2 + X[2], cr.sin(X[2]) * X[0]])

    Y = f(X)
    try:
        Y.backward()
    except RuntimeError as e:
        print("Y.backward() ->", str(e).split("(")[0].strip())

    section("3. Y.backward(v) computes the vector-Jacobian product vJ")
    rows = []
    for i in range(3):
        (g,) = cr.autograd.grad(f(X)[i], X)
        rows.append(g._array)
    J = np.stack(rows)
    print("Jacobian J (row i = gradient of y_i):\n", J)
    for name, v in (("v = (1, 1, 1)", np.ones(3)), ("v = mean weights", np.full(3, 1 / 3)),
                    ("v = (0.1, 1, 5)", np.array([0.1, 1.0, 5.0]))):
        X.grad = None
        f(X).backward(cr.tensor(v))
        print(f"{name:18s} vJ = {v @ J}   Y.backward(v) -> X.grad = {X.grad._array}")
        assert np.allclose(X.grad._array, v @ J)

    section("4. backward(v) continues backpropagation from a known gradient")
    Yd = f(X).detach().requires_grad_()
    l = (Yd ** 2).sum()  # l = g(y), computed separately
    l.backward()
    v = Yd.grad  # dl/dy
    X.grad = None
    f(X).backward(v)
    X2 = X.detach().clone().requires_grad_()
    (f(X2) ** 2).sum().backward()
    print("dl/dy =", v._array, "\nY.backward(dl/dy) gives dl/dx =", X.grad._array)
    print("end-to-end dl/dx           =", X2.grad._array)

    section("5. Forward accumulation: Jacobian-vector products from the input side")
    with fwad.dual_level():
        for j in range(3):
            e = np.eye(3)[j]
            Xd = fwad.make_dual(X.detach(), cr.tensor(e))
            Jv = fwad.unpack_dual(f(Xd)).tangent
            print(f"J e_{j} (column {j}) =", Jv._array, "  matches J[:, j]:", np.allclose(Jv._array, J[:, j]))
    print("reverse mode: one pass per output row (m = 3); forward mode: one pass per input column (n = 3)")

    section("6. Automatic, not symbolic, not numerical (but numerical checks it)")
    eps = 1e-6
    num = np.array([(f(cr.tensor(X._array + eps * e))._array - f(cr.tensor(X._array - eps * e))._array) / (2 * eps)
                    for e in np.eye(3)]).T
    print("max |J_autodiff - J_finite_diff| =", np.abs(J - num).max())


if __name__ == "__main__":
    main()
