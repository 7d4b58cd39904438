"""Device physics: reference values and the shapes a physicist would check first."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from numpy.testing import assert_allclose

from physics import battery, heat_pump, noise, profiles, pv, wind
from physics import weather as wx

YEAR_S = np.arange(1767196800, 1767196800 + 365 * 86400, 900.0)


def test_pvwatts_reference_point_and_temperature_loss():
    assert_allclose(pv.pvwatts_dc(1000.0, 25.0, 5000.0), 5000.0)
    assert_allclose(pv.pvwatts_dc(1000.0, 45.0, 5000.0, gamma_per_c=-0.004), 5000.0 * 0.92)
    assert_allclose(pv.cell_temperature_noct(800.0, 20.0, noct_c=45.0), 45.0)
    assert pv.ac_output_w(10_000.0, 4000.0) == 4000.0  # inverter clipping


def test_wind_power_curve():
    speeds = np.array([0.0, 2.9, 3.0, 7.5, 12.0, 20.0, 25.0, 25.1])
    power = wind.power_curve_w(speeds, 2e6)
    assert power[0] == power[1] == power[2] == 0.0 and power[-1] == 0.0
    assert power[4] == power[5] == power[6] == 2e6
    assert 0 < power[3] < 2e6
    assert np.all(np.diff(wind.power_curve_w(np.linspace(3, 12, 50), 1.0)) > 0)
    assert_allclose(wind.hub_height_speed_mps(5.0, 10.0, 80.0), 5.0 * 8**0.14)


def test_heat_pump_cop_falls_as_it_gets_colder_and_load_rises():
    temps = np.array([10.0, 0.0, -10.0])
    cop = heat_pump.cop_carnot_fraction(temps, 45.0)
    assert np.all(np.diff(cop) < 0) and 2.0 < cop[-1] < cop[0] < 5.0
    heat, cool = heat_pump.thermal_demand_w(temps, 1000.0, 20.0, 26.0, 0.0)
    electric, delivered, cop2 = heat_pump.electric_power_w(heat, cool, temps, 1e6)
    assert np.all(np.diff(electric) > 0)
    assert_allclose(delivered, [10_000, 20_000, 30_000])
    assert_allclose(electric * cop2, delivered)


@given(
    soc=st.floats(0, 100_000),
    surplus=st.floats(-200_000, 200_000),
    capacity=st.floats(1_000, 100_000),
    power=st.floats(0, 100_000),
)
def test_battery_respects_limits_and_conserves_energy(soc, surplus, capacity, power):
    soc = min(soc, 0.95 * capacity)
    p, nxt = battery.dispatch_step(soc, surplus, 60.0, capacity, power)
    p, nxt = float(p), float(nxt)
    assert abs(p) <= power + 1e-6
    assert p * surplus >= 0  # charges only from a surplus, discharges only into a deficit
    assert abs(p) <= abs(surplus) + 1e-6
    assert nxt <= 0.95 * capacity + 1e-6 and nxt >= min(soc, 0.10 * capacity) - 1e-6
    expected = soc + (0.95 * max(p, 0) - max(-p, 0) / 0.95) * 60 / 3600
    assert nxt == pytest.approx(expected, abs=1e-6)


def test_value_noise_is_smooth_deterministic_and_about_standard():
    t = np.arange(0, 86400 * 400, 3600.0)
    a = noise.value_noise(t, 1, 5, 86400.0)
    assert_allclose(a, noise.value_noise(t, 1, 5, 86400.0))
    assert not np.allclose(a, noise.value_noise(t, 2, 5, 86400.0))
    knots = noise.value_noise(np.arange(0, 86400 * 4000, 86400.0), 1, 5, 86400.0)
    assert abs(knots.mean()) < 0.1 and 0.9 < knots.std() < 1.1
    assert np.abs(np.diff(a)).max() < 0.5  # hour to hour it moves, it does not jump


def test_climate_of_tianjin():
    climate = wx.Climate()
    w = wx.weather(YEAR_S, climate, seed=1)
    local_month = ((YEAR_S - 1767196800) // (86400 * 30.5)).astype(int)
    january, july = w.temp_air_c[local_month == 0].mean(), w.temp_air_c[local_month == 6].mean()
    assert -7 < january < 0 and 24 < july < 30
    yearly_ghi_kwh_m2 = w.ghi_wm2.sum() * 900 / 3.6e6
    assert 1300 < yearly_ghi_kwh_m2 < 1700  # Tianjin receives about 1,400-1,600 kWh/m2 a year
    assert np.all(w.ghi_wm2[w.zenith_deg >= 90] == 0)
    assert 3.0 < w.wind_speed_10m_mps.mean() < 5.5 and np.all(w.wind_speed_10m_mps >= 0)
    assert np.all((w.cloud_cover >= 0) & (w.cloud_cover <= 1))


def test_events_become_rectangles_in_the_day_profile():
    profile = profiles.events_to_profile(2, [0, 0, 1], [10, 15, 1430], [10, 10, 60], [100.0, 50.0, 7.0])
    assert profile.shape == (2, 1440)
    assert profile[0, 9] == 0 and profile[0, 10] == 100 and profile[0, 15] == 150 and profile[0, 20] == 50
    assert profile[0, 25] == 0
    assert profile[1, 1439] == 7 and profile[1, 1429] == 0  # cut at midnight
