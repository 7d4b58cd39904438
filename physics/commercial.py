"""Shops and offices: load follows opening hours, with climate control that follows the weather."""

from __future__ import annotations

import numpy as np

from physics.noise import value_noise

# Share of peak activity by local hour (0h..23h).
SHOP_HOURS = np.array([0, 0, 0, 0, 0, 0, 0, 0.1, 0.4, 0.8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.9, 0.6, 0.2, 0])
OFFICE_WEEKDAY = np.array([0, 0, 0, 0, 0, 0, 0, 0.2, 0.8, 1, 1, 1, 0.8, 1, 1, 1, 1, 0.9, 0.5, 0.2, 0.1, 0, 0, 0])
OFFICE_WEEKEND = OFFICE_WEEKDAY * 0.1


def activity(local_hour, weekend, is_office) -> np.ndarray:
    """Share of peak activity [0..1], devices along rows, instants along columns."""
    hour = np.asarray(local_hour).astype(np.int64) % 24
    office = np.where(np.asarray(weekend)[None, :], OFFICE_WEEKEND[hour][None, :], OFFICE_WEEKDAY[hour][None, :])
    shop = SHOP_HOURS[hour][None, :] * np.where(np.asarray(weekend), 1.15, 1.0)[None, :]
    return np.where(np.asarray(is_office)[:, None], office, np.minimum(shop, 1.0))


def power_w(epoch_s, local_hour, weekend, temp_air_c, base_w, peak_w, is_office, seed: int, streams) -> np.ndarray:
    """Base load (refrigeration, servers, standby) plus activity-driven lighting, equipment and HVAC."""
    act = activity(local_hour, weekend, is_office)
    t = np.asarray(temp_air_c, dtype=np.float64)[None, :]
    hvac = 0.35 * np.clip(np.abs(t - 21.0) - 4.0, 0.0, 12.0) / 12.0  # share of peak spent on climate control
    wobble = 1.0 + 0.06 * value_noise(np.asarray(epoch_s)[None, :], seed, np.asarray(streams)[:, None], 900.0)
    load = base_w[:, None] + (peak_w - base_w)[:, None] * act * (0.65 + hvac) * wobble
    return np.maximum(load, 0.0)
