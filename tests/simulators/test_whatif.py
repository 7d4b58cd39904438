"""What-ifs: the physics they change, the commands that may start them, and the spans that say so."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from expo.whatif import WhatIfSpan
from simulators import scenario as scenarios
from simulators.control import MAX_PER_WINDOW, MIN_INTERVAL_S, WINDOW_S, Control
from simulators.engine import Simulation
from simulators.whatif import ACTIONS, WhatIf
from simulators.whatif_driver import WhatIfDriver, sims_by_site

SMALL = "tests/dashboard/small.toml"


def _sim(start_s: float, what: WhatIf | None = None) -> Simulation:
    sim = Simulation(scenarios.load(SMALL), 3, start_s, 10.0)
    sim.whatif = what
    return sim


def _power_kw(sim: Simulation, frame, group: str) -> float:
    return float(frame.metrics["power_w"][sim.site.group(group)].sum()) / 1000


DAY_S = 1_782_871_200.0  # 2026-07-01 02:00 UTC = 10:00 in Tianjin, a summer morning


@pytest.mark.parametrize("action, group, check", [
    ("cloud", "rooftop_pv", lambda base, now: now < 0.8 * base),
    ("double_pv", "rooftop_pv", lambda base, now: now == pytest.approx(2 * base)),
    ("ev_rush", "public_ev", lambda base, now: now == pytest.approx(60.0)),  # small.toml: one 60 kW charger
    ("battery_off", "building_battery", lambda base, now: now == 0.0),
    ("calm", "wind", lambda base, now: now == 0.0 and base > 0),
    ("heat_wave", "building_heat_pump", lambda base, now: now > base),
])
def test_each_what_if_changes_the_physics_it_names_and_nothing_is_drawn_from_nowhere(action, group, check):
    spec = ACTIONS[action]
    base_sim, what_sim = _sim(DAY_S), _sim(DAY_S, WhatIf(action, spec.default if spec.param else None, 1e9))
    base, now = base_sim.advance(1), what_sim.advance(1)
    assert check(_power_kw(base_sim, base, group), _power_kw(what_sim, now, group))
    # the town's tree still adds up under a what-if: the grid connection carries the sum of the feeders
    feeders = what_sim.site.group("feeders")
    grid = what_sim.site.group("grid")
    total = now.metrics["power_w"][feeders].sum() + now.metrics["power_w"][what_sim.site.group("wind")].sum() * -1
    assert float(now.metrics["power_w"][grid].sum()) == pytest.approx(float(total), rel=1e-9, abs=1e-6)


def test_a_cloud_at_night_makes_no_sun():
    night = DAY_S + 12 * 3600  # 22:00 local
    sim = _sim(night, WhatIf("cloud", 0.95, 1e9))
    frame = sim.advance(1)
    assert _power_kw(sim, frame, "rooftop_pv") == 0.0


def _command(**body) -> bytes:
    return json.dumps({"v": 1, **body}).encode()


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("payload, reason", [
    (_command(action="meteor"), "unknown_action"),
    (_command(action="cloud", value=1.5), "out_of_bounds"),
    (_command(action="cloud", value="thick"), "out_of_bounds"),
    (_command(action="cloud", value=float("nan")), "malformed"),  # json.dumps writes NaN, which is not JSON...
    (_command(action="ev_rush", value=2), "out_of_bounds"),
    (_command(action="cloud", duration_s=3600), "out_of_bounds"),
    (_command(action="cloud", duration_s=True), "out_of_bounds"),
    (_command(action="stop", duration_s=10), "out_of_bounds"),
    (_command(action="cloud", sudo=True), "unknown_field"),
    (json.dumps({"v": 2, "action": "cloud"}).encode(), "unsupported_version"),
    (b"\xff", "malformed"),
    (b"[1, 2]", "malformed"),
    (b"x" * 2000, "too_large"),
])
def test_a_command_out_of_bounds_is_refused_with_its_reason_and_counted(payload, reason):
    control = Control(["binhai"], FakeClock())
    site, decision = control.decide("expo/binhai/control", payload)
    if reason == "malformed" and b"NaN" in payload:  # Python's json reads NaN: the bound refuses it instead
        reason = "out_of_bounds"
    assert site == "binhai" and not decision.accepted and decision.reason == reason
    assert control.refused == {reason: 1} and control.accepted == 0


def test_another_sites_control_topic_is_not_ours():
    control = Control(["binhai"], FakeClock())
    site, decision = control.decide("expo/factory/control", _command(action="cloud"))
    assert site is None and decision.reason == "unknown_site"


def test_the_rate_limit_holds_a_button_pressed_ten_times_a_second_and_lets_the_next_visitor_in():
    clock = FakeClock()
    control = Control(["binhai", "port"], clock)
    taken = []
    for i in range(10):
        clock.now = 1000.0 + i * 0.1
        taken.append(control.decide("expo/binhai/control", _command(action="cloud"))[1].accepted)
    assert taken == [True] + [False] * 9 and control.refused["rate_limited"] == 9
    assert control.decide("expo/port/control", _command(action="calm"))[1].accepted  # per site
    clock.now = 1000.0 + MIN_INTERVAL_S
    assert control.decide("expo/binhai/control", _command(action="stop"))[1].accepted


@given(st.lists(st.floats(0, 3 * 600.0), max_size=200))
@settings(max_examples=50, deadline=None)
def test_never_more_than_the_window_allows_whenever_commands_come(offsets):
    clock = FakeClock(0.0)
    control = Control(["binhai"], clock)
    accepted = []
    for t in sorted(offsets):
        clock.now = t
        if control.decide("expo/binhai/control", _command(action="cloud"))[1].accepted:
            accepted.append(t)
    assert all(b - a >= MIN_INTERVAL_S for a, b in zip(accepted, accepted[1:]))
    assert all(sum(1 for u in accepted if t - WINDOW_S < u <= t) <= MAX_PER_WINDOW for t in accepted)


def test_the_driver_starts_a_span_at_the_next_step_and_ends_it_after_its_wall_clock_minute():
    clock, wall = FakeClock(1000.0), FakeClock(1_800_000_000.0)
    sim = _sim(DAY_S)
    driver = WhatIfDriver(sims_by_site(sim), speed=60.0, monotonic=clock, wall=wall)
    assert driver.filters == ["expo/binhai/control"]
    assert driver.command("expo/binhai/control", _command(action="cloud", duration_s=60)).accepted
    assert sim.whatif is None  # not within a step: at the next one
    (topic, payload), = driver.step(DAY_S + 10)
    span = WhatIfSpan.from_payload("binhai", payload)
    assert topic == "expo/binhai/whatif" and span.in_force and sim.whatif.action == "cloud"
    assert (span.start_s, span.until_s, span.ends_at_s) == (DAY_S + 10, DAY_S + 10 + 60 * 60, wall.now + 60)
    for i in range(2, 6):
        clock.now += 10
        assert driver.step(DAY_S + 10 * i) == []  # still in force: nothing new to say
    clock.now = 1060.0
    (topic, payload), = driver.step(DAY_S + 60)
    ended = WhatIfSpan.from_payload("binhai", payload)
    assert sim.whatif is None and ended.end_s == DAY_S + 50 and ended.start_s == DAY_S + 10
    assert driver.finish() == []  # nothing left in force


def test_a_new_what_if_ends_the_one_in_force_and_stopping_the_simulator_ends_the_last():
    clock = FakeClock(1000.0)
    sim = _sim(DAY_S)
    driver = WhatIfDriver(sims_by_site(sim), speed=1.0, monotonic=clock)
    driver.command("expo/binhai/control", _command(action="cloud"))
    driver.step(DAY_S + 10)
    clock.now += MIN_INTERVAL_S
    driver.command("expo/binhai/control", _command(action="calm"))
    said = [WhatIfSpan.from_payload("binhai", p) for _, p in driver.step(DAY_S + 20)]
    assert [(s.action, s.end_s) for s in said] == [("cloud", DAY_S + 10), ("calm", None)]
    (_, last), = driver.finish()
    assert WhatIfSpan.from_payload("binhai", last).end_s == DAY_S + 20 and sim.whatif is None
