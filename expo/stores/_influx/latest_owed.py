"""Each device's newest values not yet written to ``latest``: a device reading faster than ``LATEST_EVERY_S``
costs one ``latest`` point per interval, not one per reading.

Why: a district coming up, a burst or a replay writes each device many times
within seconds, and each ``latest`` point is one more point for InfluxDB to
take (it keeps every overwrite in its cache until it compacts); only the
newest values matter, and the dashboard reads them once a second.

What is never held back, so a writer that starts after a crash still knows
which rollup buckets the store may hold points in (``held``): a device's
first point, a point that moves the device's oldest bound back, and a point
whose reading is in a later minute than the last one written. The store's
newest reading of a device is then always inside the minute of its ``latest``
point, and that minute's bucket counts as possibly held, so it is read back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Callable

from expo.reading import Reading
from expo.stores._influx.held import Held

Device = tuple[str, str]
Values = dict[Device, tuple[float, dict[str, float]]]  # device: (newest s, each metric's newest value)
Since = dict[Device, float]  # device: its oldest reading, where that moves the store's bound back

LATEST_EVERY_S = 5.0


class LatestOwed:
    """Two steps, so a write that fails owes what it would have written: ``plan`` says what to write with a
    batch (or alone, ``plan_all``), ``wrote`` is told once it is stored."""

    def __init__(self, clock: Callable[[], float], every_s: float = LATEST_EVERY_S):
        self._clock = clock
        self.every_s = every_s
        # Each device's newest instant and every metric it has sent at its newest value, as far as this writer
        # has seen: a point is the whole set (one string field, ``last_values``), not just a batch's metrics.
        self._newest: dict[Device, list] = {}  # device: [newest s, {metric: newest value}]
        self._owed: dict[Device, list] = {}  # the devices whose newest is not written yet: the same lists
        self._written_minute: dict[Device, float] = {}
        self._due_s = math.inf

    @property
    def due(self) -> bool:
        return bool(self._owed) and self._clock() >= self._due_s

    def plan(self, readings: Iterable[Reading], held: Held) -> tuple[Values, Since]:
        """A batch's readings (``held``: what the store held before them): the newest values to write now
        (what is owed for the devices that cannot wait, or all of it once due) and the oldest bounds that
        move back. One pass over the readings: this runs for every reading stored."""
        owed, newest, written, span_of = self._owed, self._newest, self._written_minute, held.span
        now: set[Device] = set()
        since: Since = {}
        for r in readings:
            key = (r.site, r.device)
            ts_s = r.ts_s
            span = span_of(key)
            if span is None:  # a device new to the store: its first point says since when
                if ts_s < since.get(key, math.inf):
                    since[key] = ts_s
                now.add(key)
            elif ts_s < span[1]:  # older than what the store holds: newer values stand
                if ts_s < span[0] and ts_s < since.get(key, math.inf):
                    since[key] = ts_s
                continue
            entry = newest.get(key)
            if entry is None:
                entry = newest[key] = [ts_s, dict(r.metrics)]
            elif ts_s >= entry[0]:
                entry[0] = ts_s
                entry[1].update(r.metrics)
            else:  # older than the newest: it fills in only metrics the newer ones lack
                for metric, value in r.metrics.items():
                    entry[1].setdefault(metric, value)
            owed[key] = entry
            if written.get(key, -math.inf) < ts_s // 60:
                now.add(key)
        if owed and self._due_s == math.inf:
            self._due_s = self._clock() + self.every_s
        if self.due:
            return self.plan_all(), since
        values = {key: (owed[key][0], owed[key][1]) for key in now}
        for key in since:  # a bound moving back goes out now, with the values owed for its device
            if key not in values and key in owed:
                values[key] = (owed[key][0], owed[key][1])
        return values, since

    def plan_all(self) -> Values:
        """Everything owed (when due, at an idle moment, at close)."""
        return {device: (entry[0], entry[1]) for device, entry in self._owed.items()}

    def wrote(self, values: Values) -> None:
        owed, written = self._owed, self._written_minute
        for device, (ts_s, _) in values.items():
            entry = owed.get(device)
            if entry is not None and entry[0] <= ts_s:
                del owed[device]
            minute = ts_s // 60
            if written.get(device, -math.inf) < minute:
                written[device] = minute
        if not owed:
            self._due_s = math.inf
        elif self._due_s <= self._clock():
            self._due_s = self._clock() + self.every_s

    def pending(self) -> Values:
        """What a reader in this process sees on top of what is stored."""
        return self.plan_all()
