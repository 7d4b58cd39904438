"""Injected faults look like what real meters do, are counted, and are reproducible."""

import base64
import io
import json
from collections import Counter

import pytest

from expo.errors import UserError
from expo.reading import ContractError, Reading
from simulators.engine import Simulation
from simulators.faults import FaultRates
from simulators.runner import run_jsonl

from .conftest import JULY_1_LOCAL_S


def faulty_run(scenario, seed=1, rates="offline=0.05,stuck=0.05,spike=0.01,skew=0.05,malformed=0.01"):
    sim = Simulation(scenario, seed, JULY_1_LOCAL_S + 10 * 3600, 60)
    out = io.StringIO()
    stats = run_jsonl(sim, 30, out, FaultRates.parse(rates), with_meta=False)
    return sim, stats, [json.loads(line) for line in out.getvalue().splitlines()]


def test_faults_are_labelled_counted_and_only_malformed_ones_break_the_contract(demo_scenario):
    sim, stats, lines = faulty_run(demo_scenario)
    labels = Counter(line.get("fault") for line in lines)
    assert {k: v for k, v in labels.items() if k} == stats.faults
    assert set(stats.faults) == {"stuck", "spike", "skew", "malformed"}
    assert len(lines) < 30 * sim.site.count  # offline meters stayed silent
    for line in lines:
        if line.get("fault") == "malformed":
            with pytest.raises(ContractError):
                Reading.from_payload("binhai", "x", base64.b64decode(line["payload_b64"]))
        else:
            Reading.from_payload("binhai", "x", line["payload"])


def test_spikes_are_far_off_the_true_power_and_stuck_meters_repeat_themselves(demo_scenario):
    _, _, lines = faulty_run(demo_scenario, rates="spike=0.02,stuck=0.05")
    clean = {(l["topic"], l["payload"]["seq"]): l for l in faulty_run(demo_scenario, rates="")[2]}
    spikes = [l for l in lines if l.get("fault") == "spike"]
    assert spikes
    for line in spikes:
        true_w = clean[(line["topic"], line["payload"]["seq"])]["payload"]["metrics"]["power_w"]
        assert line["payload"]["metrics"]["power_w"] >= 20 * true_w + 4999
    stuck = {}
    for line in lines:
        if line.get("fault") == "stuck":
            stuck.setdefault(line["topic"], []).append((line["payload"]["seq"], line["payload"]["metrics"]))
    runs = 0
    for readings in stuck.values():
        for (seq_a, a), (seq_b, b) in zip(readings, readings[1:]):
            if seq_b == seq_a + 1:  # within one stuck spell the meter repeats itself exactly
                assert a == b
                runs += 1
    assert runs > 0


def test_same_seed_same_faults(demo_scenario):
    first = faulty_run(demo_scenario, seed=4)[2]
    assert faulty_run(demo_scenario, seed=4)[2] == first
    assert faulty_run(demo_scenario, seed=5)[2] != first


@pytest.mark.parametrize("text", ["offline", "offline=2", "lag=0.1", "spike=x"])
def test_bad_fault_specs_are_refused(text):
    with pytest.raises(UserError, match="--faults"):
        FaultRates.parse(text)
