"""Stochastic activity profiles: appliance and charging events turned into minute-by-minute power.

Behaviour is drawn once per local day, from a generator seeded by
(seed, stream, day), so a day's profile is the same however the simulation
is chunked. Events are (row, start minute, duration, power); summing their
step functions gives a (rows, 1440) matrix of watts.
"""

from __future__ import annotations

import numpy as np

MINUTES_PER_DAY = 1440


def day_rng(seed: int, stream: int, day: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, stream, int(day) + 1_000_000])


def minute_cdf(hourly_weights) -> np.ndarray:
    """Cumulative distribution over the day's minutes from 24 relative hourly weights."""
    weights = np.repeat(np.asarray(hourly_weights, dtype=np.float64), 60)
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def sample_start_minutes(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), MINUTES_PER_DAY - 1)


def events_to_profile(rows: int, row_index, start_min, duration_min, power_w) -> np.ndarray:
    """Sum rectangular events into a (rows, 1440) float32 matrix; events past midnight are cut there."""
    row_index = np.asarray(row_index, dtype=np.int64)
    start = np.clip(np.asarray(start_min, dtype=np.int64), 0, MINUTES_PER_DAY)
    end = np.clip(start + np.maximum(np.asarray(duration_min, dtype=np.int64), 1), 0, MINUTES_PER_DAY)
    width = MINUTES_PER_DAY + 1
    power = np.broadcast_to(np.asarray(power_w, dtype=np.float64), row_index.shape)
    steps = np.bincount(row_index * width + start, weights=power, minlength=rows * width)
    steps -= np.bincount(row_index * width + end, weights=power, minlength=rows * width)
    return np.cumsum(steps.reshape(rows, width), axis=1)[:, :MINUTES_PER_DAY].astype(np.float32)
