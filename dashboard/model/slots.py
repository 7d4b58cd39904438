"""The hall's day in 5-minute slots: the one place minutes become the points of a curve.

Every curve on screen (the town's load by sector, yesterday's total, the
building's generation and use) is the mean of the 1-minute values present in
each slot, so a slot half-filled by a late or missing meter shows what was
measured, not a dip to zero; a slot with nothing yet is None (not drawn).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

SLOT_S = 300  # the load curve's resolution: 288 slots a day
SLOTS = 86400 // SLOT_S


def local_midnight_s(t_s: float, timezone: str) -> float:
    """Midnight of ``t_s``'s day in the hall's time zone: "today" is the visitors' day, not UTC's."""
    local = datetime.fromtimestamp(t_s, ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def slot_means(values: Iterable[tuple[float, float]], day_start: float) -> list[float | None]:
    """Mean of the (minute bucket, value) pairs in each slot of the day starting at ``day_start``."""
    sums = [0.0] * SLOTS
    ns = [0] * SLOTS
    for bucket, value in values:
        slot = int((bucket - day_start) // SLOT_S)
        if 0 <= slot < SLOTS:
            sums[slot] += value
            ns[slot] += 1
    return [sums[i] / ns[i] if ns[i] else None for i in range(SLOTS)]


def slot_times(day_start_s: float, timezone: str) -> list[str]:
    """Local wall-clock labels of a day's slots, for the x axis (a day with a DST change keeps 288 slots)."""
    start = datetime.fromtimestamp(day_start_s, ZoneInfo(timezone)).replace(tzinfo=None)
    return [(start + timedelta(seconds=i * SLOT_S)).strftime("%Y-%m-%d %H:%M") for i in range(SLOTS)]
