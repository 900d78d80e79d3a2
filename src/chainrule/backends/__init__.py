"""``chainrule.backends``: torch's switches for its compute backends, as a CPU-only build has them.
Scripts set ``backends.cudnn.deterministic = True`` or ask ``backends.mps.is_available()``; the
flags are kept (chainrule's NumPy kernels are deterministic whatever they say)."""

from . import cpu, cuda, cudnn, mkldnn, mps, openmp  # noqa: F401
