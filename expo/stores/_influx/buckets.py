"""Rollup buckets kept in memory from the readings a writer stores: count, sum, min, max and last per metric.

Why: recomputing a bucket from raw points is an InfluxQL aggregate grouped
by device, which at 10,000 meters cost the server seconds a query and
starved the writes it was meant to follow. The writer holds every reading
anyway, so the aggregate of a bucket it has seen from the start is exact
from the readings alone.

A minute bucket remembers which of its 60 seconds it has counted (a bit
each, and the values of the last few), so a reading that comes again — a
redelivery after a reconnect, the same batch replayed — is known and not
counted twice, and one that comes late but new is simply added (count, sum, min and max do not care about order;
``last`` moves only forward). The hour takes a reading exactly when its
minute does. What the writer cannot know makes a bucket *unsure*, to be read
back from the store (``expo.stores._influx.rollups``: "reseeding"):

- it may hold points this writer never saw: the bucket lies inside the span
  the store already held for the device when the bucket was first touched
  (``held``: a restart mid-minute, a late reading for a bucket let go of);
- a reading at or before the newest one counted that its minute cannot
  vouch for: off the whole second, or after the minute was itself read back.

A bucket is let go of once the device has moved on to a later one and it has
been written, so memory holds about one bucket per device and width.
"""

from __future__ import annotations

from collections.abc import Iterable

from expo.reading import Reading
from expo.stores._influx.held import Held

Key = tuple[str, str, int]  # site, device, bucket start (s)

RECENT_SECONDS = 8  # a redelivery is of what was in flight: the last few readings of a device


class Bucket:
    __slots__ = ("start_s", "last_ts_s", "metrics", "dirty", "unsure", "seen", "recent")

    def __init__(self, start_s: int, unsure: bool):
        self.start_s = start_s
        self.last_ts_s = -1.0
        self.metrics: dict[str, list[float]] = {}  # metric: [n, sum, min, max, last]
        self.dirty = True
        self.unsure = unsure
        self.seen = 0  # minute buckets: bit s set once second s has been counted; -1 once read back
        self.recent: dict[int, int] = {}  # the last few seconds counted: the hash of their values

    def add(self, ts_s: float, metrics: dict[str, float]) -> None:
        newest = ts_s > self.last_ts_s
        aggs = self.metrics
        for metric, value in metrics.items():
            agg = aggs.get(metric)
            if agg is None:
                aggs[metric] = [1, value, value, value, value]
                continue
            agg[0] += 1
            agg[1] += value
            if value < agg[2]:
                agg[2] = value
            elif value > agg[3]:
                agg[3] = value
            if newest:
                agg[4] = value
        if newest:
            self.last_ts_s = ts_s
        self.dirty = True

    def note(self, ts_s: float) -> None:
        """A reading the store has, counted by the read-back to come."""
        if ts_s > self.last_ts_s:
            self.last_ts_s = ts_s
        self.dirty = True


class Buckets:
    """The open buckets of one width (60 or 3600 s) for every device this writer stores."""

    def __init__(self, width_s: int):
        self.width_s = width_s
        self.open: dict[Key, Bucket] = {}
        self._current: dict[tuple[str, str], int] = {}  # each device's newest bucket start
        self._open_seen: dict[Key, tuple[float, float]] = {}  # open buckets as the previous quiet pass saw them

    def bucket(self, r: Reading, held: Held) -> Bucket:
        width = self.width_s
        start = int(r.ts_s // width) * width
        key = (r.site, r.device, start)
        bucket = self.open.get(key)
        if bucket is None:
            device = (r.site, r.device)
            bucket = self.open[key] = Bucket(start, unsure=held.may_hold(device, start, start + width))
            if start > self._current.get(device, -1):
                self._current[device] = start
        return bucket

    def unsure(self) -> list[Key]:
        return [key for key, bucket in self.open.items() if bucket.unsure]

    def reseed(self, key: Key, metrics: dict[str, list[float]], newest_stored_s: float) -> None:
        """The aggregate of a bucket as the store holds it (this writer's readings included): exact from now on.

        Its newest counted instant is the device's newest stored reading, clipped to the bucket: a reading
        at or before it is a repeat or late, and makes the bucket unsure again."""
        bucket = self.open.get(key)
        if bucket is None:
            return
        if metrics:
            bucket.metrics = metrics
        bucket.last_ts_s = max(bucket.last_ts_s, min(newest_stored_s, key[2] + self.width_s))
        bucket.unsure = False
        bucket.seen = -1  # which seconds the store holds is not known: the bits vouch for nothing now
        bucket.dirty = True

    def dirty(self, include_open: bool = True, quiet_only: bool = False) -> list[tuple[Key, Bucket]]:
        """Buckets changed since they were last written and sure of their aggregate; without ``include_open``
        only those their device has moved on from. With ``quiet_only``, of the open ones only those unchanged
        since the previous such call: a meter gone silent mid-bucket, whose bucket would otherwise never be
        written; one still counting is written once it is closed."""
        current = self._current
        out = []
        seen, self._open_seen = self._open_seen, {}
        for key, bucket in self.open.items():
            if not bucket.dirty or bucket.unsure:
                continue
            if key[2] < current.get(key[:2], key[2] + 1):
                out.append((key, bucket))
            elif include_open and not quiet_only:
                out.append((key, bucket))
            elif include_open:
                state = (bucket.last_ts_s, sum(agg[0] for agg in bucket.metrics.values()))
                if seen.get(key) == state:
                    out.append((key, bucket))
                else:
                    self._open_seen[key] = state
        return out

    def written(self, keys: Iterable[Key]) -> None:
        """Mark written; let go of those the device has moved on from."""
        for key in keys:
            bucket = self.open.get(key)
            if bucket is None:
                continue
            bucket.dirty = False
            if key[2] < self._current.get((key[0], key[1]), key[2]):
                del self.open[key]


def count(minute: Bucket, hour: Bucket, r: Reading) -> None:
    """Count a reading into its minute and its hour, the hour exactly as its minute judges it: new (added to
    both), a repeat (counted before: left out of both) or unsure (both read back). One function for both:
    it runs for every reading stored."""
    ts_s = r.ts_s
    if minute.unsure:
        minute.note(ts_s)
        _unsure(hour, ts_s)
        return
    second = ts_s - minute.start_s
    if minute.seen >= 0 and second == int(second):
        second = int(second)
        bit = 1 << second
        values = hash(tuple(r.metrics.items()))
        if not minute.seen & bit:
            minute.seen |= bit
            recent = minute.recent
            recent[second] = values
            if len(recent) > RECENT_SECONDS:
                del recent[next(iter(recent))]
            _add(minute, hour, ts_s, r.metrics)
            return
        if minute.recent.get(second) == values:  # the same reading again: a redelivery
            return
        # counted before with other values (a correction overwrites the stored point), or too long ago to tell
    if ts_s > minute.last_ts_s:  # off the whole second, or read back: only what is newer can be vouched for
        _add(minute, hour, ts_s, r.metrics)
        return
    minute.unsure = True
    minute.note(ts_s)
    _unsure(hour, ts_s)


def _unsure(hour: Bucket, ts_s: float) -> None:
    hour.unsure = True
    hour.note(ts_s)


def _add(minute: Bucket, hour: Bucket, ts_s: float, metrics: dict[str, float]) -> None:
    minute.add(ts_s, metrics)
    if hour.unsure:  # to be read back: only its newest instant matters until then
        hour.note(ts_s)
    else:
        hour.add(ts_s, metrics)
