"""The 1-minute and 1-hour rollups, recomputed from raw points a few seconds after the writes that touch them.

After each batch the touched (site, device, minute) buckets are remembered;
once they have waited ``ROLLUP_DELAY_S`` they are recomputed with one InfluxQL
aggregate per time window over the raw points (for all devices when more than
``WIDE_QUERY_DEVICES`` are in the window, else for those named), and the
touched hours from those minutes after ``HOUR_ROLLUP_DELAY_S``. A late reading
therefore corrects the buckets it falls in, just as in SQLite. Recomputing on
every batch would cost more than the batch (a query round trip each).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Callable, Iterable

from expo.reading import Reading
from expo.store import StoreUnavailable
from expo.stores._influx.line_protocol import rollup_line
from expo.stores._influx.reads import device_filter

WIDE_QUERY_DEVICES = 50  # above this many devices in a time window, recompute the window for all devices
ROLLUP_DELAY_S = 5.0  # how stale a 1-minute rollup may be; raw readings are never delayed
HOUR_ROLLUP_DELAY_S = 60.0

Bucket = tuple[str, str, int]  # site, device, bucket start in s


class DeferredRollups:
    def __init__(self, query: Callable[[str], list[dict]], write: Callable[[list[str]], None],
                 clock: Callable[[], float] = time.monotonic):
        self._query, self._write, self._clock = query, write, clock
        self._lock = threading.Lock()
        self._dirty_minutes: set[Bucket] = set()
        self._dirty_hours: set[Bucket] = set()
        self._dirty_since = 0.0
        self._hours_done = 0.0

    def touched(self, readings: Iterable[Reading]) -> None:
        buckets = {(r.site, r.device, int(r.ts_s // 60) * 60) for r in readings}
        if buckets:
            with self._lock:
                self._dirty_minutes |= buckets
                self._dirty_since = self._dirty_since or self._clock()

    def maintain(self, force: bool = False) -> None:
        """Recompute what has waited long enough (everything with ``force``); ``StoreUnavailable`` keeps it owed."""
        now = self._clock()
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

    def _recompute_minutes(self, touched: set[Bucket]) -> None:
        lines = []
        for start, end, devices in windows(touched, 60):
            q = (f'SELECT count(*), mean(*), min(*), max(*), last(*) FROM "reading" '
                 f"WHERE time >= {start * 1000}ms AND time < {end * 1000}ms{device_filter(devices)} "
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
                        lines.append(rollup_line("1m", site, device, metric, n, values["mean_" + metric],
                                                 values["min_" + metric], values["max_" + metric],
                                                 values["last_" + metric], values["time"]))
        self._write(lines)

    def _recompute_hours(self, touched: set[Bucket]) -> None:
        lines = []
        for start, end, devices in windows(touched, 3600):
            q = (f'SELECT "n", "mean", "min", "max", "last" FROM "rollup_1m" '
                 f"WHERE time >= {start * 1000}ms AND time < {end * 1000}ms{device_filter(devices)} "
                 'GROUP BY "site", "device", "metric"')
            for series in self._query(q):
                tags = series.get("tags", {})
                hours: dict[int, list] = defaultdict(list)
                for t, n, mean, lo, hi, last in series["values"]:
                    hours[t - t % 3_600_000].append((t, n, mean, lo, hi, last))
                for hour_ms, rows in hours.items():
                    n = sum(r[1] for r in rows)
                    mean = sum(r[1] * r[2] for r in rows) / n
                    lines.append(rollup_line("1h", tags["site"], tags["device"], tags["metric"], n, mean,
                                             min(r[3] for r in rows), max(r[4] for r in rows), max(rows)[5], hour_ms))
        self._write(lines)


def windows(touched: set[Bucket], width_s: int):
    """Group touched buckets into time windows; each with the devices in it (None: all of them)."""
    by_bucket = sorted(touched, key=lambda t: t[2])
    window: list[Bucket] = []
    for item in by_bucket:
        if window and item[2] - window[-1][2] > 10 * width_s:
            yield _window(window, width_s)
            window = []
        window.append(item)
    if window:
        yield _window(window, width_s)


def _window(items: list[Bucket], width_s: int):
    devices = sorted({d for _, d, _ in items})
    start, end = items[0][2], items[-1][2] + width_s
    return start, end, (None if len(devices) > WIDE_QUERY_DEVICES else devices)
