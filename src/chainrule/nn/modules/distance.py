"""``chainrule.nn.modules.distance``: torch's module path of
``CosineSimilarity``, ``PairwiseDistance``."""

from .extra import CosineSimilarity, PairwiseDistance  # noqa: F401

__all__ = ["CosineSimilarity", "PairwiseDistance"]
