"""Each meter's newest values, held between polls, and whether the data is history being replayed.

Each poll asks only for the newest couple of minutes and merges them into what
it holds, so its cost does not grow with the store (a day-wide look at 2,000
meters on InfluxDB took 0.4 s at one hour of history). A full look over the
day, every few minutes and after an error, picks up readings that arrived late
(a meter or a spool replaying) and lets go of devices gone silent for a day.
"""

from __future__ import annotations

import math

from dashboard.categories import counted_kind
from dashboard.model.views import DeviceNow, ModelSettings
from expo.metadata import DeviceMeta
from expo.reading import Reading
from expo.store import Store

LATEST_WINDOW_S = 86400  # devices silent for longer are not fetched at all (shown offline)
LATEST_OVERLAP_S = 120
LATEST_FULL_EVERY_S = 300
REPLAY_MIN_WALL_S = 0.5  # wall time between two looks at the data's clock before its speed is judged
REPLAY_SPEED = 2.0  # data advancing faster than this many seconds per second is a replay


class LatestValues:
    """The newest reading per device, (site, device), merged look by look.

    ``site`` and ``devices`` narrow every look (one district's meters; the sites' totals devices), so the
    poll reads only what it shows, never a city's 20,000 meters."""

    def __init__(self, site: str | None = None, devices: list[str] | None = None):
        self._narrow = {**({"site": site} if site is not None else {}), **({"devices": devices} if devices else {})}
        self.newest_s: float | None = None  # the newest reading held after the last look
        self.newest_seen_s: float | None = None  # ... and after the last look that held any
        self._held: dict[tuple[str, str], Reading] = {}
        self._full_at = -math.inf

    def forget_window(self) -> None:
        """The next look is a full one (after an error, when the short window may have missed readings)."""
        self._full_at = -math.inf

    def read(self, store: Store, wall: float) -> list[Reading]:
        """The window hangs from the newest data seen, not the wall clock, so history being replayed (a
        week ago, say) is found too. Until some data has been seen, an empty window is followed by one
        unbounded look (cheap on an empty store; on one with only old data it finds the anchor)."""
        anchor = self.newest_seen_s or wall
        full = self.newest_seen_s is None or wall - self._full_at >= LATEST_FULL_EVERY_S
        fresh = store.latest(since_s=anchor - (LATEST_WINDOW_S if full else LATEST_OVERLAP_S), **self._narrow)
        if not fresh and self.newest_seen_s is None:
            fresh = store.latest(**self._narrow)
        if full:
            self._held = {}
            self._full_at = wall
        for reading in fresh:
            key = (reading.site, reading.device)
            held = self._held.get(key)
            if held is None:
                self._held[key] = reading
            elif reading.ts_s >= held.ts_s:  # a metric not in the short window keeps its newest value
                self._held[key] = Reading(reading.site, reading.device, reading.ts_s,
                                          {**held.metrics, **reading.metrics})
        latest = list(self._held.values())
        self.newest_s = max((r.ts_s for r in latest), default=None)
        if self.newest_s is not None:
            self.newest_seen_s = self.newest_s
        return latest


class ReplayDetector:
    """Data whose clock runs faster than the wall clock is history being replayed (an accelerated run)."""

    def __init__(self, live_s: float):
        self.live_s = live_s
        self.speed: float | None = None
        self._last: tuple[float, float] | None = None  # (wall, newest ts) of the previous judgement

    def track(self, wall: float, newest: float | None) -> float | None:
        if newest is None:
            self.speed = None
            return None
        if self._last is None:
            self._last = (wall, newest)
            return self.speed
        wall_before, newest_before = self._last
        if wall - wall_before >= REPLAY_MIN_WALL_S:
            speed = (newest - newest_before) / (wall - wall_before)
            if speed > REPLAY_SPEED:
                self.speed = speed
            elif wall - newest <= self.live_s or speed <= 0:
                self.speed = None
            self._last = (wall, newest)
        return self.speed


def devices_now(metas: dict[tuple[str, str], DeviceMeta], latest: list[Reading], clock: float,
                settings: ModelSettings, told: dict | None = None) -> list[DeviceNow]:
    """Every device known by its metadata or its readings, with its state judged on the exhibit's clock.

    A device is (site, device) and its parent is in its own site: two sites' ``home-01`` are two devices.
    ``told``: (site, device) -> ``expo.store.DeviceState``, what meters said of themselves (a last will). A
    meter that said it is offline, and has sent no reading since, is offline at once, since then: not live
    for the two minutes and stale for the quarter of an hour its silence alone would take."""
    told = told or {}
    parents = parent_keys(metas)
    by_device = {(r.site, r.device): r for r in latest}
    out = []
    for key in sorted(set(metas) | set(by_device)):
        site, device = key
        meta = metas.get(key)
        reading = by_device.get(key)
        kind = meta.kind if meta else "meter"
        ts = reading.ts_s if reading else None
        age = clock - ts if ts is not None else math.inf
        state = "live" if age <= settings.stale_s else ("stale" if age <= settings.offline_s else "offline")
        said = told.get(key)
        offline_since = None
        if said is not None and said.state == "offline" and (ts is None or said.since_s >= ts):
            state, offline_since = "offline", said.since_s
        power = reading.metrics.get("power_w") if reading else None
        out.append(DeviceNow(
            site, device, kind,
            meta.name_en if meta else device, meta.name_zh if meta else device,
            meta.x_m if meta else 0.0, meta.y_m if meta else 0.0, meta.rated_power_w if meta else 0.0,
            meta.source if meta else "meter", meta.building if meta else None,
            counted_kind(kind, key in parents, bool(meta and meta.parent)),
            power, ts, state, dict(reading.metrics) if reading else {}, offline_since, meta.parent if meta else None,
        ))
    return out


def parent_keys(metas: dict[tuple[str, str], DeviceMeta]) -> set[tuple[str, str]]:
    """(site, device) of every device some other device hangs below: a parent is in its child's site."""
    return {(m.site, m.parent) for m in metas.values() if m.parent}
