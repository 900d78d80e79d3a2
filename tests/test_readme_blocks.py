"""Every code block of the README runs as written.

Each fenced ```` ```python ```` block is run on its own, in a fresh namespace, in an empty
temporary folder (a block that writes a file writes it there), with the library under test on
the path. A block must therefore import what it uses and define what it reads.

A block that is not meant to run (a sketch of internals, shell commands, a fragment) says so, in
one of two ways, and is then skipped by name:

- an HTML comment on the line before its opening fence (blank lines between are allowed)::

      <!-- illustration: why it does not run -->
      ```python
      ...
      ```

- or the word ``illustration`` in the fence's info string: ```` ```python illustration ````.

Blocks in any other language (```` ```bash ````, ```` ```text ````) must carry the marker too, so
that no block is left unchecked by accident; a ```` ```text ```` block shows output and is exempt.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARK = re.compile(r"<!--\s*illustration\b")
FENCE = re.compile(r"^(\s*)```(.*)$")


def blocks(text: str) -> list[dict]:
    """The fenced blocks of a Markdown text: language, info string, code, line, illustration."""
    lines = text.splitlines()
    out = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m.group(2).strip():
            i += 1
            continue
        indent, info = m.group(1), m.group(2).strip()
        start = i
        body = []
        i += 1
        while i < len(lines) and not (lines[i].strip() == "```"):
            ln = lines[i]
            body.append(ln[len(indent):] if ln.startswith(indent) else ln.lstrip())
            i += 1
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        marked = "illustration" in info.split()[1:] or (k >= 0 and MARK.search(lines[k]))
        out.append({"lang": info.split()[0], "info": info, "code": "\n".join(body) + "\n",
                    "line": start + 1, "illustration": bool(marked)})
        i += 1
    return out


def _name(b: dict) -> str:
    first = next((ln.strip() for ln in b["code"].splitlines() if ln.strip()), "")
    return f"README.md:{b['line']} {first[:40]}"


ALL = blocks(README.read_text(encoding="utf-8"))
RUN = [b for b in ALL if b["lang"] == "python" and not b["illustration"]]


def test_the_extraction_understands_the_markers():
    text = ("a\n\n```python\nx = 1\n```\n<!-- illustration: internals -->\n\n```python\nboom(\n"
            "```\n```python illustration\nboom(\n```\n   ```python\n   y = 2\n   ```\n")
    bs = blocks(text)
    assert [(b["lang"], b["illustration"], b["line"]) for b in bs] == [
        ("python", False, 3), ("python", True, 8), ("python", True, 11), ("python", False, 14)]
    assert bs[3]["code"] == "y = 2\n"  # an indented block (inside a list item) is dedented


def test_every_other_block_says_it_is_an_illustration():
    loose = [_name(b) for b in ALL
             if b["lang"] not in ("python", "text") and not b["illustration"]]
    assert not loose, ("README blocks that are neither Python that runs nor marked "
                       f"<!-- illustration: … -->: {loose}")
    assert len(RUN) >= 4


@pytest.mark.parametrize("block", RUN, ids=[_name(b) for b in RUN])
def test_readme_block_runs_as_written(block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = compile(block["code"], f"README.md:{block['line']}", "exec")
    ns: dict = {"__name__": "__readme__"}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a block may trigger a one-time warning; it still runs
        exec(code, ns)  # noqa: S102  (the README's own code)
    assert os.getcwd() == str(tmp_path)


def test_the_printed_chain_in_the_readme_is_what_chain_prints():
    import chainrule as cr

    text = README.read_text(encoding="utf-8")
    shown = next(b for b in ALL if b["lang"] == "text" and b["code"].startswith("v · dz/dx"))
    x = cr.ones(1, 4, requires_grad=True)
    with cr.explain() as ex:
        y = 2 * x + 1
        z = cr.norm(y, 2, dim=1)
        z.backward(cr.ones(1))
    assert shown["code"] == ex.chain(x) + "\n"
    assert "v · J_norm(z) · J_add(y) · J_mul" in text
