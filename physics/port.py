"""A container port's electric loads: ships on shore power at their berths, and the quay cranes' lift cycles.

Why these two: a berthed ship plugged into shore power (岸电) runs its hotel
load — pumps, reefers, lights, galley — from the grid instead of its diesel
generators, a steady megawatt or two for the hours it is alongside; a quay
crane draws its rated power only while hoisting a box, a few tens of seconds
in every two-minute move, so a port's load is a steady base with a sharp
sawtooth on top. Both are pure functions of time (``physics.noise``), so a
chunked run equals a single one.
"""

from __future__ import annotations

import numpy as np

from physics.noise import value_noise

_BERTH, _HOTEL, _SHIFT, _PHASE = 71, 72, 73, 74
BERTH_KNOT_S = 8 * 3600.0  # ships stay alongside for hours to a day or two
CRANE_CYCLE_S = 120.0  # one container move: about 30 an hour
# Share of rated power through a move: hoisting the box, trolleying, lowering, waiting for the next.
CRANE_PHASES = ((0.30, 0.85), (0.55, 0.25), (0.75, 0.10), (1.00, 0.04))
CRANE_AUX_SHARE = 0.04  # cab air conditioning, lights, drives on standby


def berth_occupied(epoch_s, seed: int, streams, occupancy_threshold: float = 0.2) -> np.ndarray:
    """Whether a ship lies at each berth (rows) at each instant (columns); about 40 % of the time."""
    t = np.asarray(epoch_s, dtype=np.float64)[None, :]
    return value_noise(t, seed, _BERTH * 100_000 + np.asarray(streams)[:, None], BERTH_KNOT_S) > occupancy_threshold


def shore_power_w(epoch_s, rated_w, seed: int, streams) -> np.ndarray:
    """A berth's shore-power draw [W]: the ship's hotel load, 40-60 % of the connection's rating, or 0 when empty."""
    t = np.asarray(epoch_s, dtype=np.float64)[None, :]
    rated = np.asarray(rated_w, dtype=np.float64)[:, None]
    hotel = 0.5 + 0.1 * np.clip(value_noise(t, seed, _HOTEL * 100_000 + np.asarray(streams)[:, None], 1800.0), -1, 1)
    return np.where(berth_occupied(epoch_s, seed, streams), rated * hotel, 0.0)


def crane_share(epoch_s, seed: int, streams) -> np.ndarray:
    """Share of rated power of each crane [0..1]: lift cycles while its gang works, standby between shifts."""
    t = np.asarray(epoch_s, dtype=np.float64)[None, :]
    streams = np.asarray(streams)[:, None]
    offset_s = CRANE_CYCLE_S * value_noise(np.zeros(1), seed, _PHASE * 100_000 + streams, 1.0)
    phase = np.mod(t + offset_s, CRANE_CYCLE_S) / CRANE_CYCLE_S
    share = np.full(np.broadcast(phase, streams).shape, CRANE_PHASES[-1][1])
    for end, level in reversed(CRANE_PHASES[:-1]):
        share = np.where(phase < end, level, share)
    working = value_noise(t, seed, _SHIFT * 100_000 + streams, 4 * 3600.0) > -0.5  # about 70 % of the time
    return np.where(working, share, CRANE_AUX_SHARE)


def crane_power_w(epoch_s, rated_w, seed: int, streams) -> np.ndarray:
    """Each quay crane's draw [W] (regeneration while lowering is netted inside the crane)."""
    return np.asarray(rated_w, dtype=np.float64)[:, None] * crane_share(epoch_s, seed, streams)
