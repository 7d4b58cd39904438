"""Today's forecast: the rest of the day's sun and use, and how well the morning's forecast did.

The sun is physics (``physics.pv_forecast``): the same chain the simulated
arrays follow, run forward from now with the weather station's cloud cover
held, scaled to the site's arrays by their rated power and a factor learnt
from what they made over the two days held (haze, tilt, shading). A site
whose description gives no latitude and longitude gets yesterday's sun.

Use is history, the meters' own: each slot the mean of the same slot
yesterday and on the same weekday last week, levelled by how today's last two
hours compare with theirs (a hotter day, a busier one). History for real and
simulated meters alike: a simulated home's kettles are random draws the
dashboard cannot know, and yesterday's town holds its habits and its
weather's pull on them. With no history yet the use of the last half hour is
held (persistence), and says so.

The forecast made first at or after 08:00 (local) is kept for the day, and the
engineer view shows its mean absolute error against what happened since.
Held in memory: a dashboard restarted in the day keeps its first forecast
after the start instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from expo.categories import CATEGORIES, LOADS
from dashboard.model.slots import SLOT_S, SLOTS, local_midnight_s, slot_means
from expo.places import TOTALS_DEVICE
from physics.pv_forecast import ac_per_rated_w, calibration

FORECAST_EVERY_S = 60.0  # a slot is five minutes: once a minute is ahead of anything the screen can show
HISTORY_EVERY_S = 600.0  # the weather station's cover of the two days, re-read this often
MORNING_HOUR = 8  # the day's forecast to score is the first made at or after this local hour
LEVEL_S = 7200  # today against the history over this long before now
LEVEL_BOUNDS = (0.6, 1.6)  # a level outside this is a day history does not describe: held at the bound
PERSIST_SLOTS = 6  # no history: the mean of the last half hour, held
DAYLIGHT_W_PER_W = 0.05  # model output (W per rated W) above which a minute teaches the calibration
DEFAULT_CALIBRATION = 0.85  # before any daylight is seen: the simulator's hazy North China sky (physics.weather)
DEFAULT_TEMP_C = 15.0
# The cover held is the last hour's mean, not the newest minute's: a passing cloud at the moment of forecasting
# would otherwise be held for the rest of the day (measured on simulated weeks: the week's error fell by a
# fifth to a third against the newest minute's cover)
COVER_MEAN_S = 3600.0
COVER_METRIC, TEMP_METRIC = "cloud_cover_pct", "temperature_c"
BASES = ("physics", "history", "persistence", "none")  # how a line was made (the engineer view names each)


@dataclass(frozen=True)
class Forecast:
    """Per slot of the day, W; None before the slot it was made in (what has happened is measured, not
    forecast) and where nothing could be said."""

    made_s: float
    day_start_s: float
    load_w: tuple
    solar_w: tuple
    building_use_w: tuple = ()
    building_solar_w: tuple = ()
    cover: float | None = None  # the cloud cover held (0..1, the last hour's mean); None: no weather station
    solar_basis: str = "none"  # physics | history | none
    load_basis: str = "none"  # history | persistence | none

    @property
    def from_slot(self) -> int:
        return int((self.made_s - self.day_start_s) // SLOT_S)


@dataclass(frozen=True)
class ForecastScore:
    """The kept morning forecast against what happened in the slots since it was made."""

    made_s: float
    slots: int  # complete slots compared
    solar_mae_w: float | None
    load_mae_w: float | None
    solar_rated_w: float  # what the solar error is a share of: the arrays' rated power
    load_peak_w: float  # ... and the use's: the day's highest slot so far


# the pure parts ----------------------------------------------------------------------------------------------


def slot_centres(day_start: float) -> np.ndarray:
    return day_start + SLOT_S * (np.arange(SLOTS) + 0.5)


def solar_slots(day_start: float, from_slot: int, rated_w: float, latitude: float, longitude: float, cover: float,
                temp_c: float, factor: float) -> list:
    """The arrays' output per slot from ``from_slot`` on, under ``cover`` held."""
    per_w = ac_per_rated_w(slot_centres(day_start), latitude, longitude, cover, temp_c)
    return [None if i < from_slot else round(float(rated_w * factor * per_w[i]), 1) for i in range(SLOTS)]


def learnt_factor(observed: dict, covers: dict, rated_w: float, latitude: float, longitude: float,
                  temp_c: float, spans=()) -> float | None:
    """What the arrays made (minute bucket -> W) against the model under each minute's cover (0 where the
    station said nothing: the factor then also holds the days' mean cloudiness). A minute inside a what-if
    (``spans``: expo.whatif.WhatIfSpan) teaches nothing: a visitor's cloud or twice the PV is not the arrays."""
    observed = {b: w for b, w in observed.items() if not any(s.covers(b) or s.covers(b + 59.999) for s in spans)}
    if rated_w <= 0 or not observed:
        return None
    buckets = np.array(sorted(observed), dtype=np.float64)
    cover = np.array([covers.get(int(b), 0.0) for b in buckets])
    modelled = rated_w * ac_per_rated_w(buckets + 30.0, latitude, longitude, cover, temp_c)
    return calibration([observed[int(b)] for b in buckets], modelled, DAYLIGHT_W_PER_W * rated_w)


def from_history(references: list[list], today: list, now_slot: int) -> tuple[list, str]:
    """Each slot from ``now_slot`` on: the mean of the references present there, levelled by today's last
    ``LEVEL_S`` against theirs; with none, the last half hour held."""
    mean = []
    for i in range(SLOTS):
        present = [r[i] for r in references if i < len(r) and r[i] is not None]
        mean.append(sum(present) / len(present) if present else None)
    if any(v is not None for v in mean[now_slot:]):
        lo = max(0, now_slot - LEVEL_S // SLOT_S)
        pairs = [(today[i], mean[i]) for i in range(lo, now_slot)
                 if i < len(today) and today[i] is not None and mean[i] is not None]
        seen, expected = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
        level = min(max(seen / expected, LEVEL_BOUNDS[0]), LEVEL_BOUNDS[1]) if expected > 0 else 1.0
        return [None if i < now_slot or mean[i] is None else round(mean[i] * level, 1) for i in range(SLOTS)], \
            "history"
    recent = [v for v in today[max(0, now_slot - PERSIST_SLOTS):now_slot + 1] if v is not None]
    if not recent:
        return [None] * SLOTS, "none"
    held = round(sum(recent) / len(recent), 1)
    return [None if i < now_slot else held for i in range(SLOTS)], "persistence"


def mean_abs_error(forecast: tuple | list, actual: list, start: int, end: int) -> tuple[float | None, int]:
    """(mean |forecast - actual| over the slots [start, end) where both are known, how many there were)."""
    pairs = [(forecast[i], actual[i]) for i in range(max(0, start), min(end, len(forecast), len(actual)))
             if forecast[i] is not None and actual[i] is not None]
    if not pairs:
        return None, 0
    return sum(abs(f - a) for f, a in pairs) / len(pairs), len(pairs)


def total_use(curve: dict) -> list:
    """The site's use per slot from its curves by category (None where none is known)."""
    out = []
    for i in range(SLOTS):
        column = [curve[k][i] for k in LOADS if k in curve and i < len(curve[k]) and curve[k][i] is not None]
        out.append(sum(column) if column else None)
    return out


# the reader --------------------------------------------------------------------------------------------------


class Forecaster:
    """Held by the model: makes the forecast once a minute from what the poll already holds, reads the two
    things it does not (the station's cover, last week's use) now and then, and keeps the morning's."""

    def __init__(self, timezone: str):
        self.timezone = timezone
        self._made_at = -math.inf
        self._current: Forecast | None = None
        self._morning: Forecast | None = None
        self._covers: dict[int, float] = {}
        self._covers_at = -math.inf
        self._last_week: tuple[float, list] | None = None  # (day start it is for, use per slot)
        self._spans: tuple = ()  # the home site's what-ifs of the two days, read with each forecast

    def update(self, store, clock: float, day_start: float, site, devices: list, curve: dict, yesterday_use: list,
               minutes, building, building_key) -> tuple[Forecast | None, ForecastScore | None]:
        """``site``: the home site's description (SiteMeta or None); ``devices``: its meters now; ``curve``:
        today's curves by category; ``minutes``: its MinuteRollups (the two days by minute); ``building``:
        the zero-energy building now (model.views.Building or None) and ``building_key`` its (site, id)."""
        if self._morning is not None and self._morning.day_start_s != day_start:
            self._morning = None
        if clock - self._made_at >= FORECAST_EVERY_S or clock < self._made_at or (
                self._current is not None and self._current.day_start_s != day_start):
            self._made_at = clock
            self._current = self._make(store, clock, day_start, site, devices, curve, yesterday_use, minutes,
                                       building, building_key)
            if self._morning is None and self._current is not None and clock >= day_start + MORNING_HOUR * 3600:
                self._morning = self._current  # the first at or after 08:00; after a later start, the first made
        return self._current, self._score(clock, curve, building, devices)

    def _make(self, store, clock, day_start, site, devices, curve, yesterday_use, minutes, building, key):
        if minutes is None or site is None and not devices:
            return None
        now_slot = int((clock - day_start) // SLOT_S)
        home = site.site if site is not None else devices[0].site
        station = [d for d in devices if d.kind == "weather_station" and d.state != "offline"]
        cover = _mean_metric(station, COVER_METRIC)
        cover = None if cover is None else min(max(cover / 100.0, 0.0), 1.0)
        temp = _mean_metric(station, TEMP_METRIC)
        temp = DEFAULT_TEMP_C if temp is None else temp
        if station and clock - self._covers_at >= HISTORY_EVERY_S:
            self._covers = _covers(store, home, [d.device for d in station], day_start - 86400, clock + 60)
            self._covers_at = clock
        if cover is not None:
            lately = [c for b, c in self._covers.items() if b >= clock - COVER_MEAN_S] + [cover]
            cover = sum(lately) / len(lately)
        spans = getattr(store, "whatifs", None)
        self._spans = tuple(spans(home, since_s=day_start - 86400)) if spans is not None else ()
        arrays = [d for d in devices if d.kind == "pv" and d.counted]
        use, load_basis = from_history([yesterday_use, self._week_ago(store, home, day_start)], total_use(curve),
                                       now_slot)
        solar, solar_basis = self._sun(day_start, now_slot, site, arrays, cover, temp,
                                       {b: m.get("pv", 0.0) for b, m in minutes.minutes.items()}, curve.get("pv"),
                                       _yesterday(minutes.minutes, day_start, lambda m: m.get("pv")))
        b_use, b_solar = (), ()
        if building is not None and key is not None:
            mine = [d for d in arrays if d.building == key[1]] if arrays else []
            b_use, _ = from_history([_yesterday(minutes.building, day_start, lambda v: v[1])],
                                    list(building.consumption_today), now_slot)
            b_solar, _ = self._sun(day_start, now_slot, site, mine, cover, temp,
                                   {b: v[0] for b, v in minutes.building.items()}, list(building.generation_today),
                                   _yesterday(minutes.building, day_start, lambda v: v[0]))
        return Forecast(clock, day_start, tuple(use), tuple(solar), tuple(b_use), tuple(b_solar), cover,
                        solar_basis, load_basis)

    def _sun(self, day_start, now_slot, site, arrays, cover, temp, observed, today, yesterday) -> tuple[list, str]:
        rated = sum(d.rated_w for d in arrays)
        located = site is not None and site.latitude_deg is not None and site.longitude_deg is not None
        if located and rated > 0:
            factor = learnt_factor(observed, self._covers if cover is not None else {}, rated, site.latitude_deg,
                                   site.longitude_deg, temp, self._spans) or DEFAULT_CALIBRATION
            return solar_slots(day_start, now_slot, rated, site.latitude_deg, site.longitude_deg,
                               0.0 if cover is None else cover, temp, factor), "physics"
        if any(v is not None for v in yesterday):  # nowhere on the globe: yesterday's sun again
            return [None if i < now_slot or yesterday[i] is None else round(yesterday[i], 1)
                    for i in range(SLOTS)], "history"
        return [None] * SLOTS, "none"

    def _week_ago(self, store, site: str, day_start: float) -> list:
        """The site's use a week before today, per slot, from its totals' hourly rollups (read once a day)."""
        if self._last_week is not None and self._last_week[0] == day_start:
            return self._last_week[1]
        start = local_midnight_s(day_start - 7 * 86400 + 43200, self.timezone)
        hourly: dict[int, float] = {}
        for category in LOADS:
            for row in store.rollups("1h", start, start + 86400, CATEGORIES[category].metric, [TOTALS_DEVICE],
                                     site=site):
                hourly[int(row.bucket_s)] = hourly.get(int(row.bucket_s), 0.0) + row.mean
        per_slot = [None] * SLOTS
        for bucket, w in hourly.items():
            first = int((bucket - start) // SLOT_S)
            for i in range(max(0, first), min(SLOTS, first + 3600 // SLOT_S)):
                per_slot[i] = w
        self._last_week = (day_start, per_slot)
        return per_slot

    def _score(self, clock: float, curve: dict, building, devices) -> ForecastScore | None:
        kept = self._morning
        if kept is None:
            return None
        now_slot = int((clock - kept.day_start_s) // SLOT_S)
        actual_use = total_use(curve)
        solar_mae, n_solar = mean_abs_error(kept.solar_w, curve.get("pv", []), kept.from_slot, now_slot)
        load_mae, n_load = mean_abs_error(kept.load_w, actual_use, kept.from_slot, now_slot)
        peak = max((v for v in actual_use if v is not None), default=0.0)
        rated = sum(d.rated_w for d in devices if d.kind == "pv" and d.counted)
        return ForecastScore(kept.made_s, max(n_solar, n_load), solar_mae, load_mae, rated, peak)


def _mean_metric(devices: list, metric: str) -> float | None:
    values = [d.metrics[metric] for d in devices if isinstance(d.metrics.get(metric), (int, float))]
    return sum(values) / len(values) if values else None


def _covers(store, site: str, stations: list[str], start: float, end: float) -> dict[int, float]:
    """Minute bucket -> cloud cover (0..1), the stations' mean."""
    sums: dict[int, list[float]] = {}
    for row in store.rollups("1m", start, end, COVER_METRIC, stations, site=site):
        s = sums.setdefault(int(row.bucket_s), [0.0, 0])
        s[0] += row.mean
        s[1] += 1
    return {b: min(max(total / n / 100.0, 0.0), 1.0) for b, (total, n) in sums.items()}


def _yesterday(table: dict, day_start: float, pick) -> list:
    """Yesterday per slot from a minute table, ``pick`` choosing the value of a minute's row."""
    return slot_means(((b, v) for b, row in table.items() if (v := pick(row)) is not None), day_start - 86400)
