"""Sun position, clear-sky irradiance and plane-of-array irradiance.

Sun position: NOAA's general solar position equations (Spencer's Fourier
series for declination and the equation of time), good to about 0.5 deg.
Clear sky: Haurwitz (1945), GHI = 1098 cos(z) exp(-0.057 / cos(z)).
Diffuse split: Erbs et al. (1982). Tilted plane: isotropic sky (Liu-Jordan).
"""

from __future__ import annotations

import numpy as np

SOLAR_CONSTANT_WM2 = 1361.0


def _day_angle(epoch_s: np.ndarray) -> np.ndarray:
    """Fractional year [rad] as NOAA defines it, from UTC instants."""
    instants = np.asarray(epoch_s, dtype=np.float64)
    seconds = instants.astype(np.int64).astype("datetime64[s]")
    year_start = seconds.astype("datetime64[Y]").astype("datetime64[s]")
    days = (seconds - year_start).astype(np.float64) / 86400.0 + (instants - np.floor(instants)) / 86400.0
    return 2.0 * np.pi / 365.0 * (days - 0.5)


def solar_position(epoch_s, latitude_deg: float, longitude_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Apparent solar zenith and azimuth [deg] for UTC instants."""
    g = _day_angle(epoch_s)
    eqtime_min = 229.18 * (
        0.000075 + 0.001868 * np.cos(g) - 0.032077 * np.sin(g) - 0.014615 * np.cos(2 * g) - 0.040849 * np.sin(2 * g)
    )
    decl = (
        0.006918
        - 0.399912 * np.cos(g)
        + 0.070257 * np.sin(g)
        - 0.006758 * np.cos(2 * g)
        + 0.000907 * np.sin(2 * g)
        - 0.002697 * np.cos(3 * g)
        + 0.00148 * np.sin(3 * g)
    )
    utc_minutes = np.mod(np.asarray(epoch_s, dtype=np.float64), 86400.0) / 60.0
    true_solar_min = utc_minutes + eqtime_min + 4.0 * longitude_deg
    hour_angle = np.radians(true_solar_min / 4.0 - 180.0)
    lat = np.radians(latitude_deg)
    cos_zen = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    zenith = np.degrees(np.arccos(np.clip(cos_zen, -1.0, 1.0)))
    azimuth = np.degrees(
        np.arctan2(np.sin(hour_angle), np.cos(hour_angle) * np.sin(lat) - np.tan(decl) * np.cos(lat))
    )
    return zenith, np.mod(azimuth + 180.0, 360.0)


def extraterrestrial_wm2(epoch_s) -> np.ndarray:
    """Normal irradiance at the top of the atmosphere, with the Earth-Sun distance's yearly swing."""
    return SOLAR_CONSTANT_WM2 * (1.0 + 0.033 * np.cos(_day_angle(epoch_s)))


def clearsky_ghi_haurwitz(zenith_deg) -> np.ndarray:
    cos_z = np.cos(np.radians(np.asarray(zenith_deg, dtype=np.float64)))
    safe = np.where(cos_z > 0.01, cos_z, 1.0)
    return np.where(cos_z > 0.01, 1098.0 * cos_z * np.exp(-0.057 / safe), 0.0)


def erbs_diffuse_fraction(clearness_index) -> np.ndarray:
    kt = np.clip(np.asarray(clearness_index, dtype=np.float64), 0.0, 1.0)
    mid = 0.9511 - 0.1604 * kt + 4.388 * kt**2 - 16.638 * kt**3 + 12.336 * kt**4
    return np.where(kt <= 0.22, 1.0 - 0.09 * kt, np.where(kt <= 0.80, mid, 0.165))


def split_ghi(ghi_wm2, zenith_deg, epoch_s) -> tuple[np.ndarray, np.ndarray]:
    """Direct normal and diffuse horizontal irradiance from global horizontal (Erbs)."""
    cos_z = np.cos(np.radians(zenith_deg))
    daylight = cos_z > 0.065  # below ~3.7 deg elevation all of it is treated as diffuse
    safe = np.where(daylight, cos_z, 1.0)
    kt = np.where(daylight, ghi_wm2 / (extraterrestrial_wm2(epoch_s) * safe), 0.0)
    dhi = np.where(daylight, ghi_wm2 * erbs_diffuse_fraction(kt), ghi_wm2)
    dni = np.where(daylight, (ghi_wm2 - dhi) / safe, 0.0)
    return np.maximum(dni, 0.0), np.maximum(dhi, 0.0)


def poa_isotropic(
    dni_wm2, dhi_wm2, ghi_wm2, zenith_deg, azimuth_deg, tilt_deg: float, surface_azimuth_deg: float, albedo=0.2
) -> np.ndarray:
    """Irradiance on a tilted plane [W/m^2]: beam on the plane + isotropic sky + ground reflection."""
    z = np.radians(zenith_deg)
    tilt = np.radians(tilt_deg)
    cos_aoi = np.cos(z) * np.cos(tilt) + np.sin(z) * np.sin(tilt) * np.cos(np.radians(azimuth_deg - surface_azimuth_deg))
    beam = dni_wm2 * np.clip(cos_aoi, 0.0, None)
    sky = dhi_wm2 * (1.0 + np.cos(tilt)) / 2.0
    ground = ghi_wm2 * albedo * (1.0 - np.cos(tilt)) / 2.0
    return beam + sky + ground
