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
