"""Today's and yesterday's 1-minute rollups of one site's meters, by category, kept in step with the store poll by poll.

A poll reads the newest few minutes (the newest hour once a minute, which
picks up minutes completed late); after a start, a midnight or an outage the
rest of the two days is read back a chunk per poll, newest first, so no poll
holds two days of 2,000 meters' rollups (5.8 million rows) at once and the
screen fills from now backwards. Every read comes in queries of at most
``ROWS_PER_QUERY`` rows, summed as they arrive, so the memory a poll needs at
once does not grow with the town or the window.

A read again (after an outage, say) replaces what is held window by window
and clears nothing first: the day's figures never fall while the two days
are read back (a cleared table made "readings today" drop to a few minutes'
worth and climb back over minutes at city scale). ``MinuteSchedule`` decides
which windows a poll reads; it is shared with the sites' totals
(``dashboard.model.totals``).
"""

from __future__ import annotations

import math
from collections import defaultdict

from dashboard.categories import CATEGORIES, LOADS, RENEWABLE, counted_kind, split
from dashboard.model.latest import parent_keys
from dashboard.model.slots import slot_means
from expo.kinds import KINDS, Flow
from expo.metadata import DeviceMeta
from expo.places import TOTALS_DEVICE
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


class MinuteSchedule:
    """Which windows of the two days a poll reads: the newest minutes every few seconds, the newest hour once
    a minute, and after a start, a midnight or an outage the rest of the two days, a chunk per poll, newest
    first."""

    def __init__(self):
        self._synced_day: float | None = None
        self._hour_synced_at = -math.inf
        self._recent_synced_at = -math.inf
        self._unsynced: tuple[float, float] | None = None  # [from, to) of the two days still to read

    @property
    def complete(self) -> bool:
        """Whether today and yesterday have been read in full since the last start, midnight or outage."""
        return self._synced_day is not None and self._unsynced is None

    def invalidate(self) -> None:
        """Read today and yesterday again, from the newest minutes back: after an outage that fills the gap."""
        self._synced_day = None

    def due(self, clock: float, day_start: float, rows_per_minute: int, replaying: bool) -> list[tuple[float, float]]:
        """The [start, end) windows to read now; ``rows_per_minute``: the rows a minute of them holds."""
        oldest = day_start - 86400
        recent_s = RECENT_S if replaying else LIVE_RECENT_S
        if self._synced_day != day_start:
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
        out = []
        if recent is not None:
            out.append((max(oldest, math.floor(recent / 60) * 60), clock + 60))
            self._recent_synced_at = clock
        if self._unsynced is not None:
            low, high = self._unsynced
            chunk_s = max(300, 60 * (MINUTE_ROWS_PER_POLL // max(1, rows_per_minute)))
            start = max(low, high - chunk_s)
            if start < high:
                out.append((start, high))
            self._unsynced = (low, start) if start > low else None
        return out


def prune(tables, day_start: float) -> None:
    """Let go of the minutes before yesterday, and of those days ahead (the exhibit's clock moved back: a
    replay of last week started after live data)."""
    oldest, ahead = day_start - 86400, day_start + 2 * 86400
    for table in tables:
        for bucket in [b for b in table if b < oldest or b >= ahead]:
            del table[bucket]


def replace(table: dict, start: float, end: float, fresh: dict) -> None:
    """The buckets in [start, end) become ``fresh``'s: what the store holds now for that window."""
    for bucket in [b for b in table if start <= b < end]:
        del table[bucket]
    table.update(fresh)


class MinuteRollups:
    """One site's minutes (every site's with ``site=None``, as a store of one town): minute bucket (s) -> W by
    category, the zero-energy building's (generation, use) and readings counted."""

    def __init__(self, site: str | None = None):
        self.site = site
        self.minutes: dict[int, dict[str, float]] = {}
        self.building: dict[int, tuple[float, float]] = {}
        self.counts: dict[int, int] = {}
        self.schedule = MinuteSchedule()

    @property
    def complete(self) -> bool:
        return self.schedule.complete

    def invalidate(self, building: bool = False) -> None:
        """Read the two days again (``building``: another building is the zero-energy one, so its minutes so far
        are another's and go at once)."""
        self.schedule.invalidate()
        if building:
            self.building.clear()

    def curves(self, day_start: float) -> tuple[dict[str, list], dict[str, float]]:
        """Each category's 5-minute curve of the day, and its energy so far (Wh)."""
        curve, flows_today = {}, {}
        for key in CATEGORIES:
            curve[key] = slot_means(((b, m.get(key, 0.0)) for b, m in self.minutes.items()), day_start)
            flows_today[key] = sum(m.get(key, 0.0) for b, m in self.minutes.items() if b >= day_start) / 60.0
        return curve, flows_today

    def total_load(self, day_start: float) -> list:
        """The site's whole consumption per slot of the day (yesterday's dashed line)."""
        return slot_means(self.load_minutes(), day_start)

    def load_minutes(self) -> list[tuple[int, float]]:
        """(minute bucket, consumption W) of every minute held."""
        return [(b, sum(m.get(k, 0.0) for k in LOADS)) for b, m in self.minutes.items()]

    def renewable_minutes(self) -> list[tuple[int, float]]:
        return [(b, sum(m.get(k, 0.0) for k in RENEWABLE)) for b, m in self.minutes.items()]

    def readings_since(self, start_s: float) -> int:
        return sum(n for b, n in self.counts.items() if b >= start_s)

    def sync(self, store: Store, clock: float, day_start: float, metas: dict[tuple[str, str], DeviceMeta],
             building: tuple[str, str] | None, replaying: bool = False) -> None:
        """``metas`` by (site, device); ``building``: (site, building) of the zero-energy building."""
        for start, end in self.schedule.due(clock, day_start, len(metas), replaying):
            self._read(store, start, end, metas, building)
        prune((self.minutes, self.building, self.counts), day_start)

    def _read(self, store: Store, start: float, end: float, metas: dict[tuple[str, str], DeviceMeta],
              building: tuple[str, str] | None) -> None:
        """Replace the minutes in [start, end) with the store's 1-minute rollups, by category.

        Read in windows of at most ``ROWS_PER_QUERY`` rows: the rows are summed into a few dicts as they
        come, so what a poll holds at once is one window's rows, not the hour's (docs/reliability.md)."""
        parents = parent_keys(metas)
        fresh: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        fresh_building: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
        counts: dict[int, int] = defaultdict(int)
        window_s = 60 * max(1, ROWS_PER_QUERY // max(1, len(metas)))
        narrow = {"site": self.site} if self.site is not None else {}
        low = start
        while low < end:
            high = min(end, low + window_s)
            self._add(store.rollups("1m", low, high, "power_w", **narrow), metas, parents, building, fresh,
                      fresh_building, counts)
            low = high
        replace(self.minutes, start, end, {b: dict(v) for b, v in fresh.items()})
        replace(self.building, start, end, {b: tuple(v) for b, v in fresh_building.items()})
        replace(self.counts, start, end, dict(counts))

    @staticmethod
    def _add(rows, metas, parents, building, fresh, fresh_building, counts) -> None:
        for row in rows:
            if row.device == TOTALS_DEVICE:  # the site's own totals: not a meter, and counted in no sum
                continue
            bucket = int(row.bucket_s)
            counts[bucket] += row.count
            key = (row.site, row.device)
            meta = metas.get(key)
            kind = meta.kind if meta else "meter"
            if counted_kind(kind, key in parents, bool(meta and meta.parent)):
                for category, w in split(kind, row.mean):
                    fresh[bucket][category] += w
                if building and meta and (meta.site, meta.building) == building:
                    flow = KINDS[kind].flow
                    if flow is Flow.PRODUCES:
                        fresh_building[bucket][0] += max(row.mean, 0.0)
                    elif flow is Flow.CONSUMES:
                        fresh_building[bucket][1] += max(row.mean, 0.0)


def readings_per_s(counts: dict[int, int], clock: float) -> float:
    """Readings stored per second over the newest complete minutes (the running one and the one before are
    left out: a store may not have written their rollups yet)."""
    end = math.floor(clock / 60) * 60 - 60
    start = end - RATE_MINUTES * 60
    present = [b for b in counts if start <= b < end]
    if not present:
        return 0.0
    return sum(counts[b] for b in present) / (end - min(present))
