"""Kiosk scenes: one module each, found by ``discover()``; adding a scene is adding a file here.

A scene module defines:

- ``SCENE``: a ``SceneInfo`` (id, place in the rotation, title key, and where on the exhibit's scale it
  stands: building, town or city);
- ``layout()``: its components (ids prefixed with the scene id), built with no data;
- ``outputs()``: the component properties its ``update`` fills;
- ``update(snapshot, lang, sent) -> (values, sent)``: the values for ``outputs()``
  (``dash.no_update`` or a ``dash.Patch`` where little or nothing changed), and
  a small digest of what the page now shows, which the next call gets back as
  ``sent``. That is how only what changed is sent: the digest lives in the
  browser (one per page), the data in the server's snapshot. An ``update``
  that also names ``focus`` gets the district a visitor tapped on the city's
  map (``bigdata-focus``; None: the home town). Sizes are design px: the page
  is one canvas the browser scales to the screen;
- optionally ``place(snapshot, focus)``: the place the frame's subtitle names
  on this scene (default: the building, the home town or the city, by scale);
- optionally ``register_callbacks(app, model)``: callbacks of its own (a tap on
  the town plan opening a meter's detail), registered by the app for every
  scene it finds, so a scene needs no edit anywhere else.

Figures are built by pure functions of a snapshot, never by fetching.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from expo.plugins import discover as discover_modules


SCALES = ("building", "town", "city")  # the exhibit's story, small to large
SCALE_TEXT = {"building": "scale.building", "town": "scale.town", "city": "scale.city"}  # translation keys


@dataclass(frozen=True)
class SceneInfo:
    id: str
    order: int
    title: str  # translation key
    scale: str = "town"  # one of SCALES; every scene before the city was about the town


def discover() -> list[ModuleType]:
    """Every scene module of this package (those defining ``SCENE``), in rotation order."""
    modules = [m for m in discover_modules(__name__).values() if hasattr(m, "SCENE")]
    return sorted(modules, key=lambda m: m.SCENE.order)


def story(modules: list[ModuleType], rotation: tuple[str, ...] = ()) -> list[ModuleType]:
    """The kiosk's rotation: the scene ids of ``rotation`` in that order (unknown ids skipped), or by default
    the story the exhibit tells — up the scales, the first scene of each (the building, its town, the city),
    then back down through the others (the town's details) to the building again."""
    if rotation:
        by_id = {m.SCENE.id: m for m in modules}
        chosen = list(dict.fromkeys(by_id[i] for i in rotation if i in by_id))
        return chosen or list(modules)
    at = {scale: [m for m in modules if m.SCENE.scale == scale] for scale in SCALES}
    up = [at[scale][0] for scale in SCALES if at[scale]]
    down = [m for scale in reversed(SCALES) for m in at[scale][1:]]
    rest = [m for m in modules if m.SCENE.scale not in SCALES]
    return up + down + rest


def rotation(ids, modules: list[ModuleType] | None = None) -> tuple[str, ...]:
    """The scene ids of a rotation setting (comma-separated text or a list), checked: an id no scene has stops
    the start with one line naming the known ones, instead of a kiosk that silently skips a scene. () for
    none given (the story)."""
    modules = discover() if modules is None else modules
    items = ids.split(",") if isinstance(ids, str) else list(ids or ())
    chosen = tuple(dict.fromkeys(str(i).strip() for i in items if str(i).strip()))
    known = [m.SCENE.id for m in story(modules)]
    unknown = [i for i in chosen if i not in known]
    if unknown:
        raise ValueError(f"rotation: unknown scene {', '.join(map(repr, unknown))}; known scenes: {', '.join(known)}")
    return chosen
