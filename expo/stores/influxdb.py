"""InfluxDB store, for 1.x, 2.x and 3 Core, through the one API all three answer: v1 ``/write`` and InfluxQL ``/query``.

InfluxDB 1.x serves these natively; 2.x through its v1-compatibility API once
a DBRP mapping points the database name at a bucket (the compose bootstrap
creates it); 3 Core serves both as well. The generation is read from
``/ping`` at connect and decides only how to authenticate (1.x: user and
password; 2.x and 3.x: a token) and whether ``CREATE DATABASE`` is ours to
run. The data model is in docs/data-model.md: one ``reading`` point per
reading (tags site, device; a field per metric), rollups in ``rollup_1m`` and
``rollup_1h`` (tags site, device, metric), metadata in ``device``,
quarantine in ``rejected``, counters in ``ingest_health``.

Rollups are maintained by the writer: after each batch, the buckets it
touched are recomputed with InfluxQL from the raw points (1 minute) and from
the minutes (1 hour), so a late reading corrects them just as in SQLite.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import ssl
import threading
import time
from collections import defaultdict
from urllib.parse import urlencode

from expo.addresses import StoreAddress
from expo.errors import UserError
from expo.metadata import DeviceMeta
from expo.reading import Reading
from expo.store import ROLLUPS_S, Batch, Rejected, RollupRow, StoreUnavailable, register

log = logging.getLogger("expo.store.influxdb")

TIMEOUT_S = 10.0
WIDE_QUERY_DEVICES = 50  # above this many devices in a time window, recompute the window for all devices
RETRIABLE_STATUS = {429, 500, 502, 503, 504}
ROLLUP_DELAY_S = 5.0  # how stale a 1-minute rollup may be; raw readings are never delayed
HOUR_ROLLUP_DELAY_S = 60.0


def escape_tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def string_field(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_literal(value: str) -> str:
    """An InfluxQL string literal; ids are already restricted, this makes any other text safe too."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _float(value: float) -> str:
    return repr(float(value))


class InfluxStore:
    def __init__(self, address: StoreAddress, token: str | None = None, username: str | None = None,
                 password: str | None = None, ca_file: str | None = None):
        self.address = address
        self.database = address.database
        self._token = token
        self._username = username or address.username
        self._password = password or address.password
        self._ssl = ssl.create_default_context(cafile=ca_file) if address.tls else None
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        self.rejected_points = 0
        self._dirty_minutes: set[tuple[str, str, int]] = set()
        self._dirty_hours: set[tuple[str, str, int]] = set()
        self._dirty_since = 0.0
        self._hours_done = 0.0
        self.version: str | None = None
        self.generation: str | None = None
        try:
            self._connect()
        except StoreUnavailable as exc:  # ingest starts anyway and spools until the server answers
            log.warning("%s; will keep trying", exc)

    def _connect(self) -> None:
        """Learn the server's generation once it answers; on 1.x, make sure the database exists."""
        if self.version is not None:
            return
        status, headers, _ = self._request("GET", "/ping", {})
        if status not in (200, 204):
            raise StoreUnavailable(f"InfluxDB at {self.address.host}:{self.address.port} answered /ping with {status}")
        version = {k.lower(): v for k, v in headers.items()}.get("x-influxdb-version", "")
        generation = version.lstrip("v").split(".")[0] if version else "1"
        if generation == "1":
            self._query(f'CREATE DATABASE "{self.database}"', write=True, connect=False)
        self.version, self.generation = version, generation
        log.info("InfluxDB %s at %s:%d, database %r", version or "(version not given)", self.address.host,
                 self.address.port, self.database)

    # -- HTTP --------------------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._ssl is not None:
                self._conn = http.client.HTTPSConnection(self.address.host, self.address.port, timeout=TIMEOUT_S,
                                                         context=self._ssl)
            else:
                self._conn = http.client.HTTPConnection(self.address.host, self.address.port, timeout=TIMEOUT_S)
        return self._conn

    def _request(self, method: str, path: str, params: dict, body: bytes | None = None) -> tuple[int, dict, bytes]:
        headers = {"Content-Type": "text/plain; charset=utf-8"} if body is not None else {}
        if self._token:
            headers["Authorization"] = f"Token {self._token}"
        elif self._username:
            raw = f"{self._username}:{self._password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        url = path + ("?" + urlencode(params) if params else "")
        with self._lock:
            for attempt in (1, 2):  # a kept-alive connection the server closed gets one fresh try
                try:
                    conn = self._connection()
                    conn.request(method, url, body=body, headers=headers)
                    response = conn.getresponse()
                    return response.status, dict(response.getheaders()), response.read()
                except (http.client.HTTPException, OSError) as exc:
                    if self._conn is not None:
                        self._conn.close()
                    self._conn = None
                    if attempt == 2:
                        raise StoreUnavailable(f"InfluxDB at {self.address.host}:{self.address.port}: {exc}") from exc
        raise AssertionError("unreachable")

    def _check(self, status: int, headers: dict, body: bytes, what: str) -> None:
        if status < 300:
            return
        text = body.decode("utf-8", "replace")[:300]
        if status in RETRIABLE_STATUS:
            retry_after = {k.lower(): v for k, v in headers.items()}.get("retry-after")
            try:
                retry_after_s = float(retry_after) if retry_after else None
            except ValueError:  # an HTTP date: rare enough to fall back on our own backoff
                retry_after_s = None
            raise StoreUnavailable(f"InfluxDB {what}: HTTP {status} {text}", retry_after_s)
        if status in (401, 403):
            raise StoreUnavailable(f"InfluxDB {what}: not authorised (HTTP {status}); check the token or password")
        if status == 404:
            raise StoreUnavailable(f"InfluxDB {what}: database {self.database!r} not found (HTTP 404): {text}")
        raise UserError(f"InfluxDB {what}: HTTP {status} {text}")

    def _write_lines(self, lines: list[str]) -> None:
        if not lines:
            return
        self._connect()
        status, headers, body = self._request(
            "POST", "/write", {"db": self.database, "precision": "ms"}, "\n".join(lines).encode()
        )
        if status == 400:  # a partial write: the server kept the valid points and says which it refused
            self.rejected_points += 1
            log.error("InfluxDB refused part of a batch: %s", body.decode("utf-8", "replace")[:300])
            return
        self._check(status, headers, body, "write")

    def _query(self, q: str, write: bool = False, connect: bool = True) -> list[dict]:
        if connect:
            self._connect()
        params = {"db": self.database, "q": q, "epoch": "ms"}
        status, headers, body = self._request("POST" if write else "GET", "/query", params)
        self._check(status, headers, body, "query")
        series = []
        for result in json.loads(body).get("results", []):
            if "error" in result:
                raise UserError(f"InfluxQL error: {result['error']} in {q[:200]}")
            series.extend(result.get("series", []))
        return series

    # -- writing -----------------------------------------------------------------------------------

    def write(self, batch: Batch) -> None:
        lines = []
        for r in batch.readings:
            fields = ",".join(f"{m}={_float(v)}" for m, v in r.metrics.items())
            lines.append(f"reading,site={escape_tag(r.site)},device={escape_tag(r.device)} {fields} {round(r.ts_s * 1000)}")
        for m in batch.metas:
            fields = {
                "kind": string_field(m.kind), "name_en": string_field(m.name_en), "name_zh": string_field(m.name_zh),
                "x_m": _float(m.x_m), "y_m": _float(m.y_m), "rated_power_w": _float(m.rated_power_w),
                "parent": string_field(m.parent or ""), "building": string_field(m.building or ""),
                "source": string_field(m.source),
            }
            lines.append(f"device,site={escape_tag(m.site)},device={escape_tag(m.device)} "
                         + ",".join(f"{k}={v}" for k, v in fields.items()) + " 0")
        for i, q in enumerate(batch.rejected):
            fields = (f"topic={string_field(q.topic)},detail={string_field(q.detail)},"
                      f"payload_b64={string_field(base64.b64encode(q.payload).decode())}")
            # the instant is the key: a microsecond apart keeps several rejections of one millisecond
            lines.append(f"rejected,reason={escape_tag(q.reason)} {fields} {round(q.received_s * 1e6) + i}000")
        if batch.health:
            fields = ",".join(f"{k}={_float(v)}" for k, v in batch.health.items())
            lines.append(f"ingest_health {fields} {round(time.time() * 1000)}")
        ms_lines = [line for line in lines if not line.startswith("rejected,")]
        self._write_lines(ms_lines)
        ns_lines = [line for line in lines if line.startswith("rejected,")]
        if ns_lines:
            self._connect()
            status, headers, body = self._request(
                "POST", "/write", {"db": self.database, "precision": "ns"}, "\n".join(ns_lines).encode()
            )
            self._check(status, headers, body, "write")
        if batch.readings:
            touched = {(r.site, r.device, int(r.ts_s // 60) * 60) for r in batch.readings}
            with self._lock:
                self._dirty_minutes |= touched
                self._dirty_since = self._dirty_since or time.monotonic()
            self.maintain()

    def maintain(self, force: bool = False) -> None:
        """Recompute the rollups of buckets written since the last time, if they have waited long enough.

        Recomputing on every batch would cost more than the batch itself (each
        is a query round trip), so minutes are batched for ``ROLLUP_DELAY_S``
        and hours for ``HOUR_ROLLUP_DELAY_S``. ``close()`` forces both.
        """
        now = time.monotonic()
        with self._lock:
            due = self._dirty_minutes and (force or now - self._dirty_since >= ROLLUP_DELAY_S)
            minutes = self._dirty_minutes if due else set()
            if due:
                self._dirty_minutes, self._dirty_since = set(), 0.0
        if minutes:
            try:
                self._recompute_minutes(minutes)
            except StoreUnavailable:
                with self._lock:  # still owed: try again next time
                    self._dirty_minutes |= minutes
                    self._dirty_since = self._dirty_since or now
                raise
            self._dirty_hours |= {(site, device, bucket - bucket % 3600) for site, device, bucket in minutes}
        if self._dirty_hours and (force or now - self._hours_done >= HOUR_ROLLUP_DELAY_S):
            hours, self._dirty_hours = self._dirty_hours, set()
            try:
                self._recompute_hours(hours)
            except StoreUnavailable:
                self._dirty_hours |= hours
                raise
            self._hours_done = now

    def _windows(self, touched: set[tuple[str, str, int]], width_s: int):
        """Group touched buckets into time windows; each with the devices in it (None: all of them)."""
        by_bucket = sorted(touched, key=lambda t: t[2])
        window: list[tuple[str, str, int]] = []
        for item in by_bucket:
            if window and item[2] - window[-1][2] > 10 * width_s:
                yield self._window(window, width_s)
                window = []
            window.append(item)
        if window:
            yield self._window(window, width_s)

    @staticmethod
    def _window(items, width_s):
        devices = sorted({d for _, d, _ in items})
        start, end = items[0][2], items[-1][2] + width_s
        return start, end, (None if len(devices) > WIDE_QUERY_DEVICES else devices)

    @staticmethod
    def _device_filter(devices: list[str] | None) -> str:
        if not devices:
            return ""
        return " AND (" + " OR ".join(f'"device" = {quote_literal(d)}' for d in devices) + ")"

    def _recompute_minutes(self, touched) -> int:
        lines = []
        for start, end, devices in self._windows(touched, 60):
            q = (f'SELECT count(*), mean(*), min(*), max(*), last(*) FROM "reading" '
                 f"WHERE time >= {start * 1000}ms AND time < {end * 1000}ms{self._device_filter(devices)} "
                 'GROUP BY time(1m), "site", "device" fill(none)')
            for series in self._query(q):
                tags = series.get("tags", {})
                site, device = tags.get("site", ""), tags.get("device", "")
                columns = series["columns"]
                for row in series["values"]:
                    values = dict(zip(columns, row))
                    for column, n in values.items():
                        if not column.startswith("count_") or not n:
                            continue
                        metric = column[len("count_"):]
                        fields = (f"n={int(n)}i,mean={_float(values['mean_' + metric])},"
                                  f"min={_float(values['min_' + metric])},max={_float(values['max_' + metric])},"
                                  f"last={_float(values['last_' + metric])}")
                        lines.append(f"rollup_1m,site={escape_tag(site)},device={escape_tag(device)},"
                                     f"metric={escape_tag(metric)} {fields} {values['time']}")
        self._write_lines(lines)
        return len(lines)

    def _recompute_hours(self, touched) -> None:
        lines = []
        for start, end, devices in self._windows(touched, 3600):
            q = (f'SELECT "n", "mean", "min", "max", "last" FROM "rollup_1m" '
                 f"WHERE time >= {start * 1000}ms AND time < {end * 1000}ms{self._device_filter(devices)} "
                 'GROUP BY "site", "device", "metric"')
            for series in self._query(q):
                tags = series.get("tags", {})
                hours: dict[int, list] = defaultdict(list)
                for t, n, mean, lo, hi, last in series["values"]:
                    hours[t - t % 3_600_000].append((t, n, mean, lo, hi, last))
                for hour_ms, rows in hours.items():
                    n = sum(r[1] for r in rows)
                    mean = sum(r[1] * r[2] for r in rows) / n
                    fields = (f"n={n}i,mean={_float(mean)},min={_float(min(r[3] for r in rows))},"
                              f"max={_float(max(r[4] for r in rows))},last={_float(max(rows)[5])}")
                    lines.append(f"rollup_1h,site={escape_tag(tags['site'])},device={escape_tag(tags['device'])},"
                                 f"metric={escape_tag(tags['metric'])} {fields} {hour_ms}")
        self._write_lines(lines)

    # -- reading -----------------------------------------------------------------------------------

    def latest(self, site: str | None = None, since_s: float | None = None) -> list[Reading]:
        conditions = []
        if site:
            conditions.append(f'"site" = {quote_literal(site)}')
        if since_s is not None:
            conditions.append(f"time >= {round(since_s * 1000)}ms")
        where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
        newest = {}
        for series in self._query(f'SELECT * FROM "reading"{where} GROUP BY "site", "device" ORDER BY time DESC LIMIT 1'):
            newest[(series["tags"]["site"], series["tags"]["device"])] = series["values"][0][0]
        out = []
        for series in self._query(f'SELECT last(*) FROM "reading"{where} GROUP BY "site", "device"'):
            key = (series["tags"]["site"], series["tags"]["device"])
            row = dict(zip(series["columns"], series["values"][0]))
            metrics = {c[len("last_"):]: v for c, v in row.items() if c.startswith("last_") and v is not None}
            out.append(Reading(key[0], key[1], newest.get(key, row["time"]) / 1000, metrics))
        return out

    def rollups(self, resolution, start_s, end_s, metric, devices=None) -> list[RollupRow]:
        if resolution not in ROLLUPS_S:
            raise ValueError(f"resolution must be one of {', '.join(ROLLUPS_S)}")
        q = (f'SELECT "n", "mean", "min", "max", "last" FROM "rollup_{resolution}" '
             f'WHERE "metric" = {quote_literal(metric)} AND time >= {round(start_s * 1000)}ms '
             f"AND time < {round(end_s * 1000)}ms{self._device_filter(devices)} GROUP BY \"site\", \"device\"")
        rows = []
        for series in self._query(q):
            for t, n, mean, lo, hi, last in series["values"]:
                rows.append(RollupRow(series["tags"]["site"], series["tags"]["device"], metric, t / 1000, n, mean, lo,
                                      hi, last))
        return sorted(rows, key=lambda r: (r.device, r.bucket_s))

    def devices(self, site: str | None = None) -> list[DeviceMeta]:
        where = f' WHERE "site" = {quote_literal(site)}' if site else ""
        out = []
        for series in self._query(f'SELECT * FROM "device"{where} GROUP BY "site", "device"'):
            row = dict(zip(series["columns"], series["values"][-1]))
            out.append(DeviceMeta(
                series["tags"]["site"], series["tags"]["device"], row["kind"], row["name_en"], row["name_zh"],
                row["x_m"], row["y_m"], row["rated_power_w"], row["parent"] or None, row["building"] or None,
                row["source"],
            ))
        return sorted(out, key=lambda m: (m.site, m.device))

    def rejected(self, limit: int = 100) -> list[Rejected]:
        out = []
        for series in self._query(f'SELECT * FROM "rejected" ORDER BY time DESC LIMIT {int(limit)}'):
            for values in series["values"]:
                row = dict(zip(series["columns"], values))
                out.append(Rejected(row["time"] / 1000, row["topic"], row["reason"], row["detail"],
                                    base64.b64decode(row["payload_b64"])))
        return out

    def health(self) -> dict[str, float]:
        for series in self._query('SELECT last(*) FROM "ingest_health" WHERE time > now() - 1d'):
            row = dict(zip(series["columns"], series["values"][0]))
            return {c[len("last_"):]: v for c, v in row.items() if c.startswith("last_") and v is not None}
        return {}

    def describe(self) -> dict[str, object]:
        self._connect()
        databases = [row[0] for series in self._query("SHOW DATABASES") for row in series.get("values", [])]
        return {"server": f"InfluxDB {self.version or '(version not given)'} (generation {self.generation})",
                "address": f"{self.address.host}:{self.address.port}", "database": self.database,
                "databases": ", ".join(databases)}

    def count_readings(self) -> int:
        total = 0
        for series in self._query('SELECT count(*) FROM "reading"'):
            total += sum(v for v in series["values"][0][1:] if v)
        return int(total)

    def close(self) -> None:
        try:
            self.maintain(force=True)
        except StoreUnavailable as exc:
            log.warning("rollups of the last few seconds not recomputed at close: %s", exc)
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _open(address: StoreAddress, **options) -> InfluxStore:
    return InfluxStore(address, **options)


register("influxdb", _open)
register("influxdbs", _open)
