"""A module's backward hooks (``register_full_backward_hook``, ``…_pre_hook``): identity
Functions around one call of the module, as torch's ``BackwardHookFunction``."""

from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.function import Function


class _BackwardHookState:
    """Identity nodes around one call of a module with backward hooks (as torch's
    BackwardHookFunction): one on its tensor outputs (grad_output, pre-hooks) and one on its
    tensor inputs (grad_input, full backward hooks)."""

    def __init__(self, module) -> None:  # the Module being called
        self.module = module
        self.grad_output: tuple | None = None
        self.n_in = 0
        self.inputs_rg = False

    def wrap_inputs(self, args: tuple) -> tuple:
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_in = len(idx)
        self.inputs_rg = any(args[i].requires_grad for i in idx)
        if not self.inputs_rg:
            return args
        wrapped = _HookInputs.apply(self, *(args[i] for i in idx))
        new = list(args)
        for i, w in zip(idx, wrapped if isinstance(wrapped, tuple) else (wrapped,)):
            new[i] = w
        return tuple(new)

    def wrap_outputs(self, out):
        outs = out if isinstance(out, tuple) else (out,)
        idx = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not idx:
            return out
        wrapped = _HookOutputs.apply(self, *(outs[i] for i in idx))
        new = list(outs)
        for i, w in zip(idx, wrapped if isinstance(wrapped, tuple) else (wrapped,)):
            new[i] = w
        return tuple(new) if isinstance(out, tuple) else new[0]


class _HookOutputs(Function):
    @staticmethod
    def forward(ctx, state, *outs):
        ctx.state = state
        ctx.set_materialize_grads(False)
        return tuple(o.view_as(o) for o in outs) if len(outs) > 1 else outs[0].view_as(outs[0])

    @staticmethod
    def backward(ctx, *grads):
        st = ctx.state
        for hook in tuple(st.module._backward_pre_hooks.values()):
            res = hook(st.module, grads)
            if res is not None:
                grads = tuple(res) if isinstance(res, (tuple, list)) else (res,)
        st.grad_output = grads
        if not st.inputs_rg:  # no input needs a gradient: the hooks run now, grad_input all None
            for hook in tuple(st.module._backward_hooks.values()):
                hook(st.module, (None,) * st.n_in, grads)
        return (None, *grads)


class _HookInputs(Function):
    @staticmethod
    def forward(ctx, state, *ins):
        ctx.state = state
        ctx.set_materialize_grads(False)
        return tuple(x.view_as(x) for x in ins) if len(ins) > 1 else ins[0].view_as(ins[0])

    @staticmethod
    def backward(ctx, *grads):
        st = ctx.state
        for hook in tuple(st.module._backward_hooks.values()):
            res = hook(st.module, grads, st.grad_output)
            if res is not None:
                res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
                if len(res) != len(grads):
                    raise RuntimeError(
                        f"backward hook returned an invalid number of grad_input, got "
                        f"{len(res)}, but expected {len(grads)}")
                grads = res
        return (None, *grads)
