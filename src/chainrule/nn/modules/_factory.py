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


def _legacy_reduction(size_average, reduce) -> str:
    # torch's _Reduction.legacy_get_string
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "mean" if (size_average and reduce) else ("sum" if reduce else "none")


def make(cls_name: str, fname: str, params: tuple = (), *, training: bool = False,
         drop_default: tuple = ("inplace",), buffers: tuple = (), doc: str = "",
         repr_keys: tuple | None = None, repr_fn=None, post_init=None) -> type:
    """A Module class ``cls_name(*params)`` whose forward is ``F.fname(*inputs, **params)``.

    ``params``: ``(name, default)`` pairs (default ``_NO_DEFAULT`` for required ones), forwarded by
    keyword. Parameters named in ``drop_default`` are forwarded only when they differ from their
    default (so that ``inplace=False`` needs no support from the function). ``training``: pass
    ``training=self.training``. ``buffers``: tensor arguments registered as buffers (loss weights).
    """
    names = tuple(p for p, _ in params)
    defaults = dict(params)
    # torch's older losses still take the deprecated size_average/reduce (positionally, too)
    legacy = "size_average" in names

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        Module.__init__(self)
        if len(args) > len(names):
            raise TypeError(
                f"{cls_name}() takes at most {len(names)} arguments ({len(args)} given)")
        vals = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in defaults:
                raise TypeError(f"{cls_name}() got an unexpected keyword argument '{k}'")
            if k in vals:
                raise TypeError(f"{cls_name}() got multiple values for argument '{k}'")
            vals[k] = v
        if legacy and (vals.get("size_average") is not None or vals.get("reduce") is not None):
            vals["reduction"] = _legacy_reduction(vals.get("size_average"), vals.get("reduce"))
        for k in names:
            if k not in vals:
                if defaults[k] is _NO_DEFAULT:
                    raise TypeError(f"{cls_name}() missing required argument '{k}'")
                vals[k] = defaults[k]
            if k in ("size_average", "reduce"):
                continue
            if k in buffers:
                self.register_buffer(k, vals[k] if isinstance(vals[k], Tensor) or vals[k] is None
                                     else Tensor(vals[k]))
            else:
                object.__setattr__(self, k, vals[k])

        if post_init is not None:
            post_init(self)

    fwd_names = tuple(k for k in names if k not in ("size_average", "reduce"))

    def forward(self, *inputs):
        kw = {}
        for k in fwd_names:
            v = getattr(self, k)
            if k in drop_default and _is_default(v, defaults[k]):
                continue
            kw[k] = v
        if training:
            kw["training"] = self.training
        return functional(fname)(*inputs, **kw)

    def extra_repr(self) -> str:
        if repr_fn is not None:
            return repr_fn(self)
        keys = fwd_names if repr_keys is None else repr_keys
        shown = [f"{k}={getattr(self, k)!r}" if isinstance(getattr(self, k), str)
                 else f"{k}={getattr(self, k)}" for k in keys
                 if k not in buffers and k != "inplace"]
        if "inplace" in names and getattr(self, "inplace"):
            shown.append("inplace=True")
        return ", ".join(shown)

    cls = type(cls_name, (Module,), {
        "__init__": __init__, "forward": forward, "extra_repr": extra_repr,
        "__doc__": doc or f"Module form of ``chainrule.nn.functional.{fname}``.",
        "__module__": "chainrule.nn",
    })
    return cls
