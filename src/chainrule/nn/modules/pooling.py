"""Pooling modules: max, average and adaptive pooling in 1-D and 2-D."""

from __future__ import annotations

from ._factory import _NO_DEFAULT as REQ, make

_MAX = (("kernel_size", REQ), ("stride", None), ("padding", 0), ("dilation", 1),
        ("return_indices", False), ("ceil_mode", False))
_MAXD = ("padding", "dilation", "ceil_mode", "return_indices")
MaxPool1d = make("MaxPool1d", "max_pool1d", _MAX, drop_default=_MAXD)
MaxPool2d = make("MaxPool2d", "max_pool2d", _MAX, drop_default=_MAXD,
                 doc="2-D max pooling over (N, C, H, W) input.\n\nExample:\n"
                     "    >>> chainrule.nn.MaxPool2d(2)(chainrule.randn(1, 3, 8, 8)).shape\n"
                     "    chainrule.Size([1, 3, 4, 4])")
_AVG1 = (("kernel_size", REQ), ("stride", None), ("padding", 0), ("ceil_mode", False),
         ("count_include_pad", True))
AvgPool1d = make("AvgPool1d", "avg_pool1d", _AVG1,
                 drop_default=("padding", "ceil_mode", "count_include_pad"))
AvgPool2d = make("AvgPool2d", "avg_pool2d", _AVG1 + (("divisor_override", None),),
                 drop_default=("padding", "ceil_mode", "count_include_pad", "divisor_override"))
AdaptiveAvgPool1d = make("AdaptiveAvgPool1d", "adaptive_avg_pool1d", (("output_size", REQ),))
AdaptiveAvgPool2d = make("AdaptiveAvgPool2d", "adaptive_avg_pool2d", (("output_size", REQ),))
AdaptiveMaxPool1d = make("AdaptiveMaxPool1d", "adaptive_max_pool1d",
                         (("output_size", REQ), ("return_indices", False)),
                         drop_default=("return_indices",))
AdaptiveMaxPool2d = make("AdaptiveMaxPool2d", "adaptive_max_pool2d",
                         (("output_size", REQ), ("return_indices", False)),
                         drop_default=("return_indices",))
