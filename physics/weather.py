"""Site weather: cloud cover, irradiance, air temperature and wind, as pure functions of time.

Each process is a climatological mean plus deterministic smooth noise
(``noise.value_noise``): a slow component for weather systems that last days
and a fast one for passing clouds or gusts. Parameters come from the scenario's
``[climate]`` table; the defaults describe Tianjin Binhai (cold dry winters,
a humid cloudy monsoon summer, a windy spring).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physics import solar
from physics.noise import value_noise

DAY_S = 86400.0
YEAR_DAYS = 365.2422

# stream ids keep the noise of different processes independent under one seed
_CLOUD_SLOW, _CLOUD_FAST, _TEMP, _WIND_SLOW, _WIND_FAST = 11, 12, 13, 14, 15


@dataclass(frozen=True)
class Climate:
    latitude_deg: float = 39.0
    longitude_deg: float = 117.7
    utc_offset_h: float = 8.0
    annual_mean_temperature_c: float = 12.5
    annual_amplitude_c: float = 15.5
    coldest_day_of_year: float = 20.0
    daily_amplitude_c: float = 4.5
    clear_sky_factor: float = 0.85  # haze and aerosols below a textbook clear sky; North China Plain air is hazy
    mean_cloud_cover: float = 0.5
    summer_extra_cloud_cover: float = 0.2
    mean_wind_speed_10m_mps: float = 4.2


@dataclass(frozen=True)
class Weather:
    zenith_deg: np.ndarray
    azimuth_deg: np.ndarray
    cloud_cover: np.ndarray
    ghi_wm2: np.ndarray
    dni_wm2: np.ndarray
    dhi_wm2: np.ndarray
    temp_air_c: np.ndarray
    wind_speed_10m_mps: np.ndarray


def local_hour(epoch_s, utc_offset_h: float) -> np.ndarray:
    return np.mod(np.asarray(epoch_s, dtype=np.float64) / 3600.0 + utc_offset_h, 24.0)


def cloud_cover(epoch_s, climate: Climate, seed: int) -> np.ndarray:
    """Sky fraction covered [0..1]: days-long weather systems plus passing clouds."""
    doy = _season_day(epoch_s)
    summer = 0.5 * (1.0 - np.cos(2.0 * np.pi * (doy - 20.0) / YEAR_DAYS))  # 0 in January, 1 in July
    base = climate.mean_cloud_cover - climate.summer_extra_cloud_cover / 2 + climate.summer_extra_cloud_cover * summer
    slow = value_noise(epoch_s, seed, _CLOUD_SLOW, 1.5 * DAY_S)
    fast = value_noise(epoch_s, seed, _CLOUD_FAST, 1200.0)
    return np.clip(base + 0.38 * slow + 0.12 * fast, 0.0, 1.0)


def clear_sky_index(cover) -> np.ndarray:
    """Kasten & Czeplak (1980): GHI / GHI_clear = 1 - 0.75 * cover^3.4."""
    return 1.0 - 0.75 * np.power(cover, 3.4)


def air_temperature_c(epoch_s, climate: Climate, seed: int, cover=None) -> np.ndarray:
    """Seasonal and daily cycles, weather-system anomalies; clouds damp the daily swing."""
    doy = _season_day(epoch_s)
    hour = local_hour(epoch_s, climate.utc_offset_h)
    seasonal = climate.annual_mean_temperature_c - climate.annual_amplitude_c * np.cos(
        2.0 * np.pi * (doy - climate.coldest_day_of_year) / YEAR_DAYS
    )
    swing = climate.daily_amplitude_c * (1.0 if cover is None else 1.0 - 0.5 * np.asarray(cover))
    daily = swing * np.cos(2.0 * np.pi * (hour - 15.0) / 24.0)  # warmest mid-afternoon
    return seasonal + daily + 2.5 * value_noise(epoch_s, seed, _TEMP, 2.0 * DAY_S)


def wind_speed_10m_mps(epoch_s, climate: Climate, seed: int) -> np.ndarray:
    """Log-normal around the climatological mean, windiest in spring, gusty within the hour."""
    doy = _season_day(epoch_s)
    spring = 1.0 + 0.15 * np.cos(2.0 * np.pi * (doy - 100.0) / YEAR_DAYS)
    sigma = 0.45
    n = 0.85 * value_noise(epoch_s, seed, _WIND_SLOW, 0.75 * DAY_S) + 0.5 * value_noise(
        epoch_s, seed, _WIND_FAST, 600.0
    )
    return climate.mean_wind_speed_10m_mps * spring * np.exp(sigma * n - sigma**2 / 2.0)


def weather(epoch_s, climate: Climate, seed: int, cloud_delay_s: float = 0.0, wind_factor: float = 1.0) -> Weather:
    """Everything the site's devices need, for UTC instants.

    ``cloud_delay_s`` and ``wind_factor`` place the site in a city's weather field
    (``physics.weather_field``): it sees the cloud pattern that long after the
    city's origin does, and its wind scaled by its nearness to the coast.
    """
    t = np.asarray(epoch_s, dtype=np.float64)
    zenith, azimuth = solar.solar_position(t, climate.latitude_deg, climate.longitude_deg)
    cover = cloud_cover(t - cloud_delay_s, climate, seed)
    ghi = solar.clearsky_ghi_haurwitz(zenith) * climate.clear_sky_factor * clear_sky_index(cover)
    dni, dhi = solar.split_ghi(ghi, zenith, t)
    return Weather(
        zenith_deg=zenith,
        azimuth_deg=azimuth,
        cloud_cover=cover,
        ghi_wm2=ghi,
        dni_wm2=dni,
        dhi_wm2=dhi,
        temp_air_c=air_temperature_c(t, climate, seed, cover),
        wind_speed_10m_mps=wind_factor * wind_speed_10m_mps(t, climate, seed),
    )


def _season_day(epoch_s) -> np.ndarray:
    """Day of the tropical year since 1970, 0 near 1 January: enough for climate cycles."""
    return np.mod(np.asarray(epoch_s, dtype=np.float64) / DAY_S, YEAR_DAYS)


def overcast(w: Weather, epoch_s, cover: float, clear_sky_factor: float) -> Weather:
    """The same instants under at least ``cover`` of cloud: irradiance from the clear-sky model and the
    Kasten & Czeplak index, as ``weather`` computes it (a cloud passing over, or a forecast's cover)."""
    t = np.asarray(epoch_s, dtype=np.float64)
    thicker = np.maximum(w.cloud_cover, cover)
    ghi = solar.clearsky_ghi_haurwitz(w.zenith_deg) * clear_sky_factor * clear_sky_index(thicker)
    dni, dhi = solar.split_ghi(ghi, w.zenith_deg, t)
    return Weather(w.zenith_deg, w.azimuth_deg, thicker, ghi, dni, dhi, w.temp_air_c, w.wind_speed_10m_mps)
