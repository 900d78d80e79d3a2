"""Pooling modules: max, average and adaptive pooling in 1-D and 2-D."""

from __future__ import annotations

from ._factory import _NO_DEFAULT as REQ, make


def _stride_default(self) -> None:
    if self.stride is None or self.stride == []:
        object.__setattr__(self, "stride", self.kernel_size)


def _tuple1(self) -> None:
    _stride_default(self)
    for k in ("kernel_size", "stride", "padding"):
        v = getattr(self, k)
        object.__setattr__(self, k, tuple(v) if isinstance(v, (tuple, list)) else (v,))


_MAXR = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
_AVGR = ("kernel_size", "stride", "padding")

_MAX = (("kernel_size", REQ), ("stride", None), ("padding", 0), ("dilation", 1),
        ("return_indices", False), ("ceil_mode", False))
_MAXD = ("padding", "dilation", "ceil_mode", "return_indices")
MaxPool1d = make("MaxPool1d", "max_pool1d", _MAX, drop_default=_MAXD, repr_keys=_MAXR,
                 post_init=_stride_default)
MaxPool2d = make("MaxPool2d", "max_pool2d", _MAX, drop_default=_MAXD, repr_keys=_MAXR,
                 post_init=_stride_default,
                 doc="2-D max pooling over (N, C, H, W) input.\n\nExample:\n"
                     "    >>> chainrule.nn.MaxPool2d(2)(chainrule.randn(1, 3, 8, 8)).shape\n"
                     "    chainrule.Size([1, 3, 4, 4])")
_AVG1 = (("kernel_size", REQ), ("stride", None), ("padding", 0), ("ceil_mode", False),
         ("count_include_pad", True))
AvgPool1d = make("AvgPool1d", "avg_pool1d", _AVG1, repr_keys=_AVGR, post_init=_tuple1,
                 drop_default=("padding", "ceil_mode", "count_include_pad"))
AvgPool2d = make("AvgPool2d", "avg_pool2d", _AVG1 + (("divisor_override", None),),
                 repr_keys=_AVGR, post_init=_stride_default,
                 drop_default=("padding", "ceil_mode", "count_include_pad", "divisor_override"))
MaxPool3d = make("MaxPool3d", "max_pool3d", _MAX, drop_default=_MAXD, repr_keys=_MAXR,
                 post_init=_stride_default)
AvgPool3d = make("AvgPool3d", "avg_pool3d", _AVG1 + (("divisor_override", None),),
                 repr_keys=_AVGR, post_init=_stride_default,
                 drop_default=("padding", "ceil_mode", "count_include_pad", "divisor_override"))
AdaptiveAvgPool3d = make("AdaptiveAvgPool3d", "adaptive_avg_pool3d", (("output_size", REQ),))
AdaptiveAvgPool1d = make("AdaptiveAvgPool1d", "adaptive_avg_pool1d", (("output_size", REQ),))
AdaptiveAvgPool2d = make("AdaptiveAvgPool2d", "adaptive_avg_pool2d", (("output_size", REQ),))
AdaptiveMaxPool1d = make("AdaptiveMaxPool1d", "adaptive_max_pool1d",
                         (("output_size", REQ), ("return_indices", False)),
                         drop_default=("return_indices",), repr_keys=("output_size",))
AdaptiveMaxPool2d = make("AdaptiveMaxPool2d", "adaptive_max_pool2d",
                         (("output_size", REQ), ("return_indices", False)),
                         drop_default=("return_indices",), repr_keys=("output_size",))
