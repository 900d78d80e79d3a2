"""Build thin modules whose forward is one ``nn.functional`` call with the stored arguments."""

from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from .. import functional as F
from .module import Module

_NO_DEFAULT = object()


def _is_default(v, d) -> bool:
    if v is d:
        return True
    return type(v) in (int, float, str, bool) and type(v) is type(d) and v == d


def functional(name: str):
    """``chainrule.nn.functional.<name>``, with a clear error if its family has not landed."""
    fn = getattr(F, name, None)
    if fn is None:
        raise NotImplementedError(
            f"chainrule.nn.functional.{name} is not available in this build (the module needs it)"
        )
    return fn


def make(cls_name: str, fname: str, params: tuple = (), *, training: bool = False,
         drop_default: tuple = ("inplace",), buffers: tuple = (), doc: str = "") -> type:
    """A Module class ``cls_name(*params)`` whose forward is ``F.fname(*inputs, **params)``.

    ``params``: ``(name, default)`` pairs (default ``_NO_DEFAULT`` for required ones), forwarded by
    keyword. Parameters named in ``drop_default`` are forwarded only when they differ from their
    default (so that ``inplace=False`` needs no support from the function). ``training``: pass
    ``training=self.training``. ``buffers``: tensor arguments registered as buffers (loss weights).
    """
    names = tuple(p for p, _ in params)
    defaults = dict(params)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        Module.__init__(self)
        if len(args) > len(names):
            raise TypeError(f"{cls_name}() takes at most {len(names)} arguments ({len(args)} given)")
        vals = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in defaults:
                raise TypeError(f"{cls_name}() got an unexpected keyword argument '{k}'")
            if k in vals:
                raise TypeError(f"{cls_name}() got multiple values for argument '{k}'")
            vals[k] = v
        for k in names:
            if k not in vals:
                if defaults[k] is _NO_DEFAULT:
                    raise TypeError(f"{cls_name}() missing required argument '{k}'")
                vals[k] = defaults[k]
            if k in buffers:
                self.register_buffer(k, vals[k] if isinstance(vals[k], Tensor) or vals[k] is None
                                     else Tensor(vals[k]))
            else:
                object.__setattr__(self, k, vals[k])

    def forward(self, *inputs):
        kw = {}
        for k in names:
            v = getattr(self, k)
            if k in drop_default and _is_default(v, defaults[k]):
                continue
            kw[k] = v
        if training:
            kw["training"] = self.training
        return functional(fname)(*inputs, **kw)

    def extra_repr(self) -> str:
        shown = [f"{k}={getattr(self, k)}" for k in names
                 if k not in buffers and not (k == "inplace" and not getattr(self, k))]
        return ", ".join(shown)

    cls = type(cls_name, (Module,), {
        "__init__": __init__, "forward": forward, "extra_repr": extra_repr,
        "__doc__": doc or f"Module form of ``chainrule.nn.functional.{fname}``.",
        "__module__": "chainrule.nn",
    })
    return cls
