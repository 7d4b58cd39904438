"""Each site's totals, kept as the readings of one derived device per site (``expo.places.TOTALS_DEVICE``).

Why: a city is eight sites and 20,000 meters. A reader that wants a site's
figures (the dashboard, every tick) takes one series per site instead of
every meter's, and because the totals are ordinary readings the store keeps
them like any other: newest values, rollups, the spool, the retention. Ingest
keeps them because it sees every reading anyway; summing here costs a pass
over a site's meters every ``INTERVAL_S`` of data time, where a reader would
pay for all of them on every poll.

No clock: a site's "now" is the newest reading timestamp seen for it. When it
passes a multiple of ``INTERVAL_S`` (from at or below it to beyond it) the
totals at that multiple are made from what is known then: every reading of
the site up to that instant, not yet the one that passed it. A stream whose
steps fall on the multiples therefore gives the totals of exactly one step's
meters, one step late, at the step's own instant whatever the step (a
backfill's 5 minutes too); a stream that jumps over several multiples gives
one totals reading, at the first of them (the latest instant what is known
describes). A replay or a test decides the time by what it sends.

What is summed is ``expo.categories``: each counted meter (the edge of the
site's device tree, and its top grid connection) split by category, with its
newest power, if that is at most ``WINDOW_S`` older than the totals' instant
(a meter silent for longer is not guessed at).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

from expo.categories import CATEGORIES, categories_of, counted_kind
from expo.kinds import KINDS
from expo.metadata import DeviceMeta
from expo.places import TOTALS_DEVICE
from expo.reading import Reading

INTERVAL_S = 10.0
WINDOW_S = 120.0  # a meter's newest power older than this is left out of the sums
LIVE_S = 30.0  # a meter whose newest reading is at most this old is live (meters_live_count)
KIND = "site_totals"
_METRIC = {key: c.metric for key, c in CATEGORIES.items()}


def totals_meta(site: str) -> DeviceMeta:
    """The description of a site's totals device, as ingest stores it once per site."""
    spec = KINDS[KIND]
    return DeviceMeta(site, TOTALS_DEVICE, KIND, spec.label_en, spec.label_zh, source="derived")


@dataclass(slots=True)
class _Site:
    newest_s: float = -math.inf
    power: dict[str, tuple[float, float]] = field(default_factory=dict)  # device -> (ts_s, power_w), newest
    kinds: dict[str, str] = field(default_factory=dict)  # device -> kind, from its meta
    parents: dict[str, str | None] = field(default_factory=dict)  # device -> its parent's id, from its meta
    # (device, metric at or above zero, metric below zero or None) of the counted meters; None: the tree changed
    counted: list[tuple[str, str, str | None]] | None = None
    readings: int = 0  # accepted since the last totals reading


class SiteTotals:
    def __init__(self, interval_s: float = INTERVAL_S, window_s: float = WINDOW_S, live_s: float = LIVE_S):
        self.interval_s = interval_s
        self.window_s = window_s
        self.live_s = live_s
        self._sites: dict[str, _Site] = {}

    def _site(self, site: str) -> _Site:
        state = self._sites.get(site)
        if state is None:
            state = self._sites[site] = _Site()
        return state

    def meta(self, meta: DeviceMeta) -> None:
        """A device's description, new or changed: its place in the tree decides whether it is counted."""
        if meta.device == TOTALS_DEVICE:
            return
        state = self._site(meta.site)
        if state.kinds.get(meta.device) != meta.kind or state.parents.get(meta.device, "") != meta.parent:
            state.kinds[meta.device] = meta.kind
            state.parents[meta.device] = meta.parent
            state.counted = None

    def seed(self, readings: Iterable[Reading]) -> None:
        """The store's newest readings at start, so the first totals after a restart are not short.

        They set each site's data time too: totals already made before the restart are not made again."""
        for reading in readings:
            state = self._site(reading.site)
            state.newest_s = max(state.newest_s, reading.ts_s)
            if reading.device != TOTALS_DEVICE:
                self._remember(state, reading)

    def observe(self, reading: Reading) -> Reading | None:
        """Take one accepted reading; the site's totals reading when its data time passed a multiple."""
        state = self._site(reading.site)
        out = None
        ts_s = reading.ts_s
        if ts_s > state.newest_s:
            if state.newest_s > -math.inf:
                at_s = math.ceil(state.newest_s / self.interval_s) * self.interval_s  # the first not yet passed
                if at_s < ts_s:
                    out = self.totals(reading.site, at_s)
                    state.readings = 0
            state.newest_s = ts_s
        state.readings += 1
        self._remember(state, reading)
        return out

    def totals(self, site: str, at_s: float) -> Reading:
        """The site's totals at ``at_s`` from what is known now (see the module docstring)."""
        state = self._site(site)
        if state.counted is None:
            state.counted = self._counted(state)
        sums = dict.fromkeys(_METRIC.values(), 0.0)
        oldest_s = at_s - self.window_s
        power = state.power
        for device, into, out_of in state.counted:  # expo.categories.split, unrolled: this runs over every meter
            entry = power.get(device)
            if entry is None or entry[0] < oldest_s:
                continue
            watts = entry[1]
            if watts >= 0:
                sums[into] += watts
            elif out_of is not None:
                sums[out_of] -= watts
        live_s = at_s - self.live_s
        sums["meters_count"] = float(len(power))
        sums["meters_live_count"] = float(sum(1 for ts, _ in power.values() if ts >= live_s))
        sums["readings_count"] = float(state.readings)
        return Reading(site, TOTALS_DEVICE, at_s, sums)

    @staticmethod
    def _remember(state: _Site, reading: Reading) -> None:
        power_w = reading.metrics.get("power_w")
        if power_w is None:
            return
        previous = state.power.get(reading.device)
        if previous is None or reading.ts_s >= previous[0]:  # a late reading does not replace a newer one
            state.power[reading.device] = (reading.ts_s, power_w)

    @staticmethod
    def _counted(state: _Site) -> list[tuple[str, str, str | None]]:
        parents = {p for p in state.parents.values() if p is not None}
        counted = []
        for device, kind in state.kinds.items():
            if counted_kind(kind, device in parents, state.parents.get(device) is not None):
                into, out_of = categories_of(kind)
                counted.append((device, _METRIC[into], _METRIC[out_of] if out_of else None))
        return counted
