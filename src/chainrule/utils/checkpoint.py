"""Activation checkpointing: trade compute for memory, recomputing a segment's forward in backward.

``checkpoint(fn, *args)`` runs ``fn`` keeping none of the values its backward needs; the first time
backward asks for one, ``fn`` is run again (same inputs, same random numbers) and the values are
taken from that rerun.

* ``use_reentrant=False`` (default, as torch recommends): the segment's graph is recorded as usual,
  but under ``saved_tensors_hooks`` whose pack hook keeps only a small handle. Parameters the
  segment closes over get gradients, ``autograd.grad`` works, nothing is special about the inputs.
* ``use_reentrant=True``: the segment runs under ``no_grad`` inside a custom Function whose
  backward reruns it with grad and backpropagates through the rerun (``autograd.backward``), the
  classic implementation. Gradients of tensors the segment closes over are accumulated into their
  ``.grad`` by that inner backward (so they do not reach ``autograd.grad``).

Double backward through a checkpointed segment is not supported (the rerun's values are detached).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _creation
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import _state, enable_grad
from ..autograd.graph import saved_tensors_hooks

__all__ = ["CheckpointError", "checkpoint", "checkpoint_sequential"]


class CheckpointError(RuntimeError):
    """The recomputation did not reproduce what the first forward saved (or double backward)."""


_NO_DOUBLE = (
    "checkpoint: backward with create_graph=True (double backward) through a checkpointed "
    "segment is not supported; its recomputed values carry no graph. Run that part without "
    "checkpoint to get higher-order gradients."
)


class _Frame:
    """One checkpointed call: its inputs, RNG state, and (after the rerun) the recomputed values."""

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, rng_state) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.rng_state = rng_state
        self.meta: list = []  # (shape, dtype) of each value packed during the first forward
        self.values: list | None = None

    def _memory_arrays(self) -> list:
        return [(a._array, a.grad_fn is None) for a in self.args if isinstance(a, Tensor)]

    def recompute(self) -> None:
        inputs = tuple(_detached(a) for a in self.args)
        store: list = []

        def pack(t):
            store.append(t._array)

        def unpack(_):  # pragma: no cover - the rerun's graph is never backpropagated
            raise CheckpointError("checkpoint: the recomputed graph cannot be backpropagated")

        with _rng(self.rng_state), enable_grad(), saved_tensors_hooks(pack, unpack):
            self.fn(*inputs, **self.kwargs)
        if len(store) != len(self.meta):
            raise CheckpointError(
                f"torch.utils.checkpoint: a different number of tensors was saved during the "
                f"original forward and recomputation (forward saved {len(self.meta)}, "
                f"recomputation saved {len(store)}); the checkpointed function must be "
                "deterministic in which ops it runs")
        for k, (a, (shape, dtype)) in enumerate(zip(store, self.meta)):
            if a.shape != shape or a.dtype != dtype:
                raise CheckpointError(
                    "torch.utils.checkpoint: Recomputed values for the following tensors have "
                    f"different metadata than during the forward pass: tensor {k} was "
                    f"{dtype}{list(shape)} and is now {a.dtype}{list(a.shape)}")
        self.values = store


class _Handle:
    """What the graph keeps instead of a saved tensor: the frame and the value's index."""

    __slots__ = ("frame", "k")

    def __init__(self, frame: _Frame, k: int) -> None:
        self.frame = frame
        self.k = k

    def _memory_arrays(self) -> list:
        f = self.frame
        return f._memory_arrays() if self.k == 0 else []


def _detached(a):
    if isinstance(a, Tensor):
        d = a.detach()
        if a._requires_grad:
            d.requires_grad_(True)
        return d
    return a


class _rng:
    """Run with the default generator at ``state`` and put the current state back afterwards."""

    def __init__(self, state) -> None:
        self.state = state

    def __enter__(self) -> None:
        if self.state is not None:
            self.prev = _creation.default_generator.get_state()
            _creation.default_generator.set_state(self.state)

    def __exit__(self, *exc) -> None:
        if self.state is not None:
            _creation.default_generator.set_state(self.prev)


def _non_reentrant(fn, args, kwargs, preserve_rng_state: bool):
    state = _creation.default_generator.get_state() if preserve_rng_state else None
    frame = _Frame(fn, args, kwargs, state)

    def pack(t):
        frame.meta.append((t._array.shape, t._array.dtype))
        return _Handle(frame, len(frame.meta) - 1)

    def unpack(h):
        if _state.enabled:  # backward with create_graph=True
            raise CheckpointError(_NO_DOUBLE)
        f = h.frame
        if f.values is None:
            f.recompute()
        return f.values[h.k]

    with saved_tensors_hooks(pack, unpack):
        return fn(*args, **kwargs)


class _CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        ctx.run_function = run_function
        ctx.rng_state = _creation.default_generator.get_state() if preserve_rng_state else None
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        from ..autograd import backward

        if _state.enabled:  # backward with create_graph=True
            raise CheckpointError(_NO_DOUBLE)

        inputs = list(ctx.inputs)
        for p, t in zip(ctx.tensor_pos, ctx.saved_tensors):
            inputs[p] = _detached(t)
        with _rng(ctx.rng_state), enable_grad():
            outputs = ctx.run_function(*inputs)
        outs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not "
                               "necessary")
        backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) else None for a in inputs)


def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None,
               preserve_rng_state: bool = True, context_fn=None, determinism_check: str = "default",
               debug: bool = False, **kwargs: Any):
    """Run ``function(*args, **kwargs)`` without keeping its activations; recompute in backward.

    Example:
        >>> from chainrule.utils.checkpoint import checkpoint
        >>> h = x
        >>> for layer in layers:
        ...     h = checkpoint(layer, h, use_reentrant=False)   # keeps only each layer's input
        >>> h.sum().backward()
    """
    if context_fn is not None:
        raise NotImplementedError("checkpoint: context_fn is not supported by chainrule")
    if use_reentrant is None:
        use_reentrant = False
    if not _state.enabled:
        return function(*args, **kwargs)
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            import warnings

            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                          UserWarning, stacklevel=2)
        return _CheckpointFunction.apply(function, preserve_rng_state, *args)
    return _non_reentrant(function, args, kwargs, preserve_rng_state)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None,
                          **kwargs):
    """Split a sequence of layers into ``segments`` checkpointed chunks (the last runs plainly)."""
    fns = list(functions.children()) if hasattr(functions, "children") else list(functions)

    def run(start, end):
        def seg(x):
            for f in fns[start:end]:
                x = f(x)
            return x

        return seg

    size = max(1, len(fns) // segments)
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end + 1), input, use_reentrant=use_reentrant, **kwargs)
    return run(end + 1, len(fns))(input)
