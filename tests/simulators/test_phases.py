"""A city's districts report at their own phase within the step, as real head-ends do.

What must hold: the phases are distinct and inside the step; within a district
every meter shares the step's instant, and a district's steps are exactly a
step apart; JSON lines and a live run to a broker stamp the same instants; a
live run sends each phase at its own wall time and never one from the future;
one site is the degenerate case, one phase at offset 0.
"""

from __future__ import annotations

import io
import json
import threading
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from expo.reading import parse_ts
from simulators import encode
from simulators.city_sim import CitySimulation, district_phases_s
from simulators.engine import Simulation
from simulators.faults import FaultRates
from simulators.publish import Publisher
from simulators.runner import run_jsonl, run_realtime
from tests.mqtt_client import Recorder
from expo.addresses import BrokerAddress

from .conftest import JULY_1_LOCAL_S
from .test_city import _weather_city

NOON = JULY_1_LOCAL_S + 12 * 3600


class SteppedClocks:
    """The runner's clocks, stepped by its waits: a run of many steps takes no wall time."""

    def __init__(self, wall_start_s: float):
        self.elapsed_s = 0.0
        self.wall_start_s = wall_start_s

    def wall(self) -> float:
        return self.wall_start_s + self.elapsed_s

    def monotonic(self) -> float:
        return self.elapsed_s

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        self.elapsed_s += max(0.0, seconds)
        return stop.is_set()


class ClockedPublisher(Publisher):
    """The real publisher, noting the (stepped) clocks when each reading is handed to it."""

    def __init__(self, broker: BrokerAddress, site: str, clocks: SteppedClocks):
        super().__init__(broker, site)
        self.clocks = clocks
        self.sent: list[tuple[float, float, str, dict]] = []  # (monotonic, wall, topic, payload)

    def publish(self, topic_name, payload, retain=False):
        if not retain:
            self.sent.append((self.clocks.monotonic(), self.clocks.wall(), topic_name, json.loads(payload)))
        return super().publish(topic_name, payload, retain)


@given(counts=st.lists(st.integers(0, 10_000), min_size=1, max_size=12),
       step_s=st.one_of(st.integers(1, 3600).map(float), st.floats(0.5, 3600)))
@settings(max_examples=300, deadline=None)
def test_phases_are_distinct_inside_the_step_and_start_at_zero(counts, step_s):
    phases = district_phases_s(counts, step_s)
    assert len(phases) == len(counts) and phases[0] == 0.0
    assert all(a < b for a, b in zip(phases, phases[1:]))
    assert all(0.0 <= p < step_s for p in phases)
    if step_s >= len(counts):
        assert all(p == int(p) for p in phases)  # meters stamp on the second


def test_phases_follow_the_districts_sizes():
    """The gap after a district's burst grows with the burst: the big district gets the long gap."""
    phases = district_phases_s([100, 5000, 100, 100], 60.0)
    gaps = np.diff(phases + [60.0])
    assert gaps[1] == max(gaps) and gaps[1] > 40


def _jsonl(sim, steps: int) -> list[dict]:
    out = io.StringIO()
    run_jsonl(sim, steps, out, FaultRates(), with_meta=False)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_district_shares_one_instant_per_step_exactly_a_step_apart(tmp_path):
    city = _weather_city(tmp_path)
    sim = CitySimulation(city, 5, NOON, 60)
    lines = _jsonl(sim, 4)
    stamps = defaultdict(set)  # (site, seq) -> instants
    for line in lines:
        site = line["topic"].split("/")[1]
        stamps[(site, line["payload"]["seq"])].add(parse_ts(line["payload"]["ts"]))
    assert all(len(s) == 1 for s in stamps.values())  # every meter of a district at the step's one instant
    by_site = {site: [stamps[(site, seq)].pop() for seq in range(1, 5)] for site in sim.site_ids}
    for site, phase_s in zip(sim.site_ids, sim.phases_s):
        times = by_site[site]
        assert times[0] == NOON + 60 + phase_s
        assert np.diff(times).tolist() == [60.0] * 3
    firsts = [by_site[s][0] for s in sim.site_ids]
    assert len(set(firsts)) == len(firsts) and max(firsts) < NOON + 120  # distinct phases, inside the step
    assert [parse_ts(l["payload"]["ts"]) for l in lines] == sorted(parse_ts(l["payload"]["ts"]) for l in lines)


def test_jsonl_and_a_live_run_stamp_the_same_instants_each_phase_on_time(tmp_path, mosquitto):
    city = _weather_city(tmp_path)
    steps = 3
    expected = {(l["topic"], l["payload"]["seq"]): l["payload"] for l in _jsonl(CitySimulation(city, 5, NOON, 60), steps)}

    sim = CitySimulation(city, 5, NOON, 60)
    clocks = SteppedClocks(wall_start_s=NOON + 60 + 30)  # "now" is half-way through the first step
    recorder = Recorder(mosquitto.port, "expo/+/+/reading").start()
    publisher = ClockedPublisher(BrokerAddress("127.0.0.1", mosquitto.port), sim.site_ids[0], clocks)
    publisher.start(wait_s=5.0)
    try:
        stats = run_realtime(sim, publisher, 6.0, steps, FaultRates(), threading.Event(), clocks=clocks)
    finally:
        assert publisher.stop() == 0
    assert recorder.wait_for(len(expected)) == len(expected) == stats.readings
    recorder.stop()
    got = {(m.topic, json.loads(m.payload)["seq"]): json.loads(m.payload) for m in recorder.messages}
    assert got == expected

    for _, wall_s, _, payload in publisher.sent:  # never the future, phase by phase
        assert parse_ts(payload["ts"]) <= wall_s + 1e-6
    sent_at = defaultdict(set)  # (seq, instant) -> monotonic times it was handed over
    for mono_s, _, _, payload in publisher.sent:
        sent_at[(payload["seq"], parse_ts(payload["ts"]))].add(mono_s)
    assert all(len(times) == 1 for times in sent_at.values())  # a phase is one burst
    # Once caught up each phase goes when its instant comes: the wall clock at sending equals its stamp.
    for mono_s, wall_s, _, payload in publisher.sent:
        if payload["seq"] >= 2:
            assert wall_s == pytest.approx(parse_ts(payload["ts"]), abs=1e-6)
    assert len({p["ts"] for _, _, _, p in publisher.sent if p["seq"] == 2}) == len(sim.phases_s)


def test_an_accelerated_run_sends_each_phase_at_its_own_wall_time(tmp_path, mosquitto):
    """In the past at 6x, phase p of step i is due at i * step / 6 + offset_p / 6 of wall time."""
    city = _weather_city(tmp_path)
    sim = CitySimulation(city, 5, NOON, 60)
    clocks = SteppedClocks(wall_start_s=NOON + 86400)  # a day later: the run never meets the present
    publisher = ClockedPublisher(BrokerAddress("127.0.0.1", mosquitto.port), sim.site_ids[0], clocks)
    publisher.start(wait_s=5.0)
    try:
        stats = run_realtime(sim, publisher, 6.0, 4, FaultRates(), threading.Event(), clocks=clocks)
    finally:
        publisher.stop()
    assert stats.steps == 4 and stats.late_steps == 0 and stats.max_lag_s < 1e-6
    for mono_s, _, _, payload in publisher.sent:
        offset_s = parse_ts(payload["ts"]) - (NOON + payload["seq"] * 60)
        assert offset_s in sim.phases_s
        assert mono_s == pytest.approx(payload["seq"] * 10.0 + offset_s / 6.0, abs=1e-6)


def test_one_site_is_one_phase_at_offset_zero(building_only):
    sim = Simulation(building_only, 3, NOON, 10)
    assert not sim.offsets_s.any()
    phases = encode.phases(encode.kind_groups(sim.metas, sim.offsets_s))
    assert [offset for offset, _ in phases] == [0.0]
    before = [(g.kind, g.rows.tolist(), g.topics, g.payload_template) for g in encode.kind_groups(sim.metas)]
    assert [(g.kind, g.rows.tolist(), g.topics, g.payload_template) for g in phases[0][1]] == before
    lines = _jsonl(sim, 3)
    assert {(l["payload"]["seq"], parse_ts(l["payload"]["ts"])) for l in lines} == {(i, NOON + 10 * i) for i in (1, 2, 3)}
    frame = Simulation(building_only, 3, NOON, 10).advance(2)
    assert frame.offsets_s is None and frame.row_times_s(1) == NOON + 20
