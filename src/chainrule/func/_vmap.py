"""``vmap`` (run a function once over a batch axis) and ``functional_call``."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import contextmanager
from functools import wraps
from typing import Any

from .. import _batching, _ns
from .._batching import Batched
from .._context import ctx as _ctx
from .._tensor import Tensor
from ._transforms import tree_flatten, tree_unflatten


def _dims_for(dims, tree, what: str) -> list:
    """``dims`` (an int/None, or a pytree prefix of ``tree``) broadcast to one entry per leaf."""
    if dims is None or isinstance(dims, int):
        return [dims] * len(tree_flatten(tree)[0])
    if isinstance(tree, (tuple, list)) and isinstance(dims, (tuple, list)):
        if len(dims) != len(tree):
            raise ValueError(
                f"vmap({what}): in_dims is not compatible with the structure of `inputs`. "
                f"in_dims has structure of length {len(dims)} but inputs has length {len(tree)}"
            )
        out = []
        for d, t in zip(dims, tree):
            out.extend(_dims_for(d, t, what))
        return out
    if isinstance(tree, dict) and isinstance(dims, dict):
        out = []
        for k, t in tree.items():
            out.extend(_dims_for(dims[k], t, what))
        return out
    raise ValueError(
        f"vmap({what}): in_dims is not compatible with the structure of `inputs`: got "
        f"{type(dims).__name__} for {type(tree).__name__}"
    )


def _movedim(t: Tensor, src: int, dst: int) -> Tensor:
    nd = t.ndim
    if src == dst:
        return t
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return _ns.permute(t, tuple(perm))


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """Vectorize ``func`` over dimension ``in_dims`` of its inputs: each op runs once on the batch.

    ``in_dims``: an int or None per argument (or a pytree prefix of the arguments); ``out_dims``:
    where the batch dimension goes in each output. Nests (``vmap(vmap(f))``) and composes with
    the other transforms (``vmap(grad(f))`` gives per-example gradients). Ops with no batching
    rule run as a loop over the batch and warn once. ``chunk_size`` splits the batch into chunks
    run one after the other (to bound memory).

    Example:
        >>> vmap(lambda x, y: (x * y).sum())(cr.ones(3, 2), cr.ones(3, 2))
        tensor([2., 2., 2.])
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}"
        )

    @wraps(func)
    def wrapper(*args, **kwargs):
        if isinstance(in_dims, int) or in_dims is None:
            dims = _dims_for(in_dims, args, "in_dims")
        else:
            if not isinstance(in_dims, tuple):
                raise ValueError(
                    f"vmap(in_dims={in_dims!r}): expected `in_dims` to be int or a (potentially "
                    f"nested) tuple matching the structure of inputs, got: {type(in_dims)}."
                )
            dims = _dims_for(in_dims, args, "in_dims")
        flat, spec = tree_flatten(args)
        size = None
        for x, d in zip(flat, dims):
            if d is None:
                continue
            if not isinstance(x, Tensor):
                raise ValueError(
                    f"vmap: Got in_dim={d} for an input but the input is of type "
                    f"{type(x).__name__}. We cannot vmap over non-Tensor arguments, please use "
                    "None as the respective in_dim"
                )
            if not -max(x.ndim, 1) <= d < max(x.ndim, 1) or x.ndim == 0:
                raise ValueError(
                    f"vmap: Got in_dim={d} for some input, but that input is a Tensor of "
                    f"dimensionality {x.ndim} so expected in_dim to satisfy "
                    f"-{x.ndim} <= in_dim < {x.ndim}."
                )
            n = x.shape[d]
            if size is not None and n != size:
                raise ValueError(
                    "vmap: Expected all tensors to have the same size in the mapped dimension, "
                    f"got sizes {size} and {n} for the mapped dimension"
                )
            size = n
        if size is None:
            raise ValueError(
                "vmap: at least one input must be batched: got in_dims all None (or no tensor "
                "inputs)"
            )
        outer = _ctx.randomness
        _ctx.randomness = outer + (randomness,)
        try:
            if chunk_size is not None and chunk_size < size:
                return _chunked(func, flat, spec, dims, size, kwargs, chunk_size, out_dims)
            return _run(func, flat, spec, dims, size, kwargs, out_dims)
        finally:
            _ctx.randomness = outer

    return wrapper


# ---- randomness ---------------------------------------------------------------------------------
# the ``randomness`` of the vmaps running now, innermost last: ``_ctx.randomness`` (per thread)
_RANDOM_ERROR = (
    "vmap: called random operation while in randomness error mode. Please either use the 'same' "
    "or 'different' randomness flags on vmap or perform the randomness operation out of vmap"
)


class _RandomPerExample(Exception):
    """A random op ran under ``randomness='different'``: the batch then runs once per example."""


class _GuardedRng:
    """Stands in for the default generator's NumPy ``rng`` while a batched function runs: every
    random op in chainrule draws from it (dropout, rand/randn/randint(_like), bernoulli, init …).
    'error' refuses the draw with torch's message; 'different' asks for per-example draws."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if self.mode == "error":
            raise RuntimeError(_RANDOM_ERROR)
        raise _RandomPerExample


@contextmanager
def _random_guard(mode: str):
    """'same' draws as usual: an op on a batched tensor draws for its logical (per-example)
    shape and the draw broadcasts to every example."""
    from .._creation import default_generator as gen

    if mode == "same":
        yield
        return
    saved = gen.rng
    gen.rng = _GuardedRng(mode)
    try:
        yield
    finally:
        gen.rng = saved


def _run(func, flat, spec, dims, size, kwargs, out_dims):
    box: dict = {}
    mode = _ctx.randomness[-1] if _ctx.randomness else "error"
    try:
        with _random_guard(mode):
            return _run_batched(func, flat, spec, dims, size, kwargs, out_dims, box)
    except _RandomPerExample:
        key = ("randomness", getattr(func, "__name__", repr(func)))
        if key not in _batching._warned:
            _batching._warned.add(key)
            warnings.warn(
                f"vmap(randomness='different'): {key[1]} draws random numbers, so it runs once "
                "per example (a Python loop over the batch) with independent draws",
                UserWarning, stacklevel=3,
            )
        return _run_loop(func, flat, spec, dims, size, kwargs, out_dims)
    except _batching.BatchedDataError as e:
        if e.level != box.get("level"):
            raise  # an outer vmap's tensor: that vmap runs per example
        name = getattr(func, "__name__", repr(func))
        if name not in _batching._warned:
            _batching._warned.add(name)
            warnings.warn(
                f"vmap: {name} reads the values of a batched tensor ({e}), so it runs once per "
                "example (a Python loop over the batch)",
                UserWarning, stacklevel=3,
            )
        return _run_loop(func, flat, spec, dims, size, kwargs, out_dims)


def _run_loop(func, flat, spec, dims, size, kwargs, out_dims):
    from .._creation import default_generator as gen

    mode = _ctx.randomness[-1] if _ctx.randomness else "error"
    state = gen.get_state() if mode == "same" else None
    outs = []
    for b in range(size):
        ex = [x if d is None else _ns.getitem(x, (slice(None),) * (d % x.ndim) + (b,))
              for x, d in zip(flat, dims)]
        if state is not None:  # 'same': every example sees the same draws
            gen.set_state(state)
        if mode == "error":
            with _random_guard(mode):
                outs.append(func(*tree_unflatten(ex, spec), **kwargs))
        else:
            outs.append(func(*tree_unflatten(ex, spec), **kwargs))
    leaves = [tree_flatten(o) for o in outs]
    o_spec = leaves[0][1]
    n = len(leaves[0][0])
    odims = [out_dims] * n if isinstance(out_dims, int) else _dims_for(out_dims, outs[0], "out_dims")
    res = []
    for j in range(n):
        items = [lv[0][j] for lv in leaves]
        d = odims[j]
        res.append(items[0] if d is None else _ns.stack(items, d % (items[0].ndim + 1)))
    return tree_unflatten(res, o_spec)


def _run_batched(func, flat, spec, dims, size, kwargs, out_dims, box):
    lvl = box["level"] = _batching.new_level(size, vmapped=True)
    try:
        wrapped = [
            x if d is None else Batched(_movedim(x, d % x.ndim, 0), lvl)
            for x, d in zip(flat, dims)
        ]
        out = func(*tree_unflatten(wrapped, spec), **kwargs)
        o_flat, o_spec = tree_flatten(out)
        odims = _dims_for(out_dims, out, "out_dims") if not isinstance(out_dims, int) else \
            [out_dims] * len(o_flat)
        res = []
        for o, d in zip(o_flat, odims):
            if not isinstance(o, Tensor):
                raise ValueError(
                    f"vmap: `{getattr(func, '__name__', func)}` must only return Tensors, got "
                    f"type {type(o).__name__}"
                )
            if isinstance(o, Batched) and o.level == lvl:
                v = o.value
            else:  # does not depend on the batch: the same value for every example
                if d is None:
                    res.append(o)
                    continue
                v = _ns.expand(_ns.unsqueeze(o, 0), (size,) + tuple(o.shape))
            if d is None:
                raise ValueError(
                    "vmap: out_dims=None for an output that depends on the batch (only outputs "
                    "that are the same for every example can have out_dim None)"
                )
            res.append(_movedim(v, 0, d % v.ndim))
    finally:
        _batching.close_level(lvl)
    return tree_unflatten(res, o_spec)


def _chunked(func, flat, spec, dims, size, kwargs, chunk, out_dims):
    from .._creation import default_generator as gen

    state = gen.get_state() if _ctx.randomness and _ctx.randomness[-1] == "same" else None
    parts = []
    for s in range(0, size, chunk):
        if state is not None:  # 'same': every chunk sees the same draws
            gen.set_state(state)
        sub = [x if d is None else _ns.getitem(x, (slice(None),) * (d % x.ndim)
                                          + (slice(s, min(s + chunk, size)),))
               for x, d in zip(flat, dims)]
        parts.append(_run(func, sub, spec, dims, min(chunk, size - s), kwargs, out_dims))
    leaves = [tree_flatten(p) for p in parts]
    o_spec = leaves[0][1]
    n = len(leaves[0][0])
    odims = [out_dims] * n if isinstance(out_dims, int) else _dims_for(out_dims, parts[0], "out_dims")
    res = []
    for j in range(n):
        items = [lv[0][j] for lv in leaves]
        d = odims[j]
        res.append(items[0] if d is None else _ns.cat(items, d % items[0].ndim))
    return tree_unflatten(res, o_spec)


@contextmanager
def _swapped(module, tensors: dict):
    saved = []
    try:
        for name, t in tensors.items():
            *path, leaf = name.split(".")
            mod = module
            for p in path:
                mod = getattr(mod, p)
            for store in ("_parameters", "_buffers"):
                d = getattr(mod, store, None)
                if isinstance(d, dict) and leaf in d:
                    saved.append((d, leaf, d[leaf]))
                    d[leaf] = t
                    break
            else:
                saved.append((mod, leaf, getattr(mod, leaf)))
                object.__setattr__(mod, leaf, t)
        yield
    finally:
        for where, leaf, old in reversed(saved):
            if isinstance(where, dict):
                where[leaf] = old
            else:
                object.__setattr__(where, leaf, old)


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """Call ``module`` with its parameters and buffers replaced by the given tensors.

    Example:
        >>> params = {k: v.detach() for k, v in model.named_parameters()}  # doctest: +SKIP
        >>> grad(lambda p, x: functional_call(model, p, (x,)).sum())(params, x)  # doctest: +SKIP
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        tensors = dict(parameter_and_buffer_dicts)
    else:
        tensors = {}
        for d in parameter_and_buffer_dicts:
            dup = set(d) & set(tensors)
            if dup:
                raise ValueError(f"{sorted(dup)} appeared in multiple dictionaries")
            tensors.update(d)
    if strict:
        known = {n for n, _ in module.named_parameters()} | {n for n, _ in module.named_buffers()}
        missing = sorted(known - set(tensors))
        unexpected = sorted(set(tensors) - known)
        if missing or unexpected:
            raise RuntimeError(
                f"Error(s) in reparametrizing for {type(module).__name__}: missing keys "
                f"{missing}, unexpected keys {unexpected}"
            )
    args = () if args is None else (args if isinstance(args, tuple) else (args,))
    with _swapped(module, tensors):
        return module(*args, **(kwargs or {}))
