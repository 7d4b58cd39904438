"""Kiosk scenes: one module each, found by ``discover()``; adding a scene is adding a file here.

A scene module defines:

- ``SCENE``: a ``SceneInfo`` (id, place in the rotation, title key);
- ``layout()``: its components (ids prefixed with the scene id), built with no data;
- ``outputs()``: the component properties its ``update`` fills;
- ``update(snapshot, lang, sent) -> (values, sent)``: the values for ``outputs()``
  (``dash.no_update`` or a ``dash.Patch`` where little or nothing changed), and
  a small digest of what the page now shows, which the next call gets back as
  ``sent``. That is how only what changed is sent: the digest lives in the
  browser (one per page), the data in the server's snapshot;
- optionally ``register_callbacks(app, model)``: callbacks of its own (a tap on
  the town plan opening a meter's detail), registered by the app for every
  scene it finds, so a scene needs no edit anywhere else.

Figures are built by pure functions of a snapshot, never by fetching.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from expo.plugins import discover as discover_modules


@dataclass(frozen=True)
class SceneInfo:
    id: str
    order: int
    title: str  # translation key


def discover() -> list[ModuleType]:
    """Every scene module of this package (those defining ``SCENE``), in rotation order."""
    modules = [m for m in discover_modules(__name__).values() if hasattr(m, "SCENE")]
    return sorted(modules, key=lambda m: m.SCENE.order)
