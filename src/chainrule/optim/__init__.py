"""``chainrule.optim``: optimizers and learning-rate schedulers, with torch's names and updates.

Example:
    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = cr.optim.Adam([w], lr=0.1)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step()
"""

from __future__ import annotations

from . import lr_scheduler
from .algorithms import SGD, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop
from .classic import ASGD, Adadelta, Rprop
from .lbfgs import LBFGS
from .optimizer import Optimizer

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam",
           "Adadelta", "ASGD", "Rprop", "LBFGS", "lr_scheduler"]
