"""``chainrule.compile``: trace a function once through the funnel, replay it as a flat program.

The first call of each guard entry runs eagerly under a tracer (a mode on the funnel's stack) and
records every op as a row; later calls whose guards hold (shapes, dtypes, ``requires_grad`` of the
tensor arguments, the Python values of the other arguments, grad mode, the identity and metadata
of external tensors) run the generated NumPy program instead, with one graph node for the whole
region. Whatever cannot be replayed exactly (values read into Python, random draws, in-place
changes, hooks, other transforms…) is a graph break: that entry runs eagerly, or, with
``fullgraph=True``, raises an error naming the event and the user's line.
"""

from __future__ import annotations

from ._api import CompiledFunction, OptimizedModule, _limits
from ._explain import explain as _explain
from ._trace import GraphBreak

__all__ = ["compile", "GraphBreak"]


class _Compile:
    """``chainrule.compile(fn_or_module, *, mode=None, fullgraph=False, dynamic=None,
    backend=None)``: torch.compile's calling convention (also ``@chainrule.compile`` and
    ``@chainrule.compile(fullgraph=True)``).

    Example:
        >>> f = chainrule.compile(lambda x: (x.sin() * x).sum())
        >>> x = chainrule.randn(16, requires_grad=True)
        >>> f(x).backward()        # first call: traced (eager); later calls: replayed
    """

    @property
    def recompile_limit(self) -> int:
        """Traces per function before further guard failures run eagerly (torch's default 8)."""
        return _limits.recompile

    @recompile_limit.setter
    def recompile_limit(self, n: int) -> None:
        _limits.recompile = int(n)
    GraphBreak = GraphBreak

    def __call__(self, model=None, *, mode=None, fullgraph: bool = False, dynamic=None,
                 backend=None, options=None, disable: bool = False):
        if model is None:
            return lambda m: self(m, mode=mode, fullgraph=fullgraph, dynamic=dynamic,
                                  backend=backend, options=options, disable=disable)
        if disable:
            return model
        from ..nn.modules.module import Module

        if isinstance(model, Module):
            return OptimizedModule(model, fullgraph=fullgraph, backend=backend)
        if not callable(model):
            raise TypeError(f"chainrule.compile expects a callable or a Module, got "
                            f"{type(model).__name__}")
        return CompiledFunction(model, fullgraph=fullgraph, backend=backend)

    def explain(self, fn, *args, **kwargs):
        """Trace ``fn(*args, **kwargs)`` and return a report (``print`` it): the rows, the
        guards, the graph breaks with the user's line, and what the numba backend would fuse."""
        return _explain(fn, args, kwargs)

    def reset(self) -> None:
        """Nothing global is cached (each compiled function keeps its own cache)."""

    @staticmethod
    def numba_available() -> bool:
        """Whether the numba backend can fuse (numba is installed)."""
        from ._numba import available

        return available()

    def __repr__(self) -> str:
        return "<chainrule.compile>"


compile = _Compile()
