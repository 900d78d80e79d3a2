"""``chainrule.func``: composable function transforms, as ``torch.func``.

``grad``, ``grad_and_value``, ``vjp`` and ``jacrev`` multiply the chain rule from the output side
(one backward pass; a full Jacobian is one *batched* backward pass whose cotangent carries the rows
of the identity); ``jvp``, ``linearize`` and ``jacfwd`` from the input side (one forward pass with
dual tensors; ``jacfwd`` batches the tangents). ``vmap`` runs a function once over a batch axis.
All of them nest: ``hessian = jacfwd(jacrev(f))``, ``vmap(grad(f))`` gives per-example gradients.

Example:
    >>> import chainrule as cr
    >>> from chainrule.func import grad, vmap
    >>> vmap(grad(lambda x: (x ** 3).sum()))(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([[ 3., 12.],
            [27., 48.]])
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from .. import _batching, _dispatch, _ns
from .._batching import Batched
from .._context import ctx as _ctx
from .._tensor import Tensor
from ..ops._table import TABLE
from ._transforms import VJP, transform, basis, jvp_core, strip_level, tree_flatten, tree_unflatten

__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "linearize",
    "vjp",
    "vmap",
]



def _argnums(argnums, n: int, what: str) -> tuple:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise RuntimeError(f"{what}: argnums must be non-empty")
    for a in nums:
        if not isinstance(a, int):
            raise RuntimeError(f"{what}: argnums must be int or Tuple[int, ...], got: {type(a)}")
        if not -n <= a < n:
            raise RuntimeError(
                f"{what}: Got argnums={a}, but only {n} positional inputs"
            )
    return tuple(a % n for a in nums)


def _partial(f, args: tuple, nums: tuple, kwargs: dict):
    def g(*diff):
        full = list(args)
        for i, d in zip(nums, diff):
            full[i] = d
        return f(*full, **kwargs)

    return g


def _detach(t):
    if isinstance(t, Batched):
        return Batched(_detach(t.value), t.level)
    return t.detach() if isinstance(t, Tensor) else t


def _outermost_plain(inputs) -> bool:
    """Whether results can be cut from the graph: no transform, dual level or differentiable
    input outside this call will differentiate them."""
    if _ctx.transform_depth or _ctx.fw_visible:
        return False
    for x in tree_flatten(inputs)[0]:
        while isinstance(x, Batched):
            x = x.value
        if isinstance(x, Tensor) and x.requires_grad:
            return False
    return True


def _finish(res, inputs):
    return _detach_tree(res) if _outermost_plain(inputs) else res


def _numel(t) -> int:
    n = 1
    for s in t.shape:
        n *= s
    return n


# ---- reverse mode ------------------------------------------------------------------------------
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


def _detach_tree(tree):
    flat, spec = tree_flatten(tree)
    return tree_unflatten([_detach(t) for t in flat], spec)


def _split_rows(r: Tensor, sizes: list, shapes: list, in_shape: tuple) -> list:
    """Rows of ``r`` (m, *in_shape) for each output j, reshaped to (*out_shape_j, *in_shape)."""
    out, off = [], 0
    for k, s in zip(sizes, shapes):
        part = r if len(sizes) == 1 else _ns.getitem(r, slice(off, off + k))
        out.append(_ns.reshape(part, tuple(s) + tuple(in_shape)))
        off += k
    return out


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


def _assemble(per_in: list, in_spec, out_spec, single_arg: bool):
    """per_in[i][j]: d out_j / d in_i → torch.func's nesting: output pytree of input pytrees."""
    n_out = len(per_in[0]) if per_in else 0
    per_out = []
    for j in range(n_out):
        inner = tree_unflatten([per_in[i][j] for i in range(len(per_in))], in_spec)
        per_out.append(inner[0] if single_arg else tuple(inner))
    return tree_unflatten(per_out, out_spec)


# ---- forward mode ------------------------------------------------------------------------------
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


from ._vmap import functional_call, vmap
