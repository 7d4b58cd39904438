"""Rollup buckets kept in memory from the readings a writer stores: count, sum, min, max and last per metric.

Why: recomputing a bucket from raw points is an InfluxQL aggregate grouped
by device, which at 10,000 meters cost the server seconds a query and
starved the writes it was meant to follow. The writer holds every reading
anyway, so the aggregate of a bucket it has seen from the start is exact
from the readings alone.

A bucket is exact only while the writer has seen all of it, in order. Two
things break that, and each makes the bucket *unsure*, to be read back from
the store (``expo.stores._influx.rollups`` does that: "reseeding"):

- it may hold points this writer never saw: the bucket lies inside the span
  the store already held for the device when the bucket was first touched
  (``held``: a restart mid-minute, a late reading for a bucket let go of);
- a reading at or before the newest one counted in it: a redelivery or a late
  reading, which the counts would otherwise take twice or out of order.

A bucket is let go of once the device has moved on to a later one and it has
been written, so memory holds about one bucket per device and width.
"""

from __future__ import annotations

from collections.abc import Iterable

from expo.reading import Reading
from expo.stores._influx.held import Held

Key = tuple[str, str, int]  # site, device, bucket start (s)


class Bucket:
    __slots__ = ("start_s", "last_ts_s", "metrics", "dirty", "unsure")

    def __init__(self, start_s: int, unsure: bool):
        self.start_s = start_s
        self.last_ts_s = -1.0
        self.metrics: dict[str, list[float]] = {}  # metric: [n, sum, min, max, last]
        self.dirty = True
        self.unsure = unsure

    def add(self, ts_s: float, metrics: dict[str, float]) -> None:
        for metric, value in metrics.items():
            agg = self.metrics.get(metric)
            if agg is None:
                self.metrics[metric] = [1, value, value, value, value]
            else:
                agg[0] += 1
                agg[1] += value
                if value < agg[2]:
                    agg[2] = value
                if value > agg[3]:
                    agg[3] = value
                agg[4] = value
        self.last_ts_s = ts_s
        self.dirty = True


class Buckets:
    """The open buckets of one width (60 or 3600 s) for every device this writer stores."""

    def __init__(self, width_s: int):
        self.width_s = width_s
        self.open: dict[Key, Bucket] = {}
        self._current: dict[tuple[str, str], int] = {}  # each device's newest bucket start

    def add(self, readings: Iterable[Reading], held: Held) -> None:
        """Count readings just stored; ``held`` is what the store held before them."""
        width = self.width_s
        for r in readings:
            device = (r.site, r.device)
            start = int(r.ts_s // width) * width
            key = (r.site, r.device, start)
            bucket = self.open.get(key)
            if bucket is None:
                bucket = self.open[key] = Bucket(start, unsure=held.may_hold(device, start, start + width))
                if start > self._current.get(device, -1):
                    self._current[device] = start
            elif r.ts_s <= bucket.last_ts_s:  # seen before, or late: counting it again would be wrong
                bucket.unsure = bucket.dirty = True
                continue
            if not bucket.unsure:
                bucket.add(r.ts_s, r.metrics)
            else:  # its aggregate comes from the store, which has this reading too by then
                bucket.last_ts_s = max(bucket.last_ts_s, r.ts_s)
                bucket.dirty = True

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
        bucket.dirty = True

    def dirty(self, include_open: bool = True) -> list[tuple[Key, Bucket]]:
        """Buckets changed since they were last written and sure of their aggregate; without ``include_open``
        only those their device has moved on from."""
        current = self._current
        return [(key, bucket) for key, bucket in self.open.items() if bucket.dirty and not bucket.unsure
                and (include_open or key[2] < current.get(key[:2], key[2] + 1))]

    def written(self, keys: Iterable[Key]) -> None:
        """Mark written; let go of those the device has moved on from."""
        for key in keys:
            bucket = self.open.get(key)
            if bucket is None:
                continue
            bucket.dirty = False
            if key[2] < self._current.get((key[0], key[1]), key[2]):
                del self.open[key]
