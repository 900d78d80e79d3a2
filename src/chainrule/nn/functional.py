"""``chainrule.nn.functional``: every function the rule-table families register under
``ns="nn.functional"`` (activations, losses, convolution, pooling, normalization …)."""

from __future__ import annotations

from ..ops import NAMESPACES as _NS, PUBLIC as _PUBLIC

# torch.nn.functional also exposes these tensor functions
for _n in ("relu", "sigmoid", "tanh", "softmax", "log_softmax"):
    if _n in _PUBLIC:
        globals()[_n] = _PUBLIC[_n]
globals().update(_NS["nn.functional"])
