"""chainrule.viz: DOT structure, labels, values/grads/saved on nodes, rendering, collapsing, tree."""

import re
import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule import viz

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz 'dot' not installed (apt-get install graphviz)")


def parse(dot: str):
    """(labels by node id, styles by node id, set of edges) from DOT text; a label's first line
    without the ``  #id`` every box shows, and the legend left out."""
    labels, kinds = {}, {}
    for m in re.finditer(r'^\s+(\w+) \[id="(\w+)" label="((?:[^"\\]|\\.)*)" (.*)\];$', dot, re.MULTILINE):
        assert m.group(1) == m.group(2)
        if m.group(1) == "legend":
            continue
        text = m.group(3).replace("\\n", "\n").replace('\\"', '"')
        head, _, rest = text.partition("\n")
        if head.endswith(f"  #{m.group(1)}"):
            head = head[: -len(m.group(1)) - 3]
        labels[m.group(1)] = head + ("\n" + rest if rest else "")
        kinds[m.group(1)] = m.group(4)
    edges = set(re.findall(r"^\s+(\w+) -> (\w+);$", dot, re.MULTILINE))
    return labels, kinds, edges


def by_title(labels):
    """Node id by title (an op's title without the name of its result: ``AddBackward0 (y)``)."""
    return {re.sub(r" \(\w+\)$", "", v.split("\n")[0]): k for k, v in labels.items()}


def seed_graph():
    x = cr.ones(1, 4, requires_grad=True)
    y = 2 * x + 1
    z = cr.norm(y, 2, dim=1)
    return x, y, z


def test_dot_structure_of_the_seed_graph():
    x, y, z = seed_graph()  # the leaf is named by the caller's variable
    g = viz.graph(z)
    labels, kinds, edges = parse(g.dot)
    t = by_title(labels)
    assert g.ids[id(x)] == t["x"]
    # the constants 2 and 1 of 2 * x + 1 are drawn with their values
    assert set(t) == {"x", "MulBackward0", "AddBackward0", "NormBackward1", "z", "2", "1"}
    # data flows leaf → ops → output
    assert edges == {(t["x"], t["MulBackward0"]), (t["MulBackward0"], t["AddBackward0"]),
                     (t["AddBackward0"], t["NormBackward1"]), (t["NormBackward1"], t["z"]),
                     (t["2"], t["MulBackward0"]), (t["1"], t["AddBackward0"])}
    assert labels[t["AddBackward0"]] == "AddBackward0 (y)"  # the result's name
    assert "dashed" in kinds[t["2"]]
    assert labels[t["x"]] == "x\n(1, 4) float32"
    assert labels[t["z"]] == "z\n(1,) float32"
    assert "#cfe8ff" in kinds[t["x"]] and "#d5f5c8" in kinds[t["z"]]
    assert viz.graph(z).dot.startswith("digraph chainrule {")


def test_diamond_has_one_node_per_op_and_both_edges():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    s = cr.sin(a)
    out = (s * s).sum()
    labels, _, edges = parse(viz.graph(out).dot)
    t = by_title(labels)
    assert list(by_title(labels)).count("SinBackward0") == 1
    assert (t["a"], t["SinBackward0"]) in edges and (t["SinBackward0"], t["MulBackward0"]) in edges
    assert len(labels) == 5  # a, sin, mul, sum, out


def test_leaf_names_from_params_name_and_module():
    w = cr.tensor([1.0, 2.0], requires_grad=True, name="weight")
    v = cr.tensor([3.0, 4.0], requires_grad=True)
    out = (w * v).sum()
    labels = parse(viz.graph(out, params={"velocity": v}).dot)[0]
    titles = set(by_title(labels))
    assert {"weight", "velocity"} <= titles

    class Affine(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = cr.nn.Parameter(cr.ones(3))
            self.shift = cr.nn.Parameter(cr.zeros(3))

    class Net(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.first = Affine()

    net = Net()
    y = (cr.ones(4, 3) * net.first.scale + net.first.shift).sum()
    titles = set(by_title(parse(viz.graph(y, params=net).dot)[0]))
    assert {"first.scale", "first.shift"} <= titles


def test_values_small_and_large():
    x = cr.tensor([0.5, -1.25], requires_grad=True)
    y = x * 2
    labels = parse(viz.graph(y, show_values=True).dot)[0]
    t = by_title(labels)
    assert "value [0.5, -1.25]" in labels[t["x"]]
    assert "value [1, -2.5]" in labels[t["MulBackward0"]]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((30, 20))
    a[3, 4] = np.nan
    s = viz.summarize(a)
    fin = a[~np.isnan(a)]
    assert s == (f"[30×20] ‖·‖={np.linalg.norm(fin):.4g} min={fin.min():.4g} "
                 f"max={fin.max():.4g} NaN=1")
    assert viz.summarize(np.float64(0.125)) == "0.125"


def test_grads_on_leaves_retained_and_traced():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * x
    h.retain_grad()
    loss = (h * 3).sum()
    loss.backward()
    labels = parse(viz.graph(loss, show_grads=True).dot)[0]
    t = by_title(labels)
    assert "grad [6, 12, 18]" in labels[t["x"]]  # d(3x²)/dx = 6x
    # h retains its grad: shown on the node that produced it
    mul_nodes = [k for k, v in labels.items() if v.startswith("MulBackward0")]
    assert any("grad [3, 3, 3]" in labels[k] for k in mul_nodes)
    # with a recorded backward, every op node shows the gradient that reached it
    x2 = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.explain() as ex:
        y2 = cr.exp(x2)
        l2 = y2.sum()
        l2.backward()
    labels = parse(viz.graph(l2, show_grads=True, show_values=True, trace=ex).dot)[0]
    t = by_title(labels)
    assert "grad [1, 1]" in labels[t["ExpBackward0"]]
    assert f"value [{np.e:.4g}, {np.e ** 2:.4g}]" in labels[t["ExpBackward0"]]
    assert "grad 1" in labels[t["SumBackward0"]]


def test_saved_tensors_and_bytes():
    a = cr.ones(3, 4, dtype=cr.float64, requires_grad=True)
    b = cr.ones(3, 4, dtype=cr.float64, requires_grad=True)
    y = (a * b).sum()
    labels = parse(viz.graph(y, show_saved=True).dot)[0]
    mul = labels[by_title(labels)["MulBackward0"]]
    assert mul.count("(3, 4) float64 96 B") == 2 and "saved total 192 B" in mul
    add = cr.ones(2, requires_grad=True) + cr.ones(2)
    labels = parse(viz.graph(add, show_saved=True).dot)[0]
    assert "saved: nothing" in labels[by_title(labels)["AddBackward0"]]  # a + b reads no values
    y.backward()
    labels = parse(viz.graph(y, show_saved=True, show_values=True).dot)[0]
    mul = labels[by_title(labels)["MulBackward0"]]
    assert "saved: (freed by backward)" in mul and "value (freed by backward)" in mul


def test_collapse_repeated_layers():
    cr.manual_seed(0)
    params = {}
    h = cr.randn(4, 8)
    for i in range(12):
        W = cr.randn(8, 8, requires_grad=True)
        b = cr.randn(8, requires_grad=True)
        params[f"layers.{i}.weight"] = W
        params[f"layers.{i}.bias"] = b
        h = cr.tanh(h @ W + b)
    loss = h.sum()
    full = viz.graph(loss, params=params)
    # 37 ops, 24 parameters, the data h (drawn as an input that needs no grad), the output
    assert sum(n.kind == "op" for n in full.nodes) == 37 and len(full.nodes) == 37 + 24 + 1 + 1
    assert [n.title for n in full.nodes if n.kind == "const"] == ["(4, 8) float32"]
    small = viz.graph(loss, params=params, max_nodes=20)
    labels, kinds, edges = parse(small.dot)
    groups = [v for k, v in labels.items() if "box3d" in kinds[k]]
    assert groups == [("12 × [MatmulBackward0 → AddBackward0 → TanhBackward0]\n36 ops collapsed\n"
                       "params: layers.{0–11}.weight, layers.{0–11}.bias")]
    t = by_title(labels)
    assert set(t) == {groups[0].split("\n")[0], "SumBackward0", "loss"}
    assert edges == {(t[groups[0].split("\n")[0]], t["SumBackward0"]),
                     (t["SumBackward0"], t["loss"])}
    assert len(viz.graph(loss, params=params, collapse=False, max_nodes=5).nodes) == 63


def test_collapse_a_cnn_step():
    nn = cr.nn
    cr.manual_seed(0)
    blocks = []
    for i in range(6):
        blocks += [nn.Conv2d(8 if i else 3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()]
    model = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    loss = nn.functional.cross_entropy(model(cr.randn(4, 3, 16, 16)), cr.tensor([1, 2, 3, 4]))
    full = viz.graph(loss, params=model, collapse=False)
    n_params = len(list(model.parameters()))
    assert sum(n.kind == "leaf" for n in full.nodes) == n_params == 26
    g = viz.graph(loss, params=model, max_nodes=20)
    titles = [n.title for n in g.nodes if n.kind == "group"]
    block = [t for t in titles if t.startswith("6 × [")]
    assert len(block) == 1 and "ConvolutionBackward0" in block[0] and "Relu" in block[0]
    leaves = sorted(n.title for n in g.nodes if n.kind == "leaf")
    assert leaves == ["20.bias", "20.weight"]  # only the head's stay visible, with its ops
    assert len(g.nodes) <= 16


def test_collapse_keeps_branches():
    x = cr.tensor([0.3, 0.1], requires_grad=True)
    a, b = x, x * 2
    for _ in range(5):
        a = cr.sin(a)
        b = cr.cos(b)
    out = (a * b).sum()
    labels, kinds, edges = parse(viz.graph(out, collapse=True).dot)
    groups = {v.split("\n")[0]: k for k, v in labels.items() if "box3d" in kinds[k]}
    assert sorted(groups) == ["5 × [CosBackward0]", "5 × [SinBackward0]"]
    sin, cos = groups["5 × [SinBackward0]"], groups["5 × [CosBackward0]"]
    named = {t: k for t, k in by_title(labels).items() if not t.startswith("MulBackward0")}
    x_id = named["x"]
    muls = [k for k, v in labels.items() if v.startswith("MulBackward0")]
    times2 = next(m for m in muls if (x_id, m) in edges)  # x * 2
    prod = next(m for m in muls if m != times2)  # a * b
    assert edges == {(x_id, sin), (x_id, times2), (times2, cos), (sin, prod), (cos, prod),
                     (prod, named["SumBackward0"]), (named["SumBackward0"], named["out"])}


def test_tree_text():
    x, _y, z = seed_graph()
    assert x.grad is None
    assert viz.tree(z) == (
        "z (1,) float32 ← NormBackward1 #0\n"
        "└─ AddBackward0 #1\n"
        "   ├─ MulBackward0 #2\n"
        "   │  ├─ (constant or input that needs no grad)\n"
        "   │  └─ x (1, 4) float32 leaf #3\n"
        "   └─ (constant or input that needs no grad)"
    )
    a = cr.tensor(2.0, requires_grad=True)
    s = a * a
    t = viz.tree(s + s, show_values=True)
    assert "(see #1 MulBackward0)" in t and "value 4" in t
    assert viz.tree(cr.ones(2)) == "output (2,) float32  (does not require grad: no graph)"


def test_builtin_svg_has_every_node_and_edge():
    _x, _y, z = seed_graph()
    g = viz.graph(z, show_values=True)
    svg = g.builtin_svg()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for n in g.nodes:
        assert f'<g id="{n.id}" class="node"><title>{n.id}</title>' in svg
        assert f">{n.header}</text>" in svg
    assert svg.count('class="edge"') == len(g.edges) == 6  # with the constants' edges


@needs_dot
def test_svg_and_render(tmp_path):
    _x, _y, z = seed_graph()
    g = viz.graph(z)
    svg = g.svg()
    assert "<svg" in svg and svg.count('class="node"') == 5 + 2 + 1  # constants, the legend
    for title in ("NormBackward1", "AddBackward0", "MulBackward0"):
        assert title in svg
    assert g._repr_svg_() == svg
    def read(name):
        with open(g.render(str(tmp_path / name)), "rb") as f:
            return f.read()

    assert read("z.svg").decode().count("<svg") == 1
    assert read("z.png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert read("z.pdf")[:5] == b"%PDF-"
    assert read("z.dot").decode() == g.dot


def test_missing_graphviz_names_the_package(monkeypatch, tmp_path):
    _x, _y, z = seed_graph()
    g = viz.graph(z)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(viz.GraphvizNotFound, match="apt-get install graphviz") as e:
        g.svg()
    assert "brew install graphviz" in str(e.value)
    with pytest.raises(RuntimeError):
        g.render(str(tmp_path / "z.png"))
    assert g.render(str(tmp_path / "z.dot")).endswith("z.dot")  # DOT text needs nothing
    assert g._repr_svg_() == g.builtin_svg()
    with pytest.raises(ValueError, match="format"):
        g.render(str(tmp_path / "z.gif"))


def test_non_tensor_argument():
    with pytest.raises(TypeError, match="expected Tensors"):
        viz.graph([1.0])


def test_deep_graph_no_recursion_and_bounded_text():
    x = cr.tensor([0.5], dtype=cr.float64, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    g = viz.graph(y, collapse=False)
    assert len(g.nodes) == 3002 and len(g.edges) == 3001
    small = viz.graph(y)  # default max_nodes: one box
    assert [n.title for n in small.nodes if n.kind == "group"] == ["3000 × [MulBackward0]"]
    t = viz.tree(y)
    lines = t.splitlines()
    assert len(lines) > 3000 and max(len(s) for s in lines) < 3 * 24 + 80
    assert sum("x (1,) float64 leaf" in s for s in lines) == 1
    assert sum("(constant or input that needs no grad)" in s for s in lines) == 3000
    with cr.explain() as ex:
        y.backward()
    assert len(ex.steps) == 3001 and abs(x.grad.item() - 1.0001 ** 3000) < 1e-9
