"""Site and building descriptions in InfluxDB: measurements ``site`` and ``building`` (docs/data-model.md);
and what-if spans (``whatif``), kept the same way: the contract's JSON in one field.

Kept like a device's metadata: written at the time it is stored (inside any
retention policy), the newest point is the description, and the writer
stores it again before a finite retention could age it out. The whole
description is one string field, its contract JSON: a field per part (names,
place, outline, time zone…) would be a dozen fields the server indexes and
caches, for something only ever read whole.
"""

from __future__ import annotations

from typing import Callable

from expo.places import BuildingMeta, SiteMeta
from expo.whatif import WhatIfSpan
from expo.store import REFUSED, Rejected
from expo.stores._influx.line_protocol import escape_tag, string_field
from expo.stores._influx.reads import quote_literal
from expo.stores._places import read_back

Query = Callable[[str], list[dict]]
FIELD = "description"


def site_line(m: SiteMeta, ts_ms: int) -> str:
    return f"site,site={escape_tag(m.site)} {FIELD}={string_field(m.to_json())} {ts_ms}"


def building_line(m: BuildingMeta, ts_ms: int) -> str:
    return (f"building,site={escape_tag(m.site)},building={escape_tag(m.building)} "
            f"{FIELD}={string_field(m.to_json())} {ts_ms}")


def place_line(m: SiteMeta | BuildingMeta, ts_ms: int) -> str:
    return site_line(m, ts_ms) if isinstance(m, SiteMeta) else building_line(m, ts_ms)


def refused_place(received_s: float, m: SiteMeta | BuildingMeta, detail: str) -> Rejected:
    """The quarantine entry of a description the store refused for good: its native topic and payload."""
    topic = f"expo/{m.site}/site" if isinstance(m, SiteMeta) else f"expo/{m.site}/{m.building}/building"
    return Rejected(received_s, topic, REFUSED, detail, m.to_json().encode())


def sites_stored(query: Query) -> list[tuple[SiteMeta, float]]:
    """Each site's newest description and when it was stored (epoch s), by site."""
    out = []
    for series in query(f'SELECT "{FIELD}" FROM "site" GROUP BY "site" ORDER BY time DESC LIMIT 1'):
        t, text = series["values"][0]
        meta = read_back(SiteMeta.from_payload, series["tags"]["site"], text)
        if meta is not None:
            out.append((meta, t / 1000))
    return sorted(out, key=lambda item: item[0].site)


def buildings_stored(query: Query, site: str | None = None) -> list[tuple[BuildingMeta, float]]:
    """Each building's newest description and when it was stored (epoch s), by (site, building)."""
    where = f' WHERE "site" = {quote_literal(site)}' if site else ""
    out = []
    for series in query(f'SELECT "{FIELD}" FROM "building"{where} GROUP BY "site", "building" '
                        "ORDER BY time DESC LIMIT 1"):
        t, text = series["values"][0]
        meta = read_back(BuildingMeta.from_payload, series["tags"]["site"], series["tags"]["building"], text)
        if meta is not None:
            out.append((meta, t / 1000))
    return sorted(out, key=lambda item: (item[0].site, item[0].building))


def whatif_line(w: WhatIfSpan) -> str:
    """At the span's start: said again when it ends, the point is overwritten (same series, same instant)."""
    return f"whatif,site={escape_tag(w.site)} {FIELD}={string_field(w.to_json())} {round(w.start_s * 1000)}"


def whatifs_stored(query: Query, site: str | None = None, since_s: float | None = None) -> list[WhatIfSpan]:
    conditions = ([f'"site" = {quote_literal(site)}'] if site else []) + (
        [f"time >= {round(since_s * 1000)}ms"] if since_s is not None else [])
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    out = []
    for series in query(f'SELECT "{FIELD}", "site" FROM "whatif"{where}'):  # no GROUP BY: a dashboard reads it
        for _, text, span_site in series["values"]:                              # every second
            span = read_back(WhatIfSpan.from_payload, span_site, text)
            if span is not None:
                out.append(span)
    return sorted(out, key=lambda w: (w.site, w.start_s))
