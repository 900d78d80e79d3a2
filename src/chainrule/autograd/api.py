"""Reverse-mode entry points: ``backward`` and ``grad`` (also batched: ``is_grads_batched``).

``Tensor.backward`` is attached here, as ``chainrule.ops`` attaches the op methods: the Tensor
class sits below autograd and does not import it.
"""

from __future__ import annotations

import numpy as np

from .. import _batching as B
from .. import _ns
from .._batching import Batched
from .._context import ctx as _ctx
from .._creation import zeros, zeros_like
from .._tensor import Tensor, _make
from .engine import run_backward
from .node import accumulate_node


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


# ---- batched gradients (autograd.grad(..., is_grads_batched=True)) ---------------------------
def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                  materialize_grads):
    """One backward pass whose cotangents carry a leading batch dimension."""
    outs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    ins = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None:
        raise RuntimeError("grad: is_grads_batched=True needs grad_outputs with a batch dimension")
    gos = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    if len(gos) != len(outs):
        raise RuntimeError(f"grad: got {len(gos)} gradients for {len(outs)} outputs")
    size = None
    for i, (g, o) in enumerate(zip(gos, outs)):
        if g is None:
            continue
        if g.ndim != o.ndim + 1 or tuple(g.shape[1:]) != tuple(o.shape):
            raise RuntimeError(
                f"If `is_grads_batched=True`, we interpret the first dimension of each grad_output "
                f"as the batch dimension. The sizes of the remaining dimensions are expected to "
                f"match the shape of corresponding output, but a mismatch was detected: "
                f"grad_output[{i}] has a shape of {tuple(g.shape)} and output[{i}] has a shape "
                f"of {tuple(o.shape)}."
            )
        if size is not None and g.shape[0] != size:
            raise RuntimeError("grad: the grad_outputs' batch dimensions differ")
        size = g.shape[0]
    if size is None:
        raise RuntimeError("grad: is_grads_batched=True needs at least one grad_output")
    if retain_graph is None:
        retain_graph = create_graph
    lvl = B.new_level(size)
    if not create_graph:
        _ctx.batch_no_record += 1
    try:
        gs = [None if g is None else Batched(g, lvl) for g in gos]
        res = grad(outs, ins, gs, retain_graph=True, create_graph=True,
                   allow_unused=allow_unused or materialize_grads)
    except B.BatchedDataError as e:
        if e.level != lvl:
            raise
        B.warn_loop("a backward rule reads the values of its gradient")
        rows = [grad(outs, ins, [None if g is None else g[b] for g in gos], retain_graph=True,
                     create_graph=create_graph, allow_unused=True) for b in range(size)]
        res = [None if all(r[i] is None for r in rows) else Batched(_ns.stack([
            _zeros(x) if r[i] is None else r[i] for r in rows], 0), lvl)
            for i, x in enumerate(ins)]
    finally:
        if not create_graph:
            _ctx.batch_no_record -= 1
        B.close_level(lvl)
    out = []
    for r, x in zip(res, ins):
        if r is None:
            if materialize_grads:
                r = _ns.to_dtype(zeros((size,) + tuple(x.shape)), x.dtype)
            out.append(r)
        elif isinstance(r, Batched) and r.level == lvl:
            v = r.value
            out.append(v if create_graph else v.detach())
        else:  # the gradient does not depend on the cotangent's batch (cannot happen for linear)
            out.append(_ns.expand(_ns.unsqueeze(r, 0), (size,) + tuple(r.shape)))
    return tuple(out)


def _zeros(x: Tensor) -> Tensor:
    return zeros_like(x)


def _tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(self)/d(leaf) — times ``gradient`` (vJ) for non-scalars — into leaves'
    ``.grad``."""
    backward(self, gradient, retain_graph, create_graph, inputs=inputs)


_tensor_backward.__name__ = _tensor_backward.__qualname__ = "backward"
Tensor.backward = _tensor_backward
