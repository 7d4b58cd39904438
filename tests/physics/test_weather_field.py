"""The city's weather field: clouds drift west to east, the coast is windier."""

import numpy as np
from hypothesis import given, strategies as st
from numpy.testing import assert_allclose

from physics import weather as wx
from physics.weather_field import (WeatherField, cloud_delay_s, coast_wind_factor, distance_to_coast_km,
                                   place_effects)

JULY_1_LOCAL_S = 1782835200
DAY_S = np.arange(JULY_1_LOCAL_S, JULY_1_LOCAL_S + 86400, 60.0)


def test_a_place_east_sees_the_cloud_pattern_later_by_its_distance_over_the_drift():
    climate = wx.Climate()
    west = wx.weather(DAY_S, climate, 7, cloud_delay_s=float(cloud_delay_s(5.0, 10.0)))
    east = wx.weather(DAY_S + 3000.0, climate, 7, cloud_delay_s=float(cloud_delay_s(35.0, 10.0)))
    assert_allclose(cloud_delay_s(35.0, 10.0) - cloud_delay_s(5.0, 10.0), 3000.0)  # 30 km at 10 m/s: 50 min
    assert_allclose(east.cloud_cover, west.cloud_cover, rtol=0, atol=1e-12)  # the same clouds, 50 minutes on
    assert not np.allclose(wx.weather(DAY_S, climate, 7).cloud_cover, east.cloud_cover)


def test_without_a_place_the_weather_is_the_single_site_weather():
    climate = wx.Climate()
    plain, placed = wx.weather(DAY_S, climate, 3), wx.weather(DAY_S, climate, 3, 0.0, 1.0)
    for name in ("cloud_cover", "ghi_wm2", "temp_air_c", "wind_speed_10m_mps"):
        np.testing.assert_array_equal(getattr(plain, name), getattr(placed, name))


def test_the_coast_is_windier_and_the_extra_fades_inland():
    assert_allclose(coast_wind_factor(0.0, 0.4, 8.0), 1.4)
    assert_allclose(coast_wind_factor(8.0, 0.4, 8.0), 1 + 0.4 / np.e)
    assert coast_wind_factor(100.0, 0.4, 8.0) < 1.001
    field = WeatherField(coast_x_km=34.0, coast_slope=0.15)
    # Along the same latitude, nearer the sea is windier; at sea, the shore's factor.
    factors = [place_effects(x, 28.0, field)[1] for x in (5.0, 20.0, 30.0, 39.0, 50.0)]
    assert factors == sorted(factors) and factors[-1] == factors[-2] == 1.4
    base = wx.wind_speed_10m_mps(DAY_S, wx.Climate(), 2)
    coast = wx.weather(DAY_S, wx.Climate(), 2, wind_factor=1.4).wind_speed_10m_mps
    assert_allclose(coast, 1.4 * base)


@given(x=st.floats(-100, 100), y=st.floats(-100, 100), slope=st.floats(-1, 1))
def test_distance_to_the_coast_is_never_negative_and_zero_on_the_line(x, y, slope):
    d = distance_to_coast_km(x, y, 30.0, slope)
    assert d >= 0
    assert distance_to_coast_km(30.0 + slope * y, y, 30.0, slope) < 1e-9
    if x < 30.0 + slope * y:  # inland: the perpendicular distance, never more than the east-west one
        assert d <= 30.0 + slope * y - x + 1e-9


@given(x1=st.floats(-50, 50), x2=st.floats(-50, 50), speed=st.floats(1, 40))
def test_cloud_delay_grows_eastwards(x1, x2, speed):
    if x1 < x2:
        assert cloud_delay_s(x1, speed) < cloud_delay_s(x2, speed)
