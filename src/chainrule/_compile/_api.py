"""The compiled callables: guard entries, tracing a call, replaying it (``CompiledFunction``,
``OptimizedModule``)."""

from __future__ import annotations

import functools
import time
import types
import warnings
import weakref

from .. import _context
from .._tensor import Tensor
from ..autograd import engine as _engine
from ..autograd.grad_mode import _state
from . import _node
from ._externals import candidates, guard_ok, scalar_ok
from ._program import Program
from ._trace import Tracer, backward_observer, spy_rng

class _Limits:
    #: traces per function before further guard failures run eagerly (torch's default)
    recompile = 8


_limits = _Limits()
_SCALAR_TYPES = (int, float, bool, str, complex, type(None))
_BACKENDS = ("numpy", "numba", "eager", "inductor", "aot_eager", None)


class _Unsupported(Exception):
    pass


def _flatten(obj, tensors: list, parts: list) -> None:
    t = type(obj)
    if t is Tensor or isinstance(obj, Tensor):
        tensors.append(obj)
        a = obj._array
        parts.append((a.shape, a.dtype, obj._requires_grad))
    elif t in _SCALAR_TYPES:
        parts.append((t, obj))
    elif t is tuple or t is list:
        parts.append((t, len(obj)))
        for e in obj:
            _flatten(e, tensors, parts)
    elif t is dict:
        parts.append((dict, tuple(obj)))
        for e in obj.values():
            _flatten(e, tensors, parts)
    else:
        raise _Unsupported(t.__name__)


def _spec(obj, tensors: list):
    """The structure of a result: Tensors → ("t", k); scalars kept; containers rebuilt."""
    t = type(obj)
    if isinstance(obj, Tensor):
        tensors.append(obj)
        return ("t", len(tensors) - 1)
    if t in _SCALAR_TYPES:
        return ("v", obj)
    if t is tuple or t is list:
        return (t, [_spec(e, tensors) for e in obj])
    if t is dict:
        return (dict, [(k, _spec(v, tensors)) for k, v in obj.items()])
    raise _Unsupported(t.__name__)


def _build(spec, res: list):
    k = spec[0]
    if k == "t":
        return res[spec[1]]
    if k == "v":
        return spec[1]
    if k is dict:
        return {key: _build(v, res) for key, v in spec[1]}
    return k(_build(e, res) for e in spec[1])


class _Entry:
    """One compiled trace: its program, external-tensor guards and result structure."""

    __slots__ = ("prog", "ext", "ext_meta", "spec", "compile_s", "breaks", "scalars", "calls")

    def __init__(self) -> None:
        self.prog = None
        self.scalars = []
        self.breaks = []
        self.ext = []
        self.ext_meta = []
        self.spec = None
        self.compile_s = 0.0
        self.calls = 0

    def guards_hold(self) -> bool:
        for c in self.scalars:
            if not scalar_ok(c):
                return False
        for c, (shape, dtype, rg) in zip(self.ext, self.ext_meta):
            t = c[2]
            if not guard_ok(c) or t._requires_grad != rg or t._array.shape != shape or \
                    t._array.dtype != dtype:
                return False
        return True


def _other_transforms() -> bool:
    """Another mode (forward AD, vmap, saved-tensor hooks …), open dual or batching levels, node
    hooks (anomaly mode) or backward observers (explain) are active: the call runs eagerly."""
    c, p = _context.ctx, _context.proc
    return bool(c.modes or c.fw_levels or c.batch_sizes or c.saved_hooks or c.observers
                or p.node_hooks or p.observers)


class CompiledFunction:
    """``fn`` compiled: call it like ``fn``. ``.stats()`` reports traces, breaks, compile time."""

    def __init__(self, fn, *, fullgraph: bool = False, backend=None, extra_key=None,
                 root=None, name: str | None = None) -> None:
        if backend not in _BACKENDS:
            raise ValueError(f"chainrule.compile: unknown backend {backend!r} (expected one of "
                             "'numpy', 'numba', 'eager')")
        if backend == "numba":
            from . import _numba

            if not _numba.available():
                warnings.warn("chainrule.compile(backend='numba'): numba is not installed "
                              "(pip install chainrule[fast]); using the NumPy backend",
                              stacklevel=3)
                backend = "numpy"
        self.fn = fn
        self.fullgraph = fullgraph
        self.backend = "numpy" if backend in (None, "inductor", "aot_eager") else backend
        self._extra_key = extra_key
        self._root = fn if root is None else root
        self._name = name or getattr(fn, "__qualname__", None) or type(fn).__name__
        self._cache: dict = {}
        self.traces = 0
        self._warned = False
        self._last_reason = None
        functools.update_wrapper(self, fn, updated=())

    def __get__(self, obj, objtype=None):
        """As a method decorator: one compiled function per instance (its tensors are found
        through the instance; the instance itself is not a guarded argument)."""
        if obj is None:
            return self
        bound = self.__dict__.setdefault("_bound", weakref.WeakKeyDictionary())
        try:
            c = bound.get(obj)
        except TypeError:  # an unhashable instance: compile nothing
            return functools.partial(self.fn, obj)
        if c is None:
            c = bound[obj] = CompiledFunction(types.MethodType(self.fn, obj),
                                              fullgraph=self.fullgraph, backend=self.backend,
                                              root=obj, name=self._name)
        return c

    # ---- the call ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        fn = self.fn
        if self.backend == "eager" or _other_transforms():
            return fn(*args, **kwargs)
        tensors: list = []
        parts: list = [_state.enabled]
        if not kwargs and all(type(a) is Tensor for a in args):
            # the common call, flattened as _flatten would (the same key)
            parts.append((tuple, len(args)))
            for a in args:
                arr = a._array
                parts.append((arr.shape, arr.dtype, a._requires_grad))
            tensors = list(args)
        else:
            try:
                _flatten(args, tensors, parts)
                if kwargs:
                    _flatten(kwargs, tensors, parts)
            except _Unsupported:
                return fn(*args, **kwargs)
        if len(tensors) > 1 and len({id(t) for t in tensors}) != len(tensors):
            parts.append(tuple(next(i for i, u in enumerate(tensors) if u is t) for t in tensors))
        if self._extra_key is not None:
            parts.append(self._extra_key())
        key = tuple(parts)
        try:
            entries = self._cache.get(key)
        except TypeError:  # an unhashable value among the arguments
            return fn(*args, **kwargs)
        if entries is not None:
            for e in entries:
                if e.prog is None:
                    return fn(*args, **kwargs)  # this entry broke: eager
                elif e.guards_hold():
                    e.calls += 1
                    return self._replay(e, tensors, args, kwargs)
            reason = ("an external tensor (identity, shape, dtype, requires_grad) or a Python "
                      "number read from a global, closure or module attribute changed")
        else:
            entries = self._cache[key] = []
            reason = "new shapes, dtypes, requires_grad, argument values or grad mode" \
                if self.traces else None
        return self._trace(entries, tensors, args, kwargs, reason)

    def _replay(self, e: _Entry, tensors, args, kwargs):
        prog = e.prog
        try:
            res = _node.run(prog, tensors, [c[2] for c in e.ext],
                            prog.grad and _state.enabled)
        except Exception as err:
            return self._replay_error(e, err, args, kwargs)
        return _build(e.spec, res)

    def _replay_error(self, e: _Entry, err: Exception, args, kwargs):
        """An error in the replay: run eagerly, so the error (or result) is exactly eager's."""
        row = _failing_row(e.prog, err)
        where = f"{row.op.name}() at {row.site}" if row is not None else "the region"
        try:
            result = self.fn(*args, **kwargs)
        except Exception as eager_err:
            eager_err.add_note(f"(raised in the chainrule.compile region of {self._name}: "
                               f"{where})")
            raise
        return result

    def _trace(self, entries: list, tensors, args, kwargs, reason):
        fn = self.fn
        if self.traces >= _limits.recompile:
            if not self._warned:
                self._warned = True
                code = getattr(fn, "__code__", None)
                info = (f"'{code.co_name}' ({code.co_filename}:{code.co_firstlineno})"
                        if code is not None else repr(self._name))
                warnings.warn(
                    f"chainrule.compile hit config.recompile_limit ({_limits.recompile})\n"
                    f"   function: {info}\n   last reason: {reason}\n"
                    "Calls with new guards run eagerly from now on; chainrule.compile.explain(fn, "
                    "*args) shows what the traces depend on.", stacklevel=3)
            return fn(*args, **kwargs)
        self.traces += 1
        self._last_reason = reason
        e = _Entry()
        t0 = time.perf_counter()
        result, tr, out_tensors = trace_call(fn, args, kwargs, tensors, self._name,
                                             self.fullgraph, self._root)
        if tr.breaks:
            e.breaks = tr.breaks
            entries.append(e)
            return result
        for s, k in enumerate(tr.kind):
            if k[0] == "ext":
                e.ext.append(k[1])
                e.ext_meta.append((tr.meta[s][0], tr.meta[s][1], tr.rg[s]))
        e.spec = tr.spec
        candidates(self._root, e.scalars)
        out_slots = [tr.slot_of[id(t)] for t in out_tensors]
        rows, fused = None, ()
        if self.backend == "numba":
            from . import _numba

            rows, fused = _numba.fuse(tr.rows, tr.meta, tr.rg, tr.kind, out_slots)
        e.prog = Program(tr, out_slots, self._name, rows, fused)
        e.compile_s = time.perf_counter() - t0
        entries.append(e)
        return result

    # ---- introspection ------------------------------------------------------------------------
    def entries(self) -> list:
        return [e for es in self._cache.values() for e in es]

    def stats(self) -> dict:
        es = self.entries()
        return {"traces": self.traces, "compiled": sum(e.prog is not None for e in es),
                "eager": sum(e.prog is None for e in es),
                "compile_s": sum(e.compile_s for e in es),
                "replays": sum(e.calls for e in es),
                "breaks": [b for e in es for b in e.breaks]}

    def reset(self) -> None:
        self._cache.clear()
        self.traces = 0
        self._warned = False


def _failing_row(prog, err):
    tb = err.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith("<chainrule.compile forward"):
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is None:
        return None
    r = prog.line_row.get(line)
    return prog.rows[r] if r is not None else None


def trace_call(fn, args, kwargs, tensors, name, fullgraph, root):
    """Run ``fn`` eagerly under a tracer; returns (result, tracer, result tensors)."""
    tr = Tracer(name, fullgraph, lambda: candidates(root))
    for k, t in enumerate(tensors):
        tr.add_input(t, k)
    grad_mode = _state.enabled
    restore = spy_rng(tr)
    obs = backward_observer(tr)
    _engine.add_observer(obs)
    try:
        with _context.active(tr):
            result = fn(*args, **kwargs)
    finally:
        restore()
        _engine.remove_observer(obs)
    out_tensors: list = []
    try:
        tr.spec = _spec(result, out_tensors)
    except _Unsupported as u:
        tr.brk(f"returns a {u} (only tensors, numbers, None and tuples/lists/dicts of them)")
        return result, tr, out_tensors
    tr.finish(out_tensors, grad_mode)
    if not tr.breaks and any(k[0] == "ext" for k in tr.kind):
        cands = tr.candidates()
        if any(id(t) in cands for t in tensors):
            tr.brk("a tensor argument is also read by the function as an external tensor")
    return result, tr, out_tensors


class OptimizedModule:
    """A module whose ``forward`` runs compiled; parameters, buffers and attributes are the
    original module's (``_orig_mod``), as ``torch.compile(module)`` returns."""

    def __init__(self, mod, **options) -> None:
        object.__setattr__(self, "_orig_mod", mod)
        subs = list(mod.modules())

        def extra():
            return tuple(m.training for m in subs) + tuple(
                len(m._forward_hooks) + len(m._forward_pre_hooks) for m in subs)

        object.__setattr__(self, "_compiled", CompiledFunction(
            mod.__call__, extra_key=extra, root=mod, name=type(mod).__name__, **options))

    def __call__(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def forward(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._orig_mod, name)

    def __setattr__(self, name, value):
        setattr(self._orig_mod, name, value)

    def __repr__(self) -> str:
        return f"OptimizedModule({self._orig_mod!r})"


