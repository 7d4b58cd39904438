"""Large industrial process loads: a base that never stops, three shifts on top, and the odd maintenance stop.

Why: an industrial park's meters are few but large, and their shape is not a
household's evening peak: a continuous process (furnaces, compressors,
chillers) draws its base around the clock, batch lines follow three shifts
with a lull at each handover and a quieter weekend, and a plant stops for
maintenance a few days a year. ``base_share`` says how continuous a process
is (0.4 for a batch line, 0.8 for a chemical plant).
"""

from __future__ import annotations

import numpy as np

from physics.noise import value_noise

_WOBBLE, _STOP = 81, 82
# Activity of the shift-driven part by local hour: three shifts, dips at the 00/08/16 handovers.
SHIFTS = np.array([0.75, 0.8, 0.8, 0.8, 0.75, 0.75, 0.8, 0.7, 0.6, 1, 1, 1, 0.9, 1, 1, 1, 0.7, 0.95, 0.95, 0.95,
                   0.9, 0.9, 0.85, 0.8])
WEEKEND_SHARE = 0.6  # weekend shifts run part of the lines
MAINTENANCE_LEVEL = 0.05  # a stopped plant still lights and guards itself
MAINTENANCE_THRESHOLD = -1.9  # smooth noise below this: about 3 % of the time, a day or two at a go


def process_share(epoch_s, local_hour, weekend, base_share, seed: int, streams) -> np.ndarray:
    """Share of rated power [0..1] of each process (rows) at each instant (columns)."""
    t = np.asarray(epoch_s, dtype=np.float64)[None, :]
    hour = np.asarray(local_hour).astype(np.int64) % 24
    shift = SHIFTS[hour] * np.where(np.asarray(weekend), WEEKEND_SHARE, 1.0)
    streams = np.asarray(streams)[:, None]
    base = np.asarray(base_share, dtype=np.float64)[:, None]
    wobble = 1.0 + 0.05 * value_noise(t, seed, _WOBBLE * 100_000 + streams, 900.0)
    share = np.clip((base + (1.0 - base) * shift[None, :]) * wobble, 0.0, 1.0)
    stopped = value_noise(t, seed, _STOP * 100_000 + streams, 86400.0) < MAINTENANCE_THRESHOLD
    return np.where(stopped, MAINTENANCE_LEVEL, share)


def process_power_w(epoch_s, local_hour, weekend, rated_w, base_share, seed: int, streams) -> np.ndarray:
    """Each process load's draw [W]."""
    share = process_share(epoch_s, local_hour, weekend, base_share, seed, streams)
    return np.asarray(rated_w, dtype=np.float64)[:, None] * share
