"""Waiting for a consumer that only InfluxDB can tell us about: until every reading is stored, or it stops moving.

A consumer that stalls (a store judged down, a spool not replayed, a guard that quarantines) must not hang the
benchmark: the watch gives up after ``timeout_s`` in all, or ``stall_s`` without one more reading stored, or
as soon as ``settled()`` says nothing more is coming, and reports how far it got and when progress stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from burst.shared import influx_count


@dataclass
class Progress:
    stored: int = 0
    last_stored_wall: float = 0.0  # time.time() of the poll that first saw the final count
    ended: str = "complete"  # or "timeout", "stalled", "settled"
    samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds since first publish, stored)

    @property
    def seconds(self) -> float:
        """First publish to the poll that first saw the final count."""
        return next((max(t, 1e-9) for t, stored in self.samples if stored >= self.stored), 1e-9)

    def timeline(self, every_s: float = 10.0) -> str:
        """Stored readings at about every ``every_s`` seconds, for a stall's story."""
        out, next_s = [], 0.0
        for elapsed, stored in self.samples:
            if elapsed >= next_s:
                out.append(f"{elapsed:.0f}s:{stored:,}")
                next_s = elapsed + every_s
        return " ".join(out)


def watch_store(influx_port: int, database: str, fields: tuple[str, ...], sent: int, first_wall: float,
                timeout_s: float, stall_s: float, settled=None, min_interval_s: float = 0.2) -> Progress:
    """Polls the count; the poll waits twice as long as the count took, so a busy InfluxDB is not made busier."""
    progress = Progress(last_stored_wall=first_wall)
    while True:
        asked = time.time()
        count = influx_count(influx_port, database, fields)
        now = time.time()
        progress.samples.append((now - first_wall, count))
        if count > progress.stored:
            progress.stored, progress.last_stored_wall = count, now
        if count >= sent:
            return progress
        if now - first_wall > timeout_s:
            progress.ended = "timeout"
            return progress
        if now - progress.last_stored_wall > stall_s:
            progress.ended = "stalled"
            return progress
        if settled is not None and now - progress.last_stored_wall > 5.0 and settled():
            progress.ended = "settled"
            return progress
        time.sleep(max(min_interval_s, 2 * (now - asked)))
