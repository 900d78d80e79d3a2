"""``chainrule.nn``: modules, parameters, initializations and utilities, built only on the public
Tensor API. The functions themselves live in ``chainrule.nn.functional`` (rule-table rows).

Example:
    >>> import chainrule as cr
    >>> net = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 2))
    >>> net(cr.randn(3, 4)).shape
    chainrule.Size([3, 2])
"""

from __future__ import annotations

from . import functional  # noqa: F401
from . import init  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _mods
from . import utils  # noqa: F401
from . import parallel  # noqa: F401

__all__ = ["functional", "init", "utils", "parallel", "Parameter", *_mods]
