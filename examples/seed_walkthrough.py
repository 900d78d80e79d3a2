"""The seed, walked through: every example of the study note, run, drawn and explained.

Writes pictures (Graphviz when installed, else the built-in layout), step-by-step explain pages
(HTML and Markdown) and text tables to a folder, and checks every number it prints.

Run:  python examples/seed_walkthrough.py [--out out/seed]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import chainrule as cr
from chainrule import viz


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def picture(g: viz.Graph, out: str, stem: str) -> list:
    """Write the graph as DOT, and as SVG + PNG through Graphviz (or the built-in SVG)."""
    files = [g.render(os.path.join(out, stem + ".dot"))]
    if viz.dot_available():
        files += [g.render(os.path.join(out, stem + ".svg")),
                  g.render(os.path.join(out, stem + ".png"))]
    else:
        path = os.path.join(out, stem + ".svg")
        with open(path, "w", encoding="utf-8") as f:
            f.write(g.builtin_svg())
        files.append(path)
    return files


def write(out: str, name: str, text: str) -> str:
    path = os.path.join(out, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def main(out: str = "out/seed") -> list:
    os.makedirs(out, exist_ok=True)
    files: list = []

    section("1-2. The chain rule; forward vs reverse accumulation (正向积累 / 反向积累)")
    # dy/dx = dy/du_n · du_n/du_{n-1} · … · du_1/dx, multiplied from either end
    W = cr.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=cr.float64)
    x4 = cr.tensor([0.1, 0.2, 0.3, 0.4], dtype=cr.float64)
    acc = cr.explain.accumulation(lambda v: cr.tanh(W @ v).sum(), x4)  # R^4 → R
    print(acc)
    assert acc.cheaper == "reverse" and (acc.forward_passes, acc.reverse_passes) == (4, 1)
    acc2 = cr.explain.accumulation(lambda t: cr.sin(t * cr.arange(1, 6, dtype=cr.float64)),
                                   cr.tensor([0.5], dtype=cr.float64))  # R → R^5
    print()
    print(acc2)
    assert acc2.cheaper == "forward" and (acc2.forward_passes, acc2.reverse_passes) == (1, 5)
    files.append(write(out, "accumulation.txt", f"{acc}\n\n{acc2}\n"))

    section("3. Automatic, not symbolic, not numerical")
    x = cr.tensor(0.7, dtype=cr.float64, requires_grad=True)
    cr.sin(x * x).backward()
    h = 1e-5
    fd = (np.sin((0.7 + h) ** 2) - np.sin((0.7 - h) ** 2)) / (2 * h)
    exact = 2 * 0.7 * np.cos(0.49)  # the symbolic derivative 2x·cos(x²), evaluated
    print(f"automatic {x.grad.item():.15f}\nsymbolic  {exact:.15f}\nnumerical {fd:.15f}"
          f"  (error {abs(fd - exact):.1e})")
    assert abs(x.grad.item() - exact) < 1e-15

    section("4. backward() starts from a scalar")
    v = cr.ones(3, requires_grad=True)
    try:
        (2 * v).backward()
    except RuntimeError as e:
        print("RuntimeError:", e)

    section("5-6. The graph of y = 2x + 1, z = norm(y, 2, dim=1)")
    x = cr.ones(1, 4, requires_grad=True)
    with cr.explain() as ex:
        y = 2 * x + 1
        z = cr.norm(y, 2, dim=1)
        z.backward(cr.ones(1))
    print(viz.tree(z))
    print()
    print(ex.table())
    assert np.allclose(x.grad._array, 1.0)  # dz/dy = y/‖y‖ = 3/6, dy/dx = 2
    print()
    print("The chain rule as vector-Jacobian products (reverse accumulation, what backward does):")
    print(ex.chain(x))
    print()
    print("The same Jacobian built from the input side (forward accumulation):")
    print(ex.chain(x, order="forward"))
    files.append(write(out, "seed_chain.txt", ex.chain(x) + "\n\n" + ex.chain(x, order="forward")
                       + "\n"))
    g = ex.graph(title="y = 2x + 1, z = ‖y‖₂ (after backward)")
    files += picture(g, out, "seed_graph")
    files.append(os.path.join(out, "seed_explain.html"))
    ex.html(files[-1], title="y = 2x + 1, z = ‖y‖₂: the backward pass, step by step")
    files.append(write(out, "seed_explain.md", ex.markdown()))
    files.append(write(out, "seed_tree.txt", viz.tree(z) + "\n"))

    section("7. backward(v) on a vector: vJ with v = (1,1,1) and with the mean")
    X = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True, name="X")

    def f(X):
        return cr.stack([X[0] * X[1], X[1] ** 2 + X[2], cr.sin(X[2]) * X[0]])

    J = cr.autograd.functional.jacobian(f, X)._array if hasattr(cr.autograd, "functional") \
        else cr.explain.accumulation(f, X).jacobian
    Jhand = np.array([[2.0, 1.0, 0.0], [0.0, 4.0, 1.0], [np.sin(3.0), 0.0, np.cos(3.0)]])
    print("J =\n", np.array2string(J, precision=4))
    assert np.allclose(J, Jhand)
    with cr.explain() as ex_sum:
        Y = f(X)
        Y.backward(cr.ones(3, dtype=cr.float64))
    print("v = (1,1,1): X.grad =", X.grad, " = sum of the rows of J =", J.sum(0))
    assert np.allclose(X.grad._array, J.sum(0))
    print(ex_sum.chain(X))  # one product per path from Y to X, summed
    print(ex_sum.chain(X, order="forward").splitlines()[0])  # the whole J, from the input side
    X.grad = None
    with cr.explain() as ex_mean:
        Y = f(X)
        Y.backward(cr.full((3,), 1 / 3, dtype=cr.float64))
    print("v = mean:    X.grad =", X.grad, " = mean of the rows =", J.mean(0))
    assert np.allclose(X.grad._array, J.mean(0))
    print(ex_mean.chain(X).splitlines()[-2])  # the sum over the paths
    files.append(write(out, "jacobian_chain.txt", ex_sum.chain(X) + "\n\n"
                       + ex_sum.chain(X, order="forward") + "\n\n" + ex_mean.chain(X) + "\n"))
    files.append(os.path.join(out, "jacobian_mean_explain.html"))
    ex_mean.html(files[-1], title="Y = f(X), Y.backward(v = (⅓, ⅓, ⅓)): the mean of the rows")
    X.grad = None
    f(X).mean().backward()
    assert np.allclose(X.grad._array, J.mean(0))  # the same as backpropagating mean()
    files.append(os.path.join(out, "jacobian_vJ_explain.html"))
    ex_sum.html(files[-1], title="Y = f(X), Y.backward(v = (1, 1, 1)): vJ step by step")
    files += picture(ex_sum.graph(), out, "jacobian_graph")
    files.append(write(out, "jacobian_vJ_explain.md", ex_sum.markdown()))

    section("8. backward(v) continues backpropagation from a known gradient")
    X.grad = None
    Y = f(X)
    Yd = Y.detach().requires_grad_()
    loss = (Yd ** 2).sum()  # l = g(y), known only through its gradient
    (v,) = cr.autograd.grad(loss, Yd)
    print("v = dl/dy =", v)
    with cr.explain() as ex_cont:
        Y.backward(v)  # vJ = dl/dx
    print(ex_cont.chain(X).splitlines()[-2])
    files.append(os.path.join(out, "continue_explain.html"))
    ex_cont.html(files[-1], title="Y.backward(v) with v = dl/dY known: backpropagation goes on")
    direct = X.detach().requires_grad_()
    (f(direct) ** 2).sum().backward()
    print("Y.backward(v): X.grad =", X.grad, " = dl/dx computed directly:", direct.grad)
    assert np.allclose(X.grad._array, direct.grad._array)
    assert np.allclose(X.grad._array, v._array @ J)

    section("Why is a gradient None? (an op that cannot be differentiated)")
    w = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    counted = (w > 0).float().sum()  # a comparison carries no gradient
    d = cr.autograd.why(w, counted)
    print(d)
    assert d.kind == "non_differentiable"
    a = cr.tensor([0.5, 1.0], requires_grad=True)
    b = (a * 2).detach() * 3  # an intermediate result cut from the graph
    d2 = cr.autograd.why(a, b.sum())
    print(d2)
    assert d2.kind == "detached"
    files.append(write(out, "why.txt", str(d) + "\n" + str(d2) + "\n"))

    section("Files")
    for p in files:
        print(p)
    return files


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/seed", help="folder for pictures and pages")
    main(ap.parse_args().out)
