"""The rule table: one ``defop`` row per op, holding its forward, its backward rule per input
(vector-Jacobian product) and its forward-mode rule (Jacobian-vector product).

Rules are written once against a namespace ``m`` and run on raw arrays (``m = A``) when no graph
is wanted, or on Tensors (``m = chainrule._ns``) under ``create_graph=True`` so that they build
graph themselves. Signatures:

    forward(*inputs, **params) -> array            (inputs: arrays or Python scalars)
    vjp_i(m, g, out, *inputs, **params) -> grad wrt input i (any broadcastable shape; the
                                                     engine sums it back to the input's shape)
    jvp_i(m, t, out, *inputs, **params) -> tangent contribution of input i's tangent t

``ELEMENTWISE``: the op is elementwise in its inputs, so its Jacobian is diagonal and the
forward rule of each input equals its backward rule (with the tangent in place of ``g``).
``LINEAR``: the op is linear in its tensor inputs, so the tangent is the op applied to the tangents.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

ELEMENTWISE = "elementwise"
LINEAR = "linear"

#: op name -> OpDef, in definition order
TABLE: dict[str, OpDef] = {}

#: the array namespace rules see when no graph is built; mirrors chainrule._ns name for name
A = SimpleNamespace()


class OpDef:
    """One row of the rule table."""

    __slots__ = (
        "name", "fwd", "vjp", "vjp_all", "jvp", "jvp_all", "nin", "policy", "nout", "diff",
        "params", "cls", "variant", "view", "formula", "nondiff_out", "method", "public", "doc",
        "saves", "saves_out", "keeps_meta",
    )

    def __repr__(self) -> str:
        return f"<op {self.name}>"


def _camel(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in name.strip("_").split("_"))


def defop(
    name: str,
    fwd: Callable,
    vjp: Callable | tuple | None = None,
    jvp: Any = None,
    *,
    vjp_all: Callable | None = None,
    jvp_all: Callable | None = None,
    nin: int = 1,
    dtype: str = "same",
    nout: int = 1,
    nondiff_out: tuple = (),
    cls: str | None = None,
    variant: Callable | None = None,
    view: bool = False,
    formula: str | tuple | None = None,
    method: bool | str = True,
    public: bool = True,
    doc: str | None = None,
    saves: tuple | None = None,
    saves_out: bool | None = None,
) -> OpDef:
    """Add a row to the rule table.

    ``nin``: how many leading arguments are tensor inputs (-1: the first argument is a sequence of
    them). ``dtype``: ``same`` (torch promotion), ``float`` (promote, then integers → default
    float), ``bool`` (promote to compare; bool result, no grad), ``int`` (integer result, no grad),
    ``keep`` (no casting), ``nobool`` (bool inputs refused), ``nobool_result`` (a bool promoted
    dtype refused), ``match`` (no promotion, bool refused; ``match_bool``: bool allowed). An
    op with neither ``vjp`` nor ``vjp_all`` is not differentiable: its
    outputs never require grad. ``saves``: indices of the inputs whose *values* the backward rules
    read (default: all; ``()`` for LINEAR ops); ``saves_out``: whether they read ``out`` (default:
    True unless LINEAR). Only these are checked against in-place modification before backward.
    """
    if name in TABLE:
        raise ValueError(f"op {name!r} is defined twice in the rule table")
    op = OpDef()
    op.name = name
    op.fwd = fwd
    op.nin = nin
    if vjp is not None and not isinstance(vjp, tuple):
        vjp = (vjp,)
    if vjp is not None and nin >= 0 and len(vjp) != nin:
        raise ValueError(f"op {name!r}: {len(vjp)} backward rules for {nin} inputs")
    op.vjp = vjp
    op.vjp_all = vjp_all
    op.diff = (vjp is not None or vjp_all is not None) and dtype not in ("bool", "int")
    if jvp == ELEMENTWISE:
        if vjp is None:
            raise ValueError(f"op {name!r}: ELEMENTWISE forward rule needs per-input backward rules")
        jvp = vjp
    elif jvp is not None and jvp != LINEAR and not isinstance(jvp, tuple):
        jvp = (jvp,)
    op.jvp = jvp
    op.jvp_all = jvp_all
    op.policy = dtype
    op.nout = nout
    op.nondiff_out = tuple(nondiff_out)
    op.cls = cls or _camel(name)
    op.variant = variant
    op.view = view
    op.formula = formula
    op.method = method
    op.public = public
    op.doc = doc
    if jvp == LINEAR and vjp is not None and nin >= 0:
        # the adjoint of a linear map does not depend on the point: nothing is saved
        reads = {"m", "g"}
    else:
        reads = _reads(vjp_all) if vjp_all is not None else _reads(*(vjp or ()))
    if saves is None and reads is not None and nin >= 0:
        saves = tuple(i for i in range(nin) if any(_param(r, 3 + i) in reads for r in _rules(op)))
    if saves_out is None:
        saves_out = reads is None or "out" in reads
    op.saves = saves
    op.saves_out = saves_out
    op.keeps_meta = saves == () and not saves_out  # see Node.release
    sig = inspect.signature(fwd)
    ps = list(sig.parameters.values())
    skip = 1 if nin < 0 else nin
    op.params = tuple(
        p.name for p in ps[skip:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY)
    )
    TABLE[name] = op
    setattr(A, name, fwd)
    return op


def _rules(op) -> list:
    return [r for r in ((op.vjp_all,) if op.vjp_all is not None else (op.vjp or ())) if r is not None]


def _param(fn, pos: int) -> str | None:
    names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    return names[pos] if pos < len(names) else None


def _reads(*fns) -> set | None:
    """Names of the arguments the backward rules read (None: cannot tell, assume all).

    Drives which saved values are checked against in-place modification, so that, as in torch,
    ``a + b`` does not complain when ``a`` is modified later but ``a * b`` does.
    """
    import dis

    names: set = set()
    for fn in fns:
        if fn is None:
            continue
        code = getattr(fn, "__code__", None)
        if code is None:
            return None
        for ins in dis.get_instructions(code):
            if ins.opname.startswith(("LOAD_FAST", "LOAD_DEREF", "LOAD_CLOSURE")):
                val = ins.argval
                names.update(val if isinstance(val, tuple) else (val,))
    return names


def sum_to_shape(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added or stretched, to get ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1
    )
    r = g.sum(axis=axes, keepdims=True) if axes else g
    return r.reshape(shape) if lead or r.shape != shape else r


def broadcastable_to(src: tuple, dst: tuple) -> bool:
    """Whether an array of shape ``dst`` sums down to ``src`` (``src`` broadcasts to ``dst``)."""
    if len(src) > len(dst):
        return False
    for s, d in zip(reversed(src), reversed(dst)):
        if s != d and s != 1:
            return False
    return True
