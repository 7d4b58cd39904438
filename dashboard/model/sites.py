"""The city's districts (``CityNow``), and which site is the exhibit's home town.

A district's figures come from its totals device when it has one
(``dashboard.model.totals``: one series a site, kept by ingest), else from its
own meters, split into the categories of ``dashboard.categories`` meter by
meter exactly as the town's are (an older ingest that keeps no totals). The
city's figures are always the sum of its districts'.

The home site is the town of the story building -> town -> city: the one the
settings name, else the site of the building described as zero-energy, else
the only site there is; with several and no description, the site of the
building guessed from the meters (``dashboard.model.building``).

A site that published no description is still a district: of kind "town",
named by its id, at the plan's origin.
"""

from __future__ import annotations

from collections import defaultdict

from dashboard.categories import LOADS, split
from dashboard.model.building import ZERO_ENERGY, building_key
from dashboard.model.minutes import MinuteRollups
from dashboard.model.totals import TotalsMinutes
from dashboard.model.views import CityNow, DeviceNow, SiteNow
from expo.metadata import DeviceMeta
from expo.places import BuildingMeta, SiteMeta
from expo.store import Store

UNDESCRIBED_KIND = "town"


def descriptions(store: Store) -> tuple[dict[str, SiteMeta], dict[tuple[str, str], BuildingMeta]]:
    """Sites' descriptions by site and buildings' by (site, building)."""
    return {s.site: s for s in store.sites()}, {(b.site, b.building): b for b in store.buildings()}


def told_home(configured: str | None, buildings: dict[tuple[str, str], BuildingMeta], known: set[str]) -> str | None:
    """The home site where the settings or the descriptions say it, or the only site; None: guess it."""
    if configured:
        return configured
    zero_energy = sorted(k for k, b in buildings.items() if b.role == ZERO_ENERGY)
    if zero_energy:
        return zero_energy[0][0]
    return next(iter(known)) if len(known) == 1 else None


def guessed_home(metas: dict[tuple[str, str], DeviceMeta], known: set[str]) -> str | None:
    """Several sites, none described as home: the site of the building that looks zero-energy, else the first."""
    zeb = building_key(metas, [])
    return zeb[0] if zeb else min(known, default=None)


def flows_by_site(devices: list[DeviceNow]) -> dict[str, dict[str, float]]:
    """site -> category -> W now, from every counted meter that is not offline."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for d in devices:
        if d.counted and d.power_w is not None and d.state != "offline":
            for category, w in split(d.kind, d.power_w):
                out[d.site][category] += w
    return {site: dict(flows) for site, flows in out.items()}


def placed(site: str, meta: SiteMeta | None) -> dict:
    """A district's kind, names and place on the plan: its description's, or its id's at the origin."""
    if meta is None:
        return {"kind": UNDESCRIBED_KIND, "name_en": site, "name_zh": site, "x_km": 0.0, "y_km": 0.0,
                "outline_km": ()}
    return {"kind": meta.kind, "name_en": meta.name_en, "name_zh": meta.name_zh, "x_km": meta.x_km,
            "y_km": meta.y_km, "outline_km": meta.outline_km}


def site_from_devices(site: str, meta: SiteMeta | None, devices: list[DeviceNow], flows: dict[str, float] | None,
                      today_wh: tuple[float, float]) -> SiteNow:
    """A district summed from its own meters: ``devices`` are its devices, ``flows`` its ``flows_by_site``."""
    return SiteNow(
        site, **placed(site, meta),
        load_now_w=sum(flows.get(k, 0.0) for k in LOADS) if flows else None,
        solar_now_w=(flows or {}).get("pv", 0.0), wind_now_w=(flows or {}).get("wind", 0.0),
        grid_import_now_w=(flows or {}).get("grid_import", 0.0) - (flows or {}).get("grid_export", 0.0),
        load_today_wh=today_wh[0], renewable_today_wh=today_wh[1],
        meters=len(devices), meters_online=sum(1 for d in devices if d.state == "live"),
    )


def minutes_today_wh(minutes: MinuteRollups | None, day_start: float) -> tuple[float, float]:
    """(load, renewable) energy of one site's meters since ``day_start`` (Wh)."""
    if minutes is None:
        return 0.0, 0.0
    load = sum(w for b, w in minutes.load_minutes() if b >= day_start) / 60.0
    renewable = sum(w for b, w in minutes.renewable_minutes() if b >= day_start) / 60.0
    return load, renewable


def city_minutes(totals: TotalsMinutes, by_meters: dict[str, MinuteRollups],
                 with_totals: set[str]) -> tuple[dict[int, float], dict[int, int]]:
    """The city's load (W) and readings taken in, minute by minute: each site's from its totals, or from its
    meters where it keeps none, so every district is counted once."""
    load: dict[int, float] = defaultdict(float)
    counts: dict[int, int] = defaultdict(int)
    for bucket, by_site in totals.sites.items():
        for site, (load_w, _) in by_site.items():
            if site in with_totals:
                load[bucket] += load_w
    for bucket, by_site in totals.counts.items():
        for site, n in by_site.items():
            if site in with_totals:
                counts[bucket] += n
    for site, minutes in by_meters.items():
        if site not in with_totals:
            for bucket, load_w in minutes.load_minutes():
                load[bucket] += load_w
            for bucket, n in minutes.counts.items():
                counts[bucket] += n
    return dict(load), dict(counts)


def city_now(described: dict[str, SiteMeta], sites: list[SiteNow], readings_today: int, readings_per_s: float,
             load_today_w: list, load_yesterday_w: list) -> CityNow:
    city = next((m for _, m in sorted(described.items()) if m.city_en or m.city_zh), None)
    return CityNow(city.city_en if city else "", city.city_zh if city else "",
                   tuple(sorted(sites, key=lambda s: s.site)), readings_today, readings_per_s, load_today_w,
                   load_yesterday_w)
