"""What the store holds of each device, as far as its writer knows: the span from (a bound on) its oldest
reading to its newest.

Why: a rollup bucket the store may already hold points in must be read back
before the writer's own count of it is written (``buckets``). Knowing only
the newest reading, every bucket older than it would be read back — a whole
backfilled day, or a meter replaying its memory from before it was first
stored, all in wide queries. With the oldest too, a bucket outside the span
is known to be empty in the store, and only a bucket inside it costs a read.

And the stretches inside a span the writer knows hold nothing (``gaps``): a
week backfilled before the hour already live fills the span's inside, and
without them every bucket of it was read back — at a city's 20,000 meters in
queries of minutes each, and the backfill died. A gap is known only from this
writer's own readings (a stretch between two it stored with nothing between),
so it is never wrong; a restarted writer starts without any, and reads back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from expo.reading import Reading

Device = tuple[str, str]
MIN_GAP_S = 3600.0  # a stretch known empty is remembered from this long (the steps between readings are not)
MAX_GAPS = 8  # a device's longest few: more is a meter whose history arrives in pieces, read back as before


def may_hold_in(span, gaps, start_s: float, end_s: float) -> bool:
    """Whether a span and its gaps (open intervals holding no point) may hold a point in [start_s, end_s)."""
    if span is None or span[0] >= end_s or span[1] < start_s:
        return False
    return not any(a < start_s and end_s <= b for a, b in gaps)


class Held:
    def __init__(self, spans: dict[Device, list[float]] | None = None):
        self._spans = spans or {}  # device: [oldest bound (s), newest (s)]
        self._gaps: dict[Device, list[tuple[float, float]]] = {}  # device: open intervals in its span, empty

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

    def gaps(self, device: Device) -> tuple[tuple[float, float], ...]:
        return tuple(self._gaps.get(device, ()))

    def may_hold(self, device: Device, start_s: float, end_s: float) -> bool:
        """Whether the store may hold a point of ``device`` in [start_s, end_s)."""
        return may_hold_in(self._spans.get(device), self._gaps.get(device, ()), start_s, end_s)

    def extend(self, readings: Iterable[Reading]) -> None:
        """Readings just stored."""
        spans = self._spans
        for r in readings:
            span = spans.get((r.site, r.device))
            if span is None:
                spans[(r.site, r.device)] = [r.ts_s, r.ts_s]
            elif r.ts_s > span[1]:
                if r.ts_s - span[1] >= MIN_GAP_S:
                    self._add_gap((r.site, r.device), span[1], r.ts_s)
                span[1] = r.ts_s
            elif r.ts_s < span[0]:
                if span[0] - r.ts_s >= MIN_GAP_S:
                    self._add_gap((r.site, r.device), r.ts_s, span[0])
                span[0] = r.ts_s
            elif (r.site, r.device) in self._gaps:
                self._fill((r.site, r.device), r.ts_s)

    def _add_gap(self, device: Device, start_s: float, end_s: float) -> None:
        gaps = self._gaps.setdefault(device, [])
        gaps.append((start_s, end_s))
        if len(gaps) > MAX_GAPS:
            gaps.remove(min(gaps, key=lambda g: g[1] - g[0]))

    def _fill(self, device: Device, ts_s: float) -> None:
        """A point now stored at ``ts_s``: a gap around it is two, or none where too short to keep."""
        kept = []
        for a, b in self._gaps[device]:
            if a < ts_s < b:
                kept += [g for g in ((a, ts_s), (ts_s, b)) if g[1] - g[0] >= MIN_GAP_S]
            else:
                kept.append((a, b))
        if kept:
            self._gaps[device] = kept
        else:
            del self._gaps[device]
