"""Kiosk scenes: one module each, found by ``discover()``; adding a scene is adding a file here.

A scene module defines:

- ``SCENE``: a ``SceneInfo`` (id, place in the rotation, title key);
- ``layout()``: its components (ids prefixed with the scene id), built with no data;
- ``outputs()``: the component properties its ``update`` fills;
- ``update(snapshot, lang, sent) -> (values, sent)``: the values for ``outputs()``
  (``dash.no_update`` or a ``dash.Patch`` where little or nothing changed), and
  a small digest of what the page now shows, which the next call gets back as
  ``sent``. That is how only what changed is sent: the digest lives in the
  browser (one per page), the data in the server's snapshot.

Figures are built by pure functions of a snapshot, never by fetching.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class SceneInfo:
    id: str
    order: int
    title: str  # translation key


def discover() -> list[ModuleType]:
    modules = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "SCENE"):
            modules.append(module)
    return sorted(modules, key=lambda m: m.SCENE.order)
