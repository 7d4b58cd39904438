"""EV charging sessions: cars arrive, draw their charger's power until full or gone, and leave."""

from __future__ import annotations

import numpy as np

from physics.profiles import day_rng, events_to_profile, minute_cdf, sample_start_minutes

_STREAM = 41
# Arrival weights by local hour: workplace chargers fill in the morning, public ones all day.
WORKPLACE_ARRIVALS = [0, 0, 0, 0, 0, 0, 0, 1, 5, 4, 1, 0.5, 0.5, 0.5, 0.3, 0.2, 0.1, 0, 0, 0, 0, 0, 0, 0]
PUBLIC_ARRIVALS = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 1.5, 1.5, 1.5, 2, 2.5, 2, 1.5, 1.5, 2, 2.5, 3, 3, 2.5, 2, 1, 0.5]


def day_profile_w(
    seed: int,
    stream: int,
    day: int,
    rated_w,
    sessions_per_day: float,
    energy_kwh_range: tuple[float, float],
    arrivals_hourly,
) -> np.ndarray:
    """Power of each charger for each minute of one local day, shape (chargers, 1440) [W].

    A charger serves one car at a time: sessions that would overlap are pushed
    to start after the previous one ends, as a queue would.
    """
    rated_w = np.asarray(rated_w, dtype=np.float64)
    n = len(rated_w)
    rng = day_rng(seed, _STREAM * 1000 + stream, day)
    counts = rng.poisson(sessions_per_day, n)
    total = int(counts.sum())
    rows = np.repeat(np.arange(n), counts)
    starts = np.sort(sample_start_minutes(rng, minute_cdf(arrivals_hourly), total) + rows * 10_000) - rows * 10_000
    energy_wh = rng.uniform(*energy_kwh_range, total) * 1000.0
    durations = np.ceil(energy_wh / rated_w[rows] * 60.0)
    # queue: a session starts no earlier than the previous one on its charger ends
    ends = starts + durations
    for i in range(1, total):
        if rows[i] == rows[i - 1] and starts[i] < ends[i - 1]:
            starts[i] = ends[i - 1]
            ends[i] = starts[i] + durations[i]
    return events_to_profile(n, rows, starts, durations, rated_w[rows])
