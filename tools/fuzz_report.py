"""A bigger, random (not derandomized) sweep of the differential fuzzer; prints the class table,
the known families hit, and the shortest reproducer of every NEW silent/wrong family.

    PYTHONPATH=src python tools/fuzz_report.py [--examples 300] [--ops gather,matmul]

Exits 1 when it finds a silent/wrong case outside tests/fuzz_known.py. Needs torch and hypothesis.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))

from fuzz_core import FAILING, check, describe  # noqa: E402
from fuzz_known import KNOWN  # noqa: E402
from fuzz_ops import OPS, OPS_BY_NAME  # noqa: E402
from test_fuzz_torch import fuzz, known_family  # noqa: E402

CLASSES = ["equal", "both-raise", "gap", "known:silent", "known:wrong", "silent", "wrong"]


def _key(e) -> str:
    if e is None:
        return "-"
    return f"{type(e).__name__}: {re.sub(r'[0-9]+', 'N', str(e))[:60]}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", type=int, default=300, help="calls per op (default 300)")
    ap.add_argument("--ops", default="", help="comma-separated op names (default: all)")
    args = ap.parse_args(argv)
    ops = [OPS_BY_NAME[n] for n in args.ops.split(",") if n] or OPS
    warnings.simplefilter("ignore")
    table: dict = {}
    new: dict = {}
    t0 = time.time()
    for op in ops:
        row = collections.Counter()

        def on_case(call, op=op, row=row):
            cls, c, t = check(op, call)
            if not cls.startswith(FAILING):
                row[cls] += 1
                return
            k = known_family(op.name, call, cls, c, t)
            if k is not None:
                k.hits += 1
                row["known:" + cls.split(":")[0]] += 1
                return
            row[cls.split(":")[0]] += 1
            fam = (op.name, cls, _key(c.exc or c.grad_exc), _key(t.exc or t.grad_exc))
            best = new.get(fam)
            if best is None or len(repr(call)) < len(repr(best[0])):
                new[fam] = (call, describe(c, t), (best[2] + 1) if best else 1)
            else:
                new[fam] = (best[0], best[1], best[2] + 1)

        fuzz(op, args.examples, False, row, on_case)
        table[op.name] = row
    total = collections.Counter()
    print(f"{'op':18s}" + "".join(f"{c:>13s}" for c in CLASSES))
    for name, row in table.items():
        total.update(row)
        print(f"{name:18s}" + "".join(f"{row[c]:13d}" for c in CLASSES))
    print(f"{'TOTAL':18s}" + "".join(f"{total[c]:13d}" for c in CLASSES))
    print(f"\n{sum(total.values())} calls in {time.time() - t0:.0f} s")
    print("\nknown families hit:")
    for k in KNOWN:
        print(f"  {k.hits:6d}  {k.name}  [{k.owner.split()[0]}]")
    if new:
        print(f"\nNEW silent/wrong families ({len(new)}), shortest reproducer of each:")
        for (op, cls, ce, te), (call, desc, n) in sorted(new.items()):
            print(f"\n[{cls}] {op} x{n}  (chainrule {ce} | torch {te})\n  {call!r}\n    {desc}")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
