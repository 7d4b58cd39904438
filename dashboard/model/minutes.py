"""Today's and yesterday's 1-minute rollups, by category, kept in step with the store poll by poll.

A poll reads the newest few minutes (the newest hour once a minute, which
picks up minutes completed late); after a start, a midnight or an outage the
rest of the two days is read back a chunk per poll, newest first, so no poll
holds two days of 2,000 meters' rollups (5.8 million rows) at once and the
screen fills from now backwards. Every read comes in queries of at most
``ROWS_PER_QUERY`` rows, summed as they arrive, so the memory a poll needs at
once does not grow with the town or the window.
"""

from __future__ import annotations

import math
from collections import defaultdict

from dashboard.categories import CATEGORIES, LOADS, RENEWABLE, counted_kind, split
from dashboard.model.latest import parent_keys
from dashboard.model.slots import slot_means
from expo.kinds import KINDS, Flow
from expo.metadata import DeviceMeta
from expo.store import Store

MINUTE_ROWS_PER_POLL = 150_000  # rollup rows a poll reads back while catching up on today and yesterday
# What every poll re-reads. Live, a store writes a minute's rollup within seconds of its end (InfluxDB: the
# running minute only once its meter has gone quiet; SQLite at once), so the newest two minutes and the
# running one cover it. History replayed faster than real time moves minutes on faster than that: five of them.
LIVE_RECENT_S = 120
RECENT_S = 300
HOUR_EVERY_S = 60  # how often a poll re-reads the newest hour instead
# Live, a poll re-reads the newest minutes at most this often. A store writes a minute's rollup a few times
# a minute at most, and the curves are 5-minute means: reading them every second was half of each poll's
# time on InfluxDB at 2,026 meters (115 ms under load) for the same answer nine times in ten. "Now" comes
# from the newest values, read every poll. A replay reads every poll: its minutes move faster.
RECENT_EVERY_S = 10.0
# Rollup rows one query may return. Python's allocator gives an arena back only when every object in it is
# gone: 121,560 rows at once (an hour of 2,026 meters) left arenas pinned by the few objects that outlived
# them, and the server's memory grew for as long as it ran (docs/reliability.md). At most one minute per
# query when the town has more meters than this.
ROWS_PER_QUERY = 10_000
RATE_MINUTES = 5  # readings per second: the mean of this many complete minutes
_LOADS, _RENEWABLE = frozenset(LOADS), frozenset(RENEWABLE)


class MinuteRollups:
    """minute bucket (s) -> W by category, each site's (load, renewable) W, the zero-energy building's
    (generation, use) and readings counted.

    The sites' minutes are summed from the same rows in the same pass as the town's, so the city's total is
    the sum of its districts by construction; two numbers per site and minute keep two days of a city of
    districts small."""

    def __init__(self):
        self.minutes: dict[int, dict[str, float]] = {}
        self.sites: dict[int, dict[str, tuple[float, float]]] = {}
        self.building: dict[int, tuple[float, float]] = {}
        self.counts: dict[int, int] = {}
        self._synced_day: float | None = None
        self._hour_synced_at = -math.inf
        self._recent_synced_at = -math.inf
        self._unsynced: tuple[float, float] | None = None  # [from, to) of the two days still to read

    @property
    def complete(self) -> bool:
        """Whether today and yesterday have been read in full since the last start, midnight or outage."""
        return self._synced_day is not None and self._unsynced is None

    def invalidate(self) -> None:
        """Read today and yesterday again at the next sync: after an outage that fills the gap."""
        self._synced_day = None

    def curves(self, day_start: float) -> tuple[dict[str, list], dict[str, float]]:
        """Each category's 5-minute curve of the day, and its energy so far (Wh)."""
        curve, flows_today = {}, {}
        for key in CATEGORIES:
            curve[key] = slot_means(((b, m.get(key, 0.0)) for b, m in self.minutes.items()), day_start)
            flows_today[key] = sum(m.get(key, 0.0) for b, m in self.minutes.items() if b >= day_start) / 60.0
        return curve, flows_today

    def total_load(self, day_start: float) -> list:
        """The town's whole consumption per slot of the day (yesterday's dashed line)."""
        return slot_means(((b, sum(m.get(k, 0.0) for k in LOADS)) for b, m in self.minutes.items()), day_start)

    def readings_since(self, start_s: float) -> int:
        return sum(n for b, n in self.counts.items() if b >= start_s)

    def readings_per_s(self, clock: float) -> float:
        """Readings stored per second over the newest complete minutes (the running one and the one before are
        left out: a store may not have written their rollups yet)."""
        end = math.floor(clock / 60) * 60 - 60
        start = end - RATE_MINUTES * 60
        present = [b for b in self.counts if start <= b < end]
        if not present:
            return 0.0
        return sum(self.counts[b] for b in present) / (end - min(present))

    def site_today(self, day_start: float) -> dict[str, tuple[float, float]]:
        """site -> (load, renewable) energy since ``day_start`` (Wh)."""
        out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for bucket, by_site in self.sites.items():
            if bucket >= day_start:
                for site, (load_w, renewable_w) in by_site.items():
                    out[site][0] += load_w / 60.0
                    out[site][1] += renewable_w / 60.0
        return {site: (v[0], v[1]) for site, v in out.items()}

    def sync(self, store: Store, clock: float, day_start: float, metas: dict[tuple[str, str], DeviceMeta],
             building: tuple[str, str] | None, replaying: bool = False) -> None:
        """``metas`` by (site, device); ``building``: (site, building) of the zero-energy building."""
        oldest = day_start - 86400
        recent_s = RECENT_S if replaying else LIVE_RECENT_S
        if self._synced_day != day_start:
            self.minutes.clear(), self.sites.clear(), self.building.clear(), self.counts.clear()
            self._synced_day = day_start
            self._hour_synced_at = clock
            recent = clock - recent_s
            self._unsynced = (oldest, max(oldest, math.floor(recent / 60) * 60))
        elif clock - self._hour_synced_at >= HOUR_EVERY_S:
            recent = clock - 3600
            self._hour_synced_at = clock
        elif replaying or clock - self._recent_synced_at >= RECENT_EVERY_S or clock < self._recent_synced_at:
            recent = clock - recent_s
        else:
            recent = None  # read a moment ago: nothing new this poll
        if recent is not None:
            self._read(store, max(oldest, math.floor(recent / 60) * 60), clock + 60, metas, building)
            self._recent_synced_at = clock
        if self._unsynced is not None:
            low, high = self._unsynced
            chunk_s = max(300, 60 * (MINUTE_ROWS_PER_POLL // max(1, len(metas))))
            start = max(low, high - chunk_s)
            if start < high:
                self._read(store, start, high, metas, building)
            self._unsynced = (low, start) if start > low else None
        for table in (self.minutes, self.sites, self.building, self.counts):
            for bucket in [b for b in table if b < oldest]:
                del table[bucket]

    def _read(self, store: Store, start: float, end: float, metas: dict[tuple[str, str], DeviceMeta],
              building: tuple[str, str] | None) -> None:
        """Replace the minutes in [start, end) with the store's 1-minute rollups, by category.

        Read in windows of at most ``ROWS_PER_QUERY`` rows: the rows are summed into a few dicts as they
        come, so what a poll holds at once is one window's rows, not the hour's (docs/reliability.md)."""
        parents = parent_keys(metas)
        fresh: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        fresh_sites: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
        fresh_building: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
        counts: dict[int, int] = defaultdict(int)
        window_s = 60 * max(1, ROWS_PER_QUERY // max(1, len(metas)))
        low = start
        while low < end:
            high = min(end, low + window_s)
            self._add(store.rollups("1m", low, high, "power_w"), metas, parents, building, fresh, fresh_sites,
                      fresh_building, counts)
            low = high
        for table in (self.minutes, self.sites, self.building, self.counts):
            for bucket in [b for b in table if start <= b < end]:
                del table[bucket]
        self.minutes.update({b: dict(v) for b, v in fresh.items()})
        self.sites.update({b: {site: (v[0], v[1]) for site, v in by_site.items()}
                           for b, by_site in fresh_sites.items()})
        self.building.update({b: tuple(v) for b, v in fresh_building.items()})
        self.counts.update(counts)

    @staticmethod
    def _add(rows, metas, parents, building, fresh, fresh_sites, fresh_building, counts) -> None:
        for row in rows:
            bucket = int(row.bucket_s)
            counts[bucket] += row.count
            key = (row.site, row.device)
            meta = metas.get(key)
            kind = meta.kind if meta else "meter"
            if counted_kind(kind, key in parents, bool(meta and meta.parent)):
                site = fresh_sites[bucket][row.site]
                for category, w in split(kind, row.mean):
                    fresh[bucket][category] += w
                    if category in _LOADS:
                        site[0] += w
                    elif category in _RENEWABLE:
                        site[1] += w
                if building and meta and (meta.site, meta.building) == building:
                    flow = KINDS[kind].flow
                    if flow is Flow.PRODUCES:
                        fresh_building[bucket][0] += max(row.mean, 0.0)
                    elif flow is Flow.CONSUMES:
                        fresh_building[bucket][1] += max(row.mean, 0.0)
