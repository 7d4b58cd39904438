"""Plugins are files: every public module of a package, imported and keyed by its module name.

Commands, store backends, decoders and scenes are all found this way, so
adding one is adding a file to its package and nothing else. A module whose
name starts with ``_`` is a private helper of its package, never a plugin.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def discover(package: str) -> dict[str, ModuleType]:
    """``{module name: module}`` for every public module of ``package``, in name order."""
    root = importlib.import_module(package)
    found = {}
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            found[info.name] = importlib.import_module(f"{package}.{info.name}")
    return found
