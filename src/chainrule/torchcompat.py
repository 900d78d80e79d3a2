"""Run PyTorch programs unchanged on chainrule: ``import torch`` (and ``torch.nn``,
``torch.nn.functional``, ``torch.optim``, ``torch.utils.data``, ``torch.autograd``, ``torch.func``,
``torch.linalg`` …) resolve to chainrule's modules of the same name.

    python -m chainrule.torchcompat train.py --epochs 1     # the script sees chainrule as torch
    python -m chainrule.torchcompat -m package.module args   # a module, as ``python -m``

or, in a process::

    with chainrule.as_torch():
        import torch            # chainrule
    import torch                # the real torch again (if installed)

A torch submodule chainrule lacks (``torch.fx``, ``torch.jit`` …) raises
``ModuleNotFoundError`` naming the module and chainrule, so ``try: import … except ImportError``
fallbacks in scripts work. The hook is a ``sys.meta_path`` finder placed first; while it is on,
the real torch modules (if imported before) are set aside, and ``restore`` puts them back.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys

_PREFIX = "torch"


def _target(fullname: str) -> str:
    return "chainrule" + fullname[len(_PREFIX):]


def _is_torch(name: str) -> bool:
    return name == _PREFIX or name.startswith(_PREFIX + ".")


class _AliasLoader(importlib.abc.Loader):
    """Hands out the already-imported chainrule module for a ``torch…`` name."""

    def __init__(self, module) -> None:
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module) -> None:
        # the import system stamped the torch… spec on the module; chainrule's own lazy relative
        # imports need the module's real spec back
        module.__spec__ = self.spec


class TorchFinder(importlib.abc.MetaPathFinder):
    """``sys.meta_path`` finder mapping ``torch[.x.y]`` to ``chainrule[.x.y]``."""

    def find_spec(self, fullname, path=None, target=None):
        if not _is_torch(fullname):
            return None
        name = _target(fullname)
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is not None and (name == e.name or name.startswith(e.name + ".")):
                raise ModuleNotFoundError(
                    f"No module named '{fullname}': chainrule stands in for torch here "
                    f"(chainrule.torchcompat) and has no module '{name}'", name=fullname
                ) from None
            raise
        is_pkg = hasattr(module, "__path__")
        return importlib.util.spec_from_loader(fullname, _AliasLoader(module), is_package=is_pkg)


class TorchHook:
    """The installed hook; ``restore()`` (or leaving the ``with`` block) removes it and puts the
    real torch modules back in ``sys.modules``."""

    def __init__(self) -> None:
        self.finder = TorchFinder()
        self.saved: dict = {}
        self.active = False

    def install(self) -> TorchHook:
        if self.active:
            return self
        import chainrule

        self.saved = {k: sys.modules.pop(k) for k in list(sys.modules) if _is_torch(k)}
        sys.meta_path.insert(0, self.finder)
        # every chainrule module imported so far answers to its torch name at once
        for k, m in list(sys.modules.items()):
            if k == "chainrule" or k.startswith("chainrule."):
                sys.modules[_PREFIX + k[len("chainrule"):]] = m
        sys.modules[_PREFIX] = chainrule
        self.active = True
        return self

    def restore(self) -> None:
        if not self.active:
            return
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        for k in [k for k in sys.modules if _is_torch(k)]:
            del sys.modules[k]
        sys.modules.update(self.saved)
        self.saved = {}
        self.active = False

    def __enter__(self) -> TorchHook:
        return self.install()

    def __exit__(self, *exc) -> None:
        self.restore()


def as_torch() -> TorchHook:
    """Make ``import torch`` (and its submodules) give chainrule, until ``restore()``.

    Example:
        >>> with chainrule.as_torch():
        ...     import torch
        ...     torch.ones(2).sum()
        tensor(2.)
    """
    return TorchHook().install()


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m chainrule.torchcompat script.py [args…]\n"
              "       python -m chainrule.torchcompat -m module [args…]\n"
              "runs a PyTorch program with chainrule standing in for torch", file=sys.stderr)
        raise SystemExit(0 if argv else 2)
    as_torch()
    if argv[0] == "-m":
        if len(argv) < 2:
            raise SystemExit("chainrule.torchcompat: -m needs a module name")
        sys.argv = argv[1:]
        sys.path.insert(0, os.getcwd())
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        return
    script = argv[0]
    sys.argv = argv
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
