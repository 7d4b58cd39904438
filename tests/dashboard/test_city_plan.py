"""The town plan at district scale, and what a scene's first draw costs on the city scenario.

The meters here are the city scenario's own (``simulators/scenarios/city.toml``,
19,879 meters in eight districts), one step of its simulation, turned into the
model's devices as the model does (``devices_now``); the bytes are the answer
of the kiosk's refresh callback as Dash sends it (a POST to
``/_dash-update-component``, as ``bench/refresh`` measures them).
"""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from dash import Patch
from hypothesis import given, settings, strategies as st

from dashboard.model import ExhibitModel, ModelSettings
from dashboard.model.latest import devices_now
from dashboard.model.views import DeviceNow
from dashboard.scenes import _wiring as wiring
from dashboard.scenes._parts import CHART_EVERY_S
from dashboard.scenes import _gather as gather, city
from tests.dashboard.test_scenes import district_snapshot

LIMIT_BYTES = 30 * 1024  # issue 12: at most 30 KB sent per tick on the city scenario
MAX_MARKS = 300  # a district's plan: at most this many marks, whatever its meters


def simulated_devices(sim, now_s: float) -> tuple:
    from simulators.backfill import frame_readings

    readings = next(frame_readings(sim, sim.advance(1)))
    readings = [r.__class__(r.site, r.device, now_s, r.metrics, r.seq) for r in readings]
    return tuple(devices_now({(m.site, m.device): m for m in sim.metas}, readings, now_s, ModelSettings()))


@pytest.fixture(scope="module")
def city_devices():
    """Every meter of the city, live, one simulated step."""
    from simulators import city as cities
    from simulators.city_sim import CitySimulation

    now = time.time()
    return simulated_devices(CitySimulation(cities.load("city"), 1, now - 60, 60), now)


@pytest.fixture(scope="module")
def city_snapshot(city_devices):
    """The model's snapshot of the city: the Binhai districts of test_bigdata, the eco-city (the home town, where the
    zero-energy building ``zeb`` stands) watched with every meter of the city in ``devices``."""
    base = district_snapshot(port_devices=False)
    sites = tuple(sorted({d.site for d in city_devices}))
    return dataclasses.replace(base, devices=city_devices, watched=sites)


def refresh(snapshot, scene: str, lang: str, sent: dict, focus: str | None = None) -> tuple[int, dict]:
    """(bytes sent, the page's new digests) of one call of the kiosk's refresh callback."""
    from dashboard.app import KioskSettings, create_app

    model = ExhibitModel(lambda: None, ModelSettings())
    model.snapshot = snapshot
    app = create_app(model, KioskSettings())
    key = next(k for k in app.callback_map if k.startswith("..beat.data"))
    declared = app.callback_map[key]
    values = {("tick", "n_intervals"): 1, ("scene", "data"): scene, ("lang", "data"): lang, ("sent", "data"): sent,
              ("bigdata-focus", "data"): focus}
    body = {"output": key,
            "outputs": [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in key.strip(".").split("...")],
            "inputs": [{**i, "value": values.get((i["id"], i["property"]))} for i in declared["inputs"]],
            "state": [{**s, "value": values.get((s["id"], s["property"]))} for s in declared["state"]],
            "changedPropIds": ["scene.data"]}
    response = app.server.test_client().post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    data = response.get_data()
    return len(data), json.loads(data)["response"]["sent"]["data"]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("scene", ["zeb", "city", "bigdata", "flow", "load", "rank"])
def test_a_scenes_first_draw_on_the_city_scenario_is_at_most_30_kb(city_snapshot, scene, lang):
    """Every scene of the rotation: a rotation's first draw is a tick like any other (the load curve's was
    63 KB with a date string for each of its 288 slots in every trace)."""
    first, sent = refresh(city_snapshot, scene, lang, {})
    assert first <= LIMIT_BYTES, f"{scene} first draw {first / 1024:.1f} KB"
    again, _ = refresh(city_snapshot, scene, lang, sent)
    assert again < 2048  # nothing changed: the beat and the digests


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_load_curve_of_a_whole_day_in_every_sector_is_drawn_in_at_most_30_kb(city_snapshot, lang):
    """The evening, every one of the 288 slots filled in each sector and yesterday's: the worst first draw."""
    from dashboard.categories import LOADS
    from dashboard.model.slots import SLOTS

    full = dataclasses.replace(city_snapshot, curve_today={k: [123456.7 + i for i in range(SLOTS)] for k in LOADS},
                               curve_yesterday_w=[654321.9 + i for i in range(SLOTS)])
    first, _ = refresh(full, "load", lang, {})
    assert first <= LIMIT_BYTES, f"load first draw {first / 1024:.1f} KB"


@pytest.mark.parametrize("site", ["port", "tanggu", "dagang-wind", "teda"])
def test_a_tapped_districts_plan_is_at_most_30_kb(city_snapshot, site):
    """The biggest district (Tanggu, 5,537 meters), one just above the threshold (the port, 364), one below."""
    size, _ = refresh(city_snapshot, "city", "zh", {}, focus=site)
    assert size <= LIMIT_BYTES, f"{site}: {size / 1024:.1f} KB"


def leaf_w(devices) -> float:
    return sum(d.load_w for d in devices if d.counted and d.kind != "grid_connection" and d.load_w is not None)


@pytest.mark.parametrize("site", ["eco-city", "tanggu", "port"])
def test_a_big_site_is_a_few_hundred_marks_that_add_up_to_its_meters(city_snapshot, site):
    devices = city.shown(city_snapshot, site)
    assert gather.gathered(devices)
    figure = city.make_figure(city_snapshot, "en", site)
    marks, own = gather.split(devices, city.zero_energy(city_snapshot, site))
    assert len(figure.data) == 3 and len(figure.data[0].x) == len(marks) and len(figure.data[2].x) == len(own)
    assert len(marks) + len(own) <= MAX_MARKS
    held = [d.key for m in marks for d in m.meters] + [d.key for d in own]
    assert sorted(held) == sorted(d.key for d in devices)  # every meter in exactly one mark
    drawn_w = sum(m.power_w for m in marks) + leaf_w(own)
    assert round(drawn_w) == round(leaf_w(devices))  # to the watt
    assert [row[1] for row in figure.data[0].customdata] == [len(m.meters) for m in marks]


def test_the_eco_citys_landmarks_stay_findable(city_snapshot):
    figure = city.make_figure(city_snapshot, "en")
    assert set(figure.data[1].text) - {""} == {"Grid connection", "Zero-energy building", "Wind farm"}
    marks, _ = gather.split(city.shown(city_snapshot), "zeb")
    zeb = next(i for i, m in enumerate(marks) if m.building == "zeb")
    assert figure.data[0].marker.symbol[zeb] == "star" and len(marks[zeb].meters) == 11
    kinds = {d.kind for d in city.shown(city_snapshot) if d.key in set(figure.data[2].customdata)}
    assert {"grid_connection", "wind", "feeder"} <= kinds


def test_a_tick_on_a_big_site_patches_only_the_colours_and_stays_small(city_snapshot):
    values, sent = city.update(city_snapshot, "en", {})
    devices = tuple(dataclasses.replace(d, power_w=None if d.power_w is None else d.power_w * 0.5)
                    for d in city_snapshot.devices)
    five_s_on = city_snapshot.taken_s + CHART_EVERY_S  # colours are patched every 5 s at most
    values, _ = city.update(dataclasses.replace(city_snapshot, devices=devices, taken_s=five_s_on), "en", sent)
    assert isinstance(values[0], Patch)
    operations = values[0].to_plotly_json()["operations"]
    assert {tuple(op["location"]) for op in operations} == {("data", 0, "marker", "color"),
                                                            ("data", 2, "marker", "color")}
    assert len(json.dumps(operations)) < 4096


def test_tapping_a_gathered_mark_shows_its_count_power_and_biggest_meters(city_snapshot):
    from dashboard.app import KioskSettings, create_app
    from dashboard import numbers

    model = ExhibitModel(lambda: None, ModelSettings())
    model.snapshot = city_snapshot
    app = create_app(model, KioskSettings())
    marks, _ = gather.split(city.shown(city_snapshot), "zeb")
    mark = max((m for m in marks if m.building is None), key=lambda m: len(m.meters))
    body = {"output": "city-detail.children", "outputs": {"id": "city-detail", "property": "children"},
            "inputs": [{"id": "city-graph", "property": "clickData",
                        "value": {"points": [{"customdata": [mark.id, len(mark.meters)]}]}},
                       {"id": "bigdata-focus", "property": "data", "value": None}],
            "changedPropIds": ["city-graph.clickData"]}
    response = app.server.test_client().post("/_dash-update-component", json=body)
    shown = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"{len(mark.meters):,} meters" in shown and numbers.power(mark.power_w)["en"] in shown
    assert all(d.name_en in shown for d in gather.biggest(mark)) and "Meters in this area" in shown
    body["inputs"][0]["value"] = {"points": [{"customdata": ["eco-city/@b:zeb", 11]}]}
    shown = app.server.test_client().post("/_dash-update-component", json=body).get_data(as_text=True)
    assert city_snapshot.building.name_en in shown and "11 meters" in shown


def test_the_small_town_is_drawn_as_before_one_mark_per_meter():
    """tianjin-demo's 320 meters are below the threshold: every meter its own mark, as the plan always drew it."""
    from simulators import scenario as scenarios
    from simulators.engine import Simulation

    now = time.time()
    sim = Simulation(scenarios.load("tianjin-demo"), 1, now - 60, 60)
    devices = simulated_devices(sim, now)
    snapshot = dataclasses.replace(district_snapshot(port_devices=False), devices=devices, home_site=devices[0].site,
                                   watched=(devices[0].site,), building=None)
    shown = city.shown(snapshot)
    assert 300 <= len(shown) <= gather.MAX_METERS and not gather.gathered(shown)
    figure = city.make_figure(snapshot, "en")
    assert len(figure.data) == 2
    assert list(figure.data[0].customdata) == [d.key for d in shown]
    assert list(figure.data[0].text) == [city.hover(d, "en") for d in shown]
    assert list(figure.data[0].marker.symbol) == [city._symbol(d) for d in shown]
    # each feeder a line from the grid connection, under the meters, drawn the way its power goes
    top = next(d for d in shown if d.kind == "grid_connection" and d.counted)
    feeders = {(f.x_m, f.y_m): f for f in shown if f.kind == "feeder"}
    trunks = figure.layout.shapes
    assert len(trunks) == len(feeders) > 0 and all(t.layer == "below" for t in trunks)
    for t in trunks:
        fed = (t.x0, t.y0) == (top.x_m, top.y_m)
        feeder = feeders[(t.x1, t.y1) if fed else (t.x0, t.y0)]
        assert fed == ((feeder.load_w or 0) >= 0)  # from the grid when it feeds the street, else up to it
        assert t.line.color == (wiring.TRUNK_IN if fed else wiring.TRUNK_OUT)


meters = st.lists(st.tuples(
    st.sampled_from(["household", "pv", "commercial", "feeder", "grid_connection", "wind", "street_light"]),
    st.floats(-3000, 3000), st.floats(-3000, 3000), st.one_of(st.none(), st.sampled_from(["zeb", "b1", "b2"])),
    st.one_of(st.none(), st.floats(-5e5, 5e5)), st.sampled_from(["live", "offline"])), min_size=1, max_size=600)


@settings(max_examples=60, deadline=None)
@given(meters)
def test_gathering_keeps_every_meter_once_and_every_watt(rows):
    devices = [DeviceNow("s", f"m{i}", kind, kind, kind, x, y, 5_000.0, "simulated", building,
                         kind not in ("feeder",), power, 0.0, state)
               for i, (kind, x, y, building, power, state) in enumerate(rows)]
    marks, own = gather.split(devices, "zeb")
    held = [d.key for m in marks for d in m.meters] + [d.key for d in own]
    assert sorted(held) == sorted(d.key for d in devices)
    live = [d for d in devices if d.state != "offline"]
    assert sum(m.power_w for m in marks) + leaf_w([d for d in own if d.state != "offline"]) == \
        pytest.approx(leaf_w(live), abs=1e-3)
    assert len({m.id for m in marks}) == len(marks) and all("/@" in m.id for m in marks)
    assert all(-1.0 <= gather.colour_value(m) <= 1.0 for m in marks)
    assert len(marks) <= (gather.CELLS + 1) ** 2 + len({d.building for d in devices if d.building})


def test_the_wind_turbine_has_a_rotor_that_turns_with_its_power():
    """A rotor on each turbine of the town plan; still while they make nothing, faster with their share of
    their rating, never faster than the top speed."""
    from dashboard.model.views import DeviceNow

    def turbine(name, power_w, state="live"):
        return DeviceNow("binhai", name, "wind", name, name, 100.0, 50.0, 300_000.0, "simulated", None, True, power_w,
                         0.0, state)

    plan = [turbine("wt-1", 0.0), turbine("wt-2", 0.0)]
    images = wiring.rotor_images(plan)
    assert [(i["x"], i["y"]) for i in images] == [(100, 50 + wiring.ROTOR_M / 2)] * 2
    assert images[0]["source"].startswith("data:image/svg+xml;base64,")  # drawn as it is, never converted
    assert wiring.rotor_rpm(plan) == 0.0
    speeds = [wiring.rotor_rpm([turbine("wt-1", w), turbine("wt-2", w)]) for w in (3_000.0, 60_000.0, 300_000.0)]
    assert speeds == sorted(speeds) and speeds[0] > 0 and speeds[-1] == wiring.TURNS_PER_MIN[1]
    assert wiring.rotor_rpm([turbine("wt-1", 300_000.0, "offline")]) == 0.0
    farm = [turbine(f"wt-{i}", 100_000.0) for i in range(wiring.MAX_ROTORS + 1)]
    assert wiring.rotor_images(farm) == [] and len(wiring.rotor_images(farm[:-1])) == wiring.MAX_ROTORS  # a farm: marks
