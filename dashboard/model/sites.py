"""The city's districts: each site's figures now and today, from the same meters and categories as the town's.

A site's power now is split into the categories of ``dashboard.categories``
meter by meter, exactly as the town's is, and the town's is the sum of the
sites' (``flows_by_site``), so the city's figures equal the sum of its
districts, which equal the sum of their meters. Nothing here queries the
store per site or per device: it reuses what the poll already read (the
newest values, the 1-minute rollups) and the sites' retained descriptions.

A site that published no description is still a district: of kind "town",
named by its id, at the plan's origin.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from dashboard.categories import LOADS, split
from dashboard.model.views import CityNow, DeviceNow, SiteNow
from expo.places import BuildingMeta, SiteMeta
from expo.store import Store

UNDESCRIBED_KIND = "town"


def descriptions(store: Store) -> tuple[dict[str, SiteMeta], dict[tuple[str, str], BuildingMeta]]:
    """Sites' descriptions by site and buildings' by (site, building)."""
    return {s.site: s for s in store.sites()}, {(b.site, b.building): b for b in store.buildings()}


def flows_by_site(devices: list[DeviceNow]) -> dict[str, dict[str, float]]:
    """site -> category -> W now, from every counted meter that is not offline."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for d in devices:
        if d.counted and d.power_w is not None and d.state != "offline":
            for category, w in split(d.kind, d.power_w):
                out[d.site][category] += w
    return {site: dict(flows) for site, flows in out.items()}


def town_flows(by_site: dict[str, dict[str, float]]) -> dict[str, float]:
    """The whole town's flows now: the sum of its sites'."""
    out: dict[str, float] = defaultdict(float)
    for flows in by_site.values():
        for category, w in flows.items():
            out[category] += w
    return dict(out)


def city_now(devices: list[DeviceNow], by_site: dict[str, dict[str, float]], described: dict[str, SiteMeta],
             today_wh: dict[str, tuple[float, float]], readings_today: int, readings_per_s: float,
             load_today_w: list, load_yesterday_w: list) -> CityNow:
    """``today_wh``: site -> (load, renewable) energy today, from ``MinuteRollups.site_today``."""
    meters, online = Counter(), Counter()
    for d in devices:
        meters[d.site] += 1
        if d.state == "live":
            online[d.site] += 1
    sites = []
    for site in sorted(set(described) | set(meters) | set(by_site) | set(today_wh)):
        meta = described.get(site)
        flows = by_site.get(site, {})
        load_wh, renewable_wh = today_wh.get(site, (0.0, 0.0))
        sites.append(SiteNow(
            site, meta.kind if meta else UNDESCRIBED_KIND, meta.name_en if meta else site,
            meta.name_zh if meta else site, meta.x_km if meta else 0.0, meta.y_km if meta else 0.0,
            meta.outline_km if meta else (),
            load_now_w=sum(flows.get(k, 0.0) for k in LOADS) if flows else None,
            solar_now_w=flows.get("pv", 0.0), wind_now_w=flows.get("wind", 0.0),
            grid_import_now_w=flows.get("grid_import", 0.0) - flows.get("grid_export", 0.0),
            load_today_wh=load_wh, renewable_today_wh=renewable_wh, meters=meters[site], meters_online=online[site],
        ))
    city = next((m for _, m in sorted(described.items()) if m.city_en or m.city_zh), None)
    return CityNow(city.city_en if city else "", city.city_zh if city else "", tuple(sites), readings_today,
                   readings_per_s, load_today_w, load_yesterday_w)
