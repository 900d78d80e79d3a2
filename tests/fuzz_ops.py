"""The differential fuzzer's op table: op name → public path → argument strategy.

Add an op with one ``Op(...)`` row: ``path`` is where it lives in both libraries (``"gather"``,
``"nn.functional.silu"``, ``"linalg.vector_norm"``, ``"Tensor.movedim"`` for a method); the
strategy draws ``(args, kwargs)`` from specs (``T`` tensors, Python values, ``Dt`` dtypes);
``fn`` replaces the plain call when the op needs glue (indexing, backward …).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from hypothesis import strategies as st

from fuzz_args import (_arange, _bce, _conv, _cross_entropy, _eye, _full, _grad_args, _grad_fn,
                       _linspace, _matrix_norm, _ndarray_args, _ndarray_fn, _nll, _pair_loss,
                       _pool, _vector_norm, _zeros)
from fuzz_core import Call, Dt, T
from fuzz_strategies import (ANY, COMMON_F, dims, index_tensors, kw_options, scalars, shapes,
                             tensors)


@dataclass
class Op:
    name: str
    path: str
    strategy: Callable  # () -> strategy of (args, kwargs)
    fn: Callable | None = None
    grad: bool = True
    valid: bool = True  # the strategy mostly makes valid calls (so some must agree with torch)

    def resolve(self, m):
        obj = m
        for part in self.path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return obj

    def call(self, m, *args, **kwargs):
        if self.fn is not None:
            return self.fn(m, *args, **kwargs)
        f = self.resolve(m)
        if self.path.startswith("Tensor."):
            return f(args[0], *args[1:], **kwargs)
        return f(*args, **kwargs)

    def calls(self):
        return self.strategy().map(lambda ak: Call(self.name, *ak))


_kw = kw_options
_c = st.composite  # an op's strategy: a composite body ``fn(draw, ...) -> (args, kwargs)``


# -- indexing-style ops ---------------------------------------------------------------------------

@_c
def _gather(draw):
    x = draw(tensors(ANY, min_dims=0, max_dims=3))
    nd = x.a.ndim
    d = draw(dims(nd))
    ishape = tuple(draw(st.integers(0, s)) if i != (d % max(nd, 1)) else draw(st.integers(0, 3))
                   for i, s in enumerate(x.a.shape)) if nd else draw(shapes(0, 1, 1))
    size = x.a.shape[d % nd] if nd and -nd <= d < nd else 1
    return (x, d, draw(index_tensors(size, ishape))), {}


@_c
def _take_along_dim(draw):
    (x, d, idx), _ = draw(_gather())
    return (x, idx), {"dim": d}


@_c
def _scatter(draw):
    x = draw(tensors(ANY, min_dims=1, max_dims=3))
    nd = x.a.ndim
    d = draw(dims(nd))
    dd = d % nd
    ishape = tuple(1 if i == dd else draw(st.integers(0, s)) for i, s in enumerate(x.a.shape))
    size = x.a.shape[dd] if -nd <= d < nd else 1
    idx = draw(index_tensors(size, ishape))
    if draw(st.booleans()):
        src = draw(tensors([x.a.dtype.name] * 3 + ANY, shape=ishape))
        return (x, d, idx, src), {}
    return (x, d, idx), {"value": draw(scalars)}


@_c
def _scatter_add(draw):
    x = draw(tensors(ANY, min_dims=1, max_dims=3))
    nd = x.a.ndim
    d = draw(dims(nd))
    ishape = tuple(draw(st.integers(0, s)) for s in x.a.shape)
    size = x.a.shape[d % nd] if -nd <= d < nd else 1
    idx = draw(index_tensors(size, ishape))
    src = draw(tensors([x.a.dtype.name] * 3 + ANY, shape=ishape))
    return (x, d, idx, src), {}


@_c
def _index_add(draw):
    x = draw(tensors(ANY, min_dims=1, max_dims=3))
    nd = x.a.ndim
    d = draw(dims(nd))
    dd = d % nd
    n = draw(st.integers(0, 3))
    idx = draw(index_tensors(x.a.shape[dd] if -nd <= d < nd else 1, (n,)))
    sshape = tuple(n if i == dd else s for i, s in enumerate(x.a.shape))
    src = draw(tensors([x.a.dtype.name] * 3 + ANY, shape=sshape))
    return (x, d, idx, src), _kw(draw, alpha=st.sampled_from([1, 2, 0.5, -1]))


@_c
def _index_select(draw):
    x = draw(tensors(ANY, min_dims=0, max_dims=3))
    nd = x.a.ndim
    d = draw(dims(nd))
    size = x.a.shape[d % nd] if nd and -nd <= d < nd else 1
    return (x, d, draw(index_tensors(size, (draw(st.integers(0, 3)),)))), {}


@_c
def _getitem(draw):
    x = draw(tensors(ANY, min_dims=0, max_dims=3))
    parts = []
    for s in x.a.shape[:draw(st.integers(0, x.a.ndim))]:
        kind = draw(st.sampled_from(["int", "slice", "none", "tensor", "list", "ell"]))
        if kind == "int":
            parts.append(draw(st.integers(-s - 1, s)))
        elif kind == "slice":
            parts.append(slice(draw(st.one_of(st.none(), st.integers(-s - 1, s + 1))),
                               draw(st.one_of(st.none(), st.integers(-s - 1, s + 1))),
                               draw(st.sampled_from([None, 1, 2, 3, 0, -1]))))
        elif kind == "none":
            parts.append(None)
        elif kind == "tensor":
            parts.append(draw(index_tensors(s, draw(shapes(0, 2, 2)), dtype="int64")))
        elif kind == "list":
            parts.append(draw(st.lists(st.integers(-s - 1, s), min_size=1, max_size=3)))
        else:
            parts.append(Ellipsis)
    if draw(st.integers(0, 4)) == 0:  # a bool mask, of the right shape or not
        mshape = x.a.shape if draw(st.booleans()) else draw(shapes(1, 2, 3))
        mask = draw(tensors(["bool"] * 3 + ["uint8"], shape=mshape, layout=False))
        return (x, mask), {}
    return (x, tuple(parts) if len(parts) != 1 else parts[0]), {}


# -- matmul family, pointwise ---------------------------------------------------------------------

@_c
def _matmul(draw):
    a = draw(tensors(COMMON_F, min_dims=1, max_dims=3))
    k = a.a.shape[-1] if draw(st.integers(0, 4)) else draw(st.integers(0, 3))
    tail = draw(st.sampled_from([(), (draw(st.integers(0, 3)),)]))
    bshape = (k,) + tail
    if draw(st.booleans()) and a.a.ndim == 3:
        bshape = (a.a.shape[0],) + bshape if tail else bshape
    return (a, draw(tensors([a.a.dtype.name] * 4 + ANY, shape=bshape))), {}


@_c
def _mm(draw):
    a = draw(tensors(COMMON_F, min_dims=2, max_dims=2))
    k = a.a.shape[-1] if draw(st.integers(0, 4)) else draw(st.integers(0, 3))
    b = draw(tensors([a.a.dtype.name] * 4 + ANY, shape=(k, draw(st.integers(0, 3)))))
    return (a, b), {}


@_c
def _dot(draw):
    a = draw(tensors(COMMON_F, min_dims=1, max_dims=1))
    n = a.a.shape[0] if draw(st.integers(0, 4)) else draw(st.integers(0, 4))
    return (a, draw(tensors([a.a.dtype.name] * 4 + ANY, shape=(n,), max_dims=1))), {}


@_c
def _unary_act(draw):
    return (draw(tensors(ANY)),), {}


@_c
def _binary(draw):
    x = draw(tensors(ANY))
    kind = draw(st.sampled_from(["same", "broadcast", "scalar", "rscalar"]))
    if kind == "same":
        y = draw(tensors(ANY, shape=x.a.shape))
    elif kind == "broadcast":
        y = draw(tensors(ANY, max_dims=2))
    else:
        y = draw(scalars)
    return ((y, x) if kind == "rscalar" and isinstance(y, T) else (x, y)), {}


@_c
def _where(draw):
    cond = draw(tensors(["bool"] * 4 + ["uint8"], grad=False))
    shape = cond.a.shape if draw(st.integers(0, 3)) else None
    x = draw(st.one_of(tensors(ANY, shape=shape), scalars))
    y = draw(st.one_of(tensors(ANY, shape=shape), scalars))
    return (cond, x, y), {}


@_c
def _logit(draw):
    x = draw(tensors(COMMON_F))
    return (x,), _kw(draw, eps=st.sampled_from([None, 1e-6, 0.25]))


@_c
def _elu(draw):
    return (draw(tensors(ANY)),), _kw(draw, alpha=st.sampled_from([1.0, 0.5, 2.0]))


@_c
def _leaky(draw):
    return (draw(tensors(ANY)),), _kw(draw, negative_slope=st.sampled_from([0.01, 0.2, -1.0]))


@_c
def _log_softmax(draw):
    x = draw(tensors(ANY))
    return (x, draw(dims(x.a.ndim))), _kw(draw, dtype=st.sampled_from([Dt("float64"),
                                                                      Dt("float32")]))


@_c
def _clamp(draw):
    x = draw(tensors(ANY))
    kind = draw(st.sampled_from(["scalar", "tensor", "none"]))
    if kind == "scalar":
        lo = draw(st.one_of(st.none(), scalars))
        hi = draw(st.one_of(st.none(), scalars))
    elif kind == "tensor":
        lo = draw(tensors(ANY, shape=x.a.shape, grad=False))
        hi = draw(st.one_of(st.none(), tensors(ANY, shape=x.a.shape, grad=False)))
    else:
        lo = hi = None
    return (x,), {"min": lo, "max": hi}


@_c
def _add(draw):
    x = draw(tensors(ANY))
    y = draw(st.one_of(tensors(ANY, shape=x.a.shape), tensors(ANY, max_dims=1), scalars))
    return (x, y), _kw(draw, alpha=st.sampled_from([1, 2, 0.5, -1, True, 0]))


# -- reductions -----------------------------------------------------------------------------------

def _reduction(dtypes=ANY, dim_required=False, extra=None):
    @_c
    def strat(draw):
        x = draw(tensors(dtypes))
        kw = {}
        if dim_required or draw(st.booleans()):
            kw["dim"] = draw(dims(x.a.ndim))
            kw.update(_kw(draw, keepdim=st.booleans()))
        if extra:
            kw.update(_kw(draw, **extra))
        return (x,), kw
    return strat


# -- shape ops ------------------------------------------------------------------------------------

def _size_of(shape, draw):
    n = int(np.prod(shape, dtype=np.int64))
    if draw(st.integers(0, 3)) == 0:
        return tuple(draw(st.lists(st.integers(-1, 4), max_size=3)))
    out, left = [], n
    for _ in range(draw(st.integers(0, 3))):
        f = draw(st.sampled_from([d for d in (1, 2, 3, 4) if left % d == 0] or [1]))
        out.append(f)
        left //= f
    if left != 1 or not out:
        out.append(-1 if draw(st.booleans()) else left)
    return tuple(out)


@_c
def _reshape(draw):
    x = draw(tensors(ANY))
    return (x, _size_of(x.a.shape, draw)), {}


@_c
def _permute(draw):
    x = draw(tensors(ANY))
    nd = x.a.ndim
    perm = list(draw(st.permutations(range(nd))))
    if draw(st.integers(0, 3)) == 0:
        perm = draw(st.lists(st.integers(-nd - 1, nd), max_size=nd + 1))
    perm = [p - nd if draw(st.booleans()) else p for p in perm]
    return (x, tuple(perm)), {}


@_c
def _two_dims(draw):
    x = draw(tensors(ANY))
    return (x, draw(dims(x.a.ndim)), draw(dims(x.a.ndim))), {}


@_c
def _squeeze(draw):
    x = draw(tensors(ANY, max_side=2))
    if draw(st.booleans()):
        return (x,), {}
    return (x, draw(dims(x.a.ndim))), {}


@_c
def _unsqueeze(draw):
    x = draw(tensors(ANY))
    return (x, draw(dims(x.a.ndim + 1))), {}


@_c
def _flatten(draw):
    x = draw(tensors(ANY))
    return (x,), _kw(draw, start_dim=dims(x.a.ndim), end_dim=dims(x.a.ndim))


@_c
def _expand(draw):
    x = draw(tensors(ANY, max_side=2))
    size = [draw(st.sampled_from([s, -1, 3] if s == 1 else [s, -1, s + 1])) for s in x.a.shape]
    size = [draw(st.integers(0, 2))] * draw(st.integers(0, 1)) + size
    return (x, tuple(size)), {}


@_c
def _cat(draw):
    x = draw(tensors(ANY, min_dims=0))
    nd = x.a.ndim
    d = draw(dims(nd))
    rest = []
    for _ in range(draw(st.integers(0, 2))):
        shape = list(x.a.shape)
        if nd and -nd <= d < nd:
            shape[d] = draw(st.integers(0, 3))
        if draw(st.integers(0, 4)) == 0:
            shape = list(draw(shapes(0, 3, 3)))
        rest.append(draw(tensors([x.a.dtype.name] * 3 + ANY, shape=tuple(shape))))
    return ([x] + rest,), {"dim": d}


@_c
def _stack(draw):
    x = draw(tensors(ANY))
    rest = [draw(tensors([x.a.dtype.name] * 3 + ANY,
                         shape=x.a.shape if draw(st.integers(0, 4)) else None))
            for _ in range(draw(st.integers(0, 2)))]
    return ([x] + rest,), {"dim": draw(dims(x.a.ndim + 1))}


@_c
def _split(draw):
    x = draw(tensors(ANY, min_dims=1))
    nd = x.a.ndim
    d = draw(dims(nd))
    size = x.a.shape[d % nd]
    if draw(st.booleans()):
        sec = draw(st.integers(0, 4))
    else:
        sec = draw(st.lists(st.integers(0, size + 1), min_size=1, max_size=3))
    return (x, sec), {"dim": d}


_F = "nn.functional."
OPS = [
    Op("gather", "gather", _gather),
    Op("take_along_dim", "take_along_dim", _take_along_dim),
    Op("scatter", "scatter", _scatter),
    Op("scatter_add", "scatter_add", _scatter_add),
    Op("index_add", "index_add", _index_add),
    Op("index_select", "index_select", _index_select),
    Op("getitem", "Tensor.__getitem__", _getitem, fn=lambda m, x, i: x[i]),
    # a fresh result must have a layout view() accepts wherever torch's does
    Op("getitem_view", "Tensor.view", _getitem, fn=lambda m, x, i: x[i].view(-1)),
    Op("permute_view", "Tensor.view", _permute, fn=lambda m, x, p: (x.permute(p) * 1).view(-1)),
    Op("matmul", "matmul", _matmul),
    Op("mm", "mm", _mm),
    Op("dot", "dot", _dot),
    Op("abs", "abs", _unary_act),
    Op("sqrt", "sqrt", _unary_act),
    Op("log", "log", _unary_act),
    Op("exp", "exp", _unary_act),
    Op("tanh", "tanh", _unary_act),
    Op("sigmoid", "sigmoid", _unary_act),
    Op("logit", "logit", _logit),
    Op("atan2", "atan2", _binary),
    Op("pow", "pow", _binary),
    Op("maximum", "maximum", _binary),
    Op("div", "div", _binary),
    Op("remainder", "remainder", _binary),
    Op("mul", "mul", _binary),
    Op("where", "where", _where),
    Op("softmin", _F + "softmin", _log_softmax),
    Op("silu", _F + "silu", _unary_act),
    Op("elu", _F + "elu", _elu),
    Op("leaky_relu", _F + "leaky_relu", _leaky),
    Op("log_softmax", _F + "log_softmax", _log_softmax),
    Op("softmax", _F + "softmax", _log_softmax),
    Op("clamp", "clamp", _clamp),
    Op("add", "add", _add),
    Op("sum", "sum", _reduction()),
    Op("mean", "mean", _reduction(COMMON_F)),
    Op("std", "std", _reduction(COMMON_F, extra={"correction": st.sampled_from([0, 1, 2])})),
    Op("var", "var", _reduction(COMMON_F, extra={"unbiased": st.booleans()})),
    Op("max", "max", _reduction()),
    Op("min", "min", _reduction()),
    Op("argmax", "argmax", _reduction()),
    Op("median", "median", _reduction()),
    Op("prod", "prod", _reduction()),
    Op("logsumexp", "logsumexp", _reduction(COMMON_F, dim_required=True)),
    Op("reshape", "reshape", _reshape),
    Op("view", "Tensor.view", _reshape),
    Op("permute", "permute", _permute),
    Op("transpose", "transpose", _two_dims),
    Op("movedim", "movedim", _two_dims),
    Op("squeeze", "squeeze", _squeeze),
    Op("unsqueeze", "unsqueeze", _unsqueeze),
    Op("flatten", "flatten", _flatten),
    Op("expand", "Tensor.expand", _expand),
    Op("cat", "cat", _cat),
    Op("stack", "stack", _stack),
    Op("split", "split", _split),
    Op("cross_entropy", _F + "cross_entropy", _cross_entropy),
    Op("nll_loss", _F + "nll_loss", _nll),
    Op("mse_loss", _F + "mse_loss", _pair_loss),
    Op("l1_loss", _F + "l1_loss", _pair_loss),
    Op("smooth_l1_loss", _F + "smooth_l1_loss", _pair_loss),
    Op("binary_cross_entropy", _F + "binary_cross_entropy", _bce),
    Op("bce_with_logits", _F + "binary_cross_entropy_with_logits", _pair_loss),
    Op("vector_norm", "linalg.vector_norm", _vector_norm),
    Op("matrix_norm", "linalg.matrix_norm", _matrix_norm),
    Op("conv1d", _F + "conv1d", lambda: _conv(1)),
    Op("conv2d", _F + "conv2d", lambda: _conv(2)),
    Op("max_pool1d", _F + "max_pool1d", lambda: _pool(1)),
    Op("max_pool2d", _F + "max_pool2d", lambda: _pool(2)),
    Op("avg_pool2d", _F + "avg_pool2d", lambda: _pool(2)),
    Op("arange", "arange", _arange, grad=False),
    Op("linspace", "linspace", _linspace, grad=False),
    Op("zeros", "zeros", _zeros, grad=False),
    Op("full", "full", _full, grad=False),
    Op("eye", "eye", _eye, grad=False),
    Op("autograd", "autograd.grad", _grad_args, fn=_grad_fn, grad=False),
    Op("ndarray_args", "sin", _ndarray_args, fn=_ndarray_fn, grad=False, valid=False),
]
OPS_BY_NAME = {o.name: o for o in OPS}
assert len(OPS_BY_NAME) == len(OPS)
