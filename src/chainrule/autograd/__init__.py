"""``chainrule.autograd``, as ``torch.autograd``: ``backward``, ``grad``, grad mode, custom
Functions, forward AD, anomaly mode, the functional API and gradcheck (a face: the code lives in
the modules it names)."""

from __future__ import annotations

from . import anomaly_mode, forward_ad, function, functional, graph  # noqa: F401
from .anomaly_mode import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from .api import backward, grad
from .function import (
    Function,
    FunctionCtx,
    InplaceFunction,
    nondifferentiable,
    once_differentiable,
)
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: F401
from .node import AccumulateGrad, Node, accumulate_node  # noqa: F401
from .numerical import NumericalDerivativeWarning, numerical
from .why import why

__all__ = [
    "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "inference_mode", "Node", "graph", "why",
    "Function", "FunctionCtx", "InplaceFunction", "once_differentiable", "nondifferentiable",
    "numerical", "NumericalDerivativeWarning", "detect_anomaly", "set_detect_anomaly",
    "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
]
