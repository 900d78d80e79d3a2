"""Forward-mode transforms, as ``torch.func``: ``jvp``, ``linearize``, ``jacfwd`` and ``hessian``
(forward over reverse)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from .. import _batching, _ns
from ._args import _argnums, _assemble, _finish, _numel, _partial
from ._transforms import basis, jvp_core, strip_level, transform, tree_flatten, tree_unflatten
from .reverse import jacrev


def jvp(func: Callable, primals: tuple, tangents: tuple, *, strict: bool = False,
        has_aux: bool = False):
    """``(func(*primals), J·tangents)`` by one forward pass.

    Example:
        >>> jvp(lambda x: x * x, (cr.tensor(3.0),), (cr.tensor(1.0),))
        (tensor(9.), tensor(6.))
    """
    if not isinstance(primals, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to be a tuple")
    if not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected tangents to be a tuple")
    with transform():
        out, t, aux = jvp_core(func, primals, tangents, has_aux)
    out, t = _finish((out, t), (primals, tangents))
    if has_aux:
        return out, t, aux
    return out, t


def linearize(func: Callable, *primals):
    """``(func(*primals), jvp_fn)`` with ``jvp_fn(*tangents) = J·tangents`` at ``primals``.

    Each call of ``jvp_fn`` runs one forward pass with dual tensors (nothing is traced).
    """
    out = func(*primals)

    def jvp_fn(*tangents):
        return jvp(func, primals, tangents)[1]

    return out, jvp_fn


def jacfwd(func: Callable, argnums: int | tuple = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:
    """The Jacobian of ``func`` by forward mode: ONE forward pass whose tangents carry all
    columns of the identity as a batch.

    Example:
        >>> jacfwd(lambda x: x.sin())(cr.tensor([0.0, 1.0]))
        tensor([[1.0000, 0.0000],
                [0.0000, 0.5403]])
    """

    @wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), "jacfwd(f, ...)(*args)")
        primals = tuple(args[i] for i in nums)
        in_flat, in_spec = tree_flatten(primals)
        shapes = [tuple(x.shape) for x in in_flat]
        lvl = _batching.new_level(sum(_numel(x) for x in in_flat))
        try:
            with transform():
                tans, sizes = basis(shapes, in_flat[0]._array.dtype, lvl)
                out, tout, aux = jvp_core(_partial(func, args, nums, kwargs),
                                          primals, tree_unflatten(tans, in_spec), has_aux)
                o_flat, o_spec = tree_flatten(out)
                t_flat, _ = tree_flatten(tout)
                n = sum(sizes)
                per_in: list = [[] for _ in in_flat]
                for o, t in zip(o_flat, t_flat):
                    r = strip_level(t, lvl)
                    if r is None:
                        from .._creation import zeros_like

                        r = _ns.expand(_ns.unsqueeze(zeros_like(o), 0),
                                   (n,) + tuple(o.shape))
                    # r: (n, *out_shape) → (*out_shape, n), then split the last dim per input
                    nd = len(o.shape)
                    if nd:
                        r = _ns.permute(r, tuple(range(1, nd + 1)) + (0,))
                    off = 0
                    for i, (k, s) in enumerate(zip(sizes, shapes)):
                        part = r if len(sizes) == 1 else \
                            _ns.getitem(r, (Ellipsis, slice(off, off + k)))
                        per_in[i].append(_ns.reshape(part, tuple(o.shape) + s))
                        off += k
        finally:
            _batching.close_level(lvl)
        res = _finish(_assemble(per_in, in_spec, o_spec, isinstance(argnums, int)), args)
        if has_aux:
            return res, aux
        return res

    return wrapper


def hessian(func: Callable, argnums: int | tuple = 0) -> Callable:
    """The Hessian of scalar ``func``: ``jacfwd(jacrev(func))`` (forward over reverse).

    Example:
        >>> hessian(lambda x: (x ** 3).sum())(cr.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    return jacfwd(jacrev(func, argnums), argnums)
