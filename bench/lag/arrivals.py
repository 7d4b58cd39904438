"""When each sampled reading first shows in the store: each meter's newest instant, polled every ~0.5 s.

A reading (device, ts) has arrived at the first poll whose newest instant for that device is at or past
ts (a meter's readings are stored in order). Its lag is that poll's start minus the wall time the sidecar
saw it: the store's answer is a snapshot taken as the query starts, so the reading landed in the
interval since the previous poll; the poll interval is the resolution.

The store is read the way the dashboard reads it: SQLite through the store's own ``latest()`` (read
only), InfluxDB through the writer's ``latest`` measurement (one point per device and hour, its newest
instant in ``latest_ts_ms``; expo/stores/_influx/last_values.py), limited to the sample's devices. So on
InfluxDB the lag is to where the dashboard sees a reading: a device reading faster than every 5 s shows
there up to 5 s after it is stored (``latest_owed``); one whose every reading falls in a new minute (up's
paced default for `large`, a 60 s step) shows at once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.parse
import urllib.request

from expo.store import StoreUnavailable, open_store

HOUR_MS = 3_600_000


class SQLiteNewest:
    def __init__(self, url: str, site: str, devices: list[str]):
        self.url, self.site, self.devices = url, site, set(devices)
        self.store = None

    def __call__(self, since_s: float | None) -> dict[str, float]:
        if self.store is None:
            try:
                self.store = open_store(self.url, create=False)
            except StoreUnavailable:
                return {}
        return {r.device: r.ts_s for r in self.store.latest(site=self.site, since_s=since_s)
                if r.device in self.devices}

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


class InfluxNewest:
    def __init__(self, host: str, port: int, database: str, site: str, devices: list[str]):
        self.base = f"http://{host}:{port}/query"
        self.database = database
        names = "|".join(sorted(devices))  # ids are [a-z0-9_-]: nothing to escape in a regex
        self.where = f""""site" = '{site}' AND "device" =~ /^({names})$/"""

    def __call__(self, since_s: float | None) -> dict[str, float]:
        where = self.where
        if since_s is not None:
            since_ms = round(since_s * 1000)
            where += f" AND time >= {since_ms - since_ms % HOUR_MS}ms"
        q = f'SELECT "latest_ts_ms", "device" FROM "latest" WHERE {where}'
        url = f"{self.base}?{urllib.parse.urlencode({'db': self.database, 'q': q, 'epoch': 'ms'})}"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                body = json.load(answer)
        except OSError:
            return {}
        newest: dict[str, float] = {}
        for result in body.get("results", []):
            for series in result.get("series", []):
                at = {name: i for i, name in enumerate(series["columns"])}
                for row in series["values"]:
                    ts_ms, device = row[at["latest_ts_ms"]], row[at["device"]]
                    if ts_ms is not None and ts_ms / 1000 > newest.get(device, 0.0):
                        newest[device] = ts_ms / 1000
        return newest

    def close(self) -> None:
        pass


class ArrivalPoller(threading.Thread):
    """Drains the sidecar's pending readings as the store shows them; ``lags``: (wall seen, lag_s)."""

    def __init__(self, newest, sidecar, interval_s: float = 0.5):
        super().__init__(name="arrival-poller", daemon=True)
        self.newest, self.sidecar, self.interval_s = newest, sidecar, interval_s
        self.lags: list[tuple[float, float]] = []
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
        except (OSError, sqlite3.Error, StoreUnavailable, ValueError):  # a busy store or a locked file: the next poll tries again, and the count says so
            self.failures += 1
            return
        self.poll_s.append(time.perf_counter() - t0)
        for device, queue in self.sidecar.pending.items():
            stored_s = newest.get(device)
            if stored_s is None:
                continue
            while queue and queue[0][0] <= stored_s:
                _, seen = queue.popleft()
                self.lags.append((seen, started - seen))

    def run(self) -> None:
        while not self.stop_event.is_set():
            begun = time.monotonic()
            self.poll_once()
            self.stop_event.wait(max(0.0, self.interval_s - (time.monotonic() - begun)))

    def unarrived(self) -> list[tuple[float, float]]:
        """(reading ts_s, wall seen) of every sampled reading the store has not shown yet."""
        return [item for queue in self.sidecar.pending.values() for item in list(queue)]
