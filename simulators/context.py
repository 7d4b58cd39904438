"""What every device model needs to know about a batch of instants: weather, local time, day profiles.

Day-scale behaviour (appliances, charging sessions) is drawn a whole local day
at a time and cached, so a model asks ``ctx.by_day(key, build)`` for a
(rows, instants) array and the day's (rows, 1440) profile is built at most once.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np

from physics import weather as wx
from physics.profiles import MINUTES_PER_DAY

DayBuilder = Callable[[int, bool, np.ndarray, np.ndarray], np.ndarray]


class DayCache:
    """The last few days' profiles per model; a simulation moves forward, so a handful is enough."""

    def __init__(self, keep: int = 3):
        self._keep = keep
        self._days: OrderedDict[tuple, np.ndarray] = OrderedDict()

    def get(self, key: tuple, build: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._days:
            self._days[key] = build()
            while len(self._days) > self._keep * 4:
                self._days.popitem(last=False)
        return self._days[key]


@dataclass
class Context:
    epoch_s: np.ndarray
    climate: wx.Climate
    seed: int
    weather: wx.Weather
    local_hour: np.ndarray
    local_day: np.ndarray
    local_minute: np.ndarray
    weekend: np.ndarray
    cache: DayCache
    # The weather's own seed and the site's place in a city's weather field: districts of one city share the
    # sky (one weather seed) but not their households (each its own device seed).
    weather_seed: int = 0
    cloud_delay_s: float = 0.0
    wind_factor: float = 1.0

    @classmethod
    def at(cls, epoch_s: np.ndarray, climate: wx.Climate, seed: int, cache: DayCache, weather_seed: int | None = None,
           cloud_delay_s: float = 0.0, wind_factor: float = 1.0) -> "Context":
        weather_seed = seed if weather_seed is None else weather_seed
        local_s = np.asarray(epoch_s, dtype=np.float64) + climate.utc_offset_h * 3600.0
        day = np.floor(local_s / 86400.0).astype(np.int64)
        minute = np.minimum(((local_s - day * 86400.0) // 60.0).astype(np.int64), MINUTES_PER_DAY - 1)
        return cls(
            epoch_s=np.asarray(epoch_s, dtype=np.float64),
            climate=climate,
            seed=seed,
            weather=wx.weather(epoch_s, climate, weather_seed, cloud_delay_s, wind_factor),
            local_hour=wx.local_hour(epoch_s, climate.utc_offset_h),
            local_day=day,
            local_minute=minute,
            weekend=is_weekend(day),
            cache=cache,
            weather_seed=weather_seed,
            cloud_delay_s=cloud_delay_s,
            wind_factor=wind_factor,
        )

    def day_minutes_epoch_s(self, day: int) -> np.ndarray:
        """The UTC instants of the middle of each minute of a local day."""
        return day * 86400.0 - self.climate.utc_offset_h * 3600.0 + np.arange(MINUTES_PER_DAY) * 60.0 + 30.0

    def by_day(self, key: str, build: DayBuilder) -> np.ndarray:
        """Sample a per-day (rows, 1440) profile at this context's instants -> (rows, instants)."""
        out = None
        for day in np.unique(self.local_day):
            def make(day=int(day)):
                minutes = self.day_minutes_epoch_s(day)
                day_wx = wx.weather(minutes, self.climate, self.weather_seed, self.cloud_delay_s, self.wind_factor)
                dark = day_wx.zenith_deg > 90.0
                return build(day, bool(is_weekend(np.array([day]))[0]), dark, day_wx.temp_air_c)

            profile = self.cache.get((key, int(day)), make)
            if out is None:
                out = np.empty((profile.shape[0], len(self.epoch_s)), dtype=np.float64)
            mask = self.local_day == day
            out[:, mask] = profile[:, self.local_minute[mask]]
        return out


def is_weekend(local_day: np.ndarray) -> np.ndarray:
    """1970-01-01 was a Thursday, so day d is weekday (d + 3) % 7 with Monday = 0."""
    return (np.asarray(local_day) + 3) % 7 >= 5
