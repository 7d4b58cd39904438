"""What the exhibit shows, computed once per second from the store, for every screen at once.

One poller thread reads the store and publishes an immutable ``Snapshot``;
the page's callbacks only read the newest snapshot and send what changed.
So a refresh costs the server almost nothing however many screens watch, a
slow or unreachable store never blocks a page (it keeps the last snapshot,
marked with the error), and the store sees one reader, not one per tab.

Query cost stays flat as history grows: the poller reads the newest values
(bounded to the last day), then 1-minute rollups for a few minutes' window
(the last hour once a minute, today and yesterday only at start, at
midnight and after an outage, which fills the gap), and hourly rollups of
the zero-energy building for the year once every few minutes. Never raw
readings.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from expo.kinds import KINDS, Flow
from expo.metadata import DeviceMeta
from expo.reading import Reading
from expo.store import Store, StoreUnavailable
from dashboard.categories import CATEGORIES, LOADS, RENEWABLE, counted_kind, split

log = logging.getLogger("expo.dashboard")

SLOT_S = 300  # the load curve's resolution: 288 slots a day
SLOTS = 86400 // SLOT_S
LATEST_WINDOW_S = 86400  # devices silent for longer are not fetched at all (shown offline)
# Each poll asks only for the newest couple of minutes and merges them into what it holds, so its cost
# does not grow with the store (a day-wide look at 2,000 meters on InfluxDB took 0.4 s at one hour of
# history). A full look over the day, every few minutes and after an error, picks up readings that
# arrived late (a meter or a spool replaying) and lets go of devices gone silent for a day.
LATEST_OVERLAP_S = 120
LATEST_FULL_EVERY_S = 300
MINUTE_ROWS_PER_POLL = 150_000  # rollup rows a poll reads back while catching up on today and yesterday
ENGINEER_EVERY_S = 5.0  # ingest counters and quarantine, for the engineer view
REJECTED_KEPT = 50


@dataclass(frozen=True)
class ModelSettings:
    timezone: str = "Asia/Shanghai"
    co2_kg_per_kwh: float = 0.5703  # China's national grid average emission factor (MEE, 2023)
    live_s: float = 30.0  # newest reading younger than this: the badge says live
    stale_s: float = 120.0  # a device silent this long is stale
    offline_s: float = 900.0  # ... and this long, offline
    poll_s: float = 1.0


@dataclass(frozen=True)
class DeviceNow:
    site: str
    device: str
    kind: str
    name_en: str
    name_zh: str
    x_m: float
    y_m: float
    rated_w: float
    source: str  # simulated | meter
    building: str | None
    counted: bool  # part of the town's balance (a leaf meter, or the town's grid connection)
    power_w: float | None  # in the kind's own sign convention
    ts_s: float | None
    state: str  # live | stale | offline
    metrics: dict = field(default_factory=dict)

    @property
    def load_w(self) -> float | None:
        """Power in load convention: consumption positive, generation negative."""
        if self.power_w is None:
            return None
        return self.power_w * KINDS[self.kind].flow.load_sign if self.kind in KINDS else self.power_w


@dataclass(frozen=True)
class Building:
    id: str
    name_en: str
    name_zh: str
    generation_today: list  # W per slot, None where the day has not got to yet
    consumption_today: list
    generation_now_w: float
    consumption_now_w: float
    soc_pct: float | None
    produced_ytd_wh: float
    used_ytd_wh: float
    produced_today_wh: float
    used_today_wh: float


@dataclass(frozen=True)
class Snapshot:
    version: int  # advances with every successful poll
    taken_s: float  # wall clock of the poll
    clock_s: float  # the exhibit's "now": wall clock, or the data's clock while history is being replayed
    day_start_s: float
    timezone: str
    store_ok: bool
    store_error: str
    newest_ts_s: float | None
    replay_speed: float | None  # data time advancing faster than real time (an accelerated simulator)
    devices: tuple = ()
    flows_now_w: dict = field(default_factory=dict)
    flows_today_wh: dict = field(default_factory=dict)
    curve_today: dict = field(default_factory=dict)  # category -> W per slot (None: no data / future)
    curve_yesterday_w: list = field(default_factory=list)  # total load per slot
    readings_today: int = 0
    building: Building | None = None
    co2_kg_per_kwh: float = 0.5703
    live_s: float = 30.0
    health: dict = field(default_factory=dict)  # ingest's newest counters
    rejected: tuple = ()  # the newest quarantined messages, newest first

    @property
    def freshness(self) -> str:
        """live | replay | delayed | none: what the badge says."""
        if self.newest_ts_s is None:
            return "none"
        if self.replay_speed:
            return "replay"
        return "live" if self.taken_s - self.newest_ts_s <= self.live_s else "delayed"

    def local(self, t_s: float) -> datetime:
        return datetime.fromtimestamp(t_s, ZoneInfo(self.timezone))

    @property
    def load_now_w(self) -> float | None:
        """None when no meter is reporting now: the screen says "—", not a misleading 0 kW."""
        if not self.flows_now_w:
            return None
        return sum(self.flows_now_w.get(k, 0.0) for k in LOADS)

    @property
    def renewable_now_w(self) -> float | None:
        if not self.flows_now_w:
            return None
        return sum(self.flows_now_w.get(k, 0.0) for k in RENEWABLE)

    @property
    def renewable_share_now(self) -> float | None:
        load = self.load_now_w
        return min(1.0, self.renewable_now_w / load) if load else None

    @property
    def load_today_wh(self) -> float:
        return sum(self.flows_today_wh.get(k, 0.0) for k in LOADS)

    @property
    def renewable_today_wh(self) -> float:
        return sum(self.flows_today_wh.get(k, 0.0) for k in RENEWABLE)

    @property
    def renewable_share_today(self) -> float | None:
        load = self.load_today_wh
        return min(1.0, self.renewable_today_wh / load) if load > 0 else None

    @property
    def co2_avoided_today_kg(self) -> float:
        return self.renewable_today_wh / 1000.0 * self.co2_kg_per_kwh

    @property
    def meters_online(self) -> int:
        return sum(1 for d in self.devices if d.state == "live")


def empty_snapshot(settings: ModelSettings, error: str = "") -> Snapshot:
    now = time.time()
    return Snapshot(0, now, now, _day_start(now, settings.timezone), settings.timezone, not error, error, None, None,
                    co2_kg_per_kwh=settings.co2_kg_per_kwh, live_s=settings.live_s)


def _day_start(t_s: float, tz: str) -> float:
    local = datetime.fromtimestamp(t_s, ZoneInfo(tz))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def _year_start(t_s: float, tz: str) -> float:
    local = datetime.fromtimestamp(t_s, ZoneInfo(tz))
    return local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


class ExhibitModel:
    """Construct with a store, ``start()`` the poller, read ``snapshot``; ``poll()`` alone is for tests and benches."""

    def __init__(self, store_factory, settings: ModelSettings = ModelSettings()):
        self._store_factory = store_factory  # () -> Store; reopened after an error
        self._store: Store | None = None
        self.settings = settings
        ZoneInfo(settings.timezone)  # fail now, with the name, not in the poller
        self.snapshot: Snapshot = empty_snapshot(settings)
        self._metas: dict[str, DeviceMeta] = {}
        self._metas_at = -math.inf
        self._minutes: dict[int, dict[str, float]] = {}  # minute bucket (s) -> category -> W
        self._building_minutes: dict[int, tuple[float, float]] = {}  # minute -> (generation W, consumption W)
        self._counts: dict[int, int] = {}  # minute -> readings
        self._synced_day: float | None = None
        self._hour_synced_at = -math.inf
        self._unsynced: tuple[float, float] | None = None  # [from, to) of the two days still to read
        self._ytd: tuple[float, float] = (0.0, 0.0)
        self._ytd_at = -math.inf
        self._last_newest: tuple[float, float] | None = None  # (wall, newest ts) of the previous poll
        self._replay_speed: float | None = None
        self._newest_seen: float | None = None
        self._latest: dict[str, Reading] = {}  # device -> newest values, merged poll by poll
        self._latest_full_at = -math.inf
        self._engineer: tuple[dict, tuple] = ({}, ())
        self._engineer_at = -math.inf
        self._version = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="exhibit-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        if self._store is not None:
            self._store.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.poll()
            self._stop.wait(max(0.05, self.settings.poll_s - (time.monotonic() - started)))

    # -- polling -----------------------------------------------------------------------------------

    def poll(self) -> Snapshot:
        try:
            if self._store is None:
                self._store = self._store_factory()
            self.snapshot = self._build(self._store)
        except (StoreUnavailable, OSError) as exc:
            self._fail(f"{exc}")
        except Exception as exc:  # e.g. sqlite3.OperationalError on a locked or vanished file
            log.warning("store query failed: %s: %s", type(exc).__name__, exc)
            self._fail(f"{type(exc).__name__}: {exc}")
        return self.snapshot

    def _fail(self, error: str) -> None:
        old = self.snapshot
        self._synced_day = None  # refetch today and yesterday when the store is back: fills the gap
        self._latest_full_at = -math.inf
        if self._store is not None:
            try:
                self._store.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too; it is dropped anyway
                pass
            self._store = None
        self.snapshot = Snapshot(**{**old.__dict__, "store_ok": False, "store_error": error, "taken_s": time.time()})

    def _build(self, store: Store) -> Snapshot:
        s = self.settings
        wall = time.time()
        if wall - self._metas_at > 30 or not self._metas:
            self._metas = {m.device: m for m in store.devices()}
            self._metas_at = wall
        latest = self._latest_readings(store, wall)
        newest = max((r.ts_s for r in latest), default=None)
        if newest is not None:
            self._newest_seen = newest
        self._track_replay(wall, newest)
        clock = newest if (self._replay_speed and newest) else wall
        day_start = _day_start(clock, s.timezone)
        self._sync_minutes(store, clock, day_start)
        devices = self._devices_now(latest, clock)
        flows_now = defaultdict(float)
        for d in devices:
            if d.counted and d.power_w is not None and d.state != "offline":
                for category, w in split(d.kind, d.power_w):
                    flows_now[category] += w
        curve, flows_today = self._curves(day_start, clock)
        yesterday = self._total_load_slots(day_start - 86400)
        readings_today = sum(n for b, n in self._counts.items() if b >= day_start)
        building = self._building(store, devices, day_start, clock)
        if wall - self._engineer_at >= ENGINEER_EVERY_S:
            self._engineer = (store.health(), tuple(store.rejected(REJECTED_KEPT)))
            self._engineer_at = wall
        self._version += 1
        return Snapshot(
            self._version, wall, clock, day_start, s.timezone, True, "", newest, self._replay_speed,
            tuple(devices), dict(flows_now), flows_today, curve, yesterday, readings_today, building,
            s.co2_kg_per_kwh, s.live_s, *self._engineer,
        )

    def _latest_readings(self, store: Store, wall: float) -> list[Reading]:
        """The window hangs from the newest data seen, not the wall clock, so history being replayed (a
        week ago, say) is found too. Until some data has been seen, an empty window is followed by one
        unbounded look (cheap on an empty store; on one with only old data it finds the anchor)."""
        anchor = self._newest_seen or wall
        full = self._newest_seen is None or wall - self._latest_full_at >= LATEST_FULL_EVERY_S
        fresh = store.latest(since_s=anchor - (LATEST_WINDOW_S if full else LATEST_OVERLAP_S))
        if not fresh and self._newest_seen is None:
            fresh = store.latest()
        if full:
            self._latest = {}
            self._latest_full_at = wall
        for reading in fresh:
            held = self._latest.get(reading.device)
            if held is None:
                self._latest[reading.device] = reading
            elif reading.ts_s >= held.ts_s:  # a metric not in the short window keeps its newest value
                self._latest[reading.device] = Reading(reading.site, reading.device, reading.ts_s,
                                                       {**held.metrics, **reading.metrics})
        return list(self._latest.values())

    def _track_replay(self, wall: float, newest: float | None) -> None:
        """Data whose clock runs faster than the wall clock is history being replayed (an accelerated run)."""
        if newest is None:
            self._replay_speed = None
            return
        if self._last_newest is not None:
            wall_before, newest_before = self._last_newest
            if wall - wall_before >= 0.5:
                speed = (newest - newest_before) / (wall - wall_before)
                if speed > 2.0:
                    self._replay_speed = speed
                elif wall - newest <= self.settings.live_s or speed <= 0:
                    self._replay_speed = None
                self._last_newest = (wall, newest)
        else:
            self._last_newest = (wall, newest)

    def _devices_now(self, latest, clock: float) -> list[DeviceNow]:
        s = self.settings
        parents = {m.parent for m in self._metas.values() if m.parent}
        by_device = {r.device: r for r in latest}
        out = []
        for device in sorted(set(self._metas) | set(by_device)):
            meta = self._metas.get(device)
            reading = by_device.get(device)
            kind = meta.kind if meta else "meter"
            ts = reading.ts_s if reading else None
            age = clock - ts if ts is not None else math.inf
            state = "live" if age <= s.stale_s else ("stale" if age <= s.offline_s else "offline")
            power = reading.metrics.get("power_w") if reading else None
            out.append(DeviceNow(
                meta.site if meta else reading.site, device, kind,
                meta.name_en if meta else device, meta.name_zh if meta else device,
                meta.x_m if meta else 0.0, meta.y_m if meta else 0.0, meta.rated_power_w if meta else 0.0,
                meta.source if meta else "meter", meta.building if meta else None,
                counted_kind(kind, device in parents, bool(meta and meta.parent)),
                power, ts, state, dict(reading.metrics) if reading else {},
            ))
        return out

    # -- 1-minute rollups into per-category minutes ------------------------------------------------

    def _sync_minutes(self, store: Store, clock: float, day_start: float) -> None:
        """Keep today's and yesterday's minutes: the newest few each poll, the newest hour each minute,
        and, after a start, a midnight or an outage, the rest read back a chunk per poll, so no poll
        holds two days of 2,000 meters' rollups (5.8 million rows) at once."""
        oldest = day_start - 86400
        if self._synced_day != day_start:
            self._minutes.clear(), self._building_minutes.clear(), self._counts.clear()
            self._synced_day = day_start
            self._hour_synced_at = clock
            recent = clock - 300
            self._unsynced = (oldest, max(oldest, math.floor(recent / 60) * 60))
        elif clock - self._hour_synced_at >= 60:
            recent = clock - 3600
            self._hour_synced_at = clock
        else:
            recent = clock - 300
        self._read_minutes(store, max(oldest, math.floor(recent / 60) * 60), clock + 60)
        if self._unsynced is not None:
            low, high = self._unsynced
            chunk_s = max(300, 60 * (MINUTE_ROWS_PER_POLL // max(1, len(self._metas))))
            start = max(low, high - chunk_s)
            if start < high:
                self._read_minutes(store, start, high)
            self._unsynced = (low, start) if start > low else None
        for table in (self._minutes, self._building_minutes, self._counts):
            for bucket in [b for b in table if b < oldest]:
                del table[bucket]

    @property
    def history_complete(self) -> bool:
        """Whether today and yesterday have been read in full since the last start, midnight or outage."""
        return self._synced_day is not None and self._unsynced is None

    def _read_minutes(self, store: Store, start: float, end: float) -> None:
        """Replace the minutes in [start, end) with the store's 1-minute rollups, by category."""
        rows = store.rollups("1m", start, end, "power_w")
        parents = {m.parent for m in self._metas.values() if m.parent}
        building = self._building_id()
        fresh: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        fresh_building: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
        counts: dict[int, int] = defaultdict(int)
        for row in rows:
            bucket = int(row.bucket_s)
            counts[bucket] += row.count
            meta = self._metas.get(row.device)
            kind = meta.kind if meta else "meter"
            if counted_kind(kind, row.device in parents, bool(meta and meta.parent)):
                for category, w in split(kind, row.mean):
                    fresh[bucket][category] += w
                if building and meta and meta.building == building:
                    flow = KINDS[kind].flow
                    if flow is Flow.PRODUCES:
                        fresh_building[bucket][0] += max(row.mean, 0.0)
                    elif flow is Flow.CONSUMES:
                        fresh_building[bucket][1] += max(row.mean, 0.0)
        for table in (self._minutes, self._building_minutes, self._counts):
            for bucket in [b for b in table if start <= b < end]:
                del table[bucket]
        self._minutes.update({b: dict(v) for b, v in fresh.items()})
        self._building_minutes.update({b: tuple(v) for b, v in fresh_building.items()})
        self._counts.update(counts)

    def _slots(self, day_start: float, values_of) -> list:
        """Mean over the minutes present in each 5-minute slot of the day starting at ``day_start``."""
        sums = [0.0] * SLOTS
        ns = [0] * SLOTS
        for bucket in self._minutes.keys() | self._building_minutes.keys():
            slot = int((bucket - day_start) // SLOT_S)
            if 0 <= slot < SLOTS:
                value = values_of(bucket)
                if value is not None:
                    sums[slot] += value
                    ns[slot] += 1
        return [sums[i] / ns[i] if ns[i] else None for i in range(SLOTS)]

    def _curves(self, day_start: float, clock: float) -> tuple[dict, dict]:
        curve = {}
        flows_today: dict[str, float] = {}
        for key in CATEGORIES:
            curve[key] = self._slots(day_start, lambda b, k=key: self._minutes[b].get(k, 0.0) if b in self._minutes
                                     else None)
            flows_today[key] = sum(m.get(key, 0.0) for b, m in self._minutes.items() if b >= day_start) / 60.0
        return curve, flows_today

    def _total_load_slots(self, day_start: float) -> list:
        return self._slots(day_start, lambda b: sum(self._minutes[b].get(k, 0.0) for k in LOADS)
                           if b in self._minutes else None)

    # -- the zero-energy building ------------------------------------------------------------------

    def _building_id(self) -> str | None:
        """The building with its own generation and storage: the one with the most meters of its own."""
        members: dict[str, set] = defaultdict(set)
        for m in self._metas.values():
            if m.building:
                members[m.building].add(m.kind)
        candidates = [(len(kinds), b) for b, kinds in members.items() if "pv" in kinds and "battery" in kinds]
        return max(candidates)[1] if candidates else None

    def _building(self, store: Store, devices: list[DeviceNow], day_start: float, clock: float) -> Building | None:
        bid = self._building_id()
        if bid is None:
            return None
        mine = [d for d in devices if d.building == bid]
        grid = next((d for d in mine if d.kind == "grid_connection"), None)
        battery = next((d for d in mine if d.kind == "battery"), None)
        gen_now = sum(d.power_w or 0.0 for d in mine if d.kind in KINDS and KINDS[d.kind].flow is Flow.PRODUCES)
        use_now = sum(d.power_w or 0.0 for d in mine if d.kind in KINDS and KINDS[d.kind].flow is Flow.CONSUMES)
        if clock - self._ytd_at >= 300:
            self._ytd = self._year_to_date(store, [d.device for d in mine], clock)
            self._ytd_at = clock
        today = [v for b, v in self._building_minutes.items() if b >= day_start]
        name_en, name_zh = bid, bid
        if grid is not None:
            name_en, name_zh = grid.name_en.split(":")[0], grid.name_zh.split(" ")[0]
        return Building(
            bid, name_en, name_zh,
            self._building_slots(day_start, 0), self._building_slots(day_start, 1), gen_now, use_now,
            battery.metrics.get("soc_pct") if battery else None, self._ytd[0], self._ytd[1],
            sum(v[0] for v in today) / 60.0, sum(v[1] for v in today) / 60.0,
        )

    def _building_slots(self, day_start: float, index: int) -> list:
        sums = [0.0] * SLOTS
        ns = [0] * SLOTS
        for bucket, values in self._building_minutes.items():
            slot = int((bucket - day_start) // SLOT_S)
            if 0 <= slot < SLOTS:
                sums[slot] += values[index]
                ns[slot] += 1
        return [sums[i] / ns[i] if ns[i] else None for i in range(SLOTS)]

    def _year_to_date(self, store: Store, devices: list[str], clock: float) -> tuple[float, float]:
        """Energy made and used this year, from the meters' own counters: newest value less the first.

        Counters are exact where averaged power is not (an hour half-covered by
        data would count as a whole one); a counter is monotonic (ingest
        continues it across meter resets), so its smallest value in the year is
        its first.
        """
        if not devices:
            return 0.0, 0.0
        first: dict[str, float] = {}
        last: dict[str, float] = {}
        for row in store.rollups("1h", _year_start(clock, self.settings.timezone), clock + 3600, "energy_wh", devices):
            first[row.device] = min(first.get(row.device, math.inf), row.min)
            last[row.device] = max(last.get(row.device, -math.inf), row.last)
        produced = used = 0.0
        for device in first:
            meta = self._metas.get(device)
            if meta is None or meta.kind not in KINDS:
                continue
            flow = KINDS[meta.kind].flow
            if flow is Flow.PRODUCES:
                produced += last[device] - first[device]
            elif flow is Flow.CONSUMES:
                used += last[device] - first[device]
        return produced, used


def slot_times(day_start_s: float, timezone: str) -> list[str]:
    """Local wall-clock labels of a day's slots, for the x axis (a day with a DST change keeps 288 slots)."""
    start = datetime.fromtimestamp(day_start_s, ZoneInfo(timezone)).replace(tzinfo=None)
    return [(start + timedelta(seconds=i * SLOT_S)).strftime("%Y-%m-%d %H:%M") for i in range(SLOTS)]
