"""Household electricity use built up from appliances, so the town shows real morning and evening peaks.

Each home owns a set of appliances (drawn once per seed) and switches them on
at times drawn each day from hourly weights for weekdays and weekends. On top
sit the loads that follow the physical world rather than habits: a fridge
cycling all day, lights when it is dark and someone is home, and air
conditioning when it is hot (or, in some homes, electric heating when cold).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physics.profiles import (
    MINUTES_PER_DAY,
    day_rng,
    events_to_profile,
    minute_cdf,
    sample_start_minutes,
)

# fmt: off
#                name               power_w duration_min events/day ownership weekday hourly weights (0h..23h) / weekend
APPLIANCES = (
    ("kettle",          1800, 4,   1.6, 0.85, [0,0,0,0,0,0,1,3,2,1,1,1,1,1,1,2,1,1,2,2,2,1,0.5,0], [0,0,0,0,0,0,0.5,1,3,2,2,1,1,1,1,2,1,1,2,2,2,1,0.5,0]),
    ("induction_hob",   1600, 25,  1.2, 0.9,  [0,0,0,0,0,0,1,3,1,0,0,2,4,1,0,0,0,3,6,3,0.5,0,0,0], [0,0,0,0,0,0,0,1,3,2,1,3,4,1,0,0,1,3,6,3,1,0,0,0]),
    ("rice_cooker",     700,  45,  0.8, 0.9,  [0,0,0,0,0,0,0.5,1,0,0,0,2,1,0,0,0,1,5,3,0,0,0,0,0], [0,0,0,0,0,0,0,0.5,1,0,1,3,1,0,0,0,1,5,3,0,0,0,0,0]),
    ("microwave",       1100, 5,   1.0, 0.7,  [0,0,0,0,0,0,1,3,1,0,0,1,3,1,0,0,0,1,3,2,1,1,0,0], [0,0,0,0,0,0,0,1,2,2,1,2,3,1,0,0,0,1,3,2,1,1,0,0]),
    ("washing_machine", 450,  70,  0.45, 0.95, [0,0,0,0,0,0,0.5,1,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,1,2,3,3,2,0.5,0], [0,0,0,0,0,0,0,1,3,4,4,3,2,2,2,1,1,1,1,1,1,0.5,0,0]),
    ("water_heater",    2500, 35,  0.9, 0.6,  [0,0,0,0,0,0.5,3,3,1,0,0,0,0,0,0,0,0,0,1,2,3,4,3,1], [0,0,0,0,0,0,1,2,3,2,1,0,0,0,0,0,0,0,1,2,3,4,3,1]),
    ("television",      130,  150, 1.1, 0.95, [0,0,0,0,0,0,0.3,0.5,0,0,0,0,0.5,0,0,0,0,0.5,2,5,5,3,1,0], [0,0,0,0,0,0,0,0.5,1,1,1,1,1,1,1,1,1,1,2,5,5,3,1,0]),
    ("computer",        160,  120, 0.7, 0.7,  [0,0,0,0,0,0,0,0.5,0,0,0,0,0,0,0,0,0,0.5,1,3,3,3,2,1], [0,0,0,0,0,0,0,0,1,2,2,2,2,2,2,2,2,2,2,3,3,3,2,1]),
)
# fmt: on
_HOME_WEEKDAY = np.array([1, 1, 1, 1, 1, 1, 1, 0.9, 0.4, 0.25, 0.25, 0.3, 0.4, 0.3, 0.25, 0.25, 0.3, 0.6, 0.9, 1, 1, 1, 1, 1])
_HOME_WEEKEND = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0.9, 0.7, 0.6, 0.6, 0.7, 0.6, 0.6, 0.6, 0.6, 0.8, 0.9, 1, 1, 1, 1, 1])
_AWAKE = np.array([0, 0, 0, 0, 0, 0, 0.3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.7, 0.2])

_TRAITS_STREAM = 21
_EVENTS_STREAM = 22


@dataclass(frozen=True)
class HouseholdTraits:
    """Per-home constants: people, standby load, fridge, lighting, air-conditioner and heater sizes."""

    occupants: np.ndarray
    standby_w: np.ndarray
    fridge_w: np.ndarray
    fridge_phase_min: np.ndarray
    lighting_w: np.ndarray
    ac_w: np.ndarray
    heater_w: np.ndarray
    owns: np.ndarray  # (homes, appliances) bool

    @property
    def count(self) -> int:
        return len(self.occupants)

    @property
    def rated_power_w(self) -> np.ndarray:
        appliance_w = np.array([a[1] for a in APPLIANCES], dtype=np.float64)
        return self.standby_w + self.fridge_w + self.lighting_w + self.ac_w + self.heater_w + self.owns @ appliance_w


def draw_traits(seed: int, count: int) -> HouseholdTraits:
    rng = np.random.default_rng([seed & 0xFFFFFFFF, _TRAITS_STREAM, count])
    occupants = rng.choice([1, 2, 3, 4, 5], size=count, p=[0.15, 0.32, 0.33, 0.15, 0.05])
    ownership = np.array([a[4] for a in APPLIANCES])
    return HouseholdTraits(
        occupants=occupants,
        standby_w=rng.uniform(35, 110, count),
        fridge_w=rng.uniform(90, 160, count),
        fridge_phase_min=rng.integers(0, 50, count),
        lighting_w=60 + 50 * occupants * rng.uniform(0.6, 1.3, count),
        ac_w=np.where(rng.random(count) < 0.9, rng.uniform(900, 2600, count), 0.0),
        heater_w=np.where(rng.random(count) < 0.25, rng.uniform(800, 2000, count), 0.0),
        owns=rng.random((count, len(APPLIANCES))) < ownership,
    )


def day_profile_w(
    traits: HouseholdTraits, seed: int, day: int, weekend: bool, dark_by_minute, temp_air_by_minute_c
) -> np.ndarray:
    """Power of every home for each minute of one local day, shape (homes, 1440) [W]."""
    n = traits.count
    rng = day_rng(seed, _EVENTS_STREAM, day)
    rows, starts, durations, powers = [], [], [], []
    activity = 0.55 + 0.25 * traits.occupants  # more people, more kettles
    for name, power_w, duration_min, per_day, _owned, weekday_w, weekend_w in APPLIANCES:
        counts = rng.poisson(per_day * activity * traits.owns[:, [a[0] for a in APPLIANCES].index(name)])
        total = int(counts.sum())
        rows.append(np.repeat(np.arange(n), counts))
        starts.append(sample_start_minutes(rng, minute_cdf(weekend_w if weekend else weekday_w), total))
        durations.append(np.rint(duration_min * rng.uniform(0.7, 1.4, total)))
        powers.append(power_w * rng.uniform(0.85, 1.1, total))
    profile = events_to_profile(
        n, np.concatenate(rows), np.concatenate(starts), np.concatenate(durations), np.concatenate(powers)
    )

    minute = np.arange(MINUTES_PER_DAY)
    hour = minute // 60
    home = (_HOME_WEEKEND if weekend else _HOME_WEEKDAY)[hour]
    fridge_on = ((minute[None, :] + traits.fridge_phase_min[:, None]) % 50) < 18  # compressor duty 36 %
    lit = np.asarray(dark_by_minute, dtype=bool) & (_AWAKE[hour] > 0)
    temp = np.asarray(temp_air_by_minute_c, dtype=np.float64)
    cooling = np.clip((temp - 26.0) / 8.0, 0.0, 1.0)
    heating = np.clip((5.0 - temp) / 15.0, 0.0, 1.0)
    climate_share = (home * (0.35 + 0.65 * _AWAKE[hour]))[None, :]

    profile += traits.standby_w[:, None]
    profile += traits.fridge_w[:, None] * fridge_on
    profile += (traits.lighting_w[:, None] * (lit * home * _AWAKE[hour])[None, :]).astype(np.float32)
    profile += (traits.ac_w[:, None] * cooling[None, :] * climate_share).astype(np.float32)
    profile += (traits.heater_w[:, None] * heating[None, :] * climate_share).astype(np.float32)
    return profile
