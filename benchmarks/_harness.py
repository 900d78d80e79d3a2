"""Benchmark harness: run chainrule and its peers on the same work in one process, report medians
and ratios. Each ``benchmarks/bench_*.py`` defines ``BENCHES``, a list of ``Bench``.

A ``Bench`` has an id ("B1"), a title, a unit ("us/op", "ms/step", "s"), a ``scale`` (seconds → unit),
and ``impls``: name ("chainrule", "torch", "torch.func", "autograd", "numpy" …) → a *setup* function
that returns a zero-argument callable doing one unit of work (setup is not timed). A setup may
raise ``Skip`` (e.g. a peer is not installed). ``slow`` benches run only with ``--deep``;
``memory`` maps an impl name to a callable that measures and describes its memory use.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class Skip(Exception):
    pass


@dataclass
class Bench:
    id: str
    title: str
    unit: str
    scale: float
    impls: dict[str, Callable[[], Callable[[], object]]]
    repeat: int = 7
    number: int = 1
    extra: dict = field(default_factory=dict)  # e.g. peak memory, filled by impls if they wish
    #: only run with ``run.py --deep`` (slow)
    slow: bool = False
    #: impl name -> callable returning a short text (e.g. "RSS +12 MiB"), reported beside the times
    memory: dict[str, Callable[[], str]] = field(default_factory=dict)


def median_time(fn: Callable[[], object], repeat: int, number: int,
                clock: Callable[[], float] = time.perf_counter) -> float:
    """Median over ``repeat`` runs of the time per call of ``fn`` (``number`` calls per run).

    ``clock``: wall time by default; ``time.process_time`` counts only this process's CPU time,
    which stays meaningful on a machine shared with other busy processes."""
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = clock()
        for _ in range(number):
            fn()
        times.append((clock() - t0) / number)
    return statistics.median(times)


def thread_settings() -> str:
    keys = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    s = ", ".join(f"{k}={os.environ.get(k, 'unset')}" for k in keys)
    try:
        import torch

        s += f", torch.get_num_threads()={torch.get_num_threads()}"
    except ImportError:
        pass
    return s
