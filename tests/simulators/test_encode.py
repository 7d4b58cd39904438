"""The fast encoder must say exactly what the contract's own parser accepts."""

import io
import json

import numpy as np
import pytest

from expo import topics
from expo.kinds import KINDS
from expo.metadata import DeviceMeta
from expo.places import BuildingMeta, SiteMeta
from expo.reading import Reading
from simulators import encode
from simulators.engine import Simulation
from simulators.faults import FaultRates
from simulators.runner import run_jsonl

from .conftest import JULY_1_LOCAL_S


def test_every_jsonl_line_is_a_valid_contract_message(demo_scenario):
    sim = Simulation(demo_scenario, 1, JULY_1_LOCAL_S + 12 * 3600, 10)
    out = io.StringIO()
    stats = run_jsonl(sim, 3, out, FaultRates())
    lines = out.getvalue().splitlines()
    metas = {}
    readings = []
    sites, buildings = [], {}
    for line in lines:
        message = json.loads(line)
        parts = topics.parse(message["topic"])
        if parts.message is topics.MessageType.META:
            assert message["retain"] is True
            metas[parts.device] = DeviceMeta.from_payload(parts.site, parts.device, message["payload"])
        elif parts.message is topics.MessageType.SITE:
            assert message["retain"] is True
            sites.append(SiteMeta.from_payload(parts.site, message["payload"]))
        elif parts.message is topics.MessageType.BUILDING:
            assert message["retain"] is True
            buildings[parts.device] = BuildingMeta.from_payload(parts.site, parts.device, message["payload"])
        else:
            readings.append(Reading.from_payload(parts.site, parts.device, message["payload"]))
    assert len(metas) == sim.site.count
    assert len(readings) == stats.readings == 3 * sim.site.count
    for reading in readings:
        assert set(reading.metrics) == set(KINDS[metas[reading.device].kind].metrics)
    assert sorted({r.seq for r in readings}) == [1, 2, 3]
    assert [(s.site, s.kind, s.name_zh) for s in sites] == [("binhai", "town", "滨海智慧能源小镇")]
    assert [b for b, m in buildings.items() if m.role == "zero_energy"] == ["zeb"]
    assert set(buildings) == {m.building for m in metas.values() if m.building}  # every building a meter names


def test_encoded_values_match_the_engine_to_their_printed_precision(demo_scenario):
    sim = Simulation(demo_scenario, 7, JULY_1_LOCAL_S, 10)
    frame = sim.advance(2)
    groups = encode.kind_groups(sim.site.metas)
    seen = 0
    for step in range(2):
        for row, topic_name, payload in encode.messages(frame, groups, step):
            reading = Reading.from_payload("binhai", topics.parse(topic_name).device, payload)
            for name, value in reading.metrics.items():
                tolerance = 0.5 * 10 ** -encode.PRECISION[name] + 1e-9
                assert abs(value - frame.metrics[name][row, step]) <= tolerance, (topic_name, name)
            seen += 1
    assert seen == 2 * sim.site.count


def test_jsonl_feeders_still_sum_after_rounding(demo_scenario):
    sim = Simulation(demo_scenario, 11, JULY_1_LOCAL_S + 8 * 3600, 10)
    out = io.StringIO()
    run_jsonl(sim, 2, out, FaultRates(), with_meta=False)
    power = {}
    for line in out.getvalue().splitlines():
        m = json.loads(line)
        power[(topics.parse(m["topic"]).device, m["payload"]["seq"])] = m["payload"]["metrics"]["power_w"] if "power_w" in m["payload"]["metrics"] else None
    parents = sim.site.parent_rows()
    signs = sim.site.load_signs()
    for p in np.unique(parents[parents >= 0]):
        children = np.flatnonzero(parents == p)
        for seq in (1, 2):
            total = sum(signs[c] * power[(sim.site.metas[c].device, seq)] for c in children)
            assert power[(sim.site.metas[p].device, seq)] == pytest.approx(total, abs=0.05 * (len(children) + 1))
