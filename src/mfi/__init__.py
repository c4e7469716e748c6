"""mfi, the model-file inspector: what is inside a model before you download, run or trust it.

Importing ``mfi`` costs nothing: the library's functions load on first use. ``mfi.inspect``,
``mfi.compare``, ``mfi.plan``, ``mfi.scan`` and ``mfi.pull`` are always the functions of
``mfi.api``, even after the subpackages ``mfi.compare``, ``mfi.plan`` and ``mfi.scan`` are
imported (reach those with ``from mfi.plan.memory import ...``).
"""

from __future__ import annotations

import sys
import types

__version__ = "0.1.0"

__all__ = ["__version__", "compare", "inspect", "plan", "pull", "scan"]

_FRONT = frozenset({"inspect", "compare", "plan", "scan", "pull"})


class _Package(types.ModuleType):
    """The ``mfi`` module: the front-door names resolve to ``mfi.api``'s functions.

    Importing a subpackage binds its name on the parent (``mfi.plan`` would become the package);
    the functions win, and the subpackages stay reachable through ``sys.modules``.
    """

    def __getattribute__(self, name: str) -> object:
        if name in _FRONT:
            from . import api

            return getattr(api, name)
        return super().__getattribute__(name)


sys.modules[__name__].__class__ = _Package
