"""Inline source for the commonest elementwise rows, so that the generated program calls the
NumPy ufunc directly instead of the row's Python lambda (one frame less per op). Each template
is the row's own expression, written out; ``tests/test_compile_backends.py`` checks them against
the rows bit for bit."""

from __future__ import annotations

import numpy as np

NS = {"EXP": np.exp, "TANH": np.tanh, "SIN": np.sin, "COS": np.cos, "MAXIMUM": np.maximum,
      "SQUARE": np.square}


def _alpha1(kw) -> bool:
    return set(kw) <= {"alpha"} and (kw.get("alpha", 1) == 1 and type(kw.get("alpha", 1)) is int)


#: op name -> (forward(args, kw) -> source or None, (rule_i(g, out, args) -> source, ...))
TEMPLATES = {
    "add": (lambda a, kw: f"({a[0]} + {a[1]})" if _alpha1(kw) else None,
            (lambda g, o, a: g, lambda g, o, a: g)),
    "sub": (lambda a, kw: f"({a[0]} - {a[1]})" if _alpha1(kw) else None,
            (lambda g, o, a: g, lambda g, o, a: f"(-{g})")),
    "mul": (lambda a, kw: f"({a[0]} * {a[1]})" if not kw else None,
            (lambda g, o, a: f"({g} * {a[1]})", lambda g, o, a: f"({g} * {a[0]})")),
    "neg": (lambda a, kw: f"(-{a[0]})" if not kw else None, (lambda g, o, a: f"(-{g})",)),
    "exp": (lambda a, kw: f"EXP({a[0]})" if not kw else None, (lambda g, o, a: f"({g} * {o})",)),
    "tanh": (lambda a, kw: f"TANH({a[0]})" if not kw else None,
             (lambda g, o, a: f"({g} * (1 - {o} * {o}))",)),
    "sin": (lambda a, kw: f"SIN({a[0]})" if not kw else None,
            (lambda g, o, a: f"({g} * COS({a[0]}))",)),
    "cos": (lambda a, kw: f"COS({a[0]})" if not kw else None,
            (lambda g, o, a: f"(-{g} * SIN({a[0]}))",)),
    "relu": (lambda a, kw: f"MAXIMUM({a[0]}, 0)" if not kw else None,
             (lambda g, o, a: f"({g} * ({o} > 0))",)),
    "square": (lambda a, kw: f"SQUARE({a[0]})" if not kw else None,
               (lambda g, o, a: f"({g} * (2 * {a[0]}))",)),
}
