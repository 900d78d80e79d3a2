"""Reverse-mode transforms, as ``torch.func``: ``grad``, ``grad_and_value``, ``vjp``, ``jacrev``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from .. import _batching, _ns
from .._tensor import Tensor
from ._args import (
    _argnums,
    _assemble,
    _detach,
    _detach_tree,
    _finish,
    _numel,
    _partial,
    _split_rows,
)
from ._transforms import VJP, basis, strip_level, transform, tree_flatten, tree_unflatten


def grad_and_value(func: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """Like ``grad`` but returns ``(gradient, value)`` (``((gradient, (value, aux)))`` with aux).

    Example:
        >>> g, v = grad_and_value(lambda x: (x * x).sum())(cr.tensor([1.0, 2.0]))
        >>> g, v
        (tensor([2., 4.]), tensor(5.))
    """

    @wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), "grad_and_value(f)(*args)")
        with transform():
            v = VJP(_partial(func, args, nums, kwargs), tuple(args[i] for i in nums), None, has_aux)
            out = v.out
            if not isinstance(out, Tensor):
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                    f"{type(out).__name__}"
                )
            if _numel(out) != 1 or out.ndim != 0:
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                    f"tensor with {out.ndim} dims. Maybe you wanted to use the vjp or jacrev APIs "
                    "instead?"
                )
            from .._creation import ones_like

            g = v([ones_like(out)])
            create = v.created
        grads = tree_unflatten(g, v.in_spec)
        grads = _finish(grads[0] if isinstance(argnums, int) else tuple(grads), args)
        value = out if create else _detach(out)
        if has_aux:
            return grads, (value, v.aux)
        return grads, value

    return wrapper


def grad(func: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """The gradient of scalar ``func`` with respect to the inputs ``argnums``, as a function.

    Example:
        >>> grad(lambda x: (x ** 3).sum())(cr.tensor([1.0, 2.0]))
        tensor([ 3., 12.])
    """
    gv = grad_and_value(func, argnums, has_aux)

    @wraps(func)
    def wrapper(*args, **kwargs):
        g, v = gv(*args, **kwargs)
        return (g, v[1]) if has_aux else g

    return wrapper


def vjp(func: Callable, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``; ``vjp_fn(cotangents)`` gives vᵀJ for each primal, reusable.

    Example:
        >>> out, vjp_fn = vjp(lambda x: x.sin(), cr.tensor([0.0, 1.0]))
        >>> vjp_fn(cr.ones(2))
        (tensor([1.0000, 0.5403]),)
    """
    with transform():
        v = VJP(func, primals, None, has_aux)
    ospec = v.out_spec

    def vjp_fn(*cotangents):
        ct = cotangents[0] if len(cotangents) == 1 else cotangents
        flat, spec = tree_flatten(ct)
        if spec != ospec and not (ospec is None and len(flat) == 1):
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure of "
                "outputs to the function"
            )
        for c, o in zip(flat, v.out_flat):
            if tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {c.shape} and output[0] "
                    f"has a shape of {o.shape}."
                )
        with transform():
            g = v(flat)
        return tuple(tree_unflatten(g, v.in_spec))

    out = v.out if v.any_graph_outside() else _detach_tree(v.out)
    if has_aux:
        return out, vjp_fn, v.aux
    return out, vjp_fn


def jacrev(func: Callable, argnums: int | tuple = 0, *, has_aux: bool = False,
           chunk_size: int | None = None, _preallocate_and_copy: bool = False) -> Callable:
    """The Jacobian of ``func`` by reverse mode: ONE backward pass carrying all rows of the identity
    as a batch of cotangents (``chunk_size``: that many rows per pass, to bound memory).

    Example:
        >>> jacrev(lambda x: x.sin())(cr.tensor([0.0, 1.0]))
        tensor([[1.0000, 0.0000],
                [0.0000, 0.5403]])
    """

    @wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), "jacrev(f, ...)(*args)")
        with transform():
            v = VJP(_partial(func, args, nums, kwargs), tuple(args[i] for i in nums), None, has_aux)
            shapes = [tuple(o.shape) for o in v.out_flat]
            in_flat, _ = tree_flatten(tuple(args[i] for i in nums))
            sizes = [_numel(o) for o in v.out_flat]
            m = sum(sizes)
            step = m if not chunk_size or chunk_size >= m else int(chunk_size)
            parts: list = [[] for _ in in_flat]
            for start in range(0, m, step):  # one batched backward pass per chunk of rows
                stop = min(start + step, m)
                lvl = _batching.new_level(stop - start)
                try:
                    cts, _ = basis(shapes, v.out_flat[0]._array.dtype, lvl, (start, stop))
                    for i, (g, x) in enumerate(zip(v(cts), in_flat)):
                        r = strip_level(g, lvl)
                        if r is None:
                            from .._creation import zeros

                            r = _ns.to_dtype(zeros((stop - start, *x.shape)), x.dtype)
                        parts[i].append(r)
                finally:
                    _batching.close_level(lvl)
            per_in = [_split_rows(p[0] if len(p) == 1 else _ns.cat(p, 0), sizes, shapes,
                                  tuple(x.shape)) for p, x in zip(parts, in_flat)]
        res = _finish(_assemble(per_in, v.in_spec, v.out_spec, isinstance(argnums, int)), args)
        if has_aux:
            return res, v.aux
        return res

    return wrapper
