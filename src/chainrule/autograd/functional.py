"""``chainrule.autograd.functional``: vjp, jvp, jacobian, hessian, hvp, vhp, as torch's, plus
``jacobian_plan`` (forward or reverse accumulation, and why).

Inputs are a Tensor or a tuple of Tensors; results follow torch's structure (a tuple where the
inputs or outputs were a tuple; nested tuples for Jacobians). ``jvp`` uses forward mode (dual
tensors), not torch's double-backward trick; ``jacobian(vectorize=True)`` is one batched pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .. import _ns
from .._tensor import Tensor

__all__ = ["JacobianPlan", "hessian", "hvp", "jacobian", "jacobian_plan", "jvp", "vhp", "vjp"]



def _as_tuple(x, arg: str, fn: str) -> tuple[bool, tuple]:
    if isinstance(x, Tensor):
        return False, (x,)
    if isinstance(x, (tuple, list)):
        for i, el in enumerate(x):
            if not isinstance(el, Tensor):
                raise TypeError(
                    f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors but "
                    f"the value at index {i} has type {type(el).__name__}."
                )
        return True, tuple(x)
    raise TypeError(
        f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors but the given "
        f"{arg} has type {type(x).__name__}."
    )


def _untuple(is_tuple: bool, t: tuple):
    return t if is_tuple else t[0]


def _prep(inputs: tuple, create_graph: bool) -> tuple:
    """Fresh differentiable inputs (keeping the graph to the originals under create_graph)."""
    out = []
    for x in inputs:
        if create_graph and x.requires_grad:
            out.append(_ns.view(x, tuple(x.shape)))
        else:
            out.append(x.detach().requires_grad_(x.is_floating_point()))
    return tuple(out)


def _post(ts, create_graph: bool) -> tuple:
    return tuple(t if t is None or create_graph else t.detach() for t in ts)


def _check_v(v: tuple, ref: tuple, what: str, fn: str) -> None:
    if len(v) != len(ref):
        raise RuntimeError(
            f"{fn}: v has invalid size: expected {len(ref)} tensors for the {what} but got {len(v)}"
        )
    for i, (a, b) in enumerate(zip(v, ref)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(
                f"{fn}: Entry {i} in v has invalid size: should be {list(b.shape)} but got "
                f"{list(a.shape)}."
            )


def _zeros(x: Tensor) -> Tensor:
    from .._creation import zeros_like

    return zeros_like(x)


def _strict_error(i: int, j: int, what: str = "independent of input") -> RuntimeError:
    return RuntimeError(
        f"Output {i} of the user-provided function is {what} {j}. This is not allowed in "
        "strict mode."
    )


# ---- products --------------------------------------------------------------------------------
def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), vᵀ·J)``: one backward pass.

    Example:
        >>> vjp(lambda x: x ** 2, cr.tensor([1.0, 2.0]), cr.ones(2))
        (tensor([1., 4.]), tensor([2., 4.]))
    """
    from .api import grad

    it, ins = _as_tuple(inputs, "inputs", "vjp")
    from .grad_mode import enable_grad

    with enable_grad():
        ins = _prep(ins, create_graph)
        out = func(*ins)
        ot, outs = _as_tuple(out, "outputs of the user-provided function", "vjp")
        if v is None:
            if len(outs) != 1 or outs[0].numel() != 1:
                raise RuntimeError(
                    "The vector v can only be None if the user-provided function returns a "
                    "single Tensor with a single element."
                )
            from .._creation import ones_like

            vs = (ones_like(outs[0]),)
        else:
            _, vs = _as_tuple(v, "v", "vjp")
            _check_v(vs, outs, "outputs", "vjp")
        pairs = [(o, g) for o, g in zip(outs, vs) if o.requires_grad]
        if pairs:
            gs = grad([o for o, _ in pairs], ins, [g for _, g in pairs],
                      create_graph=create_graph, retain_graph=True, allow_unused=True)
        else:
            gs = (None,) * len(ins)
    if strict:
        for j, g in enumerate(gs):
            if g is None:
                raise _strict_error(0, j, "independent of input")
    gs = tuple(_zeros(x) if g is None else g for x, g in zip(ins, gs))
    return _untuple(ot, _post(outs, create_graph)), _untuple(it, _post(gs, create_graph))


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J·v)``: one forward pass with dual tensors (``strict`` is not checked).

    Example:
        >>> jvp(lambda x: x ** 2, cr.tensor([1.0, 2.0]), cr.ones(2))
        (tensor([1., 4.]), tensor([2., 4.]))
    """
    from ..func._transforms import jvp_core
    from .grad_mode import enable_grad

    _, ins = _as_tuple(inputs, "inputs", "jvp")
    if v is None:
        if len(ins) != 1 or ins[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is a "
                "single Tensor with a single element."
            )
        from .._creation import ones_like

        vs = (ones_like(ins[0]),)
    else:
        _, vs = _as_tuple(v, "v", "jvp")
        _check_v(vs, ins, "inputs", "jvp")
    with enable_grad():
        ins = _prep(ins, create_graph) if create_graph else tuple(x.detach() for x in ins)
        box = {}

        def f(*xs):
            o = func(*xs)
            box["tuple"], outs = _as_tuple(o, "outputs of the user-provided function", "jvp")
            return outs

        outs, ts, _ = jvp_core(f, ins, vs)
    ot = box["tuple"]
    return _untuple(ot, _post(outs, create_graph)), _untuple(ot, _post(ts, create_graph))


# ---- Jacobians -------------------------------------------------------------------------------
class JacobianPlan(NamedTuple):
    """How ``jacobian(strategy="auto")`` computes a Jacobian, and why."""

    inputs: int  # n: total number of input elements
    outputs: int  # m: total number of output elements
    reverse_passes: int  # backward passes without batching (one per output element)
    forward_passes: int  # forward passes without batching (one per input element)
    strategy: str  # "forward-mode" or "reverse-mode"
    explanation: str


def jacobian_plan(func: Callable, inputs) -> JacobianPlan:
    """Choose forward or reverse accumulation for the Jacobian of ``func`` at ``inputs``.

    Reverse mode gives one *row* of J per backward pass (m passes), forward mode one *column*
    per forward pass (n passes); batched, either is one vectorized pass whose work is
    proportional to that count. Forward mode is chosen when there are fewer inputs than outputs.

    Example:
        >>> jacobian_plan(lambda x: x.outer(x).flatten(), cr.ones(3)).strategy
        'forward-mode'
    """
    from .grad_mode import no_grad

    _, ins = _as_tuple(inputs, "inputs", "jacobian_plan")
    with no_grad():
        _, outs = _as_tuple(func(*ins), "outputs of the user-provided function", "jacobian_plan")
    n = sum(x.numel() for x in ins)
    m = sum(o.numel() for o in outs)
    if n < m:
        strategy = "forward-mode"
        why = (f"{n} input elements < {m} output elements: forward accumulation builds J one column "
               f"per tangent ({n} forward passes, or one pass batched over {n} tangents) instead of "
               f"one row per cotangent ({m} backward passes)")
    else:
        strategy = "reverse-mode"
        why = (f"{m} output elements <= {n} input elements: reverse accumulation builds J one row "
               f"per cotangent ({m} backward passes, or one pass batched over {m} cotangents) "
               f"instead of one column per tangent ({n} forward passes)")
    return JacobianPlan(n, m, m, n, strategy, why)


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: shape ``out.shape + in.shape`` per (output, input).

    ``strategy``: ``"reverse-mode"`` (rows by backward passes), ``"forward-mode"`` (columns by
    forward passes; needs ``vectorize=True``, as torch) or ``"auto"`` (``jacobian_plan``'s choice,
    vectorized). ``vectorize=True`` computes all rows (columns) in ONE batched pass.

    Example:
        >>> jacobian(lambda x: x ** 2, cr.tensor([1.0, 2.0]))
        tensor([[2., 0.],
                [0., 4.]])
    """
    if strategy not in ("reverse-mode", "forward-mode", "auto"):
        raise ValueError(
            'Expected strategy to be either "forward-mode", "reverse-mode" or "auto". Hint: '
            "If your function has more outputs than inputs, \"forward-mode\" tends to be more "
            "performant. Otherwise, prefer to use \"reverse-mode\"."
        )
    if strategy == "auto":
        strategy = jacobian_plan(func, inputs).strategy
        vectorize = True
    if strategy == "forward-mode":
        if strict:
            raise RuntimeError(
                "torch.autograd.functional.jacobian: `strict=True` and `strategy=\"forward-mode\"` "
                "are not supported together (yet). Please either set `strict=False` or "
                "`strategy=\"reverse-mode\"`."
            )
        if not vectorize:
            raise NotImplementedError(
                "Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
                "implemented for `vectorize=True`."
            )
    it, ins = _as_tuple(inputs, "inputs", "jacobian")
    from .grad_mode import enable_grad

    with enable_grad():
        if strategy == "forward-mode":
            return _jac_forward(func, ins, it, create_graph)
        return _jac_reverse(func, ins, it, create_graph, strict, vectorize)


def _jac_forward(func, ins, it, create_graph):
    from .. import func as _func

    ins = _prep(ins, create_graph) if create_graph else tuple(x.detach() for x in ins)
    box = {}

    def f(*xs):
        o = func(*xs)
        box["tuple"], outs = _as_tuple(o, "outputs of the user-provided function", "jacobian")
        return outs

    jac = _func.jacfwd(f, argnums=tuple(range(len(ins))))(*ins)  # jac[j][i]
    return _shape(jac, box["tuple"], it, create_graph)


def _shape(jac, ot: bool, it: bool, create_graph: bool):
    rows = tuple(tuple(j if create_graph else j.detach() for j in row) for row in jac)
    rows = tuple(r if it else r[0] for r in rows)
    return rows if ot else rows[0]


def _jac_reverse(func, ins, it, create_graph, strict, vectorize):
    from .api import grad

    ins = _prep(ins, create_graph)
    out = func(*ins)
    ot, outs = _as_tuple(out, "outputs of the user-provided function", "jacobian")
    jac = []
    for i, o in enumerate(outs):
        m = o.numel()
        row = [None] * len(ins)
        if o.requires_grad and m:
            if vectorize:
                eye = np.eye(m, dtype=o._array.dtype).reshape((m,) + tuple(o.shape))
                from .._tensor import _make

                gs = grad(o, ins, _make(eye), retain_graph=True, create_graph=create_graph,
                          allow_unused=True, is_grads_batched=True)
                row = [None if g is None else _ns.reshape(g, tuple(o.shape) + tuple(x.shape))
                       for g, x in zip(gs, ins)]
            else:
                flat = _ns.reshape(o, (m,))
                parts: list = [[] for _ in ins]
                for k in range(m):
                    gs = grad(_ns.getitem(flat, k), ins, retain_graph=True,
                              create_graph=create_graph, allow_unused=True)
                    for j, g in enumerate(gs):
                        parts[j].append(g)
                row = [None if all(g is None for g in p) else
                       _ns.reshape(_ns.stack([_zeros(x) if g is None else g for g in p],
                                                0), tuple(o.shape) + tuple(x.shape))
                       for p, x in zip(parts, ins)]
        for j, x in enumerate(ins):
            if row[j] is None:
                if strict:
                    raise _strict_error(i, j)
                from .._creation import zeros

                row[j] = _ns.to_dtype(zeros(tuple(o.shape) + tuple(x.shape)), x.dtype)
        jac.append(tuple(row))
    return _shape(jac, ot, it, create_graph)


# ---- Hessians --------------------------------------------------------------------------------
def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of scalar ``func`` at ``inputs``: the Jacobian of its gradient.

    ``outer_jacobian_strategy="forward-mode"`` is forward over reverse (needs vectorize=True).

    Example:
        >>> hessian(lambda x: (x ** 3).sum(), cr.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    from .api import grad

    it, ins = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def gradient(*xs):
        from .gradcheck import _leaf

        xs = tuple(x if x.requires_grad else _leaf(x) for x in xs)  # keeps forward tangents
        out = func(*xs)
        _, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError(
                "The function given to hessian should return a single Tensor containing a "
                f"single element, got {len(outs)} outputs of shapes "
                f"{[list(o.shape) for o in outs]}"
            )
        o = outs[0]
        if not o.requires_grad:
            if strict:
                raise RuntimeError(
                    "The output of the user-provided function is independent of input 0. "
                    "This is not allowed in strict mode."
                )
            return tuple(_zeros(x) for x in xs)
        gs = grad(o, xs, create_graph=True, allow_unused=True)
        return tuple(_zeros(x) if g is None else g for x, g in zip(xs, gs))

    res = jacobian(gradient, ins, create_graph=create_graph, strict=False, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return res if it else res[0][0]


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), vᵀ·H)`` by reverse over reverse.

    Example:
        >>> vhp(lambda x: (x ** 3).sum(), cr.tensor([1.0, 2.0]), cr.ones(2))
        (tensor(9.), tensor([ 6., 12.]))
    """
    from .api import grad
    from .grad_mode import enable_grad

    it, ins = _as_tuple(inputs, "inputs", "vhp")
    with enable_grad():
        ins = _prep(ins, create_graph)
        out = func(*ins)
        _, outs = _as_tuple(out, "outputs of the user-provided function", "vhp")
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError(
                "The function given to vhp should return a single Tensor with a single element."
            )
        vs = _vs(v, ins, "vhp")
        o = outs[0]
        if not o.requires_grad:
            return _untuple(False, _post(outs, create_graph)), _untuple(it, tuple(_zeros(x) for x in ins))
        gs = grad(o, ins, create_graph=True, allow_unused=True)
        pairs = [(g, w) for g, w in zip(gs, vs) if g is not None and g.requires_grad]
        if pairs:
            hs = grad([g for g, _ in pairs], ins, [w for _, w in pairs], create_graph=create_graph,
                      retain_graph=True, allow_unused=True)
        else:
            hs = (None,) * len(ins)
    if strict and any(h is None for h in hs):
        raise RuntimeError(
            "The hessian of the user-provided function with respect to input "
            f"{[h is None for h in hs].index(True)} is independent of the input. This is not "
            "allowed in strict mode."
        )
    hs = tuple(_zeros(x) if h is None else h for x, h in zip(ins, hs))
    return _post(outs, create_graph)[0], _untuple(it, _post(hs, create_graph))


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H·v)`` by forward over reverse (one forward-mode pass through a backward).

    Example:
        >>> hvp(lambda x: (x ** 3).sum(), cr.tensor([1.0, 2.0]), cr.ones(2))
        (tensor(9.), tensor([ 6., 12.]))
    """
    from ..func._transforms import jvp_core
    from .api import grad
    from .grad_mode import enable_grad

    it, ins = _as_tuple(inputs, "inputs", "hvp")
    vs = _vs(v, ins, "hvp")
    with enable_grad():
        ins = _prep(ins, create_graph)
        box = {}

        def gradient(*xs):
            out = func(*xs)
            _, outs = _as_tuple(out, "outputs of the user-provided function", "hvp")
            if len(outs) != 1 or outs[0].numel() != 1:
                raise RuntimeError(
                    "The function given to hvp should return a single Tensor with a single element."
                )
            box["out"] = outs[0]
            if not outs[0].requires_grad:
                return tuple(_zeros(x) for x in xs)
            gs = grad(outs[0], xs, create_graph=True, allow_unused=True)
            return tuple(_zeros(x) if g is None else g for x, g in zip(xs, gs))

        _, hs, _ = jvp_core(gradient, ins, vs)
    from .forward_ad import unpack_dual

    out = box["out"]
    out = unpack_dual(out).primal if out is not None else out
    return _post((out,), create_graph)[0], _untuple(it, _post(hs, create_graph))


def _vs(v, ins, fn: str) -> tuple:
    if v is None:
        if len(ins) != 1 or ins[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is a "
                "single Tensor with a single element."
            )
        from .._creation import ones_like

        return (ones_like(ins[0]),)
    _, vs = _as_tuple(v, "v", fn)
    _check_v(vs, ins, "inputs", fn)
    return vs
