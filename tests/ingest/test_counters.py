"""Counters continue across resets, refuse small backward steps, and are derived where missing."""

import pytest
from hypothesis import example, given, strategies as st

from expo.reading import Reading
from ingest.counters import CounterBackwards, CounterState


def r(ts, **metrics):
    return Reading("binhai", "plug-1", ts, metrics)


def test_a_meter_replaced_at_zero_continues_without_a_negative_step():
    state = CounterState()
    stored = [state.apply(r(t, energy_wh=v)).metrics["energy_wh"] for t, v in
              [(0, 5000.0), (10, 5010.0), (20, 3.0), (30, 8.0)]]
    assert stored == [5000.0, 5010.0, 5013.0, 5018.0]
    assert state.resets == 1


def test_a_small_backward_step_is_refused_not_absorbed():
    state = CounterState()
    state.apply(r(0, energy_wh=5000.0))
    with pytest.raises(CounterBackwards, match="went backwards"):
        state.apply(r(10, energy_wh=4900.0))


def test_late_readings_do_not_look_like_resets():
    state = CounterState()
    state.apply(r(100, energy_wh=5000.0))
    assert state.apply(r(50, energy_wh=4000.0)).metrics["energy_wh"] == 4000.0
    assert state.resets == 0


def test_energy_is_derived_from_power_and_gaps_are_not_bridged():
    state = CounterState()
    energies = [state.apply(r(t, power_w=p)).metrics["energy_wh"] for t, p in [(0, 360.0), (10, 360.0), (20, 0.0)]]
    assert energies == pytest.approx([0.0, 1.0, 2.0])
    after_gap = state.apply(r(20 + 3600, power_w=100.0)).metrics["energy_wh"]
    assert after_gap == pytest.approx(2.0)  # an hour of silence adds nothing


@example([0.0078125, 0.0])  # a wobble smaller than the rounding noise once slipped through as a step down
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=50))
def test_stored_counters_never_decrease_whatever_the_meter_sends(raw_values):
    state = CounterState()
    stored = []
    for i, value in enumerate(raw_values):
        try:
            stored.append(state.apply(r(i * 10, energy_wh=value)).metrics["energy_wh"])
        except CounterBackwards:
            continue
    assert all(b >= a - 1e-9 for a, b in zip(stored, stored[1:]))


def test_state_survives_a_restart():
    state = CounterState()
    state.apply(r(0, energy_wh=5000.0))
    state.apply(r(10, energy_wh=2.0))
    restored = CounterState.restore(state.export())
    assert restored.apply(r(20, energy_wh=4.0)).metrics["energy_wh"] == 5004.0


def test_no_energy_is_invented_for_a_meter_that_counts_its_own_on_another_topic():
    """Shelly Gen1 and emonhub send power and energy as separate messages of one device."""
    state = CounterState()
    stored = []
    for ts, metrics in [(0, {"power_w": 2000.0}), (10, {"energy_wh": 5000.0}), (20, {"power_w": 2000.0}),
                        (30, {"energy_wh": 5011.0})]:
        stored.append(state.apply(r(ts, **metrics)).metrics.get("energy_wh"))
    assert stored == [0.0, 5000.0, None, 5011.0]  # the first derived 0 is superseded by the meter's own


def test_no_energy_is_derived_for_bidirectional_meters():
    state = CounterState()
    assert "energy_wh" not in state.apply(r(0, power_w=-500.0), "grid_connection").metrics


def test_a_replaced_meter_that_counts_on_consistently_is_accepted_after_three_readings():
    state = CounterState()
    state.apply(r(0, energy_wh=5000.0))
    state.apply(r(10, energy_wh=5010.0))
    for ts, value in [(20, 3000.0), (30, 3001.0)]:  # 60% of the old value: refused, but watched
        with pytest.raises(CounterBackwards, match="1 of 3|2 of 3"):
            state.apply(r(ts, energy_wh=value))
    assert state.apply(r(40, energy_wh=3002.0)).metrics["energy_wh"] == 5012.0  # continues from 3000
    assert state.apply(r(50, energy_wh=3010.0)).metrics["energy_wh"] == 5020.0
    assert state.replacements == 1 and state.resets == 0
    [(site, device, metric, detail)] = state.take_notes()
    assert (device, metric) == ("plug-1", "energy_wh") and "meter replaced" in detail and "3000" in detail
    assert state.take_notes() == []


def test_a_glitch_that_does_not_count_on_consistently_stays_refused():
    state = CounterState()
    state.apply(r(0, energy_wh=5000.0))
    refused = 0
    for i, value in enumerate([3000.0, 2900.0, 3000.0, 2900.0, 3000.0, 2900.0]):  # up and down: no meter
        try:
            state.apply(r(10 + i * 10, energy_wh=value))
        except CounterBackwards:
            refused += 1
    assert refused == 6 and state.replacements == 0


@pytest.mark.parametrize("step_wh, replaced", [(10.0, True), (100.0, False)])
def test_a_replacement_must_count_at_a_power_the_device_can_draw(step_wh, replaced):
    """10 Wh in 10 s is 3.6 kW, plausible for a 3 kW device; 100 Wh in 10 s is 36 kW, a glitch."""
    state = CounterState()
    state.apply(r(0, energy_wh=5000.0), rated_power_w=3000.0)
    outcomes = []
    for i in range(5):
        try:
            state.apply(r(10 + i * 10, energy_wh=3000.0 + i * step_wh), rated_power_w=3000.0)
            outcomes.append("stored")
        except CounterBackwards:
            outcomes.append("refused")
    assert outcomes == (["refused", "refused", "stored", "stored", "stored"] if replaced else ["refused"] * 5)
    assert state.replacements == int(replaced)


def test_a_declared_replacement_continues_from_the_new_meters_first_value_up_or_down():
    state = CounterState()
    state.apply(r(0, energy_wh=5000.0))
    state.declare_replaced("binhai", "plug-1", 15.0)
    assert state.apply(r(10, energy_wh=5010.0)).metrics["energy_wh"] == 5010.0  # still the old meter
    assert state.apply(r(20, energy_wh=90_000.0)).metrics["energy_wh"] == 5010.0  # the new one's first value
    assert state.apply(r(30, energy_wh=90_004.0)).metrics["energy_wh"] == 5014.0
    assert state.replacements == 1
    restored = CounterState.restore(state.export())  # the declaration is applied once, also after a restart
    assert restored.apply(r(40, energy_wh=90_005.0)).metrics["energy_wh"] == 5015.0


def test_a_late_reading_above_a_newer_value_is_refused():
    state = CounterState()
    state.apply(r(100, energy_wh=5000.0))
    with pytest.raises(CounterBackwards, match="late reading"):
        state.apply(r(50, energy_wh=5200.0))


@given(st.lists(st.tuples(st.integers(0, 40), st.floats(0, 1e6, allow_nan=False),
                          st.sampled_from(["reading", "reading", "reading", "replaced"])), min_size=1, max_size=60))
def test_no_sequence_of_counter_values_makes_the_stored_counter_go_backwards(events):
    """Whatever arrives, in whatever order, with replacements declared anywhere: the newest stored value never
    falls, and a late reading is never stored above a newer one."""
    state = CounterState()
    newest_ts, newest = None, None
    for step, (ts_step, value, what) in enumerate(events):
        ts = float(ts_step * 10)
        if what == "replaced":
            state.declare_replaced("binhai", "plug-1", ts)
            continue
        try:
            stored = state.apply(r(ts, energy_wh=value)).metrics["energy_wh"]
        except CounterBackwards:
            continue
        tolerance = 1e-9 * max(1.0, abs(stored))
        if newest_ts is None or ts >= newest_ts:
            assert newest is None or stored >= newest - tolerance, (step, stored, newest)
            newest_ts, newest = ts, stored
        else:
            assert stored <= newest + tolerance, (step, stored, newest)
