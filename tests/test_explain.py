"""chainrule.explain: each chain-rule step against the chain rule by hand; table/markdown/html;
the page in headless Chromium; forward vs reverse accumulation against closed forms."""

import math
import os
import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule import _context
from _browser import CHROMIUM, chromium, near, read_png


def scalar_example():
    """z = tanh(3x)² + x at x = 0.5, recorded."""
    x = cr.tensor(0.5, dtype=cr.float64, requires_grad=True, name="x")
    with cr.explain() as ex:
        u = 3 * x
        y = cr.tanh(u)
        z = y * y + x
        z.backward()
    return ex, x, u, y, z


def test_scalar_steps_reproduce_the_chain_rule_by_hand():
    ex, x, _u, _y, _z = scalar_example()
    t = math.tanh(1.5)
    # engine order: z's add, y*y, tanh, 3*x, then x's accumulation (both paths arrived)
    assert [s.name for s in ex.steps] == ["AddBackward0", "MulBackward0", "TanhBackward0",
                                          "MulBackward0", "AccumulateGrad"]
    add, sq, th, mul3, acc = ex.steps
    assert add.g[0] == 1.0 and add.local[0] == 1.0 and add.local[1] == 1.0
    assert add.passed[1] == 1.0  # dz/dx along the direct path
    # y*y: d(u·v)/du = v = tanh(1.5) for both inputs (both are y)
    assert sq.formula == ["d(u·v)/du = v", "d(u·v)/dv = u"]
    np.testing.assert_allclose([sq.local[0], sq.local[1]], [t, t], rtol=1e-15)
    np.testing.assert_allclose([sq.passed[0], sq.passed[1]], [t, t], rtol=1e-15)
    assert sq.paths == [1, 2]  # the second contribution to tanh's output is summed
    # tanh: incoming 2t (the two paths summed), local 1 − t², passed 2t(1 − t²)
    assert th.formula == ["d tanh(u)/du = 1 − tanh(u)²"]
    np.testing.assert_allclose(th.g[0], 2 * t, rtol=1e-15)
    np.testing.assert_allclose(th.local[0], 1 - t * t, rtol=1e-14)
    np.testing.assert_allclose(th.passed[0], 2 * t * (1 - t * t), rtol=1e-14)
    # 3*x: local 3 toward x
    i = next(k for k, d in enumerate(mul3.dest) if d is not None)
    assert mul3.local[i] == 3.0
    np.testing.assert_allclose(mul3.passed[i], 6 * t * (1 - t * t), rtol=1e-14)
    # x.grad = 1 + 6t(1 − t²), arrived along 2 paths
    assert acc.kind == "accumulate" and acc.paths == 2 and not acc.had_grad
    np.testing.assert_allclose(acc.grad_after, 1 + 6 * t * (1 - t * t), rtol=1e-14)
    np.testing.assert_allclose(x.grad.item(), 1 + 6 * t * (1 - t * t), rtol=1e-14)
    text = ex.chain(x)
    assert text.startswith("dz/dx = ") and text.count("(") == 3  # three paths
    assert text.endswith(f"= {1 + 6 * t * (1 - t * t):.6g}")
    assert f"{t:.6g} · {1 - t * t:.6g} · 3" in text


def test_table_rows_and_destinations():
    ex, _x, _u, _y, _z = scalar_example()
    rows = ex.rows()
    assert [r["to"] for r in rows] == [
        "MulBackward0 #n1", "x.grad", "TanhBackward0 (y) #n3",
        "TanhBackward0 (y) #n3 (summed with 1 earlier path)", "MulBackward0 (u) #n4",
        "x.grad (summed with 1 earlier path)", "x.grad"]
    assert rows[0]["node"] == "AddBackward0 (z) #n0"
    g = ex.graph()  # the ids are the picture's
    assert g.node(_y.grad_fn).id == "n3" and g.node(_u.grad_fn).id == "n4"
    assert rows[-1]["node"] == f"AccumulateGrad #{g.node(_x).id}"
    assert rows[-1]["formula"] == "x.grad = incoming (sum of 2 paths)"
    table = ex.table()
    lines = table.splitlines()
    assert lines[0].split() == ["step", "node", "input", "local", "derivative", "incoming", "g",
                                "local", "value", "passed", "on", "(g·local)", "goes", "to"]
    assert len(lines) == 2 + len(rows)
    assert "d tanh(u)/du = 1 − tanh(u)²" in table and "0.1807" in table
    assert str(ex) == table


def test_accumulates_onto_an_existing_grad():
    x = cr.tensor(2.0, requires_grad=True, name="x")
    (x * x).backward()
    with cr.explain() as ex:
        (x * 5).backward()
    assert x.grad.item() == 9.0
    acc = ex.steps[-1]
    assert acc.had_grad and acc.grad_after == 9.0 and acc.g[0] == 5.0
    assert ex.rows()[-1]["formula"] == "x.grad += incoming"


def test_two_backward_passes_in_one_recording():
    x = cr.tensor(3.0, requires_grad=True, name="x")
    with cr.explain() as ex:
        (x * x).backward()
        (x * 4).backward()
    assert ex.passes == 2 and [(s.pass_no, s.index) for s in ex.steps] == [
        (1, 1), (1, 2), (2, 1), (2, 2)]
    rows = ex.rows()
    assert [r["step"] for r in rows if r["step"] != ""] == ["1.1", "1.2", "2.1", "2.2"]
    # each pass counts its own paths: x*x sends two, x*4 one (added to the existing .grad)
    assert rows[1]["to"] == "x.grad (summed with 1 earlier path)"
    assert rows[2]["formula"] == "x.grad = incoming (sum of 2 paths)"
    assert rows[3]["to"] == "x.grad" and rows[4]["formula"] == "x.grad += incoming"
    assert x.grad.item() == 10.0 and ex.chain(x) == "dMulBackward0/dx = 4 = 4"


def test_vector_steps_show_vj_with_shapes():
    x = cr.ones(1, 4, requires_grad=True)
    with cr.explain() as ex:
        y = 2 * x + 1
        z = cr.norm(y, 2, dim=1)
        z.backward(cr.ones(1))
    norm, _add, mul, _acc = ex.steps
    np.testing.assert_allclose(norm.passed[0], np.full((1, 4), 0.5))  # y/‖y‖ = 3/6
    np.testing.assert_allclose(mul.passed[1], np.ones((1, 4)))  # · dy/dx = 2
    np.testing.assert_allclose(mul.local[1], np.full((1, 4), 2.0))  # the diagonal of the Jacobian
    rows = ex.rows()
    assert rows[0]["passed"] == "(1, 4) [[0.5, 0.5, 0.5, 0.5]]"
    assert rows[2]["local"] == "diag (1, 4) [[2, 2, 2, 2]]"
    # a non-elementwise, non-scalar step shows the vJ with shapes
    a = cr.ones(2, 3, requires_grad=True)
    with cr.explain() as ex2:
        (a @ cr.ones(3, 4)).backward(cr.ones(2, 4))
    r = ex2.rows()[0]
    assert r["node"] == "MatmulBackward0 #n0" and r["passed"].startswith("vJ (2, 4)→(2, 3): ")
    np.testing.assert_allclose(a.grad._array, np.full((2, 3), 4.0))


def test_graph_of_a_recording_shows_the_recorded_grads():
    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    with cr.explain() as ex:
        (x * x).sum().backward()
    x.grad = None
    (x * 10).sum().backward()  # later changes to .grad do not rewrite the recording
    g = ex.graph()
    leaf = g.node(x)
    assert leaf.lines[-1] == "grad [2, 4]" and leaf.lines[-2] == "value [1, 2]"
    assert [n.title for n in g.nodes] == ["SumBackward0", "MulBackward0", "x"]
    assert g.nodes[0].lines == ["value 5", "grad 1"]


def test_seed_walkthrough_example(tmp_path):
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "..", "examples", "seed_walkthrough.py")
    spec = importlib.util.spec_from_file_location("seed_walkthrough", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    files = mod.main(str(tmp_path / "seed"))  # the example checks its own numbers
    names = {os.path.basename(f) for f in files}
    assert {"seed_graph.dot", "seed_graph.svg", "seed_explain.html", "seed_explain.md",
            "jacobian_vJ_explain.html", "accumulation.txt", "why.txt"} <= names
    assert all(os.path.getsize(f) > 100 for f in files)


def test_create_graph_and_missing_formula():
    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    with cr.explain() as ex:
        (g,) = cr.autograd.grad((x.clone() ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g._array, [3.0, 12.0])
    rows = ex.rows()
    clone = next(r for r in rows if r["node"].startswith("CloneBackward0"))
    assert clone["formula"] == "(no formula in the rule table for clone)"
    assert any(r["formula"] == "d(u^v)/du = v·u^(v−1)" for r in rows)


def test_custom_function_steps():
    class Cube(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    with cr.explain() as ex:
        y = Cube.apply(x)
        y.sum().backward()
    rows = ex.rows()
    assert [r["node"] for r in rows] == ["SumBackward0 #n0", "CubeBackward (y) #n1",
                                         "AccumulateGrad #n2"]
    assert rows[1]["formula"] == "(custom Function Cube: no `formula` attribute on the class)"
    assert rows[1]["passed"] == "vJ (2,)→(2,): (2,) [3, 12]"
    np.testing.assert_allclose(x.grad._array, [3.0, 12.0])


def test_nothing_recorded_outside_the_block():
    assert _context.ctx.observers == ()
    x = cr.tensor(1.0, requires_grad=True)
    with cr.explain() as ex:
        assert len(_context.ctx.observers) == 1
    (x * 2).backward()
    assert ex.steps == [] and _context.ctx.observers == ()
    with pytest.raises(ZeroDivisionError), cr.explain():
        _ = 1 / 0
    assert _context.ctx.observers == ()


def test_markdown():
    ex, *_ = scalar_example()
    md = ex.markdown().splitlines()
    assert md[0] == ("| step | node | input | local derivative | incoming g | local value | "
                     "passed on (g·local) | goes to |")
    assert md[1] == "|---|---|---|---|---|---|---|---|"
    assert len(md) == 2 + len(ex.rows())
    assert "| 3 | TanhBackward0 (y) #n3 | u | `d tanh(u)/du = 1 − tanh(u)²` | 1.81 | 0.1807 |" in md[6]
    x = cr.tensor([-1.0, 2.0], requires_grad=True)
    with cr.explain() as ex2:
        cr.abs(x).sum().backward()
    assert "`d \\|u\\|/du = sign(u)" in ex2.markdown()  # a | inside a cell is escaped


def test_html_is_self_contained_and_links_nodes_to_steps(tmp_path):
    ex, _x, _u, y, _z = scalar_example()
    page = ex.html(str(tmp_path / "ex.html"))
    assert (tmp_path / "ex.html").read_text(encoding="utf-8") == page
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<script>" in page
    assert "http://" not in page.replace("http://www.w3.org", "")  # nothing fetched
    g = ex.graph()
    tanh_id = g.ids[id(y.grad_fn)]
    assert page.count(f'<tr data-node="{tanh_id}">') == 1
    assert f'id="{tanh_id}"' in page
    assert page.count("<tr data-node=") == len(ex.rows())


def test_html_without_graphviz_uses_the_builtin_layout(monkeypatch):
    ex, _x, _u, y, _z = scalar_example()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    page = ex.html()
    g = ex.graph()
    # builtin_svg; y * y: two edges; the constant 3 of 3 * x is drawn too
    assert page.count('class="edge"') == len(g.edges) == 7
    assert [n.title for n in g.nodes if n.kind == "const"] == ["3"]
    for n in g.nodes:
        assert f'<g id="{n.id}" class="node">' in page
    assert f'<tr data-node="{g.ids[id(y.grad_fn)]}">' in page


# ---- the page in headless Chromium -------------------------------------------------------------
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install chromium)")
def test_html_page_renders_graph_and_steps_in_chromium(tmp_path):
    ex, _x, _u, y, _z = scalar_example()
    path = tmp_path / "explain.html"
    ex.html(str(path))
    tanh_id = ex.graph().ids[id(y.grad_fn)]
    url = f"file://{path}#{tanh_id}"  # the hash selects a node as a click does
    dom = chromium(["--dump-dom", url], tmp_path).stdout
    assert "TanhBackward0" in dom and "1 − tanh(u)²" in dom and "AccumulateGrad" in dom
    assert dom.count('class="hl"><td>') == 1  # the clicked node's step is highlighted
    assert dom.count(f'<figure data-node="{tanh_id}" class="hl">') == 1  # and its Jacobian
    hl = dom[dom.index('class="hl"><td>'):]
    assert "TanhBackward0 (y)" in hl[:600]
    assert 'class="node sel"' in dom
    shot = tmp_path / "shot.png"
    out = chromium(["--window-size=1400,800", f"--screenshot={shot}", url], tmp_path)
    assert shot.exists(), out.stderr[-2000:]
    img = read_png(str(shot))
    assert img.shape[:2] == (800, 1400)
    white = near(img, (255, 255, 255), 3)
    graph_box = img[90:700, 20:400]
    assert (~near(graph_box, (255, 255, 255), 3)).mean() > 0.2  # the picture is there
    assert near(graph_box, (0xCF, 0xE8, 0xFF)).sum() > 500  # the leaf's fill
    assert near(graph_box, (0xE8, 0xE8, 0xE8)).sum() > 2000  # op nodes
    assert near(graph_box, (0xD6, 0x27, 0x28), 30).sum() > 50  # the selected node's outline
    assert near(img, (0xFF, 0xE0, 0x8A)).sum() > 2000  # the highlighted step row
    cols = np.where((~white[100:400]).sum(axis=0) > 0)[0]
    assert cols.max() > 900  # the steps table spans to the right of the graph


# ---- forward vs reverse accumulation ---------------------------------------------------------------
@pytest.mark.parametrize("n,m,cheaper", [(5, 2, "reverse"), (2, 5, "forward"), (3, 3, "equal")])
def test_accumulation_counts_closed_form(n, m, cheaper):
    rng = np.random.default_rng(n * 10 + m)
    W = cr.tensor(rng.standard_normal((m, n)))
    x = cr.tensor(rng.standard_normal(n))
    acc = cr.explain.accumulation(lambda v: cr.sin(W @ v), x)
    # local Jacobians: W @ v is m×n, sin is m×m: one pass costs mn + m² multiply-adds
    assert [(c[1], c[2]) for c in acc.chain] == [(m, n), (m, m)]
    assert acc.per_pass == m * n + m * m
    assert (acc.forward_passes, acc.reverse_passes) == (n, m)
    assert acc.forward_madds == n * (m * n + m * m)
    assert acc.reverse_madds == m * (m * n + m * m)
    assert acc.cheaper == cheaper
    J = np.cos(W._array @ x._array)[:, None] * W._array  # closed form
    np.testing.assert_allclose(acc.jacobian_forward, J, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(acc.jacobian_reverse, J, rtol=1e-6, atol=1e-7)
    text = acc.table()
    assert f"passes: {n} (one per input" in text and f"passes: {m} (one per output" in text
    assert f"multiply-adds: {n} × {m * n + m * m} = {acc.forward_madds}" in text
    assert "正向积累" in text and "反向积累" in text


def test_accumulation_of_a_loss_and_of_the_seed_function():
    x = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)
    acc = cr.explain.accumulation(lambda v: cr.sin(v).sum(), x)
    assert (acc.n, acc.m, acc.per_pass) == (3, 1, 3 * 3 + 3)
    assert acc.cheaper == "reverse" and acc.reverse_madds == 12 and acc.forward_madds == 36
    np.testing.assert_allclose(acc.jacobian, np.cos([[1.0, 2.0, 3.0]]), rtol=1e-14)

    def f(X):  # the seed's 3-vector function
        return cr.stack([X[0] * X[1], X[1] ** 2 + X[2], cr.sin(X[2]) * X[0]])

    acc = cr.explain.accumulation(f, x)
    J = np.array([[2.0, 1.0, 0.0], [0.0, 4.0, 1.0], [np.sin(3.0), 0.0, np.cos(3.0)]])
    np.testing.assert_allclose(acc.jacobian_forward, J, rtol=1e-14)
    np.testing.assert_allclose(acc.jacobian_reverse, J, rtol=1e-14)
    assert acc.forward_passes == acc.reverse_passes == 3 and acc.cheaper == "equal"
    with pytest.raises(TypeError):
        cr.explain.accumulation(f, cr.tensor([1, 2, 3]))
