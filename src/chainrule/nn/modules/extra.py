"""Thin modules over more ``nn.functional`` functions: distances, pixel shuffles, upsampling,
fold/unfold, padding layers and max-unpooling."""

from __future__ import annotations

from ._factory import _NO_DEFAULT as REQ, functional, make
from .module import Module

CosineSimilarity = make("CosineSimilarity", "cosine_similarity", (("dim", 1), ("eps", 1e-8)),
                        repr_keys=())
PairwiseDistance = make("PairwiseDistance", "pairwise_distance",
                        (("p", 2.0), ("eps", 1e-6), ("keepdim", False)), repr_keys=())
PixelShuffle = make("PixelShuffle", "pixel_shuffle", (("upscale_factor", REQ),))
PixelUnshuffle = make("PixelUnshuffle", "pixel_unshuffle", (("downscale_factor", REQ),))
Fold = make("Fold", "fold", (("output_size", REQ), ("kernel_size", REQ), ("dilation", 1),
                             ("padding", 0), ("stride", 1)),
            repr_keys=("output_size", "kernel_size", "dilation", "padding", "stride"))
Unfold = make("Unfold", "unfold", (("kernel_size", REQ), ("dilation", 1), ("padding", 0),
                                   ("stride", 1)))


def _ntuple(n: int):
    def post(self) -> None:  # torch stores n-tuples, with the stride defaulting to the kernel
        if self.stride is None:
            object.__setattr__(self, "stride", self.kernel_size)
        for k in ("kernel_size", "stride", "padding"):
            v = getattr(self, k)
            object.__setattr__(self, k, tuple(v) if isinstance(v, (tuple, list)) else (v,) * n)

    return post


MaxUnpool1d = make("MaxUnpool1d", "max_unpool1d",
                   (("kernel_size", REQ), ("stride", None), ("padding", 0)), post_init=_ntuple(1))
MaxUnpool2d = make("MaxUnpool2d", "max_unpool2d",
                   (("kernel_size", REQ), ("stride", None), ("padding", 0)), post_init=_ntuple(2))


class Upsample(Module):
    """Resize by ``size`` or ``scale_factor`` (``nn.functional.interpolate``)."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                 recompute_scale_factor=None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        kw = {}
        if self.recompute_scale_factor is not None:
            kw["recompute_scale_factor"] = self.recompute_scale_factor
        return functional("interpolate")(input, self.size, self.scale_factor, self.mode,
                                         self.align_corners, **kw)

    def extra_repr(self) -> str:
        info = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None
                else f"size={self.size!r}")
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class _PadNd(Module):
    _n = 2
    _mode = "constant"

    def __init__(self, padding, value: float | None = None) -> None:
        super().__init__()
        self.padding = tuple(padding) if isinstance(padding, (tuple, list)) \
            else (padding,) * (2 * self._n)
        if len(self.padding) != 2 * self._n:
            raise ValueError(f"{type(self).__name__}: expected {2 * self._n} padding values, got "
                             f"{len(self.padding)}")
        self.value = value

    def forward(self, input):
        if self._mode == "constant":
            return functional("pad")(input, self.padding, "constant", self.value or 0.0)
        return functional("pad")(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        if type(self).__name__.startswith("Constant"):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


def _pad_class(name: str, n: int, mode: str) -> type:
    return type(name, (_PadNd,), {"_n": n, "_mode": mode, "__module__": "chainrule.nn",
                                  "__doc__": f"Pad the last {n} dim(s) ({mode} mode)."})


class ConstantPad1d(_PadNd):
    """Pad the last dim with ``value``."""

    _n = 1

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(_PadNd):
    """Pad the last 2 dims with ``value``."""

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, value)


class ZeroPad1d(_PadNd):
    _n = 1

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)


class ZeroPad2d(_PadNd):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)


ReflectionPad1d = _pad_class("ReflectionPad1d", 1, "reflect")
ReflectionPad2d = _pad_class("ReflectionPad2d", 2, "reflect")
ReplicationPad1d = _pad_class("ReplicationPad1d", 1, "replicate")
ReplicationPad2d = _pad_class("ReplicationPad2d", 2, "replicate")
CircularPad1d = _pad_class("CircularPad1d", 1, "circular")
CircularPad2d = _pad_class("CircularPad2d", 2, "circular")
