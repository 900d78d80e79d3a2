"""chainrule: PyTorch's autograd, complete and exact, on nothing but NumPy.

Example:
    >>> import chainrule as cr
    >>> x = cr.ones(1, 4, requires_grad=True)
    >>> z = cr.norm(2 * x + 1, 2, dim=1)
    >>> z.backward(cr.ones(1))
    >>> x.grad
    tensor([[1., 1., 1., 1.]])
"""

from __future__ import annotations

from . import _dtype
from ._dtype import (
    bool_ as bool,  # noqa: A001  (torch.bool)
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)
from ._tensor import Size, Tensor
from ._device import device
from ._creation import (
    Generator,
    arange,
    as_tensor,
    default_generator,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    initial_seed,
    linspace,
    logspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    seed,
    tensor,
    zeros,
    zeros_like,
)
from . import ops as _ops
from . import autograd
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from . import linalg, nn, special, utils
from . import optim
from .serialization import load, save
from . import func
from .func import vmap
from . import explain, viz  # noqa: E402  (pictures and the chain rule, step by step)
from . import amp, backends, cuda, testing  # noqa: E402  (torch's namespaces for scripts)
from .amp import autocast  # noqa: E402
from ._settings import (  # noqa: E402
    are_deterministic_algorithms_enabled, get_float32_matmul_precision, get_num_threads,
    is_autocast_enabled, set_float32_matmul_precision, set_num_threads,
    use_deterministic_algorithms,
)
from ._compile import compile  # noqa: E402,A001  (trace once, replay as a flat program)

half = float16
float = float32  # noqa: A001
double = float64
long = int64
int = int32  # noqa: A001
short = int16

globals().update({k: v for k, v in _ops.PUBLIC.items() if k not in globals() or k in ("max", "min", "abs")})


def as_torch():
    """Make ``import torch`` and its submodules give chainrule until ``.restore()`` (a context
    manager too); see ``chainrule.torchcompat``."""
    from .torchcompat import as_torch as _as_torch

    return _as_torch()


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a chainrule Tensor."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


__version__ = "0.1.0"
