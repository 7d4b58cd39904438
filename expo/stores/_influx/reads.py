"""What the dashboard, ``check`` and ingest's start ask InfluxDB, in InfluxQL.

Every function takes ``query(q) -> series`` so it knows nothing of HTTP.
Text put into a statement goes through ``quote_literal``: ids are restricted
already, and this makes any other text safe too.
"""

from __future__ import annotations

import base64
import re
from typing import Callable

from expo.metadata import DeviceMeta
from expo.reading import Reading
from expo.store import (
    FORGET_PROCESS_S, ROLLUPS_S, UNNAMED_PROCESS, DeviceState, ProcessHealth, Rejected, RollupRow,
)
from expo.stores._influx.line_protocol import META_FIELD, ROLLUP_STATS
from expo.stores._places import read_back

Query = Callable[[str], list[dict]]


def quote_literal(value: str) -> str:
    """An InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_identifier(value: str) -> str:
    """An InfluxQL identifier (a database name from the store address)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_NOT_LITERAL = re.compile(r"[^A-Za-z0-9_-]")  # escaped in an expression (the contract's ids have none; '/' ends it)
NAMED_DEVICES = 50  # up to this many devices a filter names each; more, one regular expression for them all


def device_filter(devices: list[str] | None) -> str:
    """`` AND (...)`` narrowing a query to these device ids ('' for none). Beyond ``NAMED_DEVICES`` one regular
    expression: InfluxDB parsed a thousand ORs into a tree that cost it 5.4 s, the same thousand in one
    expression 3.7 s (a rollup read-back, measured)."""
    if not devices:
        return ""
    if len(devices) <= NAMED_DEVICES:
        return " AND (" + " OR ".join(f'"device" = {quote_literal(d)}' for d in devices) + ")"
    alternatives = "|".join(_NOT_LITERAL.sub(r"\\\g<0>", d) for d in devices)
    return f' AND ("device" =~ /^(?:{alternatives})$/)'


def latest(query: Query, site: str | None = None, since_s: float | None = None,
           devices: list[str] | None = None) -> list[Reading]:
    conditions = []
    if site:
        conditions.append(f'"site" = {quote_literal(site)}')
    if since_s is not None:
        conditions.append(f"time >= {round(since_s * 1000)}ms")
    if devices:
        conditions.append(device_filter(devices)[len(" AND "):])
    where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
    newest = {}
    for series in query(f'SELECT * FROM "reading"{where} GROUP BY "site", "device" ORDER BY time DESC LIMIT 1'):
        newest[(series["tags"]["site"], series["tags"]["device"])] = series["values"][0][0]
    out = []
    for series in query(f'SELECT last(*) FROM "reading"{where} GROUP BY "site", "device"'):
        key = (series["tags"]["site"], series["tags"]["device"])
        row = dict(zip(series["columns"], series["values"][0]))
        metrics = {c[len("last_"):]: v for c, v in row.items() if c.startswith("last_") and v is not None}
        out.append(Reading(key[0], key[1], newest.get(key, row["time"]) / 1000, metrics))
    return out


def rollups(query: Query, resolution: str, start_s: float, end_s: float, metric: str,
            devices: list[str] | None = None, site: str | None = None) -> list[RollupRow]:
    """Both layouts in one query: a bucket's point with a field per metric and statistic (no ``metric``
    tag: ``"metric" = ''`` matches it), and the point per metric of stores written before it. Where a
    bucket has both (an upgrade within the minute), the newer layout's point is the one written last."""
    if resolution not in ROLLUPS_S:
        raise ValueError(f"resolution must be one of {', '.join(ROLLUPS_S)}")
    wide = ", ".join(f'"{metric}_{stat}"' for stat in ROLLUP_STATS)
    # The tags as columns of one series rather than GROUP BY: the same rows, in about half the server's time
    # at 2,000 devices (grouping makes a series of every device).
    q = (f'SELECT {wide}, "n", "mean", "min", "max", "last", "site", "device" FROM "rollup_{resolution}" '
         f"WHERE (\"metric\" = '' OR \"metric\" = {quote_literal(metric)}) AND time >= {round(start_s * 1000)}ms "
         f"AND time < {round(end_s * 1000)}ms{device_filter(devices)}"
         + (f' AND "site" = {quote_literal(site)}' if site is not None else ""))
    rows: dict[tuple[str, str, int], RollupRow] = {}
    for series in query(q):
        for t, *values, at, device in series["values"]:
            if values[0] is not None:
                rows[(at, device, t)] = RollupRow(at, device, metric, t / 1000, *values[:5])
            elif values[5] is not None:
                rows.setdefault((at, device, t), RollupRow(at, device, metric, t / 1000, *values[5:]))
    return sorted(rows.values(), key=lambda r: (r.device, r.site, r.bucket_s))


def devices_stored(query: Query, site: str | None = None) -> list[tuple[DeviceMeta, float]]:
    """Each device's newest metadata and when it was stored (epoch s): its contract JSON, or for a point
    of the earlier layout (a field per part) those fields."""
    where = f' WHERE "site" = {quote_literal(site)}' if site else ""
    out = []
    for series in query(f'SELECT * FROM "device"{where} GROUP BY "site", "device" ORDER BY time DESC LIMIT 1'):
        row = dict(zip(series["columns"], series["values"][0]))
        site_id, device = series["tags"]["site"], series["tags"]["device"]
        text = row.get(META_FIELD)
        if text is not None:
            meta = read_back(DeviceMeta.from_payload, site_id, device, text)
            if meta is None:
                continue
        else:
            meta = DeviceMeta(site_id, device, row["kind"], row["name_en"], row["name_zh"], row["x_m"], row["y_m"],
                              row["rated_power_w"], row["parent"] or None, row["building"] or None, row["source"])
        out.append((meta, row["time"] / 1000))
    return sorted(out, key=lambda item: (item[0].site, item[0].device))


def devices(query: Query, site: str | None = None) -> list[DeviceMeta]:
    return [meta for meta, _ in devices_stored(query, site)]


def rejected(query: Query, limit: int = 100) -> list[Rejected]:
    out = []
    for series in query(f'SELECT * FROM "rejected" ORDER BY time DESC LIMIT {int(limit)}'):
        for values in series["values"]:
            row = dict(zip(series["columns"], values))
            out.append(Rejected(row["time"] / 1000, row["topic"], row["reason"], row["detail"],
                                base64.b64decode(row["payload_b64"])))
    return out


def health(query: Query) -> dict[str, float]:
    for series in query('SELECT last(*) FROM "ingest_health" WHERE time > now() - 1d'):
        row = dict(zip(series["columns"], series["values"][0]))
        return {c[len("last_"):]: v for c, v in row.items() if c.startswith("last_") and v is not None}
    return {}


def ingest_health(query: Query) -> list[ProcessHealth]:
    """Each process's newest point (a week back at most), with its own time; an untagged one (an older ingest)
    as ``UNNAMED_PROCESS``."""
    found = []
    for series in query(f'SELECT * FROM "ingest_health" WHERE time > now() - {FORGET_PROCESS_S}s '
                        'GROUP BY "process" ORDER BY time DESC LIMIT 1'):
        row = dict(zip(series["columns"], series["values"][0]))
        process = (series.get("tags") or {}).get("process") or UNNAMED_PROCESS
        figures = {c: v for c, v in row.items() if c not in ("time", "process") and isinstance(v, (int, float))}
        found.append(ProcessHealth(process, row["time"] / 1000, figures))
    return sorted(found, key=lambda p: p.process)


def states(query: Query, site: str | None) -> list[DeviceState]:
    """Each device's newest self-reported state and when it changed to it (ingest writes a point only on a
    change), over the database's whole retention: a meter gone offline a year ago is still offline."""
    where = f' WHERE "site" = {quote_literal(site)}' if site is not None else ""
    out = []
    for series in query(f'SELECT last("state") FROM "device_state"{where} GROUP BY "site", "device"'):
        tags = series.get("tags") or {}
        row = dict(zip(series["columns"], series["values"][0]))
        out.append(DeviceState(tags.get("site", ""), tags.get("device", ""), row["last"], row["time"] / 1000))
    return sorted(out, key=lambda x: (x.site, x.device))


def count_readings(query: Query) -> int:
    total = 0
    for series in query('SELECT count(*) FROM "reading"'):
        total += sum(v for v in series["values"][0][1:] if v)
    return int(total)


def databases(query: Query) -> list[str]:
    return [row[0] for series in query("SHOW DATABASES") for row in series.get("values", [])]


_DURATION = re.compile(r"(\d+)([hms])")


def default_retention_s(query: Query, database: str) -> float | None:
    """The default retention policy's duration (InfluxDB 1.x); None when infinite or not known."""
    for series in query(f"SHOW RETENTION POLICIES ON {quote_identifier(database)}"):
        columns = series["columns"]
        for values in series.get("values", []):
            row = dict(zip(columns, values))
            if row.get("default"):
                seconds = sum(int(n) * {"h": 3600, "m": 60, "s": 1}[unit]
                              for n, unit in _DURATION.findall(str(row.get("duration", ""))))
                return float(seconds) or None
    return None
