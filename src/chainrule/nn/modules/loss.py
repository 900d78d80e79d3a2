"""Loss modules: one per ``nn.functional`` loss, with torch's arguments (positional order
included, with the deprecated ``size_average``/``reduce``) and defaults."""

from __future__ import annotations

from functools import partial

from ._factory import make as _make

make = partial(_make, repr_keys=())
_R = ("reduction", "mean")
_SA, _RE = ("size_average", None), ("reduce", None)
_W, _II = ("weight", None), ("ignore_index", -100)
_DR = ("reduction",)

L1Loss = make("L1Loss", "l1_loss", (_SA, _RE, _R), drop_default=_DR)
MSELoss = make("MSELoss", "mse_loss", (_SA, _RE, _R), drop_default=_DR,
               doc="Mean squared error: mean((input − target)²).\n\nExample:\n"
                   "    >>> chainrule.nn.MSELoss()(chainrule.zeros(3), chainrule.ones(3))\n"
                   "    tensor(1.)")
CrossEntropyLoss = make(
    "CrossEntropyLoss", "cross_entropy", (_W, _SA, _II, _RE, _R, ("label_smoothing", 0.0)),
    drop_default=("weight", "ignore_index", "reduction", "label_smoothing"), buffers=("weight",),
    doc="Cross entropy of logits (N, C, …) and class indices (N, …) or class probabilities.")
NLLLoss = make("NLLLoss", "nll_loss", (_W, _SA, _II, _RE, _R),
               drop_default=("weight", "ignore_index", "reduction"), buffers=("weight",))
BCELoss = make("BCELoss", "binary_cross_entropy", (_W, _SA, _RE, _R),
               drop_default=("weight", "reduction"), buffers=("weight",))
BCEWithLogitsLoss = make("BCEWithLogitsLoss", "binary_cross_entropy_with_logits",
                         (_W, _SA, _RE, _R, ("pos_weight", None)),
                         drop_default=("weight", "reduction", "pos_weight"),
                         buffers=("weight", "pos_weight"))
HuberLoss = make("HuberLoss", "huber_loss", (_R, ("delta", 1.0)),
                 drop_default=("reduction", "delta"))
SmoothL1Loss = make("SmoothL1Loss", "smooth_l1_loss", (_SA, _RE, _R, ("beta", 1.0)),
                    drop_default=("reduction", "beta"))
KLDivLoss = make("KLDivLoss", "kl_div", (_SA, _RE, _R, ("log_target", False)),
                 drop_default=("reduction", "log_target"))
CosineEmbeddingLoss = make("CosineEmbeddingLoss", "cosine_embedding_loss",
                           (("margin", 0.0), _SA, _RE, _R), drop_default=("margin", "reduction"))
MarginRankingLoss = make("MarginRankingLoss", "margin_ranking_loss",
                         (("margin", 0.0), _SA, _RE, _R), drop_default=("margin", "reduction"))
HingeEmbeddingLoss = make("HingeEmbeddingLoss", "hinge_embedding_loss",
                          (("margin", 1.0), _SA, _RE, _R), drop_default=("margin", "reduction"))
SoftMarginLoss = make("SoftMarginLoss", "soft_margin_loss", (_SA, _RE, _R), drop_default=_DR)
MultiLabelSoftMarginLoss = make("MultiLabelSoftMarginLoss", "multilabel_soft_margin_loss",
                                (_W, _SA, _RE, _R), drop_default=("weight", "reduction"),
                                buffers=("weight",))
MultiLabelMarginLoss = make("MultiLabelMarginLoss", "multilabel_margin_loss", (_SA, _RE, _R),
                            drop_default=_DR)
MultiMarginLoss = make("MultiMarginLoss", "multi_margin_loss",
                       (("p", 1), ("margin", 1.0), _W, _SA, _RE, _R),
                       drop_default=("p", "margin", "weight", "reduction"), buffers=("weight",))
PoissonNLLLoss = make("PoissonNLLLoss", "poisson_nll_loss",
                      (("log_input", True), ("full", False), _SA, ("eps", 1e-8), _RE, _R),
                      drop_default=("log_input", "full", "eps", "reduction"))
GaussianNLLLoss = make("GaussianNLLLoss", "gaussian_nll_loss", (("full", False), ("eps", 1e-6), _R),
                       drop_default=("full", "eps", "reduction"))
TripletMarginLoss = make("TripletMarginLoss", "triplet_margin_loss",
                         (("margin", 1.0), ("p", 2.0), ("eps", 1e-6), ("swap", False), _SA, _RE,
                          _R), drop_default=("margin", "p", "eps", "swap", "reduction"))
