"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad``, ``step`` and state dicts.

Subclasses implement ``_update(p, g, state, group)`` on NumPy arrays: ``p`` the parameter's data
(updated in place), ``g`` its gradient. Updates never record graph; each bumps the parameter's
version counter, so a graph that saved the old value refuses to backward (as torch).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


def _scalar(v: float) -> Tensor:
    """A scalar state tensor (step counts …): float32, or float64 under that default, as torch."""
    from .._dtype import default_np

    dt = np.float64 if default_np() == np.float64 else np.float32
    return Tensor(np.array(v, dt))


class Optimizer:
    """Base class of optimizers.

    Args:
        params: an iterable of Tensors, or of dicts (parameter groups) with a ``params`` key and
            per-group options overriding ``defaults``.
        defaults: default options (``lr`` …).
    """

    def __init__(self, params: Iterable, defaults: dict) -> None:
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}"
            )
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        s = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}"
            for key in sorted(group):
                if key != "params":
                    s += f"\n    {key}: {group[key]}"
        return s + "\n)"

    def __getstate__(self):
        raise TypeError("optimizers are saved with chainrule.save(optimizer.state_dict(), path)")

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (e.g. a smaller ``lr``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter "
                    f"{name}"
                )
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters (to None, or to zeros in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    p._grad._array[...] = 0
                    p._grad._bump()

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._group_setup(group)
            for p in group["params"]:
                gt = p._grad
                if gt is None:
                    continue
                self._update(p._array, gt._array, self.state[p], group)
                p._bump()
        return loss

    def _group_setup(self, group: dict) -> None:
        pass

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    # ---- state dicts --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, …]}]}``."""
        index: dict = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                if id(p) not in index:
                    index[id(p)] = len(index)
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and per-parameter state saved by ``state_dict`` (copies tensors)."""
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict \
                or "state" not in state_dict:
            raise ValueError("optimizer state dict must have 'state' and 'param_groups' keys")
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for i, (g, s) in enumerate(zip(self.param_groups, saved)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of "
                    f"optimizer's group (group {i}: {len(s['params'])} saved, "
                    f"{len(g['params'])} here)"
                )
        id_map = {}
        for g, s in zip(self.param_groups, saved):
            for idx, p in zip(s["params"], g["params"]):
                id_map[idx] = p
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            key = int(k) if isinstance(k, str) and k.isdigit() else k
            if key not in id_map:
                continue
            p = id_map[key]
            st = {}
            for name, val in v.items():
                if isinstance(val, Tensor):
                    arr = val._array
                    if name != "step" and arr.dtype.kind == "f":
                        arr = arr.astype(p._array.dtype)
                    st[name] = Tensor(np.array(arr, copy=True))
                else:
                    st[name] = copy.deepcopy(val)
            state[p] = st
        new_groups = []
        for g, s in zip(self.param_groups, saved):
            ng = {k: copy.deepcopy(v) for k, v in s.items() if k != "params"}
            if isinstance(ng.get("betas"), list):
                ng["betas"] = tuple(ng["betas"])
            ng["params"] = g["params"]
            new_groups.append(ng)
        self.param_groups = new_groups
        self.state = state


def _check(name: str, value: float, low: float = 0.0) -> None:
    if not value >= low:
        raise ValueError(f"Invalid {name}: {value}")


def _grad(g: np.ndarray, p: np.ndarray, group: dict) -> np.ndarray:
    """The gradient with ``maximize`` and (coupled) ``weight_decay`` applied."""
    if group.get("maximize"):
        g = -g
    wd = group.get("weight_decay", 0)
    if wd != 0 and not group.get("decoupled_weight_decay", False):
        g = g + wd * p
    return g


def _zeros(p: np.ndarray) -> Tensor:
    return Tensor(np.zeros_like(p))
