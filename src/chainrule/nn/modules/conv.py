"""Convolution modules: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``."""

from __future__ import annotations

import math

from ..._device import check as _check_device
from ... import _creation
from .. import init
from ..parameter import Parameter
from ._factory import functional
from .module import Module


def _tuple(v, n: int) -> tuple:
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"expected {n} values, got {list(v)}")
        return tuple(v)
    return (v,) * n


class _ConvNd(Module):
    _n = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None, output_padding=0) -> None:
        _check_device(device, f"nn.{type(self).__name__}")
        super().__init__()
        n = self._n
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(
                f"padding_mode must be one of ['zeros', 'reflect', 'replicate', 'circular'], "
                f"but got padding_mode='{padding_mode}'"
            )
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in _tuple(stride, n)):
                raise ValueError("padding='same' is not supported for strided convolutions")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple(kernel_size, n)
        self.stride = _tuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n)
        self.dilation = _tuple(dilation, n)
        self.transposed = self._transposed
        self.output_padding = _tuple(output_padding, n)
        self.groups = groups
        self.padding_mode = padding_mode
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(_creation.empty(*shape, dtype=dtype))
        if bias:
            self.bias = Parameter(_creation.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _pad(self, input):
        if self.padding_mode == "zeros":
            return input, self.padding
        if isinstance(self.padding, str):
            raise NotImplementedError(f"padding={self.padding!r} with padding_mode="
                                      f"{self.padding_mode!r} is not supported")
        pad: list = []
        for p in reversed(self.padding):
            pad += [p, p]
        if self._n == 3:
            raise NotImplementedError("Conv3d supports padding_mode='zeros' only")
        return functional("pad")(input, tuple(pad), mode=self.padding_mode), (0,) * self._n

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) \
                else f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) input (cross-correlation, as torch)."""

    _n = 1

    def forward(self, input):
        x, pad = self._pad(input)
        return functional("conv1d")(x, self.weight, self.bias, self.stride, pad, self.dilation,
                                    self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) input (cross-correlation, as torch).

    Example:
        >>> conv = chainrule.nn.Conv2d(1, 8, 3, padding=1)
        >>> conv(chainrule.randn(4, 1, 8, 8)).shape
        chainrule.Size([4, 8, 8, 8])
    """

    _n = 2

    def forward(self, input):
        x, pad = self._pad(input)
        return functional("conv2d")(x, self.weight, self.bias, self.stride, pad, self.dilation,
                                    self.groups)


class Conv3d(_ConvNd):
    """3-D convolution over (N, C_in, D, H, W) input."""

    _n = 3

    def forward(self, input):
        x, pad = self._pad(input)
        return functional("conv3d")(x, self.weight, self.bias, self.stride, pad, self.dilation,
                                    self.groups)


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        _check_device(device, f"nn.{type(self).__name__}")
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype, output_padding)

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        n = self._n
        output_size = list(output_size)[-n:]
        op = []
        for d in range(n):
            size = input.shape[input.ndim - n + d]
            min_size = ((size - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            extra = output_size[d] - min_size
            if not 0 <= extra < max(self.stride[d], self.dilation[d]):
                raise ValueError(
                    f"requested an output size of {output_size}, but valid sizes range from "
                    f"{min_size} to {min_size + max(self.stride[d], self.dilation[d]) - 1} "
                    f"(for an input of {list(input.shape)[-n:]})"
                )
            op.append(extra)
        return tuple(op)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution (the gradient of Conv1d with respect to its input)."""

    _n = 1

    def forward(self, input, output_size=None):
        op = self._output_padding(input, output_size)
        return functional("conv_transpose1d")(input, self.weight, self.bias, self.stride,
                                              self.padding, op, self.groups, self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution (the gradient of Conv2d with respect to its input)."""

    _n = 2

    def forward(self, input, output_size=None):
        op = self._output_padding(input, output_size)
        return functional("conv_transpose2d")(input, self.weight, self.bias, self.stride,
                                              self.padding, op, self.groups, self.dilation)
