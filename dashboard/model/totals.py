"""Each site's figures from its totals device (``site-totals``, kept by ingest): a city for the price of a series a site.

Why: summing a city's 20,000 meters on every poll read and built 20,000
devices (2.5 s for the first poll). Ingest already sees every reading and
writes each site's category powers every 10 s of data time as the readings
of one derived device (docs/telemetry.md, "Site totals"); its 1-minute
rollups are kept like any device's. So a district's "now" is its newest
totals reading and its day is those rollups: energy is each minute's mean
power times the minute, per category, with the same ``LOADS`` and
``RENEWABLE`` lists as the town's, so on the same data the two agree to the
watt. A site without totals (an older ingest) is summed from its meters
instead (``dashboard.model.sites``).

"Now" follows the town's rule for a meter: a district whose totals are older
than ``offline_s`` has nothing reporting (its last power is not shown as
now), and its meters are online only while its totals are younger than
``stale_s``.
"""

from __future__ import annotations

from collections import defaultdict

from dashboard.categories import LOADS, RENEWABLE
from dashboard.model.minutes import ROWS_PER_QUERY, MinuteSchedule, prune, replace
from dashboard.model.views import ModelSettings, SiteNow
from expo.places import TOTALS_DEVICE
from expo.reading import Reading

READINGS = "readings_count"
_LOAD_METRICS = tuple(f"{k}_power_w" for k in LOADS)
_RENEWABLE_METRICS = tuple(f"{k}_power_w" for k in RENEWABLE)
METRICS = _LOAD_METRICS + _RENEWABLE_METRICS + (READINGS,)  # what the city's day needs; a query each


class TotalsMinutes:
    """Every site's totals minutes: bucket -> site -> (load W, renewable W), and readings taken in."""

    def __init__(self):
        self.sites: dict[int, dict[str, tuple[float, float]]] = {}
        self.counts: dict[int, dict[str, int]] = {}
        self.schedule = MinuteSchedule()

    def invalidate(self) -> None:
        self.schedule.invalidate()

    def sync(self, store, clock: float, day_start: float, n_sites: int, replaying: bool = False) -> None:
        """``n_sites``: how many sites keep totals (what a minute of each metric holds)."""
        for start, end in self.schedule.due(clock, day_start, max(1, n_sites) * len(METRICS), replaying):
            self._read(store, start, end, n_sites)
        prune((self.sites, self.counts), day_start)

    def _read(self, store, start: float, end: float, n_sites: int) -> None:
        """One query per metric and window, every site's totals device at once (no site is named)."""
        fresh: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
        counts: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        window_s = 60 * max(1, ROWS_PER_QUERY // max(1, n_sites))
        for metric in METRICS:
            low = start
            while low < end:
                high = min(end, low + window_s)
                for row in store.rollups("1m", low, high, metric, [TOTALS_DEVICE]):
                    bucket = int(row.bucket_s)
                    if metric == READINGS:
                        counts[bucket][row.site] += row.mean * row.count
                    else:
                        fresh[bucket][row.site][0 if metric in _LOAD_METRICS else 1] += row.mean
                low = high
        replace(self.sites, start, end, {b: {s: (v[0], v[1]) for s, v in by.items()} for b, by in fresh.items()})
        replace(self.counts, start, end, {b: {s: round(n) for s, n in by.items()} for b, by in counts.items()})

    def today_wh(self, site: str, day_start: float) -> tuple[float, float]:
        """The site's (load, renewable) energy since ``day_start`` (Wh): mean W of each minute times 1/60 h."""
        load = renewable = 0.0
        for bucket, by_site in self.sites.items():
            if bucket >= day_start and site in by_site:
                load += by_site[site][0] / 60.0
                renewable += by_site[site][1] / 60.0
        return load, renewable


def site_from_totals(site: str, reading: Reading, today_wh: tuple[float, float], clock: float,
                     settings: ModelSettings, placed: dict) -> SiteNow:
    """``placed``: the kind, name and place fields of the district's ``SiteNow`` (its description's or its id's)."""
    age_s = clock - reading.ts_s
    m = reading.metrics
    reporting = age_s <= settings.offline_s  # the town's rule: an offline meter's last power is not "now"

    def now(category: str) -> float:
        return m.get(f"{category}_power_w", 0.0) if reporting else 0.0

    return SiteNow(
        site, **placed,
        load_now_w=sum(now(k) for k in LOADS) if reporting else None,
        solar_now_w=now("pv"), wind_now_w=now("wind"),
        grid_import_now_w=now("grid_import") - now("grid_export"),
        load_today_wh=today_wh[0], renewable_today_wh=today_wh[1],
        meters=round(m.get("meters_count", 0.0)),
        meters_online=round(m.get("meters_live_count", 0.0)) if age_s <= settings.stale_s else 0,
    )
