"""The README's list of supported ops is generated from the rule table and must be current."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_ops_table_is_current():
    sys.path.insert(0, str(ROOT / "tools"))
    import ops_table

    text = (ROOT / "README.md").read_text()
    assert ops_table.START in text and ops_table.END in text, "README lacks the generated ops table"
    a, b = text.index(ops_table.START), text.index(ops_table.END) + len(ops_table.END)
    assert text[a:b] == ops_table.section(), (
        "README.md's op table is out of date: run `python tools/ops_table.py --write`"
    )
