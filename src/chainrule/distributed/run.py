"""Launch a training script on N processes through MPI:

    python -m chainrule.distributed.run --nproc 4 train.py --epochs 3

is ``mpiexec -n 4 python train.py --epochs 3`` with the ``mpiexec`` that ``pip install
"chainrule[distributed]"`` put beside this Python, and the flags that let it run anywhere: as root
(containers, CI) and with more ranks than cores (oversubscribed, e.g. 4 ranks on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path


def find_mpiexec() -> str | None:
    """The ``mpiexec`` of this Python's environment (where the MPICH wheel installs it), else
    the first one on PATH."""
    here = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))]
    for d in here:
        exe = d / "mpiexec"
        if exe.is_file() and os.access(exe, os.X_OK):
            return str(exe)
    return shutil.which("mpiexec") or shutil.which("mpirun")


def mpiexec_command(nproc: int, argv: list[str], mpiexec: str | None = None) -> tuple[list, dict]:
    """The command line and environment that run ``argv`` (a Python script and its arguments,
    or ``-m module ...``) on ``nproc`` ranks."""
    exe = mpiexec or find_mpiexec()
    if exe is None:
        raise RuntimeError(
            "no mpiexec found: pip install \"chainrule[distributed]\" installs MPICH's mpiexec "
            "beside this Python")
    env = dict(os.environ)
    # Open MPI refuses root and oversubscription unless told; MPICH's hydra ignores these
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    cmd = [exe, "-n", str(nproc), sys.executable, *argv]
    return cmd, env


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m chainrule.distributed.run",
        description="Run a script on N MPI ranks (mpiexec -n N python SCRIPT ...).")
    p.add_argument("--nproc", "--nproc-per-node", "--nproc_per_node", dest="nproc", type=int,
                   default=1, help="number of processes (ranks)")
    p.add_argument("--mpiexec", default=None, help="the mpiexec to use (default: this env's)")
    p.add_argument("-m", dest="module", default=None, help="run a module, as python -m")
    p.add_argument("script", nargs="?", help="the training script")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")
    a = p.parse_args(argv)
    if a.nproc < 1:
        p.error(f"--nproc must be at least 1, got {a.nproc}")
    if a.module is None and a.script is None:
        p.error("give a script (or -m module) to run")
    target = ["-m", a.module] + ([a.script] if a.script else []) if a.module else [a.script]
    try:
        cmd, env = mpiexec_command(a.nproc, target + a.args, a.mpiexec)
    except RuntimeError as e:
        p.error(str(e))
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
