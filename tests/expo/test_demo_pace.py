"""up's simulated town within what one machine carries: the step lengthens first, then the default speed drops;
a speed the user gave is kept and warned about."""

from __future__ import annotations

from hypothesis import given, strategies as st

from energy_expo import demo_pace
from energy_expo.demo_pace import SPEEDS, STEPS_S, choose, rate

meters = st.integers(1, 100_000)
speeds = st.sampled_from([1, 2, 6, 10, 60, 600]) | st.floats(0.1, 1000)
budgets = st.floats(10, 100_000)


@given(meters=meters, speed=speeds, given_=st.booleans(), budget=budgets)
def test_the_shortest_step_that_fits_and_a_slower_default_only_when_no_step_does(meters, speed, given_, budget):
    pace = choose(meters, speed, given_, budget)
    assert pace.step_s in STEPS_S
    assert pace.readings_per_s == rate(meters, pace.speed, pace.step_s)
    shorter = [s for s in STEPS_S if s < pace.step_s]
    assert all(rate(meters, speed, s) > budget for s in shorter)  # no shorter step would have fitted
    if rate(meters, speed, pace.step_s) <= budget or given_:
        assert pace.speed == speed
    else:  # the default speed is lowered, to a round one where one fits, never below real time
        assert pace.step_s == STEPS_S[-1] and pace.speed <= speed
        assert pace.speed in SPEEDS or pace.speed == min(speed, 1.0)
        assert pace.readings_per_s <= budget or pace.speed == min(speed, 1.0)
    assert (pace.note is None) == (pace.step_s == demo_pace.STEP_S and pace.speed == speed
                                   and pace.readings_per_s <= budget)
    if pace.readings_per_s > budget:
        assert "expect readings to lag" in pace.note


def test_the_large_scenario_at_up_s_default_runs_at_10x_with_a_minute_step():
    pace = choose(10_197, 60.0, False, 2000.0)
    assert (pace.speed, pace.step_s, round(pace.readings_per_s)) == (10, 60, 1700)
    assert "running at 10x, not 60x" in pace.note
    assert choose(320, 60.0, False, 2000.0) == demo_pace.Pace(60.0, 10, 1920.0)  # the default town is untouched
