"""Recurrent modules: ``RNN``, ``LSTM``, ``GRU`` (multi-layer, bidirectional, batch_first) and
their cells, composed from public ops (matmul, sigmoid, tanh …), so every order of derivative works.

Gate layouts as torch: LSTM (i, f, g, o), GRU (r, z, n).
"""

from __future__ import annotations

import math

import numpy as np

from ..._device import check as _check_device
from ... import _creation, _ns
from ..._tensor import Tensor
from ...autograd import forward_ad
from ...autograd.api import grad as _grad
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from .. import functional as F, init
from ..parameter import Parameter
from .module import Module


def _lstm_step(xg, h, c, w_hh_t, H):
    gates = xg + h @ w_hh_t
    s = gates.sigmoid()
    i = s[:, :H]
    f = s[:, H:2 * H]
    o = s[:, 3 * H:]
    g = gates[:, 2 * H:3 * H].tanh()
    c = f * c + i * g
    h = o * c.tanh()
    return h, c


def _lstm_composed(xg, h, c, w_hh, reverse: bool):
    """One LSTM layer and direction from public ops: (T, N, 4H) projections → (T, N, H), h, c."""
    T = xg.shape[0]
    H = w_hh.shape[1]
    xgs = xg.unbind(0)  # one unbind, not T slices (each slice's gradient would be full-size)
    w_hh_t = w_hh.T.contiguous()  # BLAS is faster on a contiguous right operand
    hs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h, c = _lstm_step(xgs[t], h, c, w_hh_t, H)
        hs[t] = h
    return _ns.stack(hs, 0), h, c


def _sig(a: np.ndarray) -> np.ndarray:
    # σ(a) = (1 + tanh(a/2)) / 2: one transcendental, never overflows
    return np.tanh(a * 0.5) * 0.5 + 0.5


class _LSTMLayer(Function):
    """A whole LSTM layer (one direction) as one graph node: the recurrence runs in NumPy, forward
    and backward (backpropagation through time), instead of ~14 recorded ops per time step.

    Under ``create_graph=True`` the backward instead recomputes the layer from public ops and
    differentiates that, so gradients of gradients stay exact.
    """

    @staticmethod
    def forward(ctx, xg, h0, c0, w_hh, reverse):
        X, W = xg._array, w_hh._array
        T, N, G = X.shape
        H = G // 4
        wt = np.ascontiguousarray(W.T)
        acts = np.empty_like(X)  # i, f, g, o after their nonlinearities
        cs = np.empty((T, N, H), X.dtype)
        tcs = np.empty_like(cs)
        out = np.empty_like(cs)
        h, c = h0._array, c0._array
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            a = acts[t]
            np.matmul(h, wt, out=a)
            a += X[t]
            a[:, :2 * H] = _sig(a[:, :2 * H])
            np.tanh(a[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
            a[:, 3 * H:] = _sig(a[:, 3 * H:])
            c = a[:, H:2 * H] * c + a[:, :H] * a[:, 2 * H:3 * H]
            cs[t] = c
            np.tanh(c, out=tcs[t])
            h = out[t] = a[:, 3 * H:] * tcs[t]
        ctx.save_for_backward(xg, h0, c0, w_hh)
        ctx.arrays = (acts, cs, tcs, out)
        ctx.reverse = reverse
        return Tensor(out), Tensor(h), Tensor(c)

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        xg, h0, c0, w_hh = ctx.saved_tensors
        if is_grad_enabled():  # create_graph: differentiate the composed layer instead
            ins = [t for t in (xg, h0, c0, w_hh) if t.requires_grad]
            outs = _lstm_composed(xg, h0, c0, w_hh, ctx.reverse)
            grads = iter(_grad(outs, ins, (g_out, g_h, g_c), create_graph=True,
                                           allow_unused=True))
            return tuple(next(grads) if t.requires_grad else None
                         for t in (xg, h0, c0, w_hh)) + (None,)
        acts, cs, tcs, out = ctx.arrays
        W = w_hh._array
        T, N, G = acts.shape
        H = G // 4
        go = g_out._array
        dh = g_h._array.copy()
        dc = g_c._array.copy()
        dX = np.empty_like(acts)
        order = range(T) if ctx.reverse else range(T - 1, -1, -1)  # backward in time
        first = T - 1 if ctx.reverse else 0
        step = 1 if ctx.reverse else -1
        h_prev = np.empty_like(out)  # h_{t-1} of each step, for dW in one product
        for t in order:
            tp = t + step  # the step before t in processing order
            hp, cp = (h0._array, c0._array) if t == first else (out[tp], cs[tp])
            h_prev[t] = hp
            a = acts[t]
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            tc = tcs[t]
            dh += go[t]
            dc += dh * o * (1 - tc * tc)
            d = dX[t]
            d[:, :H] = dc * g * i * (1 - i)
            d[:, H:2 * H] = dc * cp * f * (1 - f)
            d[:, 2 * H:3 * H] = dc * i * (1 - g * g)
            d[:, 3 * H:] = dh * tc * o * (1 - o)
            dc *= f
            dh = d @ W
        dW = dX.reshape(T * N, G).T @ h_prev.reshape(T * N, H)
        return Tensor(dX), Tensor(dh), Tensor(dc), Tensor(dW), None


def _plain(*ts) -> bool:
    """Whether the fused LSTM layer may run: plain tensors (not vmap's), no forward-AD tangents."""
    for t in ts:
        if type(t) is not Tensor and type(t) is not Parameter:
            return False
        if forward_ad.unpack_dual(t).tangent is not None:
            return False
    return True


def _gru_step(xg, h, w_hh_t, b_hh, H):
    hg = h @ w_hh_t
    if b_hh is not None:
        hg = hg + b_hh
    rz = (xg[:, :2 * H] + hg[:, :2 * H]).sigmoid()
    r = rz[:, :H]
    z = rz[:, H:]
    n = (xg[:, 2 * H:] + r * hg[:, 2 * H:]).tanh()
    return n + z * (h - n)


def _gru_composed(xg, h, w_hh, b_hh, reverse: bool):
    """One GRU layer and direction from public ops: (T, N, 3H) projections → (T, N, H), h."""
    T = xg.shape[0]
    H = w_hh.shape[1]
    xgs = xg.unbind(0)
    w_hh_t = w_hh.T.contiguous()
    hs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h = _gru_step(xgs[t], h, w_hh_t, b_hh, H)
        hs[t] = h
    return _ns.stack(hs, 0), h


class _GRULayer(Function):
    """A whole GRU layer (one direction) as one graph node, like ``_LSTMLayer``."""

    @staticmethod
    def forward(ctx, xg, h0, w_hh, b_hh, reverse):
        X, W = xg._array, w_hh._array
        T, N, G = X.shape
        H = G // 3
        wt = np.ascontiguousarray(W.T)
        rz = np.empty((T, N, 2 * H), X.dtype)
        ns = np.empty((T, N, H), X.dtype)
        hgn = np.empty_like(ns)  # h W_hn + b_hn, which r scales
        out = np.empty_like(ns)
        h = h0._array
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            hg = h @ wt
            if b_hh is not None:
                hg += b_hh._array
            rz[t] = _sig(X[t, :, :2 * H] + hg[:, :2 * H])
            hgn[t] = hg[:, 2 * H:]
            r, z = rz[t, :, :H], rz[t, :, H:]
            n = ns[t] = np.tanh(X[t, :, 2 * H:] + r * hgn[t])
            h = out[t] = n + z * (h - n)
        ctx.save_for_backward(xg, h0, w_hh, b_hh)
        ctx.arrays = (rz, ns, hgn, out)
        ctx.reverse = reverse
        return Tensor(out), Tensor(h)

    @staticmethod
    def backward(ctx, g_out, g_h):
        xg, h0, w_hh, b_hh = ctx.saved_tensors
        if is_grad_enabled():  # create_graph: differentiate the composed layer instead
            ins = [t for t in (xg, h0, w_hh, b_hh) if t is not None and t.requires_grad]
            outs = _gru_composed(xg, h0, w_hh, b_hh, ctx.reverse)
            grads = iter(_grad(outs, ins, (g_out, g_h), create_graph=True,
                                           allow_unused=True))
            return tuple(next(grads) if t is not None and t.requires_grad else None
                         for t in (xg, h0, w_hh, b_hh)) + (None,)
        rz, ns, hgn, out = ctx.arrays
        W = w_hh._array
        T, N, H = out.shape
        go = g_out._array
        dh = g_h._array.copy()
        dX = np.empty((T, N, 3 * H), out.dtype)
        dHG = np.empty_like(dX)  # gradient w.r.t. h W_hhᵀ + b_hh
        h_prev = np.empty_like(out)
        first = T - 1 if ctx.reverse else 0
        step = 1 if ctx.reverse else -1
        for t in (range(T) if ctx.reverse else range(T - 1, -1, -1)):
            hp = h0._array if t == first else out[t + step]
            h_prev[t] = hp
            r, z, n = rz[t, :, :H], rz[t, :, H:], ns[t]
            dh += go[t]
            dan = dh * (1 - z) * (1 - n * n)
            dar = dan * hgn[t] * r * (1 - r)
            daz = dh * (hp - n) * z * (1 - z)
            d = dX[t]
            d[:, :H] = dar
            d[:, H:2 * H] = daz
            d[:, 2 * H:] = dan
            e = dHG[t]
            e[:, :2 * H] = d[:, :2 * H]
            e[:, 2 * H:] = dan * r
            dh = dh * z + e @ W
        flat = dHG.reshape(T * N, 3 * H)
        dW = flat.T @ h_prev.reshape(T * N, H)
        db = Tensor(flat.sum(0)) if b_hh is not None else None
        return Tensor(dX), Tensor(dh), Tensor(dW), db, None


def _rnn_step(xg, h, w_hh_t, relu: bool):
    a = xg + h @ w_hh_t
    return a.relu() if relu else a.tanh()


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU."""

    _gates = 1
    mode = "RNN_TANH"

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        _check_device(device, f"nn.{type(self).__name__}")
        super().__init__()
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError("hidden_size must be a positive integer")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than or equal to 1")
        if proj_size:
            raise NotImplementedError("LSTM proj_size is not supported by chainrule")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = 0
        ndir = 2 if bidirectional else 1
        gh = self._gates * hidden_size
        self._names: list = []
        for layer in range(num_layers):
            for d in range(ndir):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                isz = input_size if layer == 0 else hidden_size * ndir
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                setattr(self, names[0], Parameter(_creation.empty(gh, isz, dtype=dtype)))
                setattr(self, names[1], Parameter(_creation.empty(gh, hidden_size, dtype=dtype)))
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    setattr(self, names[2], Parameter(_creation.empty(gh, dtype=dtype)))
                    setattr(self, names[3], Parameter(_creation.empty(gh, dtype=dtype)))
                self._names.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    @property
    def all_weights(self) -> list:
        return [[getattr(self, n) for n in names] for names in self._names]

    def _check(self, input, hx_shape, hx, what: str) -> None:
        if hx is not None and tuple(hx.shape) != hx_shape:
            raise RuntimeError(
                f"Expected {what} size {tuple(hx_shape)}, got {tuple(hx.shape)}"
            )

    def forward(self, input, hx=None):
        lstm = self.mode == "LSTM"
        batched = input.ndim == 3
        if input.ndim not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.ndim}D instead")
        if not batched:
            input = input.unsqueeze(1)
            if hx is not None:
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1)) if lstm else hx.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        T, N, isz = input.shape
        if isz != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {isz}"
            )
        H = self.hidden_size
        ndir = 2 if self.bidirectional else 1
        hshape = (self.num_layers * ndir, N, H)
        if lstm:
            h0, c0 = (None, None) if hx is None else hx
            self._check(input, hshape, h0, "hidden[0]")
            self._check(input, hshape, c0, "hidden[1]")
        else:
            h0, c0 = hx, None
            self._check(input, hshape, h0, "hidden")
        zero = _creation.zeros(N, H, dtype=input.dtype)
        layer_in = input
        hn, cn = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(ndir):
                k = layer * ndir + d
                names = self._names[k]
                w_ih, w_hh = getattr(self, names[0]), getattr(self, names[1])
                b_ih = getattr(self, names[2]) if self.bias else None
                b_hh = getattr(self, names[3]) if self.bias else None
                h = zero if h0 is None else h0[k]
                c = zero if c0 is None else c0[k]
                seq, h, c = self._run(layer_in, w_ih, w_hh, b_ih, b_hh, h, c, d == 1)
                outs.append(seq)
                hn.append(h)
                cn.append(c)
            layer_in = outs[0] if ndir == 1 else _ns.cat(outs, -1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        out = layer_in
        h_n = _ns.stack(hn, 0)
        if not batched:
            out = out.squeeze(1)
            h_n = h_n.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if lstm:
            c_n = _ns.stack(cn, 0)
            return out, (h_n, c_n.squeeze(1) if not batched else c_n)
        return out, h_n

    def _run(self, x, w_ih, w_hh, b_ih, b_hh, h, c, reverse: bool):
        T, N, isz = x.shape
        H = self.hidden_size
        # all time steps' input projections in one matrix product
        if self.mode == "GRU":
            b = b_ih
        else:
            b = None if b_ih is None else b_ih + b_hh
        xg = x.reshape((T * N, isz)) @ w_ih.T
        if b is not None:
            xg = xg + b
        if self.mode == "LSTM":
            xg = xg.reshape((T, N, -1))
            if _plain(xg, h, c, w_hh):
                return _LSTMLayer.apply(xg, h, c, w_hh, reverse)
            return _lstm_composed(xg, h, c, w_hh, reverse)
        if self.mode == "GRU":
            xg = xg.reshape((T, N, -1))
            if _plain(*(t for t in (xg, h, w_hh, b_hh) if t is not None)):
                out, h = _GRULayer.apply(xg, h, w_hh, b_hh, reverse)
            else:
                out, h = _gru_composed(xg, h, w_hh, b_hh, reverse)
            return out, h, c
        # one unbind (not T slices, whose gradients would each be a full-size array)
        xgs = xg.reshape((T, N, -1)).unbind(0)
        w_hh_t = w_hh.T.contiguous()  # BLAS is faster on a contiguous right operand
        order = range(T - 1, -1, -1) if reverse else range(T)
        hs = [None] * T
        mode = self.mode
        for t in order:
            if mode == "LSTM":
                h, c = _lstm_step(xgs[t], h, c, w_hh_t, H)
            elif mode == "GRU":
                h = _gru_step(xgs[t], h, w_hh_t, b_hh, H)
            else:
                h = _rnn_step(xgs[t], h, w_hh_t, mode == "RNN_RELU")
            hs[t] = h
        return _ns.stack(hs, 0), h, c

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first:
            s += f", batch_first={self.batch_first}"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh) (or relu).

    Example:
        >>> rnn = chainrule.nn.RNN(10, 20, 2)
        >>> out, h = rnn(chainrule.randn(5, 3, 10))
        >>> out.shape, h.shape
        (chainrule.Size([5, 3, 20]), chainrule.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        _check_device(device, f"nn.{type(self).__name__}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory; ``forward(input, (h_0, c_0))`` → ``output, (h_n, c_n)``."""

    _gates = 4

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None) -> None:
        _check_device(device, f"nn.{type(self).__name__}")
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit; ``forward(input, h_0)`` → ``output, h_n``."""

    _gates = 3

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        _check_device(device, f"nn.{type(self).__name__}")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype=dtype)


class _CellBase(Module):
    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        _check_device(device, f"nn.{type(self).__name__}")
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        g = self._gates * hidden_size
        self.weight_ih = Parameter(_creation.empty(g, input_size, dtype=dtype))
        self.weight_hh = Parameter(_creation.empty(g, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(_creation.empty(g, dtype=dtype))
            self.bias_hh = Parameter(_creation.empty(g, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        stdv = 1.0 / math.sqrt(hidden_size)
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _in(self, input):
        xg = input @ self.weight_ih.T
        return xg

    def _prep(self, input, hx):
        batched = input.ndim == 2
        if input.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{input.ndim}D instead")
        if not batched:
            input = input.unsqueeze(0)
        return input, batched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        return s


class RNNCell(_CellBase):
    """One step of an Elman RNN."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        _check_device(device, f"nn.{type(self).__name__}")
        super().__init__(input_size, hidden_size, bias, dtype=dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, batched = self._prep(input, hx)
        h = _creation.zeros(x.shape[0], self.hidden_size, dtype=x.dtype) if hx is None \
            else (hx if batched else hx.unsqueeze(0))
        xg = self._in(x)
        if self.bias:
            xg = xg + (self.bias_ih + self.bias_hh)
        h = _rnn_step(xg, h, self.weight_hh.T, self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(_CellBase):
    """One step of an LSTM: ``(h, c) = cell(x, (h, c))``."""

    _gates = 4

    def forward(self, input, hx=None):
        x, batched = self._prep(input, hx)
        if hx is None:
            z = _creation.zeros(x.shape[0], self.hidden_size, dtype=x.dtype)
            hx = (z, z)
        elif not batched:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        xg = self._in(x)
        if self.bias:
            xg = xg + (self.bias_ih + self.bias_hh)
        h, c = _lstm_step(xg, hx[0], hx[1], self.weight_hh.T, self.hidden_size)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(_CellBase):
    """One step of a GRU."""

    _gates = 3

    def forward(self, input, hx=None):
        x, batched = self._prep(input, hx)
        h = _creation.zeros(x.shape[0], self.hidden_size, dtype=x.dtype) if hx is None \
            else (hx if batched else hx.unsqueeze(0))
        xg = self._in(x)
        if self.bias:
            xg = xg + self.bias_ih
        h = _gru_step(xg, h, self.weight_hh.T, self.bias_hh, self.hidden_size)
        return h if batched else h.squeeze(0)
