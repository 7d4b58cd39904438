"""The 1-minute and 1-hour rollups: kept from the readings as they are written, read back only when unsure.

The writer counts what it stores (``buckets``) and writes the changed
buckets out: a closed one within seconds, an open hour (still counting)
every ``OPEN_DELAY_S``, an open minute once it has been quiet that long, so
the newest minute's rollup lags its readings by up to a minute; raw readings
are never delayed (each device's newest values at most 5 s, ``latest_owed``). A bucket the writer cannot be sure of (a restart mid-minute, a
redelivery, a late reading) is read back from the store first, with one
InfluxQL aggregate per time window over the raw points: the server
aggregates, one row per device and bucket comes back. A late reading
therefore corrects the buckets it falls in, just as in SQLite, and in steady
operation the store is asked nothing.
"""

from __future__ import annotations

import time
from collections import defaultdict
from itertools import islice
from collections.abc import Callable, Iterable

from expo.reading import Reading
from expo.store import StoreUnavailable
from expo.stores._influx.buckets import Buckets, Key, count
from expo.stores._influx.held import Held, may_hold_in
from expo.stores._influx.line_protocol import rollup_line
from expo.stores._influx.reads import device_filter

READ_BACK_ROWS = 20_000  # devices x buckets one read-back query may cover
# ... and devices it may name. InfluxDB 1.x spends about 3.5 ms of such a query on each series, filtered or not
# (measured on this machine: one minute of 20,000 devices 71 s, of one site's 2,500 8.3 s, of 1,000 named by a
# regular expression 3.7 s): the series, not the rows, decide whether a read-back answers inside the store's
# timeout. A city's read-back of every device at once never did, and the week's backfill died on it; a thousand
# at once still did not answer in 10 s on a server busy with the city's writes. A quarter of that: about 1 s.
READ_BACK_DEVICES = 250
READ_BACKS_PER_CALL = 4
UPKEEP_RETRY_S = 15.0
WIDTHS = {"1m": 60, "1h": 3600}
# How long a changed bucket may wait to be written. A closed one (its device has moved on) is written
# once, soon; the open one, still counting, less often: each write of it is every field of every metric
# again, and at a 10 s step a minute written every 5 s cost InfluxDB more than the readings themselves.
CLOSED_DELAY_S = {"1m": 5.0, "1h": 60.0}
OPEN_DELAY_S = {"1m": 30.0, "1h": 300.0}
# An open minute is written only once it has been quiet for OPEN_DELAY_S (its meter gone silent): one still
# counting closes within the minute and is written then. Writing it every 30 s as well was two of every
# three rollup writes at a 10 s step, and rollup lines (one per metric and bucket) outnumbered the readings
# 2.5 to 1: at the `large` scenario they were most of InfluxDB's load.
OPEN_QUIET_ONLY = {"1m": True, "1h": False}
BUSY_DEFER_S = 60.0  # in a stream without pauses, rollups are still written at least this often
BUSY_MAX_BUCKETS = 50_000  # ... or once this many are held (about 40 MB)
# A writer waiting a moment for its next batch is not yet a pause: in a district's burst the batches come
# every ~0.2 s (the flush interval), and rollups written in the gaps took the store's time from the readings.
PAUSE_S = 1.0
# Readings stored but not yet counted into their buckets: counted in the writer's next pause, or once this
# many wait (about 35 MB of readings kept alive) or the oldest has waited COUNT_DEFER_S.
COUNT_DEFER_READINGS = 100_000
COUNT_DEFER_S = 10.0


class HeldBefore:
    """``Held`` as it was before the readings not yet counted: a bucket is judged unsure by what the store
    held when its first reading was stored, as if it had been counted then (the writer's own readings of
    the meantime are in its buckets, not a reason to read them back)."""

    def __init__(self, held: Held, spans: dict):
        self._held, self._spans = held, spans  # device: (span, gaps) before its first uncounted reading

    def may_hold(self, device, start_s: float, end_s: float) -> bool:
        if device not in self._spans:
            return self._held.may_hold(device, start_s, end_s)
        return may_hold_in(*self._spans[device], start_s, end_s)


class Rollups:
    """``query(q) -> series`` and ``write(lines)`` reach the server; ``clock`` paces the writes out."""

    def __init__(self, query: Callable[[str], list[dict]], write: Callable[[list[str]], None],
                 clock: Callable[[], float] = time.monotonic):
        self._query, self._write, self._clock = query, write, clock
        self._buckets = {name: Buckets(width) for name, width in WIDTHS.items()}
        started = clock()  # the first writes wait their turn too: a burst's first seconds are its busiest
        self._closed_at = dict.fromkeys(WIDTHS, started)
        self._open_at = dict.fromkeys(WIDTHS, started)
        self._owed_since: float | None = None  # when the oldest change not yet written was counted
        self._stored_at = -float("inf")  # when readings were last counted
        self._retry_at = -float("inf")  # after the store failed the upkeep, not before this
        # Stored, not yet counted: in a burst the counting (7 us a reading) waits for the pause after it, so
        # a reading's acknowledgement waits only for its storage. Each device's span before its first one.
        self._uncounted: list[list[Reading]] = []
        self._uncounted_n = 0
        self._uncounted_since: float | None = None
        self._spans_before: dict = {}

    def stored(self, readings: list[Reading], held: Held) -> None:
        """Readings the store has just taken; ``held``: what it held before them. Counted into their buckets
        in the writer's next pause (``maintain``), or at once when many wait or long."""
        if not readings:
            return
        before, span = self._spans_before, held.span
        for r in readings:  # one dict lookup a reading: the counting itself waits
            key = (r.site, r.device)
            if key not in before:
                was = span(key)
                before[key] = (None, ()) if was is None else (list(was), held.gaps(key))
        self._uncounted.append(readings)
        self._uncounted_n += len(readings)
        self._stored_at = self._clock()
        if self._owed_since is None:
            self._owed_since = self._stored_at
        if self._uncounted_since is None:
            self._uncounted_since = self._stored_at
        if (self._uncounted_n >= COUNT_DEFER_READINGS
                or self._stored_at - self._uncounted_since >= COUNT_DEFER_S):
            self.count_stored(held)

    @property
    def uncounted(self) -> int:
        """Readings stored and not yet counted into their buckets."""
        return self._uncounted_n

    def count_stored(self, held: Held) -> None:
        """Count what is stored and not yet counted; every look at the buckets comes after this."""
        if not self._uncounted:
            return
        batches, view = self._uncounted, HeldBefore(held, self._spans_before)
        self._uncounted, self._uncounted_n, self._uncounted_since, self._spans_before = [], 0, None, {}
        minutes, hours = self._buckets["1m"], self._buckets["1h"]
        open_minutes, open_hours = minutes.open, hours.open
        for readings in batches:
            for r in readings:  # the buckets found directly while open: this loop runs for every reading stored
                minute_s = int(r.ts_s // 60) * 60
                minute = open_minutes.get((r.site, r.device, minute_s)) or minutes.bucket(r, view)
                hour = open_hours.get((r.site, r.device, minute_s - minute_s % 3600)) or hours.bucket(r, view)
                count(minute, hour, r)

    def maintain(self, held: Held, force: bool = False, busy: bool = False) -> None:
        """Read back the unsure, write out the changed, when due (all of it with ``force``).

        ``busy``: the writer is in the middle of a stream (or stored readings less than ``PAUSE_S`` ago). The
        rollups then wait for a pause, unless they have
        waited ``BUSY_DEFER_S`` or hold ``BUSY_MAX_BUCKETS`` buckets: a district coming up, or a spool
        replayed, is its readings first, the store's time not shared with rewriting aggregates.

        ``StoreUnavailable`` leaves everything owed, to be tried again next time."""
        now = self._clock()
        if now < self._retry_at and not force:
            return
        try:
            self._maintain(held, now, force, busy)
        except StoreUnavailable:
            # A store too busy to answer is not asked again at once: a read-back timed out batch after batch,
            # each costing the writer its timeout, and the readings waited behind it.
            self._retry_at = now + UPKEEP_RETRY_S
            raise

    def _maintain(self, held: Held, now: float, force: bool, busy: bool) -> None:
        busy = busy or now - self._stored_at < PAUSE_S
        if not busy or force:
            self.count_stored(held)
        # the buckets held, and those the uncounted readings will open (at most one a width for each of their devices)
        crowded = (sum(len(b.open) for b in self._buckets.values())
                   + len(WIDTHS) * len(self._spans_before)) >= BUSY_MAX_BUCKETS
        if busy and not force and not crowded and (self._owed_since is None or now - self._owed_since < BUSY_DEFER_S):
            return
        self.count_stored(held)
        due = {name: (force or crowded or now - self._closed_at[name] >= CLOSED_DELAY_S[name],
                      force or now - self._open_at[name] >= OPEN_DELAY_S[name]) for name in WIDTHS}
        if not any(closed or open_ for closed, open_ in due.values()):
            return  # the writer's idle moments come every fraction of a second: nothing is scanned for them
        for name in WIDTHS:
            closed_due, open_due = due[name]
            if not (closed_due or open_due):
                continue
            buckets = self._buckets[name]
            unsure = buckets.unsure()
            if unsure:
                found, asked = self._read_back(name, unsure, limit=None if force else READ_BACKS_PER_CALL)
                for key, metrics in found.items():
                    buckets.reseed(key, metrics, held.newest(key[:2]) or key[2])
                for key in asked:  # nothing stored there after all (refused, say): what was counted stands
                    buckets.reseed(key, {}, held.newest(key[:2]) or key[2])
            dirty = buckets.dirty(include_open=open_due, quiet_only=OPEN_QUIET_ONLY[name] and not force)
            self._write([rollup_line(name, site, device, bucket.metrics, start * 1000)
                         for (site, device, start), bucket in dirty if bucket.metrics])
            buckets.written(key for key, _ in dirty)
            self._closed_at[name] = now
            if open_due:
                self._open_at[name] = now
        if not any(bucket.dirty for b in self._buckets.values() for bucket in b.open.values()):
            self._owed_since = None

    def _read_back(self, name: str, keys: list[Key], limit: int | None) -> tuple[dict[Key, dict[str, list[float]]],
                                                                              list[Key]]:
        """The buckets' aggregates from the raw points, computed by the server (one row per device and bucket),
        and which buckets were asked for. At most ``limit`` queries of about ``READ_BACK_ROWS`` rows
        each: after a reconnect thousands of buckets may be unsure, and one query over all of them
        outlasted the timeout, batch after batch; the rest waits for the next call."""
        width = WIDTHS[name]
        found: dict[Key, dict[str, list[float]]] = defaultdict(dict)
        wanted = set(keys)
        asked: list[Key] = []
        for start, end, devices, items in islice(windows(keys, width), limit):
            asked += items
            q = (f'SELECT count(*), mean(*), min(*), max(*), last(*) FROM "reading" '
                 f"WHERE time >= {start * 1000}ms AND time < {end * 1000}ms{device_filter(devices)} "
                 f'GROUP BY time({name}), "site", "device" fill(none)')
            for series in self._query(q):
                site, device = series["tags"]["site"], series["tags"]["device"]
                columns = series["columns"]
                for row in series["values"]:
                    values = dict(zip(columns, row))
                    key = (site, device, values["time"] // 1000)
                    if key not in wanted:
                        continue
                    for column, n in values.items():
                        if column.startswith("count_") and n:
                            metric = column[len("count_"):]
                            found[key][metric] = [n, n * values["mean_" + metric], values["min_" + metric],
                                                  values["max_" + metric], values["last_" + metric]]
        return found, asked


def windows(keys: Iterable[Key], width_s: int):
    """Group buckets into time windows of about ``READ_BACK_ROWS`` rows and at most ``READ_BACK_DEVICES``
    devices, each with the devices in it and its buckets."""
    by_start = sorted(keys, key=lambda k: k[2])
    window: list[Key] = []
    devices: set[str] = set()
    for item in by_start:
        if window:
            span = (item[2] - window[0][2]) // width_s + 1
            named = len(devices) + (item[1] not in devices)
            if item[2] - window[-1][2] > 10 * width_s or span * named > READ_BACK_ROWS or named > READ_BACK_DEVICES:
                yield _window(window, devices, width_s)
                window, devices = [], set()
        window.append(item)
        devices.add(item[1])
    if window:
        yield _window(window, devices, width_s)


def _window(items: list[Key], devices: set[str], width_s: int):
    start, end = items[0][2], items[-1][2] + width_s
    return start, end, sorted(devices), items
