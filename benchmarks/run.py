"""Run the benchmarks: chainrule and its peers on the same work, side by side, in one process.

    python benchmarks/run.py                      # every bench_*.py's BENCHES
    python benchmarks/run.py --only B1,B3         # a selection
    python benchmarks/run.py --deep               # also the slow ones (B3 at 10^6 ops)
    python benchmarks/run.py --markdown out.md    # also write the table (for the README)

Every library gets one BLAS/OpenMP thread (``OMP/OPENBLAS/MKL_NUM_THREADS=1``,
``torch.set_num_threads(1)``), and the machine's ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` are
unset. These must be fixed before NumPy loads its BLAS, so the script re-executes the interpreter
with the cleaned environment first. Times are medians; ratios compare medians of the same run.
"""

from __future__ import annotations

import os
import sys

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_UNSET_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_MARK = "CHAINRULE_BENCH_CLEAN_ENV"


def _clean_env() -> dict:
    env = dict(os.environ)
    for k in _THREAD_VARS:
        env[k] = "1"
    for k in _UNSET_VARS:
        env.pop(k, None)
    env[_MARK] = "1"
    return env


if os.environ.get(_MARK) != "1":  # re-exec before anything imports NumPy
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]],
              _clean_env())

import argparse
import gc
import glob
import importlib
import platform
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _harness import Bench, Skip, median_time

PEERS = ("chainrule", "torch", "autograd")


def _settings() -> list[str]:
    import numpy as np

    lines = [
        (f"python {platform.python_version()}, numpy {np.__version__}, "
         f"{platform.machine()} {os.cpu_count()} cpus ({platform.processor() or 'cpu'})"),
        "env: " + ", ".join(f"{k}={os.environ.get(k, 'unset')}" for k in _THREAD_VARS + _UNSET_VARS),
    ]
    try:
        import torch

        torch.set_num_threads(1)
        lines.append(f"torch {torch.__version__}: get_num_threads()={torch.get_num_threads()}, "
                     f"get_num_interop_threads()={torch.get_num_interop_threads()}")
    except ImportError:
        lines.append("torch: not installed")
    try:
        from importlib.metadata import version

        import autograd  # noqa: F401

        lines.append(f"HIPS autograd {version('autograd')}")
    except ImportError:
        lines.append("HIPS autograd: not installed")
    lines.append("numpy BLAS: " + _blas_info())
    return lines


def _blas_info() -> str:
    try:
        import numpy  # noqa: F401  (load its BLAS first)
        from threadpoolctl import threadpool_info

        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        np_infos = [i for i in infos if "numpy" in i.get("filepath", "")] or infos
        return "; ".join(
            f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture', '?')}), "
            f"num_threads={i.get('num_threads')}"
            for i in np_infos
        ) or "threadpoolctl found no BLAS"
    except ImportError:
        import contextlib
        import io

        import numpy as np

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            np.show_config()
        text = buf.getvalue()
        keep = [ln.strip() for ln in text.splitlines() if any(
            w in ln.lower() for w in ("name:", "version:", "openblas configuration"))]
        return " | ".join(keep[:6]) + " (threadpoolctl not installed: thread count not verified)"


def _load(only: set | None, deep: bool) -> list[Bench]:
    benches = []
    for path in sorted(glob.glob(os.path.join(HERE, "bench_*.py"))):
        mod = importlib.import_module(os.path.splitext(os.path.basename(path))[0])
        for b in getattr(mod, "BENCHES", ()):
            if only is not None:
                if b.id in only:
                    benches.append(b)
            elif deep or not b.slow:
                benches.append(b)
    return benches


def _fmt(v: float | None) -> str:
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def run(benches: list[Bench], log, clock=time.perf_counter) -> list[dict]:
    rows = []
    for b in benches:
        log(f"{b.id}: {b.title}")
        times: dict[str, float | None] = {}
        notes: dict[str, str] = {}
        for name, setup in b.impls.items():
            t0 = time.perf_counter()
            try:
                fn = setup()
                gc.collect()
                t = median_time(fn, b.repeat, b.number, clock) * b.scale
            except Skip as e:
                times[name], notes[name] = None, str(e)
                log(f"  {name:10s} skipped ({e})")
                continue
            except Exception as e:  # noqa: BLE001  (one broken impl must not stop the run)
                times[name], notes[name] = None, f"{type(e).__name__}: {e}"
                log(f"  {name:10s} FAILED: {type(e).__name__}: {e}")
                continue
            times[name] = t
            log(f"  {name:10s} {_fmt(t)} {b.unit}  (median of {b.repeat}×{b.number}, "
                f"{time.perf_counter() - t0:.1f} s)")
        memory = {}
        for name, fn in b.memory.items():
            if times.get(name) is None:
                continue
            try:
                memory[name] = fn()
            except Exception as e:  # noqa: BLE001
                memory[name] = f"failed: {type(e).__name__}: {e}"
            log(f"  {name:10s} memory: {memory[name]}")
        rows.append({"bench": b, "times": times, "memory": memory, "notes": notes})
    return rows


def table(rows: list[dict]) -> str:
    """Markdown: one table per set of implementations (benches comparing the same peers share
    one), then the memory table."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        extra = tuple(n for n in r["times"] if n not in PEERS)
        groups.setdefault(extra, []).append(r)
    parts = [_group_table(extra, rs) for extra, rs in groups.items()]
    mem = [r for r in rows if r["memory"]]
    if mem:
        lines = ["| memory | " + " | ".join(PEERS) + " |", "|---|" + "---|" * len(PEERS)]
        for r in mem:
            cells = [r["memory"].get(p, "–") for p in PEERS]
            lines.append(f"| {r['bench'].id} | " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _group_table(others: tuple, rows: list[dict]) -> str:
    cols = list(PEERS) + list(others)
    refs = ["torch"] + (["numpy"] if "numpy" in others else [])
    head = ["benchmark", "unit", *cols] + [f"chainrule / {ref}" for ref in refs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        b, t = r["bench"], r["times"]
        cells = [f"{b.id}: {b.title}", b.unit] + [
            "failed" if t.get(c) is None and "Error" in r["notes"].get(c, "") else _fmt(t.get(c))
            for c in cols
        ]
        ours = t.get("chainrule")
        for ref in refs:
            other = t.get(ref)
            cells.append(f"{ours / other:.2f}×" if ours and other else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated benchmark ids, e.g. B1,B3")
    ap.add_argument("--deep", action="store_true", help="also run the slow benchmarks (B3-deep)")
    ap.add_argument("--markdown", metavar="FILE", help="write the table and settings to FILE")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time with the process's CPU time (time.process_time) instead of wall "
                         "time: for a machine shared with other busy processes")
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None

    def log(s: str) -> None:
        print(s, file=sys.stderr, flush=True)

    settings = _settings()
    for s in settings:
        log(s)
    benches = _load(only, args.deep)
    if only is not None:
        missing = only - {b.id for b in benches}
        if missing:
            log(f"unknown benchmark ids: {', '.join(sorted(missing))}")
            return 2
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    clock = time.process_time if args.cpu_time else time.perf_counter
    settings.append(f"clock: {'process CPU time' if args.cpu_time else 'wall time'} "
                    f"({clock.__name__})")
    rows = run(benches, log, clock)
    text = table(rows)
    note = (f"Medians, one run ({started}); {' '.join(['python', 'benchmarks/run.py', *(argv or sys.argv[1:])])}"
            "\n\n" + "\n".join(f"- {s}" for s in settings))
    print(text)
    print()
    print(note)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n\n" + note + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
