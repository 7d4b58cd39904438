"""When each sampled reading first shows in the store: each meter's newest instant, polled every ~0.5 s.

A reading (site, device, ts) has arrived at the first poll whose newest instant for that meter is at or
past ts (a meter's readings are stored in order). Its arrival is that poll's start: the store's answer is
a snapshot taken as the query starts, so the reading landed in the interval since the previous poll; the
poll interval is the resolution. A meter is (site, device): a city's districts reuse device ids.

Both stores are read where the dashboard reads "now", limited to the sample's meters. SQLite: the
``latest`` table joined to ``series``, which is what the store's ``latest()`` reads, in a read-only
connection; not ``latest()`` itself, because it returns every meter (the city's 19,879, about 100,000
rows) and at two polls a second that would take a share of the two cores from the exhibit being
measured. InfluxDB: the writer's ``latest`` measurement (one point per device and hour, its newest
instant in ``latest_ts_ms``; expo/stores/_influx/last_values.py). So on InfluxDB the lag is to where
the dashboard sees a reading: a device reading faster than every 5 s shows there up to 5 s after it is
stored (``latest_owed``); one whose every reading falls in a new minute (up's paced default for `large`
and `city`, a 60 s step) shows at once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

HOUR_MS = 3_600_000
Meter = tuple[str, str]  # (site, device)


class SQLiteNewest:
    def __init__(self, path: Path, meters: list[Meter]):
        self.path = Path(path)
        self.meters = sorted(set(meters))
        pairs = ",".join("(?, ?)" for _ in self.meters)
        self.query = (f"WITH wanted(site, device) AS (VALUES {pairs}) "
                      "SELECT s.site, s.device, MAX(l.ts_ms) FROM wanted w "
                      "JOIN series s ON s.site = w.site AND s.device = w.device JOIN latest l ON l.series = s.id "
                      "GROUP BY s.site, s.device")
        self.params = [part for meter in self.meters for part in meter]
        self.db: sqlite3.Connection | None = None

    def __call__(self, since_s: float | None) -> dict[Meter, float]:
        if self.db is None:
            if not self.path.exists():
                return {}  # ingest has not made the file yet
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5, check_same_thread=False)
        try:
            rows = self.db.execute(self.query, self.params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return {}  # the file is there, its schema not yet
            raise
        return {(site, device): ts_ms / 1000 for site, device, ts_ms in rows}

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


class InfluxNewest:
    def __init__(self, host: str, port: int, database: str, meters: list[Meter]):
        self.base = f"http://{host}:{port}/query"
        self.database = database
        by_site: dict[str, list[str]] = {}
        for site, device in sorted(set(meters)):
            by_site.setdefault(site, []).append(device)
        # ids are [a-z0-9_-]: nothing to escape in a literal or a regex
        self.where = "(" + " OR ".join(f""""site" = '{site}' AND "device" =~ /^({"|".join(devices)})$/"""
                                       for site, devices in by_site.items()) + ")"

    def __call__(self, since_s: float | None) -> dict[Meter, float]:
        where = self.where
        if since_s is not None:
            since_ms = round(since_s * 1000)
            where += f" AND time >= {since_ms - since_ms % HOUR_MS}ms"
        q = f'SELECT "latest_ts_ms", "site", "device" FROM "latest" WHERE {where}'
        url = f"{self.base}?{urllib.parse.urlencode({'db': self.database, 'q': q, 'epoch': 'ms'})}"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                body = json.load(answer)
        except OSError:
            return {}
        newest: dict[Meter, float] = {}
        for result in body.get("results", []):
            for series in result.get("series", []):
                at = {name: i for i, name in enumerate(series["columns"])}
                for row in series["values"]:
                    ts_ms, meter = row[at["latest_ts_ms"]], (row[at["site"]], row[at["device"]])
                    if ts_ms is not None and ts_ms / 1000 > newest.get(meter, 0.0):
                        newest[meter] = ts_ms / 1000
        return newest

    def close(self) -> None:
        pass


class ArrivalPoller(threading.Thread):
    """Drains the sidecar's pending readings as the store shows them; ``arrivals``: (reading ts_s, wall seen,
    wall arrived), one per sampled reading that arrived."""

    def __init__(self, newest, sidecar, interval_s: float = 0.5):
        super().__init__(name="arrival-poller", daemon=True)
        self.newest, self.sidecar, self.interval_s = newest, sidecar, interval_s
        self.arrivals: list[tuple[float, float, float]] = []
        self.poll_s: list[float] = []  # how long each poll took: part of the resolution
        self.failures = 0
        self.stop_event = threading.Event()

    def oldest_pending_s(self) -> float | None:
        heads = [q[0][0] for q in self.sidecar.pending.values() if q]
        return min(heads) if heads else None

    def poll_once(self) -> None:
        started = time.time()
        t0 = time.perf_counter()
        try:
            newest = self.newest(self.oldest_pending_s())
        except (OSError, sqlite3.Error, ValueError):  # a busy store, a locked file: the next poll tries, the count says so
            self.failures += 1
            return
        self.poll_s.append(time.perf_counter() - t0)
        for meter, queue in self.sidecar.pending.items():
            stored_s = newest.get(meter)
            if stored_s is None:
                continue
            while queue and queue[0][0] <= stored_s:
                ts_s, seen = queue.popleft()
                self.arrivals.append((ts_s, seen, started))

    def run(self) -> None:
        while not self.stop_event.is_set():
            begun = time.monotonic()
            self.poll_once()
            self.stop_event.wait(max(0.0, self.interval_s - (time.monotonic() - begun)))

    def unarrived(self) -> list[tuple[float, float]]:
        """(reading ts_s, wall seen) of every sampled reading the store has not shown yet."""
        return [item for queue in self.sidecar.pending.values() for item in list(queue)]
