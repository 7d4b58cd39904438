"""One weather field over a city: where a district lies decides when a cloud reaches it and how windy it is.

Why: a city of districts under one sky is not eight copies of the same
weather. Weather systems drift across the North China Plain from the west
(the prevailing westerlies), so the cloud pattern a western district sees now
reaches an eastern one later, by its distance over the drift speed: a cloud
shadow crosses the city district by district and PV dips in that order. Wind
over the sea meets no roughness, so the coast is windier than inland; the
extra falls off exponentially with distance from the shore (sea-breeze and
internal-boundary-layer studies put the e-folding distance at some 5-15 km).

Positions are on the city plan in km east (``x_km``) and north (``y_km``) of
the city's origin. The coast is a straight line running north-north-east, as
Binhai's does, with the sea on its east side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WeatherField:
    cloud_drift_mps: float = 10.0  # speed of the cloud pattern, west to east
    coast_x_km: float = 36.0  # where the coastline crosses y = 0
    coast_slope: float = 0.15  # the coastline's x grows this many km per km north
    coast_wind_gain: float = 0.4  # wind on the shoreline is (1 + gain) times the inland wind
    coast_decay_km: float = 8.0  # distance inland over which the extra falls to 1/e


def cloud_delay_s(x_km, cloud_drift_mps: float) -> np.ndarray:
    """How much later than at x = 0 a cloud reaches a place ``x_km`` east of the origin [s]."""
    return np.asarray(x_km, dtype=np.float64) * 1000.0 / cloud_drift_mps


def distance_to_coast_km(x_km, y_km, coast_x_km: float, coast_slope: float) -> np.ndarray:
    """Perpendicular distance from the coastline, inland positive; 0 on the shore or out at sea [km]."""
    x, y = np.asarray(x_km, dtype=np.float64), np.asarray(y_km, dtype=np.float64)
    inland = (coast_x_km + coast_slope * y - x) / np.sqrt(1.0 + coast_slope**2)
    return np.maximum(inland, 0.0)


def coast_wind_factor(distance_km, coast_wind_gain: float, coast_decay_km: float) -> np.ndarray:
    """Wind speed relative to far inland: 1 + gain * exp(-distance / decay)."""
    return 1.0 + coast_wind_gain * np.exp(-np.asarray(distance_km, dtype=np.float64) / coast_decay_km)


def place_effects(x_km: float, y_km: float, field: WeatherField) -> tuple[float, float]:
    """(cloud delay [s], wind factor) of a place on the city plan under ``field``."""
    distance = distance_to_coast_km(x_km, y_km, field.coast_x_km, field.coast_slope)
    return (float(cloud_delay_s(x_km, field.cloud_drift_mps)),
            float(coast_wind_factor(distance, field.coast_wind_gain, field.coast_decay_km)))
