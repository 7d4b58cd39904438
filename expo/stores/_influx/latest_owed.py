"""Each device's newest values not yet written to ``latest``: a device reading faster than ``LATEST_EVERY_S``
costs one ``latest`` point per interval, not one per reading.

Why: InfluxDB keeps every overwrite of a point in its cache until a
compaction, and merges them at each read, so a ``latest`` point rewritten
every second made the dashboard's "now" cost grow with the write rate (p95
220-260 ms at 2,026 meters reading every second). A burst or a replay writes
each device many times within seconds; only its newest values matter.

What is never held back, so a writer that starts after a crash still knows
which rollup buckets the store may hold points in (``held``): a device's
first point, a point that moves the device's oldest bound back, and a point
whose reading is in a later minute than the last one written. The store's
newest reading of a device is then always inside the minute of its ``latest``
point, and that minute's bucket counts as possibly held, so it is read back.
"""

from __future__ import annotations

import math
from typing import Callable

Device = tuple[str, str]
Newest = dict[Device, tuple[float, dict[str, float], float]]  # device: (newest s, metrics, oldest s)

LATEST_EVERY_S = 5.0


class LatestOwed:
    """Two steps, so a write that fails owes what it would have written: ``plan`` says what to write with a
    batch (or alone, ``plan_all``), ``wrote`` is told once it is stored."""

    def __init__(self, clock: Callable[[], float], every_s: float = LATEST_EVERY_S):
        self._clock = clock
        self.every_s = every_s
        self._owed: dict[Device, tuple[float, dict[str, float]]] = {}
        self._written_minute: dict[Device, float] = {}
        self._due_s = math.inf

    @property
    def due(self) -> bool:
        return bool(self._owed) and self._clock() >= self._due_s

    def plan(self, newest: Newest, oldest_of: Callable[[Device], float],
             newest_of: Callable[[Device], float | None]) -> Newest:
        """Of a batch's newest values per device, those to write now (with what was owed for them, and all
        that is owed once it is due); the rest are owed from now on."""
        now: Newest = {}
        owed, written = self._owed, self._written_minute
        for device, (ts_s, metrics, oldest_s) in newest.items():
            before = owed.get(device)
            stored_s = newest_of(device)
            if (stored_s is not None and ts_s < stored_s) or oldest_s < oldest_of(device) \
                    or written.get(device, -math.inf) < ts_s // 60:
                if before is not None and before[0] <= ts_s:
                    metrics = {**before[1], **metrics}
                elif before is not None:  # a late batch while newer values are owed: those go, with its bound
                    ts_s, metrics = before
                now[device] = (ts_s, metrics, oldest_s)
            elif before is None:
                owed[device] = (ts_s, metrics)
            elif ts_s >= before[0]:
                owed[device] = (ts_s, {**before[1], **metrics})
            else:
                owed[device] = (before[0], {**metrics, **before[1]})
        if owed and self._due_s == math.inf:
            self._due_s = self._clock() + self.every_s
        if self.due:
            for device, entry in self.plan_all().items():
                now.setdefault(device, entry)
        return now

    def plan_all(self) -> Newest:
        """Everything owed (when due, at an idle moment, at close)."""
        return {device: (ts_s, metrics, math.inf) for device, (ts_s, metrics) in self._owed.items()}

    def wrote(self, written_now: Newest) -> None:
        owed, written = self._owed, self._written_minute
        for device, (ts_s, _, _) in written_now.items():
            before = owed.get(device)
            if before is not None and before[0] <= ts_s:
                del owed[device]
            minute = ts_s // 60
            if written.get(device, -math.inf) < minute:
                written[device] = minute
        if not owed:
            self._due_s = math.inf
        elif self._due_s <= self._clock():
            self._due_s = self._clock() + self.every_s

    def pending(self) -> dict[Device, tuple[float, dict[str, float]]]:
        """What a reader in this process sees on top of what is stored."""
        return self._owed
