"""The one reader of the store: a thread that polls once a second and publishes an immutable ``Snapshot``.

Pages never query the store; they read ``ExhibitModel.snapshot``. So the
store sees one reader however many screens watch, and a slow or unreachable
store never blocks a page: a failed poll keeps the last snapshot, marked with
the error, drops the connection and reopens it at the next poll, which then
reads today and yesterday again so the gap is filled.

The wall clock is injected (``clock``), so tests move time on instead of
sleeping; the poller's own pacing uses the monotonic clock.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from dashboard.model.building import ZeroEnergyBuilding, building_key
from dashboard.model.latest import LatestValues, ReplayDetector, devices_now
from dashboard.model.minutes import MinuteRollups
from dashboard.model.sites import city_now, descriptions, flows_by_site, town_flows
from dashboard.model.slots import local_midnight_s
from dashboard.model.views import ModelSettings, Snapshot, empty_snapshot
from expo.metadata import DeviceMeta
from expo.places import BuildingMeta, SiteMeta
from expo.store import Store, StoreUnavailable

log = logging.getLogger("expo.dashboard")

METADATA_EVERY_S = 30.0  # device metadata and site descriptions change rarely (a meter added); re-read this often
ENGINEER_EVERY_S = 5.0  # ingest counters and quarantine, for the engineer view
REJECTED_KEPT = 50


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
        self._metas: dict[tuple[str, str], DeviceMeta] = {}  # by (site, device)
        self._sites: dict[str, SiteMeta] = {}
        self._buildings: dict[tuple[str, str], BuildingMeta] = {}
        self._metas_at = -math.inf
        self._zeb: tuple[str, str] | None = None
        self._latest = LatestValues()
        self._replay = ReplayDetector(settings.live_s)
        self._minutes = MinuteRollups()
        self._building = ZeroEnergyBuilding(settings.timezone)
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

    @property
    def history_complete(self) -> bool:
        """Whether today and yesterday have been read in full since the last start, midnight or outage."""
        return self._minutes.complete

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
        self._minutes.invalidate()  # refetch today and yesterday when the store is back: fills the gap
        self._latest.forget_window()
        if self._store is not None:
            try:
                self._store.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too; it is dropped anyway
                pass
            self._store = None
        self.snapshot = Snapshot(**{**old.__dict__, "store_ok": False, "store_error": error, "taken_s": self.clock()})

    def _build(self, store: Store) -> Snapshot:
        s = self.settings
        wall = self.clock()
        if wall - self._metas_at > METADATA_EVERY_S or not self._metas:
            self._metas = {(m.site, m.device): m for m in store.devices()}
            self._sites, self._buildings = descriptions(store)
            self._metas_at = wall
        latest = self._latest.read(store, wall)
        newest = self._latest.newest_s
        replay_speed = self._replay.track(wall, newest)
        clock = newest if (replay_speed and newest) else wall
        day_start = local_midnight_s(clock, s.timezone)
        zeb = building_key(self._metas, list(self._buildings.values()))
        if zeb != self._zeb:  # found another (its description arrived): its minutes are read again from the store
            self._minutes.invalidate()
            self._zeb = zeb
        self._minutes.sync(store, clock, day_start, self._metas, zeb, replaying=bool(replay_speed))
        devices = devices_now(self._metas, latest, clock, s)
        by_site = flows_by_site(devices)
        flows_now = town_flows(by_site)
        curve, flows_today = self._minutes.curves(day_start)
        yesterday = self._minutes.total_load(day_start - 86400)
        readings_today = self._minutes.readings_since(day_start)
        building = self._building.now(store, zeb, devices, self._metas, self._minutes.building, day_start, clock,
                                      self._buildings.get(zeb) if zeb else None)
        city = city_now(devices, by_site, self._sites, self._minutes.site_today(day_start), readings_today,
                        self._minutes.readings_per_s(clock), self._minutes.total_load(day_start), yesterday)
        if wall - self._engineer_at >= ENGINEER_EVERY_S:
            self._engineer = (store.health(), tuple(store.rejected(REJECTED_KEPT)))
            self._engineer_at = wall
        self._version += 1
        return Snapshot(
            self._version, wall, clock, day_start, s.timezone, True, "", newest, replay_speed,
            tuple(devices), flows_now, flows_today, curve, yesterday, readings_today, building,
            s.co2_kg_per_kwh, s.live_s, *self._engineer, city=city,
        )
