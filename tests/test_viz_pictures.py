"""The pictures, looked at: the built-in layout never draws an edge across a box; constants,
names, slice indices, node ids and the legend are drawn; screenshots in headless Chromium of the
seed graph, the Jacobian graph and a CNN step, with the built-in layout and with Graphviz."""

import os
import shutil
import sys

import numpy as np
import pytest

import chainrule as cr
from _browser import CHROMIUM, chromium, near, read_png
from chainrule import nn, viz
from chainrule.viz._layout import sample

needs_chromium = pytest.mark.skipif(CHROMIUM is None,
                                    reason="Chromium not installed (apt-get install chromium)")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz 'dot' not installed (apt-get install graphviz)")


def seed():
    x = cr.ones(1, 4, requires_grad=True)
    with cr.explain() as ex:
        y = 2 * x + 1
        z = cr.norm(y, 2, dim=1)
        z.backward(cr.ones(1))
    return ex.graph(title="y = 2x + 1, z = ‖y‖₂")


def jacobian():
    X = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True, name="X")
    with cr.explain() as ex:
        Y = cr.stack([X[0] * X[1], X[1] ** 2 + X[2], cr.sin(X[2]) * X[0]])
        Y.backward(cr.ones(3, dtype=cr.float64))
    return ex.graph(title="Y = f(X), Y.backward(v)")


def cnn_step():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
    from train_digits import make_cnn

    cr.manual_seed(0)
    model = make_cnn()
    loss = nn.functional.cross_entropy(model(cr.randn(4, 1, 8, 8)), cr.tensor([1, 2, 3, 4]))
    return viz.graph(loss, params=dict(model.named_parameters()),
                     title="one training step: cross_entropy(model(x), y)")


GRAPHS = {"seed": seed, "jacobian": jacobian, "cnn": cnn_step}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_builtin_layout_never_draws_an_edge_across_a_box(name):
    g = GRAPHS[name]()
    lay = g.layout()
    boxes = lay["boxes"]
    assert set(boxes) == {n.id for n in g.nodes} and len(lay["routes"]) == len(g.edges)
    ids = list(boxes)
    for i, a in enumerate(ids):  # no two boxes overlap
        for b in ids[i + 1:]:
            A, B = boxes[a], boxes[b]
            assert A[2] <= B[0] or B[2] <= A[0] or A[3] <= B[1] or B[3] <= A[1], (a, b)
    for a, b, pts in lay["routes"]:
        pts = sample(pts)
        assert abs(pts[0][1] - boxes[a][3]) < 1e-6 and abs(pts[-1][1] - boxes[b][1]) < 1e-6
        for k, box in boxes.items():
            x0, y0, x1, y1 = box
            inside = [(x, y) for x, y in pts if x0 + 0.5 < x < x1 - 0.5 and y0 + 0.5 < y < y1 - 0.5]
            assert not inside, f"edge {a}→{b} crosses box {k} at {inside[0]}"
        assert all(0 <= x <= lay["width"] and 0 <= y <= lay["height"] for x, y in pts)


def test_what_the_pictures_say():
    g = seed()
    svg = g.builtin_svg()
    assert '<text class="title"' in svg and "y = 2x + 1, z = ‖y‖₂" in svg  # the title
    assert "gradients flow backward, against the arrows" in svg and "gradients flow backward" \
        in g.dot  # the legend, in both drawings
    consts = sorted(n.title for n in g.nodes if n.kind == "const")
    assert consts == ["1", "2"]  # the constants of 2 * x + 1
    heads = [n.header for n in g.nodes]
    assert "AddBackward0 (y)  #n1" in heads and "NormBackward1 (z)  #n0" in heads
    assert len({n.id for n in g.nodes}) == len(g.nodes)  # unique ids, drawn in every box
    j = jacobian()
    idx = sorted(n.lines[0] for n in j.nodes if n.title == "SliceBackward0")
    assert idx == ["index [0]", "index [0]", "index [1]", "index [1]", "index [2]", "index [2]"]
    assert viz.index_text((slice(1, 3), Ellipsis, None, slice(None, None, 2))) == \
        "[1:3, ..., None, ::2]"


def svg_size(svg: str) -> tuple[int, int]:
    """The picture's width and height in CSS px (Graphviz writes pt: 4/3 px each)."""
    import re

    m = re.search(r'<svg[^>]*\bwidth="([\d.]+)(pt|px)?"[^>]*\bheight="([\d.]+)(pt|px)?"', svg)
    k = 4 / 3 if m.group(2) == "pt" else 1
    return int(float(m.group(1)) * k), int(float(m.group(3)) * k)


def shoot(tmp_path, svg: str, name: str):
    path = tmp_path / f"{name}.svg"
    path.write_text(svg, encoding="utf-8")
    shot = tmp_path / f"{name}.png"
    w, h = svg_size(svg)
    out = chromium([f"--window-size={w + 40},{h + 40}", "--hide-scrollbars",
                    f"--screenshot={shot}", f"file://{path}"], tmp_path)
    assert shot.exists(), out.stderr[-2000:]
    return read_png(str(shot))


@needs_chromium
@pytest.mark.parametrize("name", list(GRAPHS))
@pytest.mark.parametrize("drawing", ["builtin", "graphviz"])
def test_screenshots(tmp_path, name, drawing):
    if drawing == "graphviz" and shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' not installed (apt-get install graphviz)")
    g = GRAPHS[name]()
    svg = g.builtin_svg() if drawing == "builtin" else g.svg()
    img = shoot(tmp_path, svg, f"{name}_{drawing}")
    ink = ~near(img, (255, 255, 255), 3)
    assert ink.mean() > 0.03  # not blank
    ops = near(img, (0xE8, 0xE8, 0xE8), 4).sum()
    leaves = near(img, (0xCF, 0xE8, 0xFF), 4).sum()
    n_ops = sum(n.kind == "op" for n in g.nodes)
    n_leaves = sum(n.kind == "leaf" for n in g.nodes)
    assert ops > 1500 * n_ops and leaves > 1500 * n_leaves  # every box's fill is on the screen
    rows = np.where(ink.any(axis=1))[0]
    cols = np.where(ink.any(axis=0))[0]
    assert rows.max() < img.shape[0] - 20, "the picture is cut at the bottom"
    assert cols.max() < img.shape[1] - 20, "the picture is cut at the right"
    # the legend is the last line of ink; the title the first (centered)
    assert rows.min() < 45


@needs_chromium
def test_explain_page_graph_pane_scales_with_the_window(tmp_path):
    X = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True, name="X")
    with cr.explain() as ex:
        Y = cr.stack([X[0] * X[1], X[1] ** 2 + X[2], cr.sin(X[2]) * X[0]])
        Y.backward(cr.ones(3, dtype=cr.float64))
    path = tmp_path / "jac.html"
    ex.html(str(path))
    shot = tmp_path / "jac.png"
    chromium(["--window-size=1400,900", "--hide-scrollbars", f"--screenshot={shot}",
              f"file://{path}"], tmp_path)
    img = read_png(str(shot))
    opfill = near(img, (0xE8, 0xE8, 0xE8), 4)[:, :760]
    leaf = near(img, (0xCF, 0xE8, 0xFF), 4)
    # the whole graph (up to 6 boxes side by side) is scaled into the pane, left of the table
    cols = np.where(leaf.any(axis=0))[0]
    assert leaf.sum() > 300 and cols.max() < 760
    assert opfill.sum() > 13 * 300
    dom = chromium(["--dump-dom", f"file://{path}"], tmp_path).stdout
    assert dom.count('class="node"') >= 14 and "#n" in dom
    # measured by the browser: the picture fits its pane (no scrolling), at 1400 and 900 px
    probe = path.read_text(encoding="utf-8").replace("</body>", """<script>
      var g = document.getElementById('graph');
      document.body.setAttribute('data-fit', String(g.scrollWidth <= g.clientWidth + 1));
      document.body.setAttribute('data-pane', String(g.clientWidth));
    </script></body>""")
    probe_path = tmp_path / "probe.html"
    probe_path.write_text(probe, encoding="utf-8")
    panes = []
    for width in (1400, 900):
        dom = chromium([f"--window-size={width},900", "--dump-dom", f"file://{probe_path}"],
                       tmp_path).stdout
        assert 'data-fit="true"' in dom, width
        panes.append(int(dom.split('data-pane="')[1].split('"')[0]))
    assert panes[0] > 500  # the pane takes its share of a wide window


def test_digits_plot_axes_hold_all_their_data(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
    import train_digits

    figs = []
    monkeypatch.setattr(plt, "close", lambda fig=None: figs.append(fig))
    hist = {"MLP": {"train_loss": [2.1, 0.4, 0.1], "test_loss": [1.5, 0.3, 0.2],
                    "train_acc": [0.42, 0.9, 0.97], "test_acc": [0.61, 0.93, 0.96]},
            "CNN": {"train_loss": [1.9, 0.2, 0.05], "test_loss": [1.2, 0.15, 0.1],
                    "train_acc": [0.55, 0.95, 0.99], "test_acc": [0.7, 0.97, 1.0]}}
    assert train_digits.plot(hist, str(tmp_path / "p.png"))
    (fig,) = figs
    loss_ax, acc_ax = fig.axes[:2]
    lo, hi = acc_ax.get_ylim()
    assert lo <= 0.42 and hi >= 1.0  # the first epochs' 0.42 and the perfect 1.0 are both inside
    lo, hi = loss_ax.get_ylim()
    assert lo <= 0.05 and hi >= 2.1
