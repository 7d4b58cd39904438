"""The figures of one run: lag percentiles overall and per minute, rates, backlog and its trend, CPU."""

from __future__ import annotations

import math


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def lag_line(lags: list[float]) -> str:
    if not lags:
        return "n=0"
    return (f"n={len(lags):,}  p50={percentile(lags, 50):.2f} s  p95={percentile(lags, 95):.2f} s  "
            f"max={max(lags):.2f} s")


def slope_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (wall s, value) in value per minute."""
    if len(points) < 2:
        return math.nan
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    return math.nan if sxx == 0 else 60 * sum((p[0] - mx) * (p[1] - my) for p in points) / sxx


def per_minute(lags: list[tuple[float, float]], start: float) -> list[tuple[int, list[float]]]:
    buckets: dict[int, list[float]] = {}
    for seen, lag in lags:
        buckets.setdefault(int((seen - start) // 60), []).append(lag)
    return sorted(buckets.items())


def backlog_points(samples, sim_reports, meta_count: int) -> list[tuple[float, int, int, int]]:
    """At each simulator report: (wall, acknowledged readings, ingest written + rejected, broker-side queue).

    The report is the simulator's own count of messages the broker acknowledged (its retained metadata
    included, hence ``meta_count`` off); it is paired with the first /health sample taken after it."""
    out = []
    for wall, (_steps, _made, acked, _pending, _dropped) in sim_reports:
        after = next((s for s in samples if s.wall >= wall and s.health), None)
        if after is None:
            continue
        h = after.health
        stored = int(h.get("readings_written", 0) + h.get("readings_spooled", 0) + h.get("rejected", 0))
        received_readings = int(h.get("received", 0)) - meta_count
        out.append((wall, acked - meta_count, stored, acked - meta_count - received_readings))
    return out


def cores(samples, name: str) -> float:
    have = [s for s in samples if name in s.cpu_s]
    if len(have) < 2 or have[-1].wall == have[0].wall:
        return math.nan
    return (have[-1].cpu_s[name] - have[0].cpu_s[name]) / (have[-1].wall - have[0].wall)


def rate(samples, key: str) -> float:
    have = [s for s in samples if key in s.health]
    if len(have) < 2:
        return math.nan
    return (have[-1].health[key] - have[0].health[key]) / (have[-1].wall - have[0].wall)


REALTIME_S = 3600.0  # a reading seen within this of its own timestamp was made in real time, not paced history


def due_offset_s(seen: list[tuple[float, float]], speed: float) -> float | None:
    """The simulator's paced clock as wall = offset + ts / speed, from (reading ts_s, wall seen) of every
    sampled reading: the offset of the most punctual one, so a reading's lateness is at least what it shows.

    Why estimated: the simulator sets its schedule after publishing its retained messages and logs no
    wall time for it; at a constant speed (up's paced default runs through a week of history, far more
    than a run) the earliest reading relative to its timestamp fixes it to within that reading's own
    lateness."""
    paced = [wall - ts / speed for ts, wall in seen if wall - ts > REALTIME_S]
    return min(paced) if paced else None


def due_s(ts_s: float, wall_seen: float, speed: float, offset_s: float | None) -> float:
    """The wall time a reading was due: its timestamp itself in real time, else its place on the paced clock."""
    if wall_seen - ts_s <= REALTIME_S or offset_s is None:
        return ts_s
    return offset_s + ts_s / speed
