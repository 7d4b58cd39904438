"""The one reader of the store: a thread that polls once a second and publishes an immutable ``Snapshot``.

Pages never query the store; they read ``ExhibitModel.snapshot``. So the
store sees one reader however many screens watch, and a slow or unreachable
store never blocks a page: a failed poll keeps the last snapshot, marked with
the error, drops the connection and reopens it at the next poll, which then
reads today and yesterday again so the gap is filled.

What a poll reads is bounded by what is shown, not by the city: every site's
totals device (one series a site, ``dashboard.model.totals``), and the meters
of the home site (the town scenes, the building) and of the sites a visitor is
looking at (``watch``: a district tapped on the big-data map, for its town
plan), each narrowed by site. A site that keeps no totals (an older ingest) is
summed from its own meters as well.

The wall clock is injected (``clock``), so tests move time on instead of
sleeping; the poller's own pacing uses the monotonic clock.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from dashboard.model.alarms import AlarmWatch
from dashboard.model.building import ZeroEnergyBuilding, building_key
from dashboard.model.forecast import Forecaster
from dashboard.model.latest import LatestValues, ReplayDetector, devices_now
from dashboard.model.minutes import MinuteRollups, readings_per_s
from dashboard.model.sites import (city_minutes, city_now, descriptions, flows_by_site, guessed_home, minutes_today_wh,
                                   placed, site_from_devices, told_home)
from dashboard.model.slots import local_midnight_s, slot_means
from dashboard.model.totals import TotalsMinutes, site_from_totals
from dashboard.model.views import ModelSettings, Snapshot, empty_snapshot
from expo.metadata import DeviceMeta
from expo.places import TOTALS_DEVICE, BuildingMeta, SiteMeta
from expo.store import Store, StoreUnavailable

log = logging.getLogger("expo.dashboard")

METADATA_EVERY_S = 30.0  # device metadata and site descriptions change rarely (a meter added); re-read this often
# a what-if in force started within this on the data's clock (a fast simulator makes hours of a visitor's minute)
WHATIF_LOOKBACK_S = 86_400.0
WHATIF_GRACE_S = 5.0  # past its wall-clock end, a span still said to be in force is a simulator that went away
ENGINEER_EVERY_S = 5.0  # ingest counters and quarantine, for the engineer view
REJECTED_KEPT = 50
WATCH_S = 300.0  # a site's meters are read this long after a page last asked for them (``watch``)
WATCHED_MAX = 16  # sites watched at once at most: a page cannot make the poll read a whole city's meters

Key = tuple[str, str]


class ExhibitModel:
    """Construct with a store, ``start()`` the poller, read ``snapshot``; ``poll()`` alone is for tests and benches."""

    def __init__(self, store_factory: Callable[[], Store], settings: ModelSettings = ModelSettings(),
                 clock: Callable[[], float] = time.time):
        self._store_factory = store_factory  # () -> Store; reopened after an error
        self._store: Store | None = None
        self.settings = settings
        self.clock = clock  # wall-clock seconds since the epoch
        ZoneInfo(settings.timezone)  # fail now, with the name, not in the poller
        self.snapshot: Snapshot = empty_snapshot(settings, clock())
        self._sites: dict[str, SiteMeta] = {}
        self._buildings: dict[Key, BuildingMeta] = {}
        self._described_at = -math.inf
        self._metas: dict[str, dict[Key, DeviceMeta]] = {}  # site -> (site, device) -> meta, of the sites read
        self._metas_at: dict[str, float] = {}
        self._discovered: set[str] = set()  # sites found by their devices' metadata (no description, no totals)
        self._guessed_home: str | None = None
        self._zeb: Key | None = None
        self._latest: dict[str, LatestValues] = {}  # the meters of each site read device by device
        self._totals = LatestValues(devices=[TOTALS_DEVICE])  # every site's totals
        self._replay = ReplayDetector(settings.live_s)
        self._minutes: dict[str, MinuteRollups] = {}  # the home site's, and those of sites without totals
        self._totals_minutes = TotalsMinutes()
        self._building = ZeroEnergyBuilding(settings.timezone)
        self._forecaster = Forecaster(settings.timezone)
        self._engineer: tuple[dict, tuple] = ({}, ())
        self._ingest: tuple = ()  # each ingest process's newest counters (expo.store.ProcessHealth)
        self._states: dict = {}  # (site, device) -> expo.store.DeviceState: a meter's own word on its state
        self._states_at = -math.inf
        self._engineer_at = -math.inf
        self._found: tuple[tuple, tuple] = ((), ())
        self._alarms = AlarmWatch()
        self._alarms_said: tuple | None = None
        self.alarm_sink = None  # (alarms, home site), whenever the alarms change: the dashboard publishes them
        self._version = 0
        self._watching: dict[str, float] = {}  # site -> wall clock of the last ``watch``
        self._watch_lock = threading.Lock()
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

    @property
    def history_complete(self) -> bool:
        """Whether today and yesterday have been read in full since the last start, midnight or outage."""
        totals_done = self._totals_minutes.schedule.complete or self._totals.newest_seen_s is None  # none kept
        return self._version > 0 and totals_done and all(m.complete for m in self._minutes.values())

    def watch(self, site: str) -> None:
        """A page shows this site's meters (a district tapped on the map): read them for the next ``WATCH_S``.

        Called from any thread; the next poll reads them (``Snapshot.watched`` says when they are in)."""
        with self._watch_lock:
            self._watching[site] = self.clock()
            if len(self._watching) > WATCHED_MAX:  # the longest unasked goes first
                del self._watching[min(self._watching, key=self._watching.get)]

    def _watched(self, wall: float) -> set[str]:
        with self._watch_lock:
            for site in [s for s, at in self._watching.items() if wall - at > WATCH_S]:
                del self._watching[site]
            return set(self._watching)

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
        alarms = self._alarms.update(self.snapshot, self.clock(), self.settings.offline_s)
        self.snapshot = dataclasses.replace(self.snapshot, alarms=alarms)
        if self.alarm_sink is not None and alarms != self._alarms_said:
            self._alarms_said = alarms
            try:
                self.alarm_sink(alarms, self.snapshot.home_site)
            except Exception:  # noqa: BLE001 - telling other systems must never stop the screen
                log.exception("publishing the alarms failed")
        return self.snapshot

    def _fail(self, error: str) -> None:
        old = self.snapshot
        for minutes in (*self._minutes.values(), self._totals_minutes):
            minutes.invalidate()  # read today and yesterday again when the store is back: fills the gap
        for latest in (*self._latest.values(), self._totals):
            latest.forget_window()
        if self._store is not None:
            try:
                self._store.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too; it is dropped anyway
                pass
            self._store = None
        self.snapshot = Snapshot(**{**old.__dict__, "store_ok": False, "store_error": error, "taken_s": self.clock()})

    def _scope(self, store: Store, wall: float, with_totals: set[str]) -> tuple[str | None, list[str], set[str]]:
        """(home site, the sites whose meters are read, every site known) for this poll; reads descriptions
        and the metadata of the sites read (every few seconds, and at once for a site newly read)."""
        described = wall - self._described_at > METADATA_EVERY_S
        if described:
            self._sites, self._buildings = descriptions(store)
            self._described_at = wall
        known = set(self._sites) | with_totals | {site for site, _ in self._buildings}
        home = told_home(self.settings.home_site, self._buildings, known | self._discovered)
        if described and (not with_totals or home is None):
            # nothing keeps totals (an older ingest), or several sites and none said to be home: which sites
            # there are, and the building that looks zero-energy, from every device's metadata
            everything: dict[str, dict[Key, DeviceMeta]] = {}
            for m in store.devices():
                if m.device == TOTALS_DEVICE:  # the site's totals: not a meter
                    continue
                everything.setdefault(m.site, {})[(m.site, m.device)] = m
            self._discovered = set(everything) - with_totals
            self._metas.update(everything)
            self._metas_at.update(dict.fromkeys(everything, wall))
            self._guessed_home = guessed_home({k: m for ms in everything.values() for k, m in ms.items()},
                                              known | set(everything))
        known |= self._discovered
        home = told_home(self.settings.home_site, self._buildings, known) or self._guessed_home or min(known, default=None)
        shown = [s for s in sorted(self._watched(wall)) if s in known or s in self._metas]
        by_meters = list(dict.fromkeys(([home] if home else []) + shown + sorted(known - with_totals)))
        for site in by_meters:
            if wall - self._metas_at.get(site, -math.inf) > METADATA_EVERY_S:
                self._metas[site] = {(m.site, m.device): m for m in store.devices(site=site)
                                     if m.device != TOTALS_DEVICE}
                self._metas_at[site] = wall
        for gone in set(self._metas) - set(by_meters):  # no longer read: its meters are not held either
            self._metas.pop(gone), self._metas_at.pop(gone, None), self._latest.pop(gone, None)
            self._minutes.pop(gone, None)
        return home, by_meters, known | set(by_meters)

    def _build(self, store: Store) -> Snapshot:
        s = self.settings
        wall = self.clock()
        totals = {r.site: r for r in self._totals.read(store, wall)}
        home, by_meters, known = self._scope(store, wall, set(totals))
        shown = [site for site in by_meters if site == home or site in self._watched(wall)]
        latest = [r for site in by_meters
                  for r in self._latest.setdefault(site, LatestValues(site)).read(store, wall)
                  if r.device != TOTALS_DEVICE]
        newest = max((v.newest_s for v in (*self._latest.values(), self._totals) if v.newest_s is not None),
                     default=None)
        replay_speed = self._replay.track(wall, newest)
        clock = newest if (replay_speed and newest) else wall
        day_start = local_midnight_s(clock, s.timezone)
        metas = {k: m for site in by_meters for k, m in self._metas.get(site, {}).items()}
        home_metas = self._metas.get(home, {})
        zeb = building_key(home_metas, [b for k, b in self._buildings.items() if k[0] == home]) if home else None
        counted_apart = [site for site in by_meters if site == home or site not in totals]
        for site in counted_apart:
            minutes = self._minutes.setdefault(site, MinuteRollups(site))
            if site == home and zeb != self._zeb:  # found another (its description arrived): read it again
                minutes.invalidate(building=True)
                self._zeb = zeb
            minutes.sync(store, clock, day_start, self._metas.get(site, {}), zeb if site == home else None,
                         replaying=bool(replay_speed))
        for site in [site for site in self._minutes if site not in counted_apart]:
            del self._minutes[site]
        if totals:
            self._totals_minutes.sync(store, clock, day_start, len(totals), replaying=bool(replay_speed))
        if wall - self._states_at >= ENGINEER_EVERY_S:  # what meters said of themselves: a last will
            self._states = {(x.site, x.device): x for x in store.states()}
            self._states_at = wall
        devices = devices_now(metas, latest, clock, s, self._states)
        by_site = flows_by_site(devices)
        town = self._minutes.get(home) if home else None
        flows_now = by_site.get(home, {})
        curve, flows_today = town.curves(day_start) if town else ({}, {})
        yesterday = town.total_load(day_start - 86400) if town else []
        readings_today = town.readings_since(day_start) if town else 0
        building = self._building.now(store, zeb, devices, home_metas, town.building if town else {}, day_start,
                                      clock, self._buildings.get(zeb) if zeb else None)
        city = self._city(devices, by_site, totals, known, clock, day_start)
        forecast, score = self._forecast(store, clock, day_start, home, devices, curve, yesterday, town, building, zeb)
        if wall - self._engineer_at >= ENGINEER_EVERY_S:
            self._engineer = (store.health(), tuple(store.rejected(REJECTED_KEPT)))
            self._ingest = tuple(store.ingest_health())
            self._found = self._announced(store)
            self._engineer_at = wall
        self._version += 1
        return Snapshot(
            self._version, wall, clock, day_start, s.timezone, True, "", newest, replay_speed,
            tuple(d for d in devices if d.site in shown), flows_now, flows_today, curve, yesterday, readings_today,
            building, s.co2_kg_per_kwh, s.live_s, *self._engineer, city=city, home_site=home, watched=tuple(shown),
            ingest=self._ingest, discovered=self._found[0], topics_seen=self._found[1],
            whatif=self._whatif_in_force(store, home, clock, wall), forecast=forecast, forecast_score=score,
        )

    def _forecast(self, store, clock, day_start, home, devices, curve, yesterday, town, building, zeb):
        """The rest of today and the morning's score (``model.forecast``); a forecast that fails is logged and
        left out, never the reason a screen stops (a failed store read still fails the poll, as any other)."""
        if town is None:
            return None, None
        try:
            return self._forecaster.update(store, clock, day_start, self._sites.get(home),
                                           [d for d in devices if d.site == home], curve, yesterday, town, building,
                                           zeb)
        except (StoreUnavailable, OSError):
            raise
        except Exception:  # noqa: BLE001 - an extra for the visitor; the figures measured come first
            log.exception("the forecast failed; the scenes show none")
            return None, None

    def _whatif_in_force(self, store: Store, home: str | None, clock: float, wall: float):
        """The home site's what-if in force, by its span as stored: the screen says "what-if" only once the
        simulator's word has come back through ingest, like the readings it changed. A span whose wall-clock
        end has passed (its simulator gone without ending it) is not shown."""
        spans = getattr(store, "whatifs", None)
        if home is None or spans is None:
            return None
        live = [w for w in spans(home, since_s=clock - WHATIF_LOOKBACK_S)
                if w.in_force and w.ends_at_s > wall - WHATIF_GRACE_S]
        return max(live, key=lambda w: w.start_s, default=None)

    def _announced(self, store: Store) -> tuple[tuple, tuple]:
        """Meters that announced themselves, each with whether a meta places it and the ids its readings carry
        (the device's own, or its meters' inside it), and the newest topic survey
        (a backend of one's own may keep neither). A meter is placed when a meta of its device, or of a meter
        inside it (``<device>-...``: a Shelly's channels), puts it on the plan, under a parent or in a building."""
        found = tuple(getattr(store, "discovered", lambda: [])())
        surveyed = tuple(getattr(store, "topics_seen", lambda: [])())
        metas_of: dict[str, dict] = {}
        out = []
        for d in found:
            if d.site not in metas_of:
                metas_of[d.site] = self._metas.get(d.site) or {(m.site, m.device): m for m in store.devices(site=d.site)}
            inside = [m for (_, device), m in metas_of[d.site].items()
                      if d.device and (device == d.device or device.startswith(d.device + "-"))]
            placed = any(m.x_m or m.y_m or m.parent or m.building for m in inside)
            out.append((d, placed, tuple(sorted(m.device for m in inside))))
        return tuple(out), surveyed

    def _city(self, devices, by_site, totals, known, clock, day_start):
        """Every district from its totals, or from its meters where it keeps none; the city is their sum."""
        of_site: dict[str, list] = {}
        for d in devices:
            of_site.setdefault(d.site, []).append(d)
        sites = []
        for site in sorted(known):
            meta = self._sites.get(site)
            if site in totals:
                sites.append(site_from_totals(site, totals[site], self._totals_minutes.today_wh(site, day_start),
                                              clock, self.settings, placed(site, meta)))
            else:
                sites.append(site_from_devices(site, meta, of_site.get(site, []), by_site.get(site),
                                               minutes_today_wh(self._minutes.get(site), day_start)))
        load, counts = city_minutes(self._totals_minutes, self._minutes, set(totals))
        return city_now(self._sites, sites, sum(n for b, n in counts.items() if b >= day_start),
                        readings_per_s(counts, clock), slot_means(load.items(), day_start),
                        slot_means(load.items(), day_start - 86400))
