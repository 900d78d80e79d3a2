"""The numba backend: chains of elementwise rows fused into single compiled kernels."""

from __future__ import annotations


def available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def fuse(prog) -> None:
    """Replace runs of elementwise rows in ``prog``'s forward and backward by fused kernels."""
