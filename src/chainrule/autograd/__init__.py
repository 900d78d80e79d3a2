"""``chainrule.autograd``: reverse-mode entry points (``backward``, ``grad``) and grad mode."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .._tensor import Tensor, _make
from .engine import run_backward
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .graph import AccumulateGrad, Node, accumulate_node
from . import graph
from .why import why

__all__ = [
    "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "inference_mode", "Node", "graph", "why",
]


def _seq(x) -> tuple:
    if x is None:
        return ()
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _key(t: Tensor):
    return (t.grad_fn, t._output_nr) if t.grad_fn is not None else (accumulate_node(t), 0)


def _roots(outputs: tuple, grad_outputs: tuple, create_graph: bool, passed: set, what: str):
    if grad_outputs and len(grad_outputs) != len(outputs):
        raise RuntimeError(
            f"{what}: got {len(grad_outputs)} gradients for {len(outputs)} outputs"
        )
    roots, grads = [], []
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"{what}: output {i} is a {type(out).__name__}, not a Tensor")
        g = grad_outputs[i] if grad_outputs else None
        if not out._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn "
                f"(output {i} of shape {list(out.shape)} was not computed from any tensor with "
                "requires_grad=True, or was computed under no_grad)"
            )
        if g is None:
            if out._array.size != 1:
                raise RuntimeError(
                    "grad can be implicitly created only for scalar outputs "
                    f"(output {i} has shape {list(out.shape)}; pass gradient=v of that shape "
                    "to compute the vector-Jacobian product vJ)"
                )
            ga = np.ones_like(out._array)
            g = _make(ga) if create_graph else ga
        else:
            if not isinstance(g, Tensor):
                from .._creation import tensor

                g = tensor(g, dtype=out.dtype)
            if g._array.shape != out._array.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and "
                    f"output[{i}] has a shape of {out.shape}."
                )
            if g._array.dtype != out._array.dtype:
                g = g.to(out.dtype)
            if not create_graph:
                g = g._array
                passed.add(id(g))
        roots.append(_key(out))
        grads.append(g)
    return roots, grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the leaves' ``.grad`` (vJ with ``grad_tensors``).

    Example:
        >>> y = 2 * x + 1                                  # x: ones(3), requires_grad
        >>> chainrule.autograd.backward(y, chainrule.ones(3))
        >>> x.grad
        tensor([2., 2., 2.])
    """
    outputs = _seq(tensors)
    grads = _seq(grad_tensors) if grad_tensors is not None else ()
    if retain_graph is None:
        retain_graph = create_graph
    passed: set = set()
    roots, gs = _roots(outputs, grads, create_graph, passed, "backward")
    if inputs is None:
        run_backward(roots, gs, retain_graph=retain_graph, create_graph=create_graph, passed=passed)
        return
    ins = _seq(inputs)
    if not ins:
        raise RuntimeError("backward: 'inputs' argument to backward() cannot be empty.")
    for i, t in enumerate(ins):
        if not t._requires_grad:
            raise RuntimeError(f"backward: inputs[{i}] does not require grad")
    res = run_backward(roots, gs, retain_graph=retain_graph, create_graph=create_graph,
                       targets=[_key(t) for t in ins], accumulate=True, passed=passed)
    for t, g in zip(ins, res):
        if t.grad_fn is not None and g is not None:  # non-leaf inputs get .grad too
            gt = g if isinstance(g, Tensor) else _make(g)
            t._grad = gt if t._grad is None else t._grad + gt


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated).

    Example:
        >>> x = chainrule.tensor(3.0, requires_grad=True)
        >>> (dx,) = chainrule.autograd.grad(x ** 2, x, create_graph=True)
        >>> chainrule.autograd.grad(dx, x)
        (tensor(2.),)
    """
    if is_grads_batched:
        from .functional import _batched_grad

        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph,
                             allow_unused, materialize_grads)
    outs = _seq(outputs)
    ins = _seq(inputs)
    if not ins:
        raise RuntimeError("grad: `inputs` argument to `grad()` cannot be empty.")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True")
    if allow_unused is None:
        allow_unused = materialize_grads
    grads = _seq(grad_outputs) if grad_outputs is not None else ()
    if retain_graph is None:
        retain_graph = create_graph
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs[{i}] is a {type(t).__name__}, not a Tensor")
        if not t._requires_grad:
            raise RuntimeError(
                f"One of the differentiated Tensors does not require grad (inputs[{i}], shape "
                f"{list(t.shape)})"
            )
    passed: set = set()
    roots, gs = _roots(outs, grads, create_graph, passed, "grad")
    res = run_backward(roots, gs, retain_graph=retain_graph, create_graph=create_graph,
                       targets=[_key(t) for t in ins], accumulate=False, passed=passed)
    out = []
    for i, (t, g) in enumerate(zip(ins, res)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the graph. "
                    f"Set allow_unused=True if this is the desired behavior. (inputs[{i}], shape "
                    f"{list(t.shape)}, is not reachable from the outputs)"
                )
            out.append(_make(np.zeros_like(t._array)) if materialize_grads else None)
        else:
            out.append(g if isinstance(g, Tensor) else _make(g))
    return tuple(out)


# ---- extending and debugging autograd (custom Functions, numerical fallback, anomaly mode) --------
from .function import (  # noqa: E402
    Function, FunctionCtx, InplaceFunction, nondifferentiable, once_differentiable,
)
from .numerical import NumericalDerivativeWarning, numerical  # noqa: E402
from .anomaly_mode import (  # noqa: E402
    detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly,
)
from . import function, anomaly_mode  # noqa: E402,F401

__all__ += [
    "Function", "FunctionCtx", "InplaceFunction", "once_differentiable", "nondifferentiable",
    "numerical", "NumericalDerivativeWarning", "detect_anomaly", "set_detect_anomaly",
    "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
]

from . import forward_ad, functional  # noqa: E402,F401
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402,F401
