"""``Module``: the base class of every layer, as ``torch.nn.Module``."""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any, Callable, Iterator

import numpy as np

from ... import _dtype
from ..._tensor import Tensor
from ...autograd.grad_mode import is_grad_enabled
from ..._hooks import RemovableHandle
from ..parameter import Parameter
from .backward_hooks import _BackwardHookState

class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(s: str, n: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


def _as_array(v) -> np.ndarray | None:
    if isinstance(v, Tensor):
        return v._array
    if isinstance(v, np.ndarray):
        return v
    if not hasattr(v, "__array__"):  # e.g. a torch.Tensor: converted through NumPy
        return None
    try:
        a = np.asarray(v)
    except (TypeError, ValueError, RuntimeError):
        return None
    return None if a.dtype.kind not in "biuf" else a


class Module:
    """Base class of neural-network layers: holds parameters, buffers and sub-modules.

    Assigning a ``Parameter``, a ``Module`` or (via ``register_buffer``) a tensor as an attribute
    registers it, so that ``parameters()``, ``state_dict()``, ``to()`` … find it.

    Example:
        >>> class Net(chainrule.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = chainrule.nn.Linear(4, 2)
        ...     def forward(self, x):
        ...         return self.fc(x).relu()
        >>> Net()(chainrule.ones(3, 4)).shape
        chainrule.Size([3, 2])
    """

    training: bool
    _version: int = 1

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected arguments; Module.__init__ "
                "takes none"
            )
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_hooks_on"] = False
        d["_backward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()

    # ---- forward --------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args, **kwargs):
        if not self.__dict__.get("_hooks_on"):
            return self.forward(*args, **kwargs)
        kw_ids = self.__dict__.get("_hooks_with_kwargs", ())
        for hid, hook in tuple(self._forward_pre_hooks.items()):
            if hid in kw_ids:
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of (new_args, "
                            f"new_kwargs), but got {res}.")
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        bw = (self._backward_hooks or self._backward_pre_hooks) and is_grad_enabled()
        if bw:
            state = _BackwardHookState(self)
            args = state.wrap_inputs(args)
        out = self.forward(*args, **kwargs)
        if bw:
            out = state.wrap_outputs(out)
        for hid, hook in tuple(self._forward_hooks.items()):
            res = hook(self, args, kwargs, out) if hid in kw_ids else hook(self, args, out)
            if res is not None:
                out = res
        return out

    def _add_hook(self, store: OrderedDict, hook: Callable, prepend: bool,
                  with_kwargs: bool) -> RemovableHandle:
        d = self.__dict__
        d["_hooks_on"] = True
        handle = RemovableHandle(store, hook)
        if prepend:
            store.move_to_end(handle.id, last=False)
        if with_kwargs:
            d.setdefault("_hooks_with_kwargs", set()).add(handle.id)
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False
                                    ) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to the
        module's tensor inputs are computed; a non-None result replaces ``grad_input``."""
        return self._add_hook(self._backward_hooks, hook, prepend, False)

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False
                                        ) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to the module's
        outputs are computed; a non-None result replaces ``grad_output``."""
        return self._add_hook(self._backward_pre_hooks, hook, prepend, False)

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before ``forward``; a non-None result replaces ``args``.

        With ``with_kwargs``: ``hook(module, args, kwargs)`` returning None or
        ``(args, kwargs)``. ``prepend`` runs it before the hooks already registered.
        """
        return self._add_hook(self._forward_pre_hooks, hook, prepend, with_kwargs)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after ``forward``; a non-None result replaces it.

        With ``with_kwargs``: ``hook(module, args, kwargs, output)``.
        """
        return self._add_hook(self._forward_hooks, hook, prepend, with_kwargs)

    # ---- registration -----------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            s = d.get(store)
            if s is not None and name in s:
                return s[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._remove_from(name, d, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(chainrule.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            if d.get("_modules") is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._remove_from(name, d, keep="_modules")
            d["_modules"][name] = value
        elif d.get("_modules") is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(chainrule.nn.Module or None expected)"
                )
            d["_modules"][name] = None
        elif d.get("_buffers") is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(chainrule.Tensor or None expected)"
                )
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name: str, d: dict, keep: str) -> None:
        d.pop(name, None)
        for store in ("_parameters", "_buffers", "_modules"):
            if store != keep and d.get(store) is not None:
                d[store].pop(name, None)
        d["_non_persistent_buffers_set"].discard(name)

    def __delattr__(self, name: str) -> None:
        for store in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[store]:
                del self.__dict__[store][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def _check_name(self, name: str, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` (a Parameter or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(chainrule.nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                "created explicitly. To express '{name}' as a function of another Tensor, compute "
                "the value in the forward() method."
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not a parameter (e.g. BatchNorm's running mean)."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(chainrule.Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        mod = self
        if target == "":
            return mod
        for item in target.split("."):
            if item not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no attribute `{item}`")
            mod = mod._modules[item]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter `{name}`")
        return mod._parameters[name]

    # ---- iteration ----------------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for this module and every descendant, depth first (iterative)."""
        memo = set() if memo is None else memo
        stack: list = [(prefix, self)]
        while stack:
            pre, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in memo:
                    continue
                memo.add(id(mod))
            yield pre, mod
            kids = [(pre + ("." if pre else "") + n, m) for n, m in mod._modules.items()
                    if m is not None]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, store: str, prefix: str, recurse: bool, remove_duplicate: bool = True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for pre, mod in mods:
            for k, v in mod.__dict__[store].items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield pre + ("." if pre else "") + k, v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs, e.g. ``("0.weight", …)``; shared ones once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and bulk changes ---------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (affects Dropout, BatchNorm …) here and in every descendant."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to None, or to zeros in place)."""
        for p in self.parameters():
            if p._grad is None:
                continue
            if set_to_none:
                p._grad = None
            else:
                p._grad._array[...] = 0
                p._grad._bump()

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every sub-module (children first) and on self; e.g. custom init."""
        stack: list = [(self, False)]
        while stack:  # post-order, children first (iterative: no recursion limit)
            m, done = stack.pop()
            if done:
                fn(m)
                continue
            stack.append((m, True))
            stack.extend((c, False) for c in reversed(list(m.children())))
        return self

    def _apply_arrays(self, fn: Callable[[np.ndarray], np.ndarray]) -> Module:
        for m in self.modules():
            for p in m._parameters.values():
                if p is None:
                    continue
                p._array = fn(p._array)
                p._bump()
                if p._grad is not None:
                    p._grad._array = fn(p._grad._array)
            for b in m._buffers.values():
                if b is not None:
                    b._array = fn(b._array)
                    b._bump()
        return self

    def to(self, *args, **kwargs) -> Module:
        """Cast floating-point parameters and buffers to ``dtype`` (in place; CPU only)."""
        from ..._device import check as _check_device, is_device

        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        for a in args:
            if isinstance(a, (_dtype.dtype, np.dtype, type)):
                dtype = a
            elif isinstance(a, Tensor):
                dtype = a.dtype
            elif a is None or is_device(a):
                device = a
            elif isinstance(a, int) and not isinstance(a, bool):
                device = f"cuda:{a}"
            else:
                raise TypeError(f"Module.to() received an invalid combination of arguments: got "
                                f"{type(a).__name__} {a!r}; expected a dtype, a device or a Tensor")
        _check_device(device, "Module.to")
        if dtype is None:
            return self
        npd = _dtype.to_np(dtype)
        if npd.kind != "f":
            raise TypeError(
                f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}"
            )
        return self._apply_arrays(lambda a: a.astype(npd) if a.dtype.kind == "f" else a)

    def float(self) -> Module:
        return self.to(_dtype.float32)

    def double(self) -> Module:
        return self.to(_dtype.float64)

    def half(self) -> Module:
        return self.to(_dtype.float16)

    def cpu(self) -> Module:
        return self

    def cuda(self, device=None) -> Module:
        from ..._device import check as _check_device

        if isinstance(device, int) and not isinstance(device, bool):
            device = f"cuda:{device}"
        _check_device("cuda" if device is None else device, "Module.cuda")
        return self

    def type(self, dst_type) -> Module:
        return self.to(dst_type)

    # ---- state dict ---------------------------------------------------------------------------
    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict:
        """Parameters and persistent buffers by dotted name (detached tensors sharing memory)."""
        dest: OrderedDict = OrderedDict() if destination is None else destination  # type: ignore
        for pre, mod in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            p = pre + "." if pre else ""
            for k, v in mod._parameters.items():
                if v is not None:
                    dest[p + k] = v if keep_vars else v.detach()
            for k, v in mod._buffers.items():
                if v is not None and k not in mod._non_persistent_buffers_set:
                    dest[p + k] = v if keep_vars else v.detach()
        return dest

    def load_state_dict(self, state_dict: dict, strict: bool = True, assign: bool = False):
        """Copy values from ``state_dict`` into this module's parameters and buffers.

        With ``strict``, missing and unexpected keys raise; a shape mismatch always raises
        (``RuntimeError: Error(s) in loading state_dict for …``). Returns
        ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        for k, target in own.items():
            if k not in state_dict:
                continue
            src = state_dict[k]
            arr = _as_array(src)  # chainrule Tensors, NumPy arrays, anything with __array__
            if arr is None:
                errors.append(
                    f'While copying the parameter named "{k}", expected chainrule.Tensor or '
                    f"Tensor-like object from checkpoint but received {type(src)}"
                )
                continue
            if tuple(arr.shape) != tuple(target._array.shape):
                errors.append(
                    f"size mismatch for {k}: copying a param with shape "
                    f"chainrule.Size({list(arr.shape)}) from checkpoint, the shape in current "
                    f"model is chainrule.Size({list(target._array.shape)})."
                )
                continue
            if assign:
                target._array = arr.astype(target._array.dtype, copy=True)
            else:
                target._array[...] = arr
            target._bump()
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        return _IncompatibleKeys(missing, unexpected)

    # ---- repr ---------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        child_lines = []
        for key, module in self._modules.items():
            mod_str = _addindent(repr(module), 2)
            child_lines.append("(" + key + "): " + mod_str)
        lines = lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra.split("\n")) == 1 and not child_lines:
                main += extra
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __dir__(self):
        keys = list(super().__dir__()) + list(self._parameters) + list(self._modules) \
            + list(self._buffers)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    def __getstate__(self):
        raise TypeError("chainrule modules are saved with chainrule.save(model.state_dict(), path)")

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __deepcopy__(self, memo):
        import copy

        new = object.__new__(type(self))
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            if isinstance(v, Tensor) and not isinstance(v, Parameter):
                c = Tensor(v._array.copy(), requires_grad=v.requires_grad) if v.grad_fn is None \
                    else v
                new.__dict__[k] = memo.setdefault(id(v), c)
            elif k == "_buffers":
                bufs = OrderedDict()
                for bk, b in v.items():
                    if b is None:
                        bufs[bk] = None
                    elif id(b) in memo:
                        bufs[bk] = memo[id(b)]
                    else:
                        bufs[bk] = memo[id(b)] = Tensor(b._array.copy())
                new.__dict__[k] = bufs
            else:
                new.__dict__[k] = copy.deepcopy(v, memo)
        return new
