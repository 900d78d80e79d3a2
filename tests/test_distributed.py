"""chainrule.distributed and DistributedDataParallel, run on 2 and 4 MPI ranks: each test starts
``mpiexec`` on a worker script under tests/distributed/ (which asserts the numbers itself) and
checks every rank finished, or failed with the expected message. Skipped without mpi4py/mpiexec
(``pip install -e ".[test]"`` brings them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule
import chainrule.distributed as dist
from chainrule.distributed.run import find_mpiexec, mpiexec_command

HERE = Path(__file__).parent / "distributed"
SRC = str(Path(chainrule.__file__).resolve().parents[1])
MPIEXEC = find_mpiexec()
needs_mpi = pytest.mark.skipif(not dist.is_available() or MPIEXEC is None,
                               reason="needs mpi4py and mpiexec (pip install -e '.[distributed]')")


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(k, None)
    return env


def launch(n: int, script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    cmd, env = mpiexec_command(n, [str(HERE / script), *args], MPIEXEC)
    env.update(_env())
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def finished(p: subprocess.CompletedProcess, n: int) -> None:
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-4000:]
    # the ranks share one stdout, so their lines may interleave
    assert sorted(int(r) for r in re.findall(r"OK rank (\d+)", p.stdout)) == list(range(n)), \
        out[-4000:]


@needs_mpi
@pytest.mark.parametrize("n", [2, 4])
def test_collectives_against_numpy(n):
    finished(launch(n, "w_collectives.py"), n)


@needs_mpi
@pytest.mark.parametrize("n", [2, 4])
def test_ddp_equals_one_process_on_the_whole_batch(n):
    finished(launch(n, "w_ddp.py"), n)


@needs_mpi
def test_ddp_single_process_without_launcher():
    p = subprocess.run([sys.executable, str(HERE / "w_ddp.py")], env=_env(), capture_output=True,
                       text=True, timeout=60)
    finished(p, 1)


@needs_mpi
@pytest.mark.parametrize("n", [2, 4])
def test_a_rank_that_raises_stops_the_others_naming_it(n):
    p = launch(n, "w_fail.py", "raise")
    err = p.stderr
    assert p.returncode != 0 and "finished rank" not in p.stdout
    assert "ValueError: boom on rank one" in err
    for r in range(n):
        if r != 1:
            assert (f"DistBackendError: all_reduce on rank {r} aborted: rank 1 failed with "
                    "ValueError: boom on rank one") in err, err[-3000:]


@needs_mpi
@pytest.mark.parametrize("case, words", [
    ("shape", "Detected mismatch between collectives on ranks. Rank 0 is running collective: "
              "all_reduce(SequenceNumber=2, TensorShape=[3], TensorDtype=float32, op=SUM), but "
              "Rank 1 is running collective: all_reduce(SequenceNumber=2, TensorShape=[4]"),
    ("op", "but Rank 1 is running collective: broadcast(SequenceNumber=2, TensorShape=[3]"),
    ("timeout", "all_reduce timed out after 1.5 s on rank 0 (group of 2, collective #2): not "
                "every rank of [0, 1] entered it"),
    ("recv", "irecv from rank 0: rank 0 sends a tensor of shape [2, 3] and dtype float32, but the "
             "receive tensor has shape [3, 2] and dtype float32"),
    ("recv_size", "irecv from rank 0: rank 0 sends a tensor of shape [7] and dtype float32, but "
                  "the receive tensor has shape [3] and dtype float32"),
    ("model", "DDP expects same model across all ranks, but parameter 'weight' has shape [4, 3] "
              "(chainrule.float32) on rank 0 and [5, 3] (chainrule.float32) on rank 1."),
])
def test_failures_are_named_errors_not_hangs(case, words):
    p = launch(2, "w_fail.py", case, timeout=30)
    assert p.returncode != 0 and "finished rank 0" not in p.stdout
    assert words in p.stderr, p.stderr[-3000:]


@needs_mpi
def test_launcher_module(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import sys, chainrule as cr, chainrule.distributed as dist\n"
        "dist.init_process_group()\n"
        "t = cr.ones(2)\n"
        "dist.all_reduce(t)\n"
        "import os\n"
        "env = os.environ\n"
        "sys.stdout.write(f'rank {dist.get_rank()} of {dist.get_world_size()} {t.tolist()} '\n"
        "                 f'{sys.argv[1:]} {env[\"RANK\"]} {env[\"LOCAL_RANK\"]}\\n')\n")
    p = subprocess.run([sys.executable, "-m", "chainrule.distributed.run", "--nproc", "3",
                        str(script), "--lr", "0.1"], env=_env(), capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr[-3000:]
    lines = sorted(re.findall(r"rank \d of 3 \[3.0, 3.0\] \['--lr', '0.1'\] \d \d", p.stdout))
    want = [f"rank {r} of 3 [3.0, 3.0] ['--lr', '0.1'] {r} {r}" for r in range(3)]
    assert lines == want, p.stdout


@needs_mpi
def test_digits_example_on_two_ranks():
    pytest.importorskip("sklearn")
    example = Path(__file__).resolve().parents[1] / "examples" / "train_digits_ddp.py"
    cmd, env = mpiexec_command(2, [str(example), "--epochs", "2", "--min-acc", "0.85"], MPIEXEC)
    env.update(_env())
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "2 rank(s): test accuracy" in p.stdout
    assert "parameters identical on every rank: True" in p.stdout


def test_import_and_errors_without_mpi4py():
    code = (
        "import sys; sys.modules['mpi4py'] = None\n"
        "import chainrule as cr, chainrule.distributed as dist\n"
        "from chainrule.utils.data import DistributedSampler\n"
        "assert not dist.is_available() and not dist.is_initialized()\n"
        "assert list(DistributedSampler(range(5), 2, 0, shuffle=False)) == [0, 2, 4]\n"
        "try:\n"
        "    dist.init_process_group('mpi')\n"
        "except RuntimeError as e:\n"
        "    assert 'pip install' in str(e) and 'mpi4py' in str(e), e\n"
        "else:\n"
        "    raise AssertionError\n"
        "try:\n"
        "    dist.all_reduce(cr.ones(2))\n"
        "except ValueError as e:\n"
        "    assert 'has not been initialized' in str(e)\n"
        "try:\n"
        "    DistributedSampler(range(5))\n"
        "except RuntimeError as e:\n"
        "    assert 'Requires distributed package' in str(e)\n"
        "print('fine')\n")
    p = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and "fine" in p.stdout, p.stderr


def test_init_process_group_argument_errors():
    with pytest.raises(ValueError, match="runs on MPI only: backend must be 'mpi'"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="init_method='tcp://h:1'"):
        dist.init_process_group("mpi", init_method="tcp://h:1")
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.barrier()
    assert dist.ReduceOp.SUM == 0 and repr(dist.ReduceOp.AVG) == "<RedOpType.AVG: 1>"
