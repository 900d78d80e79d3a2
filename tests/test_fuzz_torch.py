"""Differential fuzzer: property-based calls of the public API, valid and invalid, on chainrule
and torch side by side (tables in fuzz_ops.py, machinery in fuzz_core.py).

Every call classifies as equal / both-raise / gap, or as silent / wrong, which fail the run unless
the call belongs to a known family (fuzz_known.py) whose reproducer is asserted to still fail.
Derandomized, bounded examples: the same calls every run. ``FUZZ_EXAMPLES`` changes the count;
``tools/fuzz_report.py`` runs a bigger random sweep and prints the table.
"""

from __future__ import annotations

import collections
import os

import pytest

pytest.importorskip("torch")
from hypothesis import HealthCheck, given, settings  # noqa: E402

from fuzz_core import FAILING, check, describe  # noqa: E402
from fuzz_known import KNOWN  # noqa: E402
from fuzz_ops import OPS, OPS_BY_NAME  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
COUNTS: dict = collections.defaultdict(collections.Counter)


def known_family(op: str, call, cls: str, c, t):
    for k in KNOWN:
        if k.matches(op, call, cls, c, t):
            return k
    return None


def classify_call(op, call, counts) -> tuple[str, object]:
    """Class of one call, with known failures counted as ``known:<family>``; raises on a new
    silent/wrong case with a reproducer."""
    cls, c, t = check(op, call)
    if cls.startswith(FAILING):
        k = known_family(op.name, call, cls, c, t)
        if k is None:
            counts[cls] += 1
            raise AssertionError(f"{cls} (not a known family): {call!r}\n    {describe(c, t)}")
        k.hits += 1
        counts["known:" + cls.split(":")[0]] += 1
        return cls, k
    counts[cls] += 1
    return cls, None


def fuzz(op, examples: int, derandomize: bool, counts, on_case=None):
    @settings(max_examples=examples, derandomize=derandomize, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(op.calls())
    def run(call):
        if on_case is None:
            classify_call(op, call, counts)
        else:
            on_case(call)
    run()


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
def test_fuzz_against_torch(op):
    counts = COUNTS[op.name]
    fuzz(op, EXAMPLES, True, counts)
    # the strategy must reach the op's valid region, or the comparison is empty
    agreed = counts["equal"] + (0 if op.valid else counts["both-raise"])
    assert agreed > 0, f"{op.name}: no call agreed with torch: {dict(counts)}"


@pytest.mark.parametrize("known", KNOWN, ids=lambda k: k.name)
def test_known_failure_still_fails(known):
    op = OPS_BY_NAME[known.repro.op]
    cls, c, t = check(op, known.repro)
    assert cls == known.repro_class, (
        f"known failure {known.name!r} now classifies as {cls} (was {known.repro_class}): "
        f"fixed? delete its row from tests/fuzz_known.py\n    {known.repro!r}\n    "
        f"{describe(c, t)}")
    assert known.matches(op.name, known.repro, cls, c, t), \
        f"{known.name}: the family's own predicate does not cover its reproducer"


def test_classifier_catches_each_failing_class():
    """The classifier itself: silent, wrong:value, wrong:crash and exc-type are detected."""
    from fuzz_core import Call, Outcome, T, classify, run
    import chainrule as cr
    import numpy as np
    import torch

    boom = Outcome(exc=RuntimeError("x"))
    assert classify(Outcome(res=cr.ones(1)), boom) == "silent"
    assert classify(Outcome(exc=ValueError("x")), boom) == "wrong:exc-type"
    assert classify(Outcome(exc=RuntimeError("x")), boom) == "both-raise"
    assert classify(Outcome(exc=NotImplementedError("x")), Outcome(res=torch.ones(1))) == "gap"
    assert classify(Outcome(exc=RuntimeError("x")), Outcome(res=torch.ones(1))) == "wrong:crash"
    assert classify(Outcome(res=cr.ones(2)), Outcome(res=torch.zeros(2))) == "wrong:value"
    assert classify(Outcome(res=cr.ones(2)), Outcome(res=torch.ones(3))) == "wrong:shape"
    assert classify(Outcome(res=cr.ones(2)), Outcome(res=torch.ones(2, dtype=torch.float64))) \
        == "wrong:dtype"
    x = T(np.array([[1.0, -2.0], [3.0, 4.0]]), layout="t", grad=True)
    call = Call("abs", (x,))
    c = run(cr, lambda m, a: a.abs(), call)
    t = run(torch, lambda m, a: a.abs() * 2, call)
    assert classify(c, t) == "wrong:value"
    t = run(torch, lambda m, a: a.abs(), call)
    assert classify(c, t) == "equal"
    # the leaf is the transposed storage; the cotangent is run()'s seeded draw
    seed = np.random.default_rng(0).standard_normal((2, 2))
    np.testing.assert_allclose(c.grads[0], (np.sign(x.a) * seed).T)


def test_zz_summary(capsys):
    if not COUNTS:
        pytest.skip("run with the fuzz tests to get the summary")
    classes = ["equal", "both-raise", "gap", "known:silent", "known:wrong", "silent", "wrong"]
    total: collections.Counter = collections.Counter()
    lines = [f"{'op':18s}" + "".join(f"{c:>13s}" for c in classes)]
    for name, cnt in COUNTS.items():
        row = collections.Counter()
        for k, v in cnt.items():
            row[k if k in classes else k.split(":")[0]] += v
        total.update(row)
        lines.append(f"{name:18s}" + "".join(f"{row[c]:13d}" for c in classes))
    lines.append(f"{'TOTAL':18s}" + "".join(f"{total[c]:13d}" for c in classes))
    fam = ", ".join(f"{k.name}={k.hits}" for k in KNOWN if k.hits)
    with capsys.disabled():
        print("\n\ndifferential fuzzer vs torch (derandomized, "
              f"{EXAMPLES} examples per op)\n" + "\n".join(lines) + f"\nknown families hit: {fam}")
    assert total["silent"] == 0 and total["wrong"] == 0
