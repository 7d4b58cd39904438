"""What a page reads: the immutable snapshot a poll publishes, and the figures a visitor sees derived from it.

Everything here is a frozen value, so a callback can read the newest snapshot
while the poller builds the next one without a lock, and a figure shown on
screen is always computed from one moment's data. The headline KPIs are
properties, not stored fields, so a scene cannot show a clean share that
disagrees with the flows it is drawn next to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from dashboard.categories import LOADS, RENEWABLE
from dashboard.model.slots import local_midnight_s
from expo.kinds import KINDS


@dataclass(frozen=True)
class ModelSettings:
    timezone: str = "Asia/Shanghai"
    co2_kg_per_kwh: float = 0.5703  # China's national grid average emission factor (MEE, 2023)
    live_s: float = 30.0  # newest reading younger than this: the badge says live
    stale_s: float = 120.0  # a device silent this long is stale
    offline_s: float = 900.0  # ... and this long, offline
    poll_s: float = 1.0
    home_site: str | None = None  # the town the town scenes show; None: the zero-energy building's (or the only) site


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
    offline_since_s: float | None = None  # offline by its own word (a last will), since then
    parent: str | None = None  # the device it hangs below, in its own site (a feeder, a building's grid meter)

    @property
    def key(self) -> str:
        """``site/device``: what a scene uses as a point's id or in an address (a device id alone is not unique)."""
        return f"{self.site}/{self.device}"

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
    site: str = ""  # a building is (site, building): two districts may both have a "zeb"
    described: bool = False  # found by its retained description (role zero_energy), not guessed from its meters
    balance: object = None  # model.balance.Balance: its parts' power now, and whether they add up


@dataclass(frozen=True)
class SiteNow:
    """One district of the city, as the big-data centre shows it: where it is and what it does now and today."""

    site: str
    kind: str  # expo.places.SITE_KINDS; "town" for a site that published no description
    name_en: str
    name_zh: str
    x_km: float
    y_km: float
    outline_km: tuple = ()  # ((x, y), ...) on the city plan; () when not described
    load_now_w: float | None = None  # consumption now, W (None: nothing reporting)
    solar_now_w: float = 0.0
    wind_now_w: float = 0.0
    grid_import_now_w: float = 0.0  # what the site draws from the grid now (negative: exporting)
    load_today_wh: float = 0.0
    renewable_today_wh: float = 0.0
    meters: int = 0
    meters_online: int = 0

    @property
    def renewable_share_today(self) -> float | None:
        return min(1.0, self.renewable_today_wh / self.load_today_wh) if self.load_today_wh > 0 else None

    def co2_avoided_today_kg(self, co2_kg_per_kwh: float) -> float:
        return self.renewable_today_wh / 1000.0 * co2_kg_per_kwh


@dataclass(frozen=True)
class CityNow:
    """The whole city: its districts, and the figures that are the sum of theirs (never computed apart)."""

    name_en: str
    name_zh: str
    sites: tuple = ()  # SiteNow, by site id
    readings_today: int = 0
    readings_per_s: float = 0.0  # readings stored per second lately
    load_today_w: list = field(default_factory=list)  # city load per slot today (None: not yet)
    load_yesterday_w: list = field(default_factory=list)

    @property
    def load_now_w(self) -> float | None:
        loads = [s.load_now_w for s in self.sites if s.load_now_w is not None]
        return sum(loads) if loads else None

    @property
    def load_today_wh(self) -> float:
        return sum(s.load_today_wh for s in self.sites)

    @property
    def renewable_today_wh(self) -> float:
        return sum(s.renewable_today_wh for s in self.sites)

    @property
    def renewable_share_today(self) -> float | None:
        load = self.load_today_wh
        return min(1.0, self.renewable_today_wh / load) if load > 0 else None

    @property
    def meters(self) -> int:
        return sum(s.meters for s in self.sites)

    @property
    def meters_online(self) -> int:
        return sum(s.meters_online for s in self.sites)


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
    city: CityNow | None = None  # every site's figures (the big-data centre); None before the first poll
    # The town-level fields above (flows, curves, readings_today, building) are this site's alone: the town of
    # the story building -> town -> city. None before the first poll or with no site known.
    home_site: str | None = None
    watched: tuple = ()  # the sites whose devices are in ``devices``: the home site and those being watched
    ingest: tuple = ()  # each ingest process's newest counters and when it wrote them (expo.store.ProcessHealth)
    # meters that announced themselves, each with whether a meta places it (on the plan, under a parent or in a
    # building) and the device ids its readings carry: (expo.store.Discovered, placed, ids); and the newest
    # survey of topics no route takes (TopicSeen)
    discovered: tuple = ()
    topics_seen: tuple = ()
    whatif: object = None  # the home site's what-if in force (expo.whatif.WhatIfSpan), as the store has it
    alarms: tuple = ()  # what needs an engineer, and since when (model.alarms.Alarm), most urgent first
    forecast: object = None  # the rest of today (model.forecast.Forecast) for the home site; None: none yet
    forecast_score: object = None  # the morning's forecast against what happened (model.forecast.ForecastScore)

    @property
    def provenance(self) -> str | None:
        """"simulated" or "mixed" (simulated beside real meters) when a simulator made any of what is shown, None
        for real meters only or nothing yet: the top bar says so, so simulated data is never passed off as real."""
        sources = {d.source for d in self.devices}
        if "simulated" not in sources:
            return None
        return "mixed" if sources - {"simulated"} else "simulated"

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


def empty_snapshot(settings: ModelSettings, now_s: float, error: str = "") -> Snapshot:
    """What a page shows before the first poll: no data, and the badge says it is waiting."""
    return Snapshot(0, now_s, now_s, local_midnight_s(now_s, settings.timezone), settings.timezone, not error, error,
                    None, None, co2_kg_per_kwh=settings.co2_kg_per_kwh, live_s=settings.live_s)
