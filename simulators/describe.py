"""The site's and its buildings' retained descriptions (``expo.places``), from the simulated site.

Why here: the simulator knows what it simulates — which site is a port,
where a district lies on the city plan, which building is the zero-energy
one — so it says so, and no consumer has to guess it from the meters.
Buildings are every ``building`` a device names: the zero-energy building,
each shop, office and plant (its own meter), each home with rooftop PV.
"""

from __future__ import annotations

from expo.places import BuildingMeta, SiteMeta
from expo.topics import MessageType, site_topic, topic
from simulators.site import Site

# The kind of a building named after one of its meters, by that meter's kind.
_BUILDING_KIND = {"household": "residential", "commercial": "commercial", "process_load": "industrial"}


def site_meta(site: Site) -> SiteMeta:
    spec, place, climate = site.scenario.site, site.scenario.district, site.scenario.climate
    globe = dict(latitude_deg=climate.latitude_deg, longitude_deg=climate.longitude_deg)  # where its sun is
    if place is None:
        return SiteMeta(site.site_id, spec.kind, spec.name_en, spec.name_zh, timezone=spec.timezone, **globe)
    return SiteMeta(site.site_id, spec.kind, spec.name_en, spec.name_zh, place.x_km, place.y_km, place.outline_km,
                    spec.timezone, place.city_en, place.city_zh, **globe)


def building_metas(site: Site) -> list[BuildingMeta]:
    by_device = {m.device: m for m in site.metas}
    zeb = site.scenario.building
    out, seen = [], set()
    for m in site.metas:
        b = m.building
        if b is None or b in seen:
            continue
        seen.add(b)
        if zeb is not None and b == zeb.id:
            grid = by_device.get(f"{b}-grid", m)
            out.append(BuildingMeta(site.site_id, b, "office", zeb.name_en, zeb.name_zh, "zero_energy", grid.x_m,
                                    grid.y_m))
            continue
        own = by_device.get(b, m)
        kind = _BUILDING_KIND.get(own.kind, "mixed")
        if own.kind == "commercial" and own.device.startswith("office"):
            kind = "office"
        out.append(BuildingMeta(site.site_id, b, kind, own.name_en, own.name_zh, "ordinary", own.x_m, own.y_m))
    return out


def description_messages(site: Site) -> list[tuple[str, str]]:
    """(topic, payload) of the site's description, then each building's; all to be published retained."""
    messages = [(site_topic(site.site_id), site_meta(site).to_json())]
    messages += [(topic(b.site, b.building, MessageType.BUILDING), b.to_json()) for b in building_metas(site)]
    return messages
