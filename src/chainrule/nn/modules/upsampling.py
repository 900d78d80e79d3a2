"""``chainrule.nn.modules.upsampling``: torch's module path for the upsampling modules."""

from .extra import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401

__all__ = ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
