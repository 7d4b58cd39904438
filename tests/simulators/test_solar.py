"""Sun and sky models against published reference values."""

import numpy as np
from numpy.testing import assert_allclose

from physics import solar

LAT, LON = 39.0, 117.7


def utc(iso: str) -> float:
    return np.datetime64(iso, "s").astype(np.int64).astype(float)


def test_noon_zenith_is_latitude_minus_declination():
    # At solar noon zenith = |lat - declination|; declination +23.44 (June solstice), -23.44 (December), ~0 (equinox).
    t = np.arange(utc("2026-06-21T02:00"), utc("2026-06-21T06:00"), 30.0)
    assert_allclose(solar.solar_position(t, LAT, LON)[0].min(), LAT - 23.44, atol=0.3)
    t = np.arange(utc("2026-12-21T02:00"), utc("2026-12-21T06:00"), 30.0)
    assert_allclose(solar.solar_position(t, LAT, LON)[0].min(), LAT + 23.44, atol=0.3)
    t = np.arange(utc("2026-03-20T02:00"), utc("2026-03-20T06:00"), 30.0)
    assert_allclose(solar.solar_position(t, LAT, LON)[0].min(), LAT, atol=0.6)


def test_solar_noon_time_follows_longitude_and_equation_of_time():
    # NOAA: at 117.7 E solar noon is 12:00 UTC - 117.7 * 4 min + ... ; on 3 November the equation of time is +16.4 min.
    t = np.arange(utc("2026-11-03T02:00"), utc("2026-11-03T06:00"), 10.0)
    zenith, azimuth = solar.solar_position(t, LAT, LON)
    noon = t[np.argmin(zenith)]
    expected = utc("2026-11-03T12:00") - 117.7 * 240.0 - 16.4 * 60.0
    assert abs(noon - expected) < 90
    assert_allclose(azimuth[np.argmin(zenith)], 180.0, atol=1.0)


def test_sunrise_is_in_the_east_and_sunset_in_the_west():
    t = np.arange(utc("2026-06-21T18:00"), utc("2026-06-22T14:00"), 60.0)
    zenith, azimuth = solar.solar_position(t, LAT, LON)
    up = np.flatnonzero(zenith < 90)
    assert 40 < azimuth[up[0]] < 70 and 290 < azimuth[up[-1]] < 320  # summer: north of east/west
    day_minutes = len(up)
    assert 14.5 * 60 < day_minutes < 15.2 * 60  # Tianjin's longest day is about 14 h 55 min


def test_haurwitz_reference_values():
    assert_allclose(solar.clearsky_ghi_haurwitz(0.0), 1098 * np.exp(-0.057), rtol=1e-9)
    assert_allclose(solar.clearsky_ghi_haurwitz(60.0), 1098 * 0.5 * np.exp(-0.114), rtol=1e-9)
    assert solar.clearsky_ghi_haurwitz(95.0) == 0.0


def test_tilted_plane_gets_everything_when_facing_the_sun_and_only_sky_when_not():
    dni, dhi, ghi = np.array(800.0), np.array(100.0), np.array(500.0)
    facing = solar.poa_isotropic(dni, dhi, ghi, 40.0, 180.0, 40.0, 180.0)
    assert_allclose(facing, 800 + 100 * (1 + np.cos(np.radians(40))) / 2 + 500 * 0.2 * (1 - np.cos(np.radians(40))) / 2)
    away = solar.poa_isotropic(dni, dhi, ghi, 40.0, 180.0, 90.0, 0.0)  # north facade
    assert_allclose(away, 100 * 0.5 + 500 * 0.2 * 0.5)


def test_diffuse_split_conserves_global_irradiance():
    t = np.full(50, utc("2026-07-01T04:00"))
    zenith = np.linspace(10, 80, 50)
    ghi = solar.clearsky_ghi_haurwitz(zenith) * 0.7
    dni, dhi = solar.split_ghi(ghi, zenith, t)
    assert_allclose(dni * np.cos(np.radians(zenith)) + dhi, ghi, rtol=1e-9)
