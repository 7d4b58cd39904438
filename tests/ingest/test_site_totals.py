"""A site's totals: the sums of its counted meters' newest power by category, and its counts, every 10 s of data time.

Pure: no broker, no store, no clock. The end-to-end tests are test_site_totals_ingest.py.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from expo.categories import CATEGORIES, TOTALS_METRICS, split
from expo.kinds import KINDS, Flow
from expo.metadata import DeviceMeta
from expo.places import TOTALS_DEVICE
from expo.reading import Reading, format_ts
from ingest.site_totals import SiteTotals, totals_meta

T0 = 1782877800.0  # 2026-07-01T03:50Z, a multiple of 10 s

# A small site: the grid connection at the top, a feeder with homes, PV and a charger below it, a building
# behind its own grid meter (which has a parent, so it is not the site's exchange), a battery, a weather
# station, and a plug nobody described.
TREE = {
    "grid": ("grid_connection", None),
    "feeder-1": ("feeder", "grid"),
    "home-1": ("household", "feeder-1"),
    "home-2": ("household", "feeder-1"),
    "pv-1": ("pv", "feeder-1"),
    "ev-1": ("ev_charger", "feeder-1"),
    "zeb-main": ("grid_connection", "feeder-1"),
    "zeb-light": ("lighting", "zeb-main"),
    "zeb-plugs": ("plug_load", "zeb-main"),
    "battery": ("battery", "grid"),
    "weather": ("weather_station", None),
}
# Parents carry absurd values: were one counted, every sum below would be off by a million.
POWER = {"grid": 1_000_000.0, "feeder-1": 2_000_000.0, "home-1": 812.5, "home-2": 1210.25, "pv-1": 3300.0,
         "ev-1": 7000.0, "zeb-main": 3_000_000.0, "zeb-light": 410.0, "zeb-plugs": 95.5, "battery": 2000.0,
         "plug-x": 60.0}  # plug-x: no description, so no kind to count it by


def metas(site: str = "eco-city") -> list[DeviceMeta]:
    return [DeviceMeta(site, device, kind, device, device, parent=parent) for device, (kind, parent) in TREE.items()]


def totals_of(site: str = "eco-city") -> SiteTotals:
    totals = SiteTotals()
    for meta in metas(site):
        totals.meta(meta)
    return totals


def step(totals: SiteTotals, ts_s: float, power: dict[str, float], site: str = "eco-city") -> list[Reading]:
    """Every device's reading at ``ts_s`` (the weather station's without power); the totals it made."""
    made = []
    for device, power_w in power.items():
        made.append(totals.observe(Reading(site, device, ts_s, {"power_w": power_w, "energy_wh": 1.0})))
    made.append(totals.observe(Reading(site, "weather", ts_s, {"temperature_c": 21.0})))
    return [r for r in made if r is not None]


def categories(reading: Reading) -> dict[str, float]:
    return {k: reading.metrics[c.metric] for k, c in CATEGORIES.items() if reading.metrics[c.metric]}


def test_the_totals_are_the_counted_meters_newest_power_to_the_watt_and_parents_are_not_counted():
    totals = totals_of()
    assert step(totals, T0, POWER) == []  # a site's first readings end nothing
    [made] = step(totals, T0 + 10, POWER | {"battery": -1500.0, "home-1": 900.0})  # made by the first of them
    assert (made.site, made.device, made.ts_s) == ("eco-city", TOTALS_DEVICE, T0)
    assert set(made.metrics) == set(TOTALS_METRICS)
    assert categories(made) == {
        "grid_import": 1_000_000.0,  # the top of the tree: the site's exchange with the outside grid
        "households": 812.5 + 1210.25, "pv": 3300.0, "ev": 7000.0, "buildings": 410.0 + 95.5,
        "battery_charge": 2000.0,  # charging: a use
    }  # no feeder-1, no zeb-main (it has a parent), no weather station, no plug without a description
    assert made.metrics["wind_power_w"] == 0.0 and made.metrics["grid_export_power_w"] == 0.0
    assert made.metrics["meters_count"] == len(POWER) and made.metrics["meters_live_count"] == len(POWER)
    assert made.metrics["readings_count"] == len(POWER) + 1  # and the weather station's

    [later] = step(totals, T0 + 20, POWER | {"grid": -4000.0})
    assert later.ts_s == T0 + 10
    assert categories(later)["battery_discharge"] == 1500.0 and "battery_charge" not in categories(later)
    assert categories(later)["households"] == 900.0 + 1210.25
    assert later.metrics["readings_count"] == len(POWER) + 1  # since the previous totals, not since the start
    [export] = step(totals, T0 + 30, POWER)
    assert categories(export)["grid_export"] == 4000.0 and "grid_import" not in categories(export)


def test_two_sites_with_the_same_device_ids_keep_their_own_totals():
    totals = SiteTotals()
    for site in ("eco-city", "port"):
        for meta in metas(site):
            totals.meta(meta)
    step(totals, T0, POWER, "eco-city")
    step(totals, T0, {d: 2 * w for d, w in POWER.items()}, "port")
    [eco] = step(totals, T0 + 10, POWER, "eco-city")
    [port] = step(totals, T0 + 10, POWER, "port")
    assert (eco.site, port.site) == ("eco-city", "port")
    assert {k: 2 * w for k, w in categories(eco).items()} == categories(port)


def test_a_meter_silent_for_over_120_s_is_left_out_and_the_live_count_is_30_s():
    totals = totals_of()
    step(totals, T0, POWER)
    quiet = {"home-1", "pv-1"}
    for i in range(1, 13):  # home-1 and pv-1 stop reading after T0; the rest go on every 10 s
        step(totals, T0 + 10 * i, {d: w for d, w in POWER.items() if d not in quiet})
    at_120 = step(totals, T0 + 130, {"home-2": 1.0})[0]  # made as T0 + 130 begins: home-1 and pv-1 are 120 s old
    assert at_120.ts_s == T0 + 120
    assert categories(at_120)["households"] == 812.5 + 1210.25 and categories(at_120)["pv"] == 3300.0  # 120 s: in
    assert at_120.metrics["meters_live_count"] == len(POWER) - len(quiet)
    assert at_120.metrics["meters_count"] == len(POWER)  # a silent meter is still one of the site's meters
    after = step(totals, T0 + 140, {"home-2": 1.0})[0]
    assert after.ts_s == T0 + 130
    assert categories(after)["households"] == 1.0 and "pv" not in categories(after)  # 130 s: out


def test_totals_are_stamped_at_the_multiple_the_data_time_passes_whatever_the_readings_times():
    totals = totals_of()
    seen = [totals.observe(Reading("eco-city", "home-1", T0 + t, {"power_w": 100.0 + t})) for t in
            (3, 9.5, 10, 10.001, 17, 4, 25, 61, 61.5, 300, 600)]  # 4: late; 61, 300: jumps over several multiples
    made = {r.ts_s - T0: r for r in seen if r is not None}
    assert sorted(made) == [10, 20, 30, 70, 300]  # the first multiple passed: the instant what is known describes
    assert made[10].metrics["households_power_w"] == 110.0  # what was known at 10 s: not yet 10.001's
    assert made[20].metrics["households_power_w"] == 117.0  # the late reading did not replace a newer one
    assert made[30].metrics["households_power_w"] == 125.0
    assert made[300].metrics["households_power_w"] == 400.0  # a 300 s step's totals are the step's own
    assert [made[t].metrics["readings_count"] for t in (10, 20, 30)] == [3, 3, 1]  # 10.001, 17, 4 | 25
    assert sum(r.metrics["readings_count"] for r in made.values()) == len(seen) - 1  # all before the last, once


def test_the_stores_newest_values_seed_the_first_totals_after_a_restart():
    before = totals_of()
    step(before, T0, POWER)
    [first] = step(before, T0 + 10, POWER)
    stored = [Reading("eco-city", d, T0 + 10, {"power_w": w}) for d, w in POWER.items()] + [first]
    after = totals_of()
    after.seed(stored)
    assert after.observe(Reading("eco-city", "home-1", T0 + 5, {"power_w": 1.0})) is None  # before the stored
    again = after.observe(Reading("eco-city", "home-1", T0 + 20, {"power_w": 1.0}))
    assert again is not None and again.ts_s == T0 + 10
    assert categories(again) == categories(first)  # not short of the meters silent since the restart
    assert again.metrics["meters_count"] == len(POWER)
    unseeded = totals_of()
    unseeded.observe(Reading("eco-city", "home-1", T0 + 10, {"power_w": 812.5}))
    short = unseeded.observe(Reading("eco-city", "home-1", T0 + 20, {"power_w": 1.0}))
    assert categories(short) == {"households": 812.5}  # what seeding is for


def test_the_totals_device_is_described_once_as_derived_and_counted_in_nothing():
    meta = totals_meta("port")
    assert (meta.site, meta.device, meta.kind, meta.source) == ("port", TOTALS_DEVICE, "site_totals", "derived")
    assert (meta.name_en, meta.name_zh) == ("Site totals", "站点合计") and meta.parent is None
    assert KINDS["site_totals"].flow is Flow.NONE
    assert DeviceMeta.from_payload("port", TOTALS_DEVICE, meta.to_json()) == meta  # the contract takes it back
    totals = totals_of()
    totals.meta(meta)  # its own description is no meter of the tree
    step(totals, T0, POWER)
    [made] = step(totals, T0 + 10, POWER)
    assert made.metrics["meters_count"] == len(POWER)


# -- the property: for any tree and any powers, each category's total is the sum over the counted meters -------

POWERED = sorted(k for k, spec in KINDS.items() if spec.flow is not Flow.NONE)


@st.composite
def sites(draw):
    n = draw(st.integers(1, 25))
    devices = [f"d{i}" for i in range(n)]
    tree = {}
    for i, device in enumerate(devices):
        kind = draw(st.sampled_from(POWERED + ["weather_station", "site_totals"]))
        parent = draw(st.none() | st.sampled_from(devices[:i] + ["elsewhere"])) if i else None
        tree[device] = (kind, parent)
    signed = st.floats(-50_000, 50_000, allow_nan=False).map(lambda w: round(w, 3))
    power = {d: draw(signed if KINDS[k].flow is Flow.BIDIRECTIONAL else signed.map(abs))
             for d, (k, _) in tree.items() if draw(st.booleans())}  # some never read
    return tree, power


def reference(tree: dict, power: dict) -> dict[str, float]:
    """The rule as the contract states it, written out again: a meter is counted at the edge of its site's tree,
    a grid connection at its top; a kind with no power never."""
    parents = {p for _, p in tree.values() if p is not None}
    sums = dict.fromkeys(CATEGORIES, 0.0)
    for device, (kind, parent) in tree.items():
        if device not in power or KINDS[kind].flow is Flow.NONE:
            continue
        counted = parent is None if kind == "grid_connection" else device not in parents
        if counted:
            for category, watts in split(kind, power[device]):
                sums[category] += watts
    return sums


@settings(max_examples=200, deadline=None)
@given(sites(), st.lists(st.integers(0, 24), max_size=6))
def test_any_tree_and_any_powers_total_to_the_sum_over_the_counted_meters(site, changed):
    tree, power = site
    totals = SiteTotals()
    for device, (kind, parent) in tree.items():
        totals.meta(DeviceMeta("s", device, kind, device, device, parent=parent))
    assert totals.observe(Reading("s", "thermometer", T0 + 1, {"temperature_c": 20.0})) is None  # starts the site
    for device, power_w in power.items():
        assert totals.observe(Reading("s", device, T0 + 1, {"power_w": power_w})) is None
    for i in changed:  # some meters read again within the same 10 s, with new values
        device = f"d{i}"
        if device in power:
            power[device] = power[device] / 2
            assert totals.observe(Reading("s", device, T0 + 5, {"power_w": power[device]})) is None
    made = totals.observe(Reading("s", "late-comer", T0 + 10.5, {"power_w": 1.0}))
    assert made is not None and made.ts_s == T0 + 10
    expected = reference(tree, power)
    for key, category in CATEGORIES.items():
        assert made.metrics[category.metric] == pytest.approx(expected[key], abs=1e-6), key
        assert made.metrics[category.metric] >= 0.0
    assert made.metrics["meters_count"] == len(power)
    assert made.metrics["readings_count"] == 1 + len(power) + sum(1 for i in changed if f"d{i}" in power)


# -- through the processor: the totals join the batch; nobody else may speak for them --------------------------


def processor():
    from ingest.checks import Checks
    from ingest.counters import CounterState
    from ingest.process import Processor
    from ingest.routes import build_routes

    return Processor(build_routes([], True), "eco-city", Checks(clock=lambda: T0 + 3600), CounterState())


def message(topic: str, body: dict):
    from ingest.process import Incoming

    return Incoming(topic, json.dumps(body).encode(), T0 + 3600)


def reading_message(site: str, device: str, ts_s: float, power_w: float):
    return message(f"expo/{site}/{device}/reading", {"v": 1, "ts": format_ts(ts_s), "metrics": {"power_w": power_w}})


def test_the_processor_puts_each_sites_totals_in_the_batch_with_their_meta_once_and_counts_them_apart():
    from expo.store import Batch

    p = processor()
    batch = Batch()
    for site in ("eco-city", "port"):
        p.add(message(f"expo/{site}/home-1/meta", {"v": 1, "kind": "household", "name": {"en": "h", "zh": "h"}}),
              batch)
    for ts_s in (T0, T0 + 10, T0 + 20):
        for site, power_w in (("eco-city", 500.0), ("port", 700.0)):
            p.add(reading_message(site, "home-1", ts_s, power_w), batch)
    made = [r for r in batch.readings if r.device == TOTALS_DEVICE]
    assert [(r.site, r.ts_s, r.metrics["households_power_w"]) for r in made] == [
        ("eco-city", T0, 500.0), ("port", T0, 700.0), ("eco-city", T0 + 10, 500.0), ("port", T0 + 10, 700.0)]
    assert [m for m in batch.metas if m.device == TOTALS_DEVICE] == [totals_meta("eco-city"), totals_meta("port")]
    assert p.readings == 6 and p.totals_made == 4 and not batch.rejected
    assert all(r.metrics["energy_wh"] >= 0 for r in batch.readings if r.device != TOTALS_DEVICE)  # still derived


@pytest.mark.parametrize("topic, body", [
    (f"expo/eco-city/{TOTALS_DEVICE}/reading", {"v": 1, "ts": format_ts(T0), "metrics": {"households_power_w": 1e9}}),
    (f"expo/eco-city/{TOTALS_DEVICE}/meta", {"v": 1, "kind": "site_totals", "name": {"en": "x", "zh": "x"},
                                            "source": "derived"}),
    (f"expo/eco-city/{TOTALS_DEVICE}/status", {"v": 1, "state": "offline", "ts": format_ts(T0)}),
])
def test_a_message_from_outside_for_the_totals_device_is_quarantined_as_reserved_device(topic, body):
    from expo.store import Batch

    p = processor()
    batch = Batch()
    p.add(message(topic, body), batch)
    assert [q.reason for q in batch.rejected] == ["reserved_device"] and "reserved" in batch.rejected[0].detail
    assert not batch.readings and not batch.metas and not p.status
    assert p.rejected_by_reason == {"reserved_device": 1}
    assert json.loads(batch.rejected[0].payload) == body  # kept as it came, for the engineer
