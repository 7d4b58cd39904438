"""Each device's newest values, kept by the writer in a measurement of their own (``latest``).

Why: "now" for every meter from the raw points needs two ``GROUP BY site,
device`` queries over every series, and they cost 0.5-1.2 s at 2,000 meters
on a server taking writes (InfluxDB 3 keeps a Last Value Cache for this). The
writer knows each device's newest reading as it writes it, so it writes it
once more: one point per device and hour, overwritten while the hour lasts
(a point's time is its reading's hour, its ``latest_ts_ms`` field the reading's
instant), at most every few seconds (``latest_owed``). The newest values are then a plain read of the last hour or two:
one point per device, no grouping.

The hour, not one fixed instant, so the points lie inside any retention
policy (InfluxDB's shortest is an hour) and a look back a day reads 24
points per device at most.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from expo.reading import Reading
from expo.stores._influx.held import Held
from expo.stores._influx.line_protocol import float_field, series_key
from expo.stores._influx.reads import Query, device_filter, quote_literal

MEASUREMENT = "latest"
TS_FIELD = "latest_ts_ms"
# Every metric's newest value in one string field, ``power_w=1.5,energy_wh=20.25`` (metric names need no
# escaping; values are ``repr``, exact). One field, not one per metric: a ``SELECT *`` over a measurement
# with some 45 metric names across the kinds cost InfluxDB 100 ms for 2,026 points, this read 18 ms.
METRICS_FIELD = "metrics"
FROM_FIELD = "held_from_ms"  # the device's oldest stored reading, as far as the writer knew

Device = tuple[str, str]


def lines(values: dict[Device, tuple[float, dict[str, float]]], since: dict[Device, float], held: Held) -> list[str]:
    """The ``latest`` points: each device's newest values (``latest_owed`` decides which go now), and since
    when the store holds a device (``FROM_FIELD``) where that moves back, so a writer that starts later knows
    which buckets may hold points (``held``). A bound alone goes on the device's newest point."""
    out = []
    for (site, device), (ts_s, metrics) in values.items():
        oldest_s = since.get((site, device))
        # said when it moves back (a new device, older history), not with every point: the priming query
        # takes its minimum over all of the device's points
        bound = "" if oldest_s is None else f"{FROM_FIELD}={math.floor(oldest_s * 1000)}i"
        ts_ms = round(ts_s * 1000)
        key = series_key(MEASUREMENT, site, device)
        if not metrics:
            if bound:
                out.append(f"{key} {bound} {ts_ms - ts_ms % 3_600_000}")
            continue
        packed = ",".join([f"{m}={float_field(v)}" for m, v in metrics.items()])
        out.append(f'{key} {METRICS_FIELD}="{packed}",{TS_FIELD}={ts_ms}i{"," + bound if bound else ""} '
                   f"{ts_ms - ts_ms % 3_600_000}")
    for (site, device), oldest_s in since.items():
        stored_s = held.newest((site, device))
        if (site, device) in values or stored_s is None:
            continue
        stored_ms = round(stored_s * 1000)
        out.append(f"{series_key(MEASUREMENT, site, device)} {FROM_FIELD}={math.floor(oldest_s * 1000)}i "
                   f"{stored_ms - stored_ms % 3_600_000}")
    return out


HOUR_MS = 3_600_000


def read(query: Query, site: str | None, since_s: float | None, now_s: float,
         devices: list[str] | None = None) -> list[Reading]:
    """Each device's newest values since ``since_s``, an hour's points a query, oldest hour first.

    An hour holds at most one point per device, so no query returns more rows than there are devices: a
    day's look in one query was 24 points per device (245,000 rows at the `large` scenario), and rows that
    many at once kept Python's allocator holding memory it could not give back (docs/reliability.md). The
    newest hour's window stays open, for points ahead of this clock."""
    site_filter = ([f'"site" = {quote_literal(site)}'] if site else []) + (
        [device_filter(devices)[len(" AND "):]] if devices else [])
    if since_s is None:
        windows = [(None, None)]
    else:
        since_ms, now_ms = round(since_s * 1000), round(now_s * 1000)
        first, last = since_ms - since_ms % HOUR_MS, now_ms - now_ms % HOUR_MS
        windows = [(h, h + HOUR_MS) for h in range(first, last, HOUR_MS)] + [(max(first, last), None)]
    held: dict[Device, tuple[int, dict[str, float]]] = {}
    for start_ms, end_ms in windows:
        conditions = (([f"time >= {start_ms}ms"] if start_ms is not None else [])
                      + ([f"time < {end_ms}ms"] if end_ms is not None else []) + site_filter)
        where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
        found = query(f'SELECT "{METRICS_FIELD}", "{TS_FIELD}", "site", "device" FROM "{MEASUREMENT}"{where}')
        if any(row[1] is None and row[2] is not None for series in found for row in series.get("values", [])):
            # points an earlier version wrote, a field per metric: this window read whole
            found = query(f'SELECT * FROM "{MEASUREMENT}"{where}')
        for series in found:
            _merge(series, held)
    cutoff_ms = -1 if since_s is None else since_s * 1000
    return [Reading(site_, device, ts_ms / 1000, metrics)
            for (site_, device), (ts_ms, metrics) in held.items() if ts_ms >= cutoff_ms]


def _merge(series: dict, held: dict[Device, tuple[int, dict[str, float]]]) -> None:
    columns = series["columns"]
    at = {name: i for i, name in enumerate(columns)}
    fields = [(i, name) for i, name in enumerate(columns)  # an earlier version's points: a field per metric
              if name not in ("time", "site", "device", TS_FIELD, FROM_FIELD, METRICS_FIELD)]
    ts_at, packed_at = at[TS_FIELD], at.get(METRICS_FIELD)
    site_at, device_at = at.get("site"), at.get("device")
    rows = sorted(series["values"], key=lambda row: row[ts_at] or 0)
    for row in rows:  # oldest first, so each metric ends at its newest value
        ts_ms = row[ts_at]
        if ts_ms is None:  # a point that only says since when (``FROM_FIELD``)
            continue
        key = (row[site_at], row[device_at]) if site_at is not None else (series["tags"]["site"],
                                                                          series["tags"]["device"])
        metrics = {name: row[i] for i, name in fields if row[i] is not None}
        packed = row[packed_at] if packed_at is not None else None
        if packed:
            for pair in packed.split(","):
                metric, _, value = pair.partition("=")
                metrics[metric] = float(value)
        before = held.get(key)
        if before is None or ts_ms >= before[0]:
            held[key] = (ts_ms, {**before[1], **metrics} if before else metrics)
        else:  # an older point (another hour's) fills in only what the newer lacks
            held[key] = (before[0], {**metrics, **before[1]})


def overlay(stored: list[Reading], owed: dict[Device, tuple[float, dict[str, float]]], site: str | None,
            since_s: float | None, devices: list[str] | None = None) -> list[Reading]:
    """What this process's writer owes ``latest`` (``latest_owed``) on top of what is stored."""
    if not owed:
        return stored
    by_device = {(r.site, r.device): r for r in stored}
    for (site_, device), (ts_s, metrics) in owed.items():
        if (site and site_ != site) or (since_s is not None and ts_s < since_s) or (devices and device not in devices):
            continue
        before = by_device.get((site_, device))
        if before is None:
            by_device[(site_, device)] = Reading(site_, device, ts_s, dict(metrics))
        elif ts_s >= before.ts_s:
            by_device[(site_, device)] = Reading(site_, device, ts_s, {**before.metrics, **metrics})
    return list(by_device.values())


def held(query: Query) -> Held:
    """What the store holds of each device, from the ``latest`` measurement: one grouped query, at a writer's
    start. A device whose points do not say since when (filled from an older store's raw points) may hold
    points at any time before its newest."""
    spans = {}
    for series in query(f'SELECT min("{FROM_FIELD}"), max("{TS_FIELD}") FROM "{MEASUREMENT}" '
                        'GROUP BY "site", "device"'):
        _, since_ms, newest_ms = series["values"][0]
        if newest_ms is not None:
            spans[(series["tags"]["site"], series["tags"]["device"])] = [
                -math.inf if since_ms is None else since_ms / 1000, newest_ms / 1000]
    return Held(spans)


def exists(query: Query) -> bool:
    return any(series.get("values") for series in query(f'SHOW MEASUREMENTS WITH MEASUREMENT = "{MEASUREMENT}"'))
