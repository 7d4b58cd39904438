"""What the store holds of each device, as far as its writer knows: the span from (a bound on) its oldest
reading to its newest.

Why: a rollup bucket the store may already hold points in must be read back
before the writer's own count of it is written (``buckets``). Knowing only
the newest reading, every bucket older than it would be read back — a whole
backfilled day, or a meter replaying its memory from before it was first
stored, all in wide queries. With the oldest too, a bucket outside the span
is known to be empty in the store, and only a bucket inside it costs a read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from expo.reading import Reading

Device = tuple[str, str]


class Held:
    def __init__(self, spans: dict[Device, list[float]] | None = None):
        self._spans = spans or {}  # device: [oldest bound (s), newest (s)]

    @property
    def empty(self) -> bool:
        return not self._spans

    def span(self, device: Device) -> list[float] | None:
        """[oldest bound, newest] (s), or None for a device the store holds nothing of. Not to be changed."""
        return self._spans.get(device)

    def newest(self, device: Device) -> float | None:
        span = self._spans.get(device)
        return None if span is None else span[1]

    def oldest(self, device: Device) -> float:
        span = self._spans.get(device)
        return math.inf if span is None else span[0]

    def may_hold(self, device: Device, start_s: float, end_s: float) -> bool:
        """Whether the store may hold a point of ``device`` in [start_s, end_s)."""
        span = self._spans.get(device)
        return span is not None and span[0] < end_s and span[1] >= start_s

    def extend(self, readings: Iterable[Reading]) -> None:
        """Readings just stored."""
        spans = self._spans
        for r in readings:
            span = spans.get((r.site, r.device))
            if span is None:
                spans[(r.site, r.device)] = [r.ts_s, r.ts_s]
            elif r.ts_s > span[1]:
                span[1] = r.ts_s
            elif r.ts_s < span[0]:
                span[0] = r.ts_s
