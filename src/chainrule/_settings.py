"""torch's process-wide switches that scripts set on their first lines (matmul precision,
deterministic algorithms, thread counts). chainrule has no TF32 and no nondeterministic kernels,
so each is kept (and read back as set) without changing results."""

from __future__ import annotations

_STATE = {"matmul_precision": "highest", "deterministic": False, "warn_only": False,
          "threads": None}


def is_autocast_enabled(device_type: str | None = None) -> bool:
    return False


def set_float32_matmul_precision(precision: str) -> None:
    """Accepted and kept: float32 matmuls are NumPy's (full float32 precision) whatever it says."""
    if precision not in ("highest", "high", "medium"):
        import warnings

        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", UserWarning,
                      stacklevel=2)
        return
    _STATE["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return _STATE["matmul_precision"]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Accepted and kept: chainrule's kernels are deterministic already."""
    _STATE["deterministic"], _STATE["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _STATE["deterministic"]


def set_num_threads(n: int) -> None:
    """Kept for ``get_num_threads``; NumPy's BLAS chooses its own thread count (set
    OMP_NUM_THREADS/OPENBLAS_NUM_THREADS before starting Python to change it)."""
    if not isinstance(n, int) or n <= 0:
        raise RuntimeError(f"set_num_threads expects a positive integer (got {n!r})")
    _STATE["threads"] = n


def get_num_threads() -> int:
    import os

    return _STATE["threads"] or os.cpu_count() or 1
