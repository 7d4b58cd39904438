"""Plausibility of the simulated site, stated as properties that must hold for any seed, start and step."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from expo.kinds import KINDS, Flow
from simulators.engine import Simulation
from physics import solar

from .conftest import JAN_1_LOCAL_S, JULY_1_LOCAL_S

seeds = st.integers(0, 2**31 - 1)
starts = st.integers(JAN_1_LOCAL_S, JAN_1_LOCAL_S + 364 * 86400)
steps_s = st.sampled_from([1, 10, 60, 300, 900, 3600])


def rows_of(sim: Simulation, kind: str) -> np.ndarray:
    return np.array([i for i, m in enumerate(sim.site.metas) if m.kind == kind])


def row(sim: Simulation, device: str) -> int:
    return next(i for i, m in enumerate(sim.site.metas) if m.device == device)


@settings(max_examples=12)
@given(seed=seeds, start=starts, step=steps_s)
def test_every_parent_meter_equals_the_sum_of_its_children_at_every_step(demo_scenario, seed, start, step):
    sim = Simulation(demo_scenario, seed, start, step)
    frame = sim.advance(6)
    power = frame.metrics["power_w"]
    parents = sim.site.parent_rows()
    signs = sim.site.load_signs()
    checked = 0
    for parent in np.unique(parents[parents >= 0]):
        children = np.flatnonzero(parents == parent)
        expected = (power[children] * signs[children, None]).sum(axis=0)
        np.testing.assert_allclose(power[parent], expected, rtol=1e-9, atol=1e-6)
        checked += 1
    assert checked == demo_scenario.town.feeders + 2  # feeders, the town grid, the building's grid meter


@settings(max_examples=12)
@given(seed=seeds, start=starts, step=steps_s)
def test_energy_counters_never_decrease_and_integrate_power(demo_scenario, seed, start, step):
    sim = Simulation(demo_scenario, seed, start, step)
    first = sim.advance(1)
    frame = sim.advance(20)
    power = frame.metrics["power_w"]
    step_h = step / 3600.0
    for i, meta in enumerate(sim.site.metas):
        flow = KINDS[meta.kind].flow
        if flow is Flow.NONE:
            continue
        if flow is Flow.BIDIRECTIONAL:
            pairs = [("energy_import_wh", np.maximum(power[i], 0)), ("energy_export_wh", np.maximum(-power[i], 0))]
        else:
            assert np.all(power[i] >= 0), meta.device
            pairs = [("energy_wh", power[i])]
        for counter, flow_w in pairs:
            series = np.concatenate([first.metrics[counter][i], frame.metrics[counter][i]])
            assert np.all(np.diff(series) >= -1e-9), (meta.device, counter)
            integral = flow_w.sum() * step_h
            delta = series[-1] - series[0]
            assert delta == pytest.approx(integral, rel=0.01, abs=1e-6), (meta.device, counter)


def test_same_seed_same_readings_and_chunking_does_not_matter(demo_scenario):
    one = Simulation(demo_scenario, 42, JULY_1_LOCAL_S, 60).advance(30)
    again = Simulation(demo_scenario, 42, JULY_1_LOCAL_S, 60).advance(30)
    stepwise = Simulation(demo_scenario, 42, JULY_1_LOCAL_S, 60)
    frames = [stepwise.advance(1) for _ in range(30)]
    other = Simulation(demo_scenario, 43, JULY_1_LOCAL_S, 60).advance(30)
    for name, values in one.metrics.items():
        np.testing.assert_array_equal(values, again.metrics[name], err_msg=name)
        joined = np.concatenate([f.metrics[name] for f in frames], axis=1)
        np.testing.assert_allclose(values, joined, rtol=1e-12, atol=1e-9, err_msg=name)
    assert not np.allclose(one.metrics["power_w"], other.metrics["power_w"])


def test_pv_is_zero_at_night_and_peaks_near_solar_noon(demo_scenario):
    sim = Simulation(demo_scenario, 3, JULY_1_LOCAL_S, 300)
    frame = sim.advance(14 * 288)  # two weeks at 5 minutes
    pv_rows = rows_of(sim, "pv")
    power = frame.metrics["power_w"][pv_rows]
    zenith, _ = solar.solar_position(frame.times_s - 150, 39.0, 117.7)  # middle of each 5-minute step
    assert np.all(power[:, zenith > 91] == 0)
    assert np.all(power[:, zenith < 60].sum(axis=0) > 0)
    # Averaged over two weeks, clouds wash out and the roof PV peaks near solar noon (about 12:11 local here).
    roof = power[[list(pv_rows).index(row(sim, "zeb-pv-roof"))]].reshape(14, 288).mean(axis=0)
    peak_local_h = (np.argmax(roof) * 300 + 300 - 150) / 3600
    assert 11.2 < peak_local_h < 13.2


def test_homes_peak_in_the_morning_and_evening_and_lights_follow_the_sun(demo_scenario):
    sim = Simulation(demo_scenario, 5, JAN_1_LOCAL_S + 14 * 86400, 600)  # a fortnight in January
    frame = sim.advance(14 * 144)
    hourly = frame.metrics["power_w"][rows_of(sim, "household")].sum(axis=0).reshape(14, 24, 6).mean(axis=(0, 2))
    night, morning, midday, evening = hourly[3], hourly[7], hourly[14], hourly[19]
    assert evening > midday and morning > night and evening > 1.5 * night
    assert np.argmax(hourly) in (18, 19, 20, 21)
    lights = frame.metrics["power_w"][rows_of(sim, "street_light")].sum(axis=0).reshape(14, 144)
    assert np.all(lights[:, 12 * 6] == 0)  # noon: off
    assert np.all(lights[:, 20 * 6] > 0)  # 20:00 in January: on
    assert np.all(lights[:, 2 * 6] < lights[:, 20 * 6])  # dimmed after midnight


def test_battery_charges_from_surplus_and_stays_within_its_limits(demo_scenario):
    sim = Simulation(demo_scenario, 1, JULY_1_LOCAL_S, 300)
    frame = sim.advance(7 * 288)
    soc = frame.metrics["soc_pct"][row(sim, "zeb-battery")]
    assert soc.min() >= 10 - 1e-6 and soc.max() <= 95 + 1e-6
    assert soc.max() - soc.min() > 30  # it is actually used
    battery = frame.metrics["power_w"][row(sim, "zeb-battery")]
    grid = frame.metrics["power_w"][row(sim, "zeb-grid")]
    # It charges only while the building exports or is balanced, never from the grid.
    assert np.all(grid[battery > 1] <= 1e-6)


def test_voltage_and_current_are_physical(demo_scenario):
    sim = Simulation(demo_scenario, 9, JULY_1_LOCAL_S, 60)
    frame = sim.advance(120)
    homes = rows_of(sim, "household")
    volts = frame.metrics["voltage_v"][homes]
    assert np.all((volts > 200) & (volts < 240))  # within +/-10 % of 220 V
    np.testing.assert_allclose(
        frame.metrics["current_a"][homes] * (volts + 0.12 * frame.metrics["current_a"][homes]) * 0.95,
        frame.metrics["power_w"][homes],
        rtol=1e-9,
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_zero_energy_building_balances_over_a_year(building_only, seed):
    sim = Simulation(building_only, seed, JAN_1_LOCAL_S, 3600)
    grid = sim.site.group("building_grid")[0]
    loads = np.concatenate([sim.site.group(g) for g in
                            ("building_heat_pump", "building_lighting", "building_plugs", "building_ev")])
    net_wh = used_wh = 0.0
    for _ in range(365):
        frame = sim.advance(24)
        net_wh += frame.metrics["power_w"][grid].sum()
        used_wh += frame.metrics["power_w"][loads].sum()
    assert abs(net_wh) < 0.10 * used_wh, f"net {net_wh / 1e6:.1f} MWh of {used_wh / 1e6:.1f} MWh used"


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3, 13))
def test_zero_energy_building_balances_over_a_year_for_many_seeds(building_only, seed):
    test_zero_energy_building_balances_over_a_year(building_only, seed)


def test_a_resumed_run_carries_counters_and_battery_on_without_a_step_back(demo_scenario):
    first = Simulation(demo_scenario, 4, JULY_1_LOCAL_S, 60.0)
    frame = first.advance(90)
    latest = {}
    for r, meta in enumerate(first.site.metas):
        metrics = {m: float(values[r, -1]) for m, values in frame.metrics.items() if not np.isnan(values[r, -1])}
        latest[meta.device] = metrics
    # a later run (after a restart) of the same site, told where the first one left off
    second = Simulation(demo_scenario, 4, float(frame.times_s[-1]), 60.0)
    assert second.resume(latest) == len(first.site.metas)
    nxt = second.advance(1)
    step_h = 60.0 / 3600.0
    for metric in ("energy_wh", "energy_import_wh", "energy_export_wh"):
        before, after = frame.metrics[metric][:, -1], nxt.metrics[metric][:, 0]
        counted = ~np.isnan(before)
        assert np.all(after[counted] >= before[counted] - 1e-6), metric
    uni = ~np.isnan(frame.metrics["energy_wh"][:, -1])
    expected = frame.metrics["energy_wh"][uni, -1] + nxt.metrics["power_w"][uni, 0] * step_h
    np.testing.assert_allclose(nxt.metrics["energy_wh"][uni, 0], expected, rtol=1e-9)
    battery = rows_of(first, "battery")
    soc_change = abs(nxt.metrics["soc_pct"][battery, 0] - frame.metrics["soc_pct"][battery, -1])
    full_minute_pct = demo_scenario.building.battery_kw / 60.0 / demo_scenario.building.battery_kwh * 100
    assert np.all(soc_change <= full_minute_pct + 1e-6)  # at most a minute at full power
    fresh = Simulation(demo_scenario, 4, float(frame.times_s[-1]), 60.0).advance(1)  # without resume: a step back
    assert np.any(fresh.metrics["energy_wh"][uni, 0] < frame.metrics["energy_wh"][uni, -1])
