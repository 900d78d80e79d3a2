"""What the transforms share: ``argnums``, binding the other arguments, cutting results from
the graph when nothing outside will differentiate them, assembling Jacobians."""

from __future__ import annotations

from .. import _ns
from .._batching import Batched
from .._context import ctx as _ctx
from .._tensor import Tensor
from ._transforms import tree_flatten, tree_unflatten


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


def _assemble(per_in: list, in_spec, out_spec, single_arg: bool):
    """per_in[i][j]: d out_j / d in_i → torch.func's nesting: output pytree of input pytrees."""
    n_out = len(per_in[0]) if per_in else 0
    per_out = []
    for j in range(n_out):
        inner = tree_unflatten([per_in[i][j] for i in range(len(per_in))], in_spec)
        per_out.append(inner[0] if single_arg else tuple(inner))
    return tree_unflatten(per_out, out_spec)
