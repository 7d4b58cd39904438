"""The meter registry: one TOML file in which an engineer says who each real meter is.

A real meter says only what its firmware knows (a topic, a power); where it
stands, what it feeds and what it is called in Chinese the engineer knows.
The registry says it once, in a file next to the configuration::

    [[meter]]
    id = "heatpump-plug"                     # the id its decoder makes (docs/meters.md)
    site = "binhai"                          # optional: the site setting
    kind = "heat_pump"
    name = { en = "Heat pump", zh = "热泵" }
    building = "zeb"                         # optional
    parent = "feeder-01"                     # optional
    position = { x_m = 120, y_m = -40 }      # optional
    rated_power_w = 3000                     # optional
    route = { topic = "tele/heatpump-plug/SENSOR", decoder = "tasmota" }   # optional

Each entry is checked as a native ``meta`` message is (``DeviceMeta.from_payload``:
one contract), and becomes that device's metadata in the store. What the
registry says outranks a native ``meta`` and every decoder's guess.

Ingest re-reads the file when it changes (``poll``), so an edit takes effect
without a restart. A broken file is one error naming its line; the last good
registry stays in force until the file is fixed.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from expo.errors import UserError
from expo.metadata import DeviceMeta
from expo.reading import PAYLOAD_VERSION, ContractError
from expo.topics import check_id
from ingest.routes import Route, build_routes

log = logging.getLogger("expo.ingest")

CHECK_EVERY_S = 2.0  # how often ingest looks at the file's size and time: an edit is live within this
_KEYS = {"id", "site", "kind", "name", "building", "parent", "position", "rated_power_w", "route"}
_HEADER = re.compile(r"^\s*\[\[\s*meter\s*\]\]")


@dataclass(frozen=True)
class Registry:
    """A registry as read: each meter's metadata, and the routes its entries name (first in the route order)."""

    metas: dict[tuple[str, str], DeviceMeta] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()

    def __len__(self) -> int:
        return len(self.metas)


EMPTY = Registry()


def parse(text: str, path: str, site: str) -> Registry:
    """The registry in ``text``, or ``UserError`` naming the file and line of the first thing wrong in it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line 7, column 12)"
        raise UserError(f"{path}: {exc}") from None
    unknown = sorted(set(data) - {"meter"})
    if unknown:
        raise UserError(f"{path}:{_line_of_key(text, unknown[0], 0, None)}: unknown table or key {unknown[0]!r}; "
                        "the registry holds [[meter]] tables only")
    entries = data.get("meter", [])
    if not isinstance(entries, list):
        raise UserError(f"{path}: meter must be [[meter]] tables")
    headers = [i + 1 for i, line in enumerate(text.splitlines()) if _HEADER.match(line)]
    metas: dict[tuple[str, str], DeviceMeta] = {}
    routes: list[Route] = []
    for n, entry in enumerate(entries):
        start = headers[n] if n < len(headers) else 1
        end = headers[n + 1] if n + 1 < len(headers) else None
        meta, route = _entry(entry, site, lambda key: f"{path}:{_line_of_key(text, key, start, end)}")
        key = (meta.site, meta.device)
        if key in metas:
            raise UserError(f"{path}:{start}: meter {meta.device!r} of site {meta.site!r} is described twice")
        metas[key] = meta
        if route is not None:
            line = _line_of_key(text, "route", start, end)
            routes += build_routes([{**route, "kind": route.get("kind", meta.kind)}], include_defaults=False,
                                   source=f"{path}:{line}: meter")
    return Registry(metas, tuple(routes))


def _entry(entry, site: str, where) -> tuple[DeviceMeta, dict | None]:
    if not isinstance(entry, dict):
        raise UserError(f"{where('meter')}: each meter is a [[meter]] table")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise UserError(f"{where(unknown[0])}: unknown key {unknown[0]!r}; a meter has {', '.join(sorted(_KEYS))}")
    for key in ("id", "kind", "name"):
        if key not in entry:
            raise UserError(f"{where('meter')}: a meter needs {key} "
                            "(id, kind and name = { en = \"...\", zh = \"...\" })")
    try:
        device = check_id(str(entry["id"]).lower(), "meter id")
        site_id = check_id(entry.get("site", site), "site")
    except ValueError as exc:
        raise UserError(f"{where('id' if 'meter id' in str(exc) else 'site')}: {exc}") from None
    payload = {"v": PAYLOAD_VERSION, "source": "meter",
               **{k: entry[k] for k in ("kind", "name", "building", "parent", "position", "rated_power_w")
                  if k in entry}}
    try:
        meta = DeviceMeta.from_payload(site_id, device, payload)
    except ContractError as exc:
        key = {"unknown_kind": "kind", "invalid_device_id": "parent", "wrong_type": "position"}.get(exc.reason, "name")
        raise UserError(f"{where(key)}: meter {device!r}: {exc.detail}") from None
    route = entry.get("route")
    if route is not None and not isinstance(route, dict):
        raise UserError(f"{where('route')}: route = {{ topic = \"...\", decoder = \"...\" }}")
    return meta, route


def _line_of_key(text: str, key: str, start: int, end: int | None) -> int:
    """The line, counted from 1, where ``key =`` is written between two headers (the header's own if not found)."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    lines = text.splitlines()
    for i in range(start, end - 1 if end else len(lines)):
        if pattern.match(lines[i]):
            return i + 1
    return max(start, 1)


def path_of(meters: str, origin: str, config_file: str | None) -> Path:
    """The registry's path: as given on the command line or in the environment; from a settings file,
    relative to that file's folder, so ``meters = "meters.toml"`` names the file beside it wherever ingest
    runs from."""
    path = Path(meters).expanduser()
    if not path.is_absolute() and origin.startswith("file ") and config_file:
        return Path(config_file).parent / path
    return path


class RegistryFile:
    """The registry file as ingest keeps it: read at start, re-read when its size or time changes.

    ``poll`` is called from the collector thread with the monotonic clock; it
    returns the new registry when one was read, else ``None``. A start with a
    broken file is refused (``load``); a later break is logged once per
    version of the file, counted in ``errors``, and the good registry stays.
    """

    def __init__(self, path: str | os.PathLike, site: str):
        self.path = Path(path)
        self.site = site
        self.current = EMPTY
        self.errors = 0
        self.error: str | None = None  # what is wrong with the file on disk now; None when it is in force
        self._seen: tuple | None = None
        self._checked_at: float | None = None

    def load(self) -> Registry:
        """At start: the registry, or ``UserError`` (a missing or broken file stops the start in one line)."""
        self._seen = self._stat()
        if self._seen is None:
            raise UserError(f"meter registry {self.path} does not exist (the meters setting names it)")
        self.current = parse(self._read(), str(self.path), self.site)
        return self.current

    def poll(self, now_s: float) -> Registry | None:
        if self._checked_at is not None and now_s - self._checked_at < CHECK_EVERY_S:
            return None
        self._checked_at = now_s
        seen = self._stat()
        if seen == self._seen:
            return None
        self._seen = seen
        try:
            if seen is None:
                raise UserError(f"meter registry {self.path} is gone; the meters it described keep what it said")
            registry = parse(self._read(), str(self.path), self.site)
        except UserError as exc:
            self.errors += 1
            self.error = str(exc)
            log.error("%s (the registry read before stays in force)", exc)
            return None
        self.error = None
        log.info("meter registry %s read again: %d meters", self.path, len(registry))
        self.current = registry
        return registry

    def _stat(self) -> tuple | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"meter registry {self.path}: cannot read it: {exc}") from None
