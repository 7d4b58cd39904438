"""The zero-energy building drawn as a building: its balance, its wires and what the engineer view says of it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from dashboard.model.balance import DAYLIGHT_SHARE, TOLERANCE_MIN_W, balance
from dashboard.model.views import Building, DeviceNow, Snapshot
from dashboard.scenes import _building as drawing
from dashboard.scenes import zeb
from dashboard.status import balance_data, render

RATED = {"pv-roof": 108_000.0, "pv-facade": 30_000.0, "battery": 60_000.0, "heat-pump": 60_000.0,
         "lighting": 12_000.0, "plugs": 24_000.0, "ev-1": 7_000.0, "ev-2": 7_000.0, "grid": 0.0}
KIND = {"pv-roof": "pv", "pv-facade": "pv", "battery": "battery", "heat-pump": "heat_pump", "lighting": "lighting",
        "plugs": "plug_load", "ev-1": "ev_charger", "ev-2": "ev_charger", "grid": "grid_connection"}


def device(name: str, power_w: float | None, state: str = "live") -> DeviceNow:
    return DeviceNow("binhai", name, KIND[name], name, name, 0.0, 0.0, RATED[name], "simulated", "zeb", False,
                     power_w, 0.0 if power_w is not None else None, state)


def building(roof=50_000.0, facade=10_000.0, battery=5_000.0, heat_pump=8_000.0, lighting=3_000.0, plugs=9_000.0,
             ev=(7_000.0, 0.0), grid_error=0.0, states=None) -> list[DeviceNow]:
    """A building whose grid meter reads what its parts add up to (plus ``grid_error``); battery + charging."""
    loads = heat_pump + lighting + plugs + sum(ev)
    grid = loads + battery - roof - facade + grid_error
    powers = {"pv-roof": roof, "pv-facade": facade, "battery": battery, "heat-pump": heat_pump, "lighting": lighting,
              "plugs": plugs, "ev-1": ev[0], "ev-2": ev[1], "grid": grid}
    states = states or {}
    return [device(n, p, states.get(n, "live")) for n, p in powers.items()]


power = st.floats(0, 150_000, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(roof=power, facade=st.floats(0, 30_000), battery=st.floats(-60_000, 60_000), heat_pump=power,
       lighting=st.floats(0, 12_000), plugs=st.floats(0, 24_000), ev=st.tuples(st.floats(0, 7_000), st.floats(0, 7_000)))
def test_meters_that_agree_balance_and_every_part_flows_one_way(roof, facade, battery, heat_pump, lighting, plugs, ev):
    b = balance(building(roof, facade, battery, heat_pump, lighting, plugs, ev))
    assert b.residual_w == pytest.approx(0.0, abs=1e-6) and b.within_tolerance
    assert b.pv_w == pytest.approx(roof + facade) and b.storage_w == pytest.approx(battery)
    assert b.tolerance_w >= TOLERANCE_MIN_W
    battery_part = b.parts["battery"]
    assert battery_part.power_w == pytest.approx(abs(battery))  # one part, one way: never in and out at once
    assert battery_part.into_bus == (battery < 0)
    assert b.parts["grid"].into_bus == (b.grid_w > 0)
    assert b.parts["ev"].power_w == pytest.approx(sum(ev)) and not b.parts["ev"].into_bus
    assert b.parts["pv_roof"].into_bus and b.parts["pv_facade"].into_bus
    for slot, part in b.parts.items():  # a wire's dots run one way: the runs of a slot agree on it
        styles = drawing.wire_styles(slot, part)
        assert len({("--dur" in s) for s in styles}) == 1


@given(error=st.floats(-50_000, 50_000))
def test_a_residual_beyond_the_tolerance_is_reported_not_hidden(error):
    b = balance(building(grid_error=error))
    assert b.residual_w == pytest.approx(error, abs=1e-6)
    assert b.within_tolerance == (abs(error) <= b.tolerance_w)
    data = balance_data(Building("zeb", "ZEB", "零能耗", [], [], 0, 0, None, 0, 0, 0, 0, site="binhai", balance=b))
    page = render({"generated_s": 0, "store_ok": True, "store_error": None, "newest_reading_s": None,
                   "replay_speed": None, "devices": [], "sites": [], "health": {}, "rejected_by_reason": {},
                   "rejected": [], "building_balance": data, "ingest_processes": [], "discovered": [],
                   "topics_seen": []}, "en")
    assert ("does not add up" in page) == (not b.within_tolerance)
    assert ("it adds up" in page) == b.within_tolerance


def test_a_missing_load_meter_shows_as_a_residual_of_its_power():
    """The heat pump's meter is offline: its 8 kW still passes the grid meter, and the balance says so."""
    b = balance(building(heat_pump=8_000.0, states={"heat-pump": "offline"}))
    assert b.residual_w == pytest.approx(8_000.0) and not b.within_tolerance
    assert b.parts["heat_pump"].dark and "--dur" not in drawing.wire_styles("heat_pump", b.parts["heat_pump"])[0]


def test_without_a_reporting_grid_meter_nothing_is_checked():
    b = balance(building(states={"grid": "offline"}))
    assert b.residual_w is None and b.within_tolerance and b.parts["grid"].dark


@given(noise=st.floats(0, DAYLIGHT_SHARE * 138_000))
def test_nothing_flows_from_the_sun_at_night(noise):
    """An inverter's standby reading at night is not sunshine: no sun on the sky, no dots on the PV's wires."""
    b = balance(building(roof=noise, facade=0.0))
    assert not b.daylight
    for slot in ("pv_roof", "pv_facade"):
        assert b.parts[slot].power_w == 0.0
        assert all("--dur" not in s for s in drawing.wire_styles(slot, b.parts[slot]))
    assert zeb.sky(Building("zeb", "", "", [], [], 0, 0, None, 0, 0, 0, 0, balance=b)) == "zb-sky night"


def test_by_day_the_sun_shines_and_the_pv_wires_move_towards_the_switchboard():
    b = balance(building(roof=50_000.0))
    assert b.daylight
    assert zeb.sky(Building("zeb", "", "", [], [], 0, 0, None, 0, 0, 0, 0, balance=b)) == "zb-sky day"
    (style,) = drawing.wire_styles("pv_roof", b.parts["pv_roof"])  # one run, down from the roof
    assert "--dur" in style and "--dir" not in style  # down: the wire's own direction, roof -> switchboard


@pytest.mark.parametrize("battery_w, towards_cabinet", [(20_000.0, True), (-20_000.0, False)])
def test_the_batterys_dots_run_into_it_when_charging_and_out_when_supplying(battery_w, towards_cabinet):
    """The battery's wire runs left from its cabinet (x 760) to the switchboard (x 540): charging, its dots move
    right (no reverse); supplying, left."""
    b = balance(building(battery=battery_w))
    (style,) = drawing.wire_styles("battery", b.parts["battery"])
    assert ("--dir" not in style) == towards_cabinet
    label = zeb._label(next(item for item in zeb.label_data(Building("zeb", "", "", [], [], 0, 0, None, 0, 0, 0, 0,
                                                                     balance=b)) if item[0] == "battery"))
    assert ("charging" if towards_cabinet else "supplying") in str(label)


@given(a=st.floats(0, 1e6), b=st.floats(0, 1e6))
def test_more_power_moves_faster_and_wider(a, b):
    low, high = sorted((a, b))
    assert drawing.seconds_per_dot(high) <= drawing.seconds_per_dot(low)
    assert drawing.width_px(high) >= drawing.width_px(low)
    assert drawing.FASTEST_S <= drawing.seconds_per_dot(a) <= drawing.SLOWEST_S


def test_every_wire_ends_on_the_switchboard_and_stays_on_the_drawing():
    board = (420, 470, 540, 546)  # the switchboard's box in assets/zeb-building.svg
    svg = Path(zeb.__file__).parents[1] / "assets" / "zeb-building.svg"
    assert '<rect x="420" y="470" width="120" height="76"' in svg.read_text()
    for slot, points in drawing.WIRES.items():
        x, y = points[-1]
        assert board[0] <= x <= board[2] and board[1] <= y <= board[3], slot
        assert all(0 <= px <= drawing.WIDTH_PX and 0 <= py <= drawing.HEIGHT_PX for px, py in points), slot
        assert all(a[0] == b[0] or a[1] == b[1] for a, b in zip(points, points[1:])), slot  # straight runs only


def test_labels_do_not_cover_each_other():
    """Each label's box at its minimum width and its height at the portrait sizes: a name and a value (86 px), and
    for the two-way meters the way their power goes (28 px more)."""
    boxes = {slot: (x, y, x + w, y + 86 + (28 if slot in ("battery", "grid") else 0))
             for slot, (x, y, w) in drawing.LABELS.items()}
    for a, (ax0, ay0, ax1, ay1) in boxes.items():
        assert ax1 <= drawing.WIDTH_PX and ay1 <= drawing.HEIGHT_PX, a
        for b, (bx0, by0, bx1, by1) in boxes.items():
            if a < b:
                assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, (a, b)


def test_the_scene_sends_the_drawing_then_only_what_changed():
    b = balance(building())
    shot = _snapshot(b)
    values, sent = zeb.update(shot, "en", {})
    shown = {o.component_id: v for o, v in zip(zeb.outputs(), values)}
    assert shown["zeb-sky"] == "zb-sky day"
    assert len(shown["zeb-wires"]) == len(drawing.WIRES) and len(shown["zeb-labels"]) == len(drawing.WIRES)
    again, _ = zeb.update(shot, "en", sent)
    assert all(v is zeb.no_update for v in again)  # nothing changed, nothing sent
    moved = _snapshot(balance(building(battery=-5_000.0)))
    values, _ = zeb.update(moved, "en", sent)
    shown = {o.component_id: v for o, v in zip(zeb.outputs(), values)}
    assert shown["zeb-sky"] is zeb.no_update and shown["zeb-wires"] is not zeb.no_update


def _snapshot(b):
    building_ = Building("zeb", "ZEB", "零能耗", [None] * 288, [None] * 288, 60_000.0, 30_000.0, 50.0, 1e6, 9e5,
                         1e5, 9e4, site="binhai", balance=b)
    return Snapshot(1, 0.0, 0.0, 0.0, "Asia/Shanghai", True, "", 0.0, None, building=building_)


def test_simulated_data_is_labelled_as_such_and_real_meters_are_not():
    from dashboard.app import provenance

    sim = building()
    real = [dataclasses.replace(d, source="meter") for d in sim]
    shot = _snapshot(balance(sim))
    assert dataclasses.replace(shot, devices=tuple(sim)).provenance == "simulated"
    assert dataclasses.replace(shot, devices=tuple(real)).provenance is None
    assert dataclasses.replace(shot, devices=tuple(real[:3] + sim[3:])).provenance == "mixed"
    assert shot.provenance is None  # nothing shown yet: nothing to label
    label = str(provenance("simulated"))
    assert "simulated · 模拟数据" in label and "模拟数据 · simulated" in label  # both languages, the page's first
    assert provenance(None) is None


@pytest.mark.parametrize("lag_s, says", [(0.0, False), (600.0, False), (1_800.0, True)])
def test_a_chart_whose_own_data_fell_behind_says_so_on_its_panel(lag_s, says):
    """Readings still arrive (the badge is green) but the day's chart stopped at 14:00: its panel says so."""
    day_start = 1_796_400_000.0  # a local midnight's instant does not matter here: the note shows local time
    used = [30_000.0] * 168 + [None] * 120  # data through 14:00 (168 slots of 5 min)
    building_ = dataclasses.replace(_snapshot(balance(building())).building, consumption_today=used,
                                    generation_today=used)
    end_s = day_start + 168 * 300
    shot = Snapshot(1, end_s + lag_s, end_s + lag_s, day_start, "UTC", True, "", end_s + lag_s, None,
                    building=building_)
    values, _ = zeb.update(shot, "en", {})
    note = {o.component_id: v for o, v in zip(zeb.outputs(), values)}["zeb-behind"]
    until = shot.local(end_s).strftime("%H:%M")
    assert (note is not None and f"data up to {until}" in str(note) and f"数据截至 {until}" in str(note)) == says


def test_the_year_leaves_out_what_visitors_asked_for(filled_sqlite):
    """An hour under a what-if (a heat wave someone pressed) is not the building's own year: made ÷ used drops
    exactly what its meters counted in that hour, to the minute, checked against the raw counters."""
    from dashboard.model import ExhibitModel, ModelSettings
    from expo.kinds import KINDS, Flow
    from expo.store import Batch
    from expo.whatif import WhatIfSpan
    from tests.dashboard.conftest import raw

    def year():
        model = ExhibitModel(filled_sqlite.open, ModelSettings())
        model.poll()
        b = model.snapshot.building
        return b, {(m.device): m for m in filled_sqlite.open().devices() if m.building == b.id}

    before, metas = year()
    start_s = filled_sqlite.start_s + 3600
    end_s = start_s + 3600
    store = filled_sqlite.open()
    store.write(Batch(whatifs=[WhatIfSpan("binhai", "heat_wave", "a heat wave", "热浪来袭", start_s, end_s,
                                          end_s, end_s)]))
    store.close()
    after, _ = year()

    def counted(flow):  # the span's energy from the raw counters: last reading in it less the last before it
        total = 0.0
        for device, meta in metas.items():
            if KINDS[meta.kind].flow is not flow:
                continue
            series = sorted((ts, v) for d, ts, v in raw(filled_sqlite.url, "energy_wh", 0) if d == device)
            inside = [v for ts, v in series if start_s <= ts <= end_s]
            earlier = [v for ts, v in series if ts < start_s]
            if inside and earlier:
                total += inside[-1] - earlier[-1]
        return total

    for flow, was, now in ((Flow.CONSUMES, before.used_ytd_wh, after.used_ytd_wh),
                           (Flow.PRODUCES, before.produced_ytd_wh, after.produced_ytd_wh)):
        hour = counted(flow)
        slack = 2 * hour / 60 + 1.0  # a minute of slack each side
        assert was - now == pytest.approx(hour, abs=slack), flow
    assert before.used_ytd_wh - after.used_ytd_wh > 0  # the building used energy in that hour: it was left out
