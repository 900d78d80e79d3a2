"""examples/seed_walkthrough.py: every example of the study note through the explain tools; the
printed chains against the numbers by hand, and its pages in headless Chromium."""

import importlib.util
import math
import os

import numpy as np
import pytest

from _browser import CHROMIUM, chromium, near, read_png

ROOT = os.path.join(os.path.dirname(__file__), "..")


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    import contextlib
    import io

    path = os.path.join(ROOT, "examples", "seed_walkthrough.py")
    spec = importlib.util.spec_from_file_location("seed_walkthrough", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path_factory.mktemp("seed")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        files = mod.main(str(out))  # the example also checks its own numbers
    return files, buf.getvalue(), out


def test_printed_chains_are_the_chain_rule_by_hand(walkthrough):
    files, text, out = walkthrough
    lines = text.splitlines()
    # 1×4 norm example: dz/dy = y/‖y‖ = 3/6, dy/d(2x) = I, d(2x)/dx = 2I
    assert ("v · dz/dx = v · J_norm(z) · J_add(y) · J_mul = [1] · [[0.5, 0.5, 0.5, 0.5]] · I · 2I"
            " = [[1, 1, 1, 1]]") in lines
    assert "  pass 1: e_1 → J_mul·… = [2, 0, 0, 0]; J_add(y)·… = [2, 0, 0, 0]; J_norm(z)·… = [1]" \
        in lines
    # the 3-vector Jacobian: J by hand, vJ with v = (1, 1, 1) is the sum of its rows
    J = np.array([[2.0, 1.0, 0.0], [0.0, 4.0, 1.0], [math.sin(3.0), 0.0, math.cos(3.0)]])
    s = J.sum(0)
    assert f"  sum = [{s[0]:.4g}, {s[1]:.4g}, {s[2]:.4g}]" in lines
    assert "dY/dX = Σ over 6 paths of J · … · J = [[2, 1, 0], [0, 4, 1], [0.1411, 0, -0.99]]" \
        in lines
    assert ("  path 3: v · J_stack(Y) · J_add · J_pow · J_index[1]#n11 = [1, 1, 1] · [[0], [1], "
            "[0]] · I · 4I · [[0, 1, 0]] = [0, 4, 0]") in lines  # d(X1²)/dX1 = 2·2
    m = J.mean(0)  # and with v = (⅓, ⅓, ⅓) the mean
    assert f"  sum = [{m[0]:.4g}, {m[1]:.4g}, {m[2]:.4g}]" in lines
    # continuing from a known gradient: v = dl/dY = 2Y for l = ΣY², vJ = dl/dX
    Y = np.array([2.0, 7.0, math.sin(3.0)])
    c = (2 * Y) @ J
    assert f"  sum = [{c[0]:.4g}, {c[1]:.4g}, {c[2]:.4g}]" in lines
    assert any(ln.startswith("loss does not require grad, so a gets no gradient") and
               "was detached at seed_walkthrough.py:" in ln for ln in lines)
    names = {os.path.basename(f) for f in files}
    assert {"seed_chain.txt", "jacobian_chain.txt", "seed_explain.html",
            "jacobian_vJ_explain.html", "jacobian_mean_explain.html",
            "continue_explain.html"} <= names


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install chromium)")
def test_walkthrough_page_shows_the_chain_and_the_matrices(walkthrough, tmp_path):
    _files, _text, out = walkthrough
    page = out / "seed_explain.html"
    dom = chromium(["--dump-dom", f"file://{page}"], tmp_path).stdout
    chain = dom[dom.index('<div id="chain">'):dom.index('<h2>Local Jacobians')]
    assert ("v · dz/dx = v · J_norm(z) · J_add(y) · J_mul = [1] · [[0.5, 0.5, 0.5, 0.5]] · I · 2I"
            " = [[1, 1, 1, 1]]") in chain
    jac = dom[dom.index('<div id="jacobians">'):]
    assert jac.count("<figure") == 3 and jac.count('class="heat"') == 3
    assert "1×4, [[0.5, 0.5, 0.5, 0.5]]" in jac and "4×4, 2I" in jac
    assert jac.count("<rect") == 4 + 16 + 16  # every entry of the three Jacobians is a cell
    shot = tmp_path / "page.png"
    chromium(["--window-size=1400,1400", "--hide-scrollbars", f"--screenshot={shot}",
              f"file://{page}"], tmp_path)
    img = read_png(str(shot))
    red = near(img, (255, 0, 0), 8)  # the largest entries of each heat map, full red
    ys, xs = np.where(red)
    # J_norm: 4 cells of 0.5, J_add: 4 ones on the diagonal, J_mul: 4 twos: 12 cells of 26×26
    assert red.sum() > 12 * 20 * 20
    assert ys.min() > 500  # below the graph and the table: the Jacobians' section
    grey = near(img, (0xF4, 0xF4, 0xF4), 2)  # the chain's box
    assert grey[:ys.min()].sum() > 20000
