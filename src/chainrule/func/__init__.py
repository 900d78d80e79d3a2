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

from ._vmap import functional_call, vmap
from .forward import hessian, jacfwd, jvp, linearize
from .reverse import grad, grad_and_value, jacrev, vjp

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
