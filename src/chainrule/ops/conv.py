"""Rule-table rows: convolution (im2col / col2im, conv, conv_transpose); pooling is in ``pool``.

Convolution is ``im2col`` (a strided window view copied into columns) followed by one matmul;
``im2col`` and ``col2im`` are each other's adjoint, so every derivative of a convolution — input,
weight, and any order under ``create_graph=True`` — is a matmul or one of these two rows.
Padding is carried as one ``(lo, hi)`` pair per spatial dimension (``'same'`` may be uneven).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import _ns as _ns_module
from .._tensor import Tensor
from ._public import public
from ._table import LINEAR, A, defop

_ns: Any = _ns_module  # the rule namespace on Tensors, filled from the rule table at import


def _tup(v, n: int, name: str, what: str) -> tuple:
    if isinstance(v, (int, np.integer)):
        _check_sizes((int(v),), name, what)
        return (int(v),) * n
    v = tuple(int(a) for a in v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise RuntimeError(f"{name}(): expected {what} to be a single integer or a list of {n} "
                           f"integers, but got {list(v)}")
    _check_sizes(v, name, what)
    return v


def _check_sizes(v: tuple, name: str, what: str) -> None:
    # torch's words: a zero stride would divide by zero, a zero dilation or kernel is empty
    if what in ("stride", "dilation", "kernel_size") and min(v, default=1) <= 0:
        raise RuntimeError(f"{name}(): non-positive {what} is not supported (got {list(v)})")
    if what in ("padding", "output_padding") and min(v, default=0) < 0:
        raise RuntimeError(f"{name}(): negative {what} is not supported (got {list(v)})")


def _out_sizes(sp, kernel_size, dilation, padding, stride, name):
    out = []
    for L, k, d, (lo, hi), s in zip(sp, kernel_size, dilation, padding, stride):
        o = (L + lo + hi - d * (k - 1) - 1) // s + 1
        if o <= 0:
            pad = " x ".join(str(a + p[0] + p[1]) for a, p in zip(sp, padding))
            ks = " x ".join(str(d * (k - 1) + 1) for k, d in zip(kernel_size, dilation))
            raise RuntimeError(
                f"{name}(): Calculated padded input size per channel: ({pad}). Kernel size: ({ks}). "
                "Kernel size can't be greater than actual input size"
            )
        out.append(o)
    return tuple(out)


def _windows(xp, kernel_size, dilation, stride, out):
    """View (..., *out, *kernel) of the windows of the padded ``xp`` over its last dims."""
    nd = len(kernel_size)
    eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))
    v = sliding_window_view(xp, eff, axis=tuple(range(xp.ndim - nd, xp.ndim)))
    idx = (Ellipsis,) + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, stride)) + tuple(
        slice(None, None, d) for d in dilation)
    return v[idx]


# ---- im2col / col2im ------------------------------------------------------------------------------
def _im2col(x, kernel_size, dilation, padding, stride):
    sp = x.shape[2:]
    out = _out_sizes(sp, kernel_size, dilation, padding, stride, "unfold")
    if any(lo or hi for lo, hi in padding):
        x = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    n, c = x.shape[:2]
    cols = np.empty((n, c) + tuple(kernel_size) + out, dtype=x.dtype)
    for off in itertools.product(*(range(k) for k in kernel_size)):
        src = (slice(None), slice(None)) + tuple(
            slice(a * d, a * d + (o - 1) * s + 1, s) for a, d, o, s in zip(off, dilation, out, stride))
        cols[(slice(None), slice(None)) + off] = x[src]
    return cols.reshape(n, c * math.prod(kernel_size), math.prod(out))


def _col2im(cols, output_size, kernel_size, dilation, padding, stride):
    output_size = tuple(output_size)
    out = _out_sizes(output_size, kernel_size, dilation, padding, stride, "fold")
    n, ck, L = cols.shape
    K = math.prod(kernel_size)
    if ck % K or L != math.prod(out):
        raise RuntimeError(
            f"fold(): expected input of shape (N, C × {K}, {math.prod(out)}) for output_size "
            f"{list(output_size)}, kernel_size {list(kernel_size)}, but got {list(cols.shape)}"
        )
    c = ck // K
    cols = cols.reshape((n, c) + tuple(kernel_size) + out)
    full = tuple(s + lo + hi for s, (lo, hi) in zip(output_size, padding))
    x = np.zeros((n, c) + full, dtype=cols.dtype)
    for off in itertools.product(*(range(k) for k in kernel_size)):
        dst = (slice(None), slice(None)) + tuple(
            slice(a * d, a * d + (o - 1) * s + 1, s) for a, d, o, s in zip(off, dilation, out, stride))
        x[dst] += cols[(slice(None), slice(None)) + off]
    crop = (slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(output_size, padding))
    return x[crop]


defop("im2col", _im2col,
      lambda m, g, out, x, kernel_size, dilation, padding, stride:
      m.col2im(g, tuple(x.shape[2:]), kernel_size, dilation, padding, stride),
      LINEAR, dtype="keep", cls="Im2Col", public=False, method=False,
      formula="unfold: the gradient is folded back (col2im, adding overlaps)")
defop("col2im", _col2im,
      lambda m, g, out, cols, output_size, kernel_size, dilation, padding, stride:
      m.im2col(g, kernel_size, dilation, padding, stride),
      LINEAR, dtype="keep", cls="Col2Im", public=False, method=False,
      formula="fold: the gradient is unfolded (im2col)")


def _pad_pairs(padding, n, name):
    return tuple((p, p) for p in _tup(padding, n, name, "padding"))


@public("unfold", function=False, method=False, ns="nn.functional")
def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding blocks (im2col): (N, C, H, W) → (N, C·kh·kw, L), as ``torch.nn.functional.unfold``."""
    if input.ndim not in (3, 4):
        raise NotImplementedError(
            f"Input Error: Only 3D or 4D input Tensors are supported (got {input.ndim}D)")
    x = input if input.ndim == 4 else _ns.unsqueeze(input, 0)
    r = _ns.im2col(x, _tup(kernel_size, 2, "unfold", "kernel_size"), _tup(dilation, 2, "unfold", "dilation"),
                   _pad_pairs(padding, 2, "unfold"), _tup(stride, 2, "unfold", "stride"))
    return r if input.ndim == 4 else _ns.squeeze(r, 0)


@public("fold", function=False, method=False, ns="nn.functional")
def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Combine sliding blocks into a tensor, adding overlaps (col2im), as ``torch.nn.functional.fold``."""
    if input.ndim not in (2, 3):
        raise NotImplementedError(
            f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported (got {input.ndim}D)")
    x = input if input.ndim == 3 else _ns.unsqueeze(input, 0)
    r = _ns.col2im(x, _tup(output_size, 2, "fold", "output_size"), _tup(kernel_size, 2, "fold", "kernel_size"),
                   _tup(dilation, 2, "fold", "dilation"), _pad_pairs(padding, 2, "fold"),
                   _tup(stride, 2, "fold", "stride"))
    return r if input.ndim == 3 else _ns.squeeze(r, 0)


# ---- convolution ------------------------------------------------------------------------------------
# One fused row for the convolution itself: im2col + matmul + bias in place, a block of images at a
# time (the columns of the whole batch never exist: they are rebuilt per block in backward, which
# is cheaper than the page faults of a large temporary). Under create_graph the rules are
# compositions of matmul / im2col / col2im rows, so every order is exact.
def _blocks(x, ck: int, L: int):
    """Images per block so that one block's columns hold about 2^18 numbers (they stay in cache and
    no full-batch column array is ever allocated)."""
    return max(1, (1 << 18) // max(ck * L, 1))


def _conv_fwd(x, w, b, stride, padding, dilation, groups):
    n, o, ks = x.shape[0], w.shape[0], w.shape[2:]
    out = _out_sizes(x.shape[2:], ks, dilation, padding, stride, "conv")
    L = math.prod(out)
    ck = w[0].size * groups
    y = np.empty((n, o, L), np.result_type(x, w))
    w2 = w.reshape(o, -1) if groups == 1 else w.reshape(groups, o // groups, -1)
    step = _blocks(x, ck, L)
    for i in range(0, n, step):
        j = min(i + step, n)
        cols = _im2col(x[i:j], ks, dilation, padding, stride)
        if groups == 1:
            np.matmul(w2, cols, out=y[i:j])
        else:
            np.matmul(w2, cols.reshape(j - i, groups, -1, L), out=y[i:j].reshape(j - i, groups, o // groups, L))
    if b is not None:
        y += b[:, None]
    return y.reshape((n, o) + out)


def _conv_vjp(m, g, out, x, w, b, needs, stride, padding, dilation, groups):
    n, o, ks = x.shape[0], w.shape[0], tuple(w.shape[2:])
    L = math.prod(g.shape[2:])
    gg = groups
    if m is A:  # block by block: columns and their gradient are recomputed per block, never whole
        g2 = g.reshape(n, o, L) if gg == 1 else g.reshape(n, gg, o // gg, L)
        w2 = w.reshape(o, -1) if gg == 1 else w.reshape(gg, o // gg, -1)
        wt = np.swapaxes(w2, -1, -2)
        dx = np.empty(x.shape, x.dtype) if needs[0] else None
        dw = np.zeros(w2.shape, np.result_type(g, x)) if needs[1] else None
        step = _blocks(x, w[0].size * gg, L)
        for i in range(0, n, step):
            j = min(i + step, n)
            gb = g2[i:j]
            if needs[1]:
                cols = _im2col(x[i:j], ks, dilation, padding, stride)
                if gg != 1:
                    cols = cols.reshape(j - i, gg, -1, L)
                dw += np.matmul(gb, np.swapaxes(cols, -1, -2)).sum(0)
            if needs[0]:
                dcols = np.matmul(wt, gb).reshape(j - i, -1, L)
                dx[i:j] = _col2im(dcols, x.shape[2:], ks, dilation, padding, stride)
        db = (g2.sum((0, 2)) if gg == 1 else g2.sum((0, 3)).reshape(o)) if needs[2] else None
        return dx, (dw.reshape(w.shape) if dw is not None else None), db
    g2 = m.reshape(g, (n, o, L) if gg == 1 else (n, gg, o // gg, L))
    w2 = m.reshape(w, (o, -1) if gg == 1 else (gg, o // gg, -1))
    dx = dw = db = None
    if needs[0]:
        dcols = m.reshape(m.matmul(m.transpose(w2, -1, -2), g2), (n, -1, L))
        dx = m.col2im(dcols, tuple(x.shape[2:]), ks, dilation, padding, stride)
    if needs[1]:
        cols = m.im2col(x, ks, dilation, padding, stride)
        if gg != 1:
            cols = m.reshape(cols, (n, gg, -1, L))
        dw = m.reshape(m.sum(m.matmul(g2, m.transpose(cols, -1, -2)), 0), tuple(w.shape))
    if needs[2]:
        db = m.sum(g2, (0, 2)) if gg == 1 else m.reshape(m.sum(g2, (0, 3)), (o,))
    return dx, dw, db


def _conv_jvp(m, ts, out, x, w, b, stride, padding, dilation, groups):
    tx, tw, tb = ts
    r = None
    if tx is not None:
        r = m.conv(tx, w, None, stride, padding, dilation, groups)
    if tw is not None:
        r2 = m.conv(x, tw, None, stride, padding, dilation, groups)
        r = r2 if r is None else r + r2
    if tb is not None:
        r3 = m.reshape(tb, (w.shape[0],) + (1,) * (x.ndim - 2))
        r = r3 if r is None else r + r3
    return r


defop("conv", _conv_fwd, vjp_all=_conv_vjp, jvp_all=_conv_jvp, nin=3,
      cls="Convolution", public=False, method=False,
      formula="y = W·im2col(x) + b; dx = col2im(Wᵀ·g), dW = Σ_n g·colsᵀ, db = Σ g")


def _check_same_dtype(name, input, weight, bias):
    if input.dtype != weight.dtype:
        raise RuntimeError(f"{name}(): Input type ({input.dtype}) and weight type ({weight.dtype}) "
                           "should be the same")
    if bias is not None and bias.dtype != weight.dtype:
        raise RuntimeError(f"{name}(): Input type ({input.dtype}) and bias type ({bias.dtype}) "
                           "should be the same")


def _batched(name, input, nd):
    if input.ndim == nd + 2:
        return input, False
    if input.ndim == nd + 1:
        return _ns.unsqueeze(input, 0), True
    raise RuntimeError(f"{name}(): Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                       f"{name}, but got input of size: {list(input.shape)}")


def _conv(name, nd, input, weight, bias, stride, padding, dilation, groups):
    _check_same_dtype(name, input, weight, bias)
    x, unb = _batched(name, input, nd)
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{name}(): weight should have {nd + 2} dimensions, got {list(weight.shape)}")
    c = x.shape[1]
    o, cg = weight.shape[:2]
    ks = tuple(weight.shape[2:])
    stride = _tup(stride, nd, name, "stride")
    dilation = _tup(dilation, nd, name, "dilation")
    if groups <= 0:
        raise RuntimeError(f"{name}(): non-positive groups is not supported")
    if c != cg * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(x.shape)} to have {cg * groups} channels, but got {c} channels instead")
    if o % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size {list(weight.shape)} instead")
    if x.shape[0] and c and 0 in x.shape[2:]:  # torch: only an empty batch or channel dim
        raise RuntimeError(f"Only zero batch or zero channel inputs are supported, but got input "
                           f"shape: {list(x.shape)} ({name})")
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            tot = [d * (k - 1) for k, d in zip(ks, dilation)]
            pads = tuple((t // 2, t - t // 2) for t in tot)  # the odd extra goes right, as torch
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pads = _pad_pairs(padding, nd, name)
        if any(p < 0 for p, _ in pads):
            raise RuntimeError(f"{name}(): negative padding is not supported")
    _out_sizes(tuple(x.shape[2:]), ks, dilation, pads, stride, name)
    if bias is not None and tuple(bias.shape) != (o,):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional "
                           f"with {o} elements, but got bias of size {list(bias.shape)} instead")
    y = _ns.conv(x, weight, bias, stride, pads, dilation, groups)
    return _ns.squeeze(y, 0) if unb else y


def _conv_fn(nd):
    name = f"conv{nd}d"

    def conv(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
             dilation=1, groups: int = 1) -> Tensor:
        return _conv(name, nd, input, weight, bias, stride, padding, dilation, groups)

    conv.__name__ = conv.__qualname__ = name
    conv.__doc__ = (f"{nd}-D convolution (cross-correlation) as ``torch.nn.functional.{name}``: stride, "
                    "padding (int, tuple, 'same', 'valid'), dilation, groups. im2col + one matmul.\n\n"
                    f"Example: ``{name}(x, w, padding=1)``")
    return conv


conv1d = public("conv1d", method=False, ns="nn.functional")(_conv_fn(1))
conv2d = public("conv2d", method=False, ns="nn.functional")(_conv_fn(2))
conv3d = public("conv3d", method=False, ns="nn.functional")(_conv_fn(3))


def _conv_t(name, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    _check_same_dtype(name, input, weight, bias)
    x, unb = _batched(name, input, nd)
    n, c = x.shape[:2]
    if weight.ndim != nd + 2 or weight.shape[0] != c:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(x.shape)} "
            f"to have {weight.shape[0]} channels, but got {c} channels instead")
    if c % groups:
        raise RuntimeError(f"{name}(): input channels {c} not divisible by groups {groups}")
    og = weight.shape[1]
    ks = tuple(weight.shape[2:])
    stride = _tup(stride, nd, name, "stride")
    dilation = _tup(dilation, nd, name, "dilation")
    opad = _tup(output_padding, nd, name, "output_padding")
    pads = _pad_pairs(padding, nd, name)
    for op_, s, d in zip(opad, stride, dilation):
        if op_ >= s and op_ >= d:
            raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                               f"output_padding={list(opad)}, stride={list(stride)}, dilation={list(dilation)}")
    sp = tuple(x.shape[2:])
    out = tuple((L - 1) * s - 2 * p + d * (k - 1) + q + 1
                for L, s, (p, _), d, k, q in zip(sp, stride, pads, dilation, ks, opad))
    if any(v <= 0 for v in out):
        raise RuntimeError(f"{name}(): Given input size per channel: {list(sp)}, calculated output "
                           f"size {list(out)} is too small")
    L = math.prod(sp)
    if groups == 1:
        cols = _ns.matmul(_ns.transpose(_ns.reshape(weight, (c, -1)), 0, 1), _ns.reshape(x, (n, c, L)))
    else:
        w = _ns.transpose(_ns.reshape(weight, (groups, c // groups, -1)), 1, 2)
        cols = _ns.matmul(w, _ns.reshape(x, (n, groups, c // groups, L)))
    cols = _ns.reshape(cols, (n, -1, L))
    y = _ns.col2im(cols, out, ks, dilation, pads, stride)
    if bias is not None:
        y = y + _ns.reshape(bias, (og * groups,) + (1,) * nd)
    return _ns.squeeze(y, 0) if unb else y


def _conv_t_fn(nd):
    name = f"conv_transpose{nd}d"

    def conv_transpose(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                       output_padding=0, groups: int = 1, dilation=1) -> Tensor:
        return _conv_t(name, nd, input, weight, bias, stride, padding, output_padding, groups, dilation)

    conv_transpose.__name__ = conv_transpose.__qualname__ = name
    conv_transpose.__doc__ = (f"{nd}-D transposed convolution as ``torch.nn.functional.{name}`` "
                              "(matmul + col2im), weight of shape (C_in, C_out/groups, *kernel).")
    return conv_transpose


conv_transpose1d = public("conv_transpose1d", method=False, ns="nn.functional")(_conv_t_fn(1))
conv_transpose2d = public("conv_transpose2d", method=False, ns="nn.functional")(_conv_t_fn(2))
conv_transpose3d = public("conv_transpose3d", method=False, ns="nn.functional")(_conv_t_fn(3))
