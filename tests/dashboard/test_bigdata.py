"""The big-data centre scene against cities built here: its figures are the snapshot's, and it sends only changes.

The city is Binhai New Area as eight districts with different characters (an
eco-city, the port, an industrial park, a business district, a coastal wind
farm, two residential towns, an EV hub), built as ``SiteNow`` values, so these
tests do not wait for a simulator or a store: the model's own tests check
that ``Snapshot.city`` is what the store holds; these check that the screen
is what ``Snapshot.city`` says.
"""

from __future__ import annotations

import dataclasses
import json
import time
import tomllib
from pathlib import Path

import plotly.graph_objects as go
import pytest
from dash import Patch, no_update
from hypothesis import given, settings, strategies as st

from dashboard import numbers, theme
from dashboard.model import CityNow, ModelSettings, SiteNow, empty_snapshot
from dashboard.model.slots import SLOTS, local_midnight_s
from dashboard.scenes import _citymap as citymap, bigdata

TZ = "Asia/Shanghai"


CITY_TOML = Path(__file__).resolve().parents[2] / "simulators" / "scenarios" / "city.toml"

# What each district does, by its id in the city scenario: load now, solar and wind now (kW), used and made clean
# today (MWh), meters. The places, outlines and names are the scenario's own, so the plan drawn here is the one
# the exhibit shows.
FIGURES = {
    "teda": (48_000, 4_000, 0, 910, 60, 2_600),
    "port": (26_000, 1_500, 0, 520, 40, 2_100),
    "yujiapu": (17_000, 800, 0, 300, 12, 1_900),
    "ev-hub": (14_000, 900, 0, 240, 9, 1_200),
    "tanggu": (11_000, 2_000, 0, 210, 30, 4_400),
    "hangu": (9_500, 2_400, 0, 190, 28, 3_900),
    "eco-city": (9_000, 6_500, 0, 160, 70, 3_200),
    "dagang-wind": (300, 0, 61_000, 6, 950, 60),
}


def _districts() -> list[dict]:
    with CITY_TOML.open("rb") as f:
        return tomllib.load(f)["districts"]


def binhai(readings_today: int = 123_456_789, readings_per_s: float = 1_987.0, **changes) -> CityNow:
    sites = []
    for i, d in enumerate(_districts()):
        load_kw, solar_kw, wind_kw, used_mwh, clean_mwh, meters = FIGURES.get(
            d["site"], (5_000 + 100 * i, 500, 0, 100 + i, 10, 1_000))
        load_w, solar_w, wind_w = load_kw * 1e3, solar_kw * 1e3, wind_kw * 1e3
        sites.append(SiteNow(d["site"], d["type"], d["name_en"], d["name_zh"], d["x_km"], d["y_km"],
                             tuple(tuple(p) for p in d["outline_km"]), load_now_w=load_w, solar_now_w=solar_w,
                             wind_now_w=wind_w, grid_import_now_w=load_w - solar_w - wind_w,
                             load_today_wh=used_mwh * 1e6, renewable_today_wh=clean_mwh * 1e6, meters=meters,
                             meters_online=meters - meters // 50))
    now_slot = SLOTS * 2 // 3
    shape = [0.6 + 0.4 * abs((i - SLOTS / 2) / (SLOTS / 2) - 0.3) for i in range(SLOTS)]
    today = [round(150e6 * v) if i <= now_slot else None for i, v in enumerate(shape)]
    yesterday = [round(140e6 * v) for v in shape]
    city = CityNow("Binhai New Area", "滨海新区", tuple(sites), readings_today, readings_per_s, today, yesterday)
    return dataclasses.replace(city, **changes)


def snapshot_of(city: CityNow | None, now_s: float | None = None):
    now_s = time.time() if now_s is None else now_s
    base = empty_snapshot(ModelSettings(timezone=TZ), now_s)
    return dataclasses.replace(base, version=1, newest_ts_s=now_s, city=city,
                               day_start_s=local_midnight_s(now_s, TZ))


def values_by_output(values) -> dict:
    return {f"{o.component_id}.{o.component_property}": v for o, v in zip(bigdata.outputs(), values)}


def texts(component, lang: str | None = None) -> list[str]:
    """Every string in a component tree, in order (only one language's spans when ``lang`` is given)."""
    if component is None:
        return []
    if isinstance(component, str):
        return [component]
    if isinstance(component, (list, tuple)):
        return [t for c in component for t in texts(c, lang)]
    if lang and getattr(component, "className", "") == ("t-en" if lang == "zh" else "t-zh"):
        return []
    return texts(getattr(component, "children", None), lang)


@pytest.fixture
def city_snapshot():
    return snapshot_of(binhai())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_clean_share_shown_is_the_citys(city_snapshot, lang):
    values, _ = bigdata.update(city_snapshot, lang, {})
    shown = values_by_output(values)
    expected = numbers.percent(city_snapshot.city.renewable_share_today)["en"]
    assert city_snapshot.city.renewable_share_today == pytest.approx(1_199 / 2_536)
    assert texts(shown["bigdata-share.children"])[0] == expected == "47%"  # 1,199 of 2,536 MWh
    assert expected in " ".join(texts(shown["bigdata-caption.children"], lang))


def test_the_board_ranks_districts_by_energy_used_today(city_snapshot):
    values, _ = bigdata.update(city_snapshot, "en", {})
    track = values_by_output(values)["bigdata-board.children"]
    names = [row.children[0].children for row in track.children]  # the rank is the row's place (a CSS counter)
    by_energy = [s.name_en for s in sorted(city_snapshot.city.sites, key=lambda s: -s.load_today_wh)]
    assert names[:8] == by_energy
    assert names[0] == "TEDA Industrial Park" and names[7] == "Dagang Coastal Wind Farm"
    assert len(names) == 8  # each district once: the board scrolls down and back (CSS), not round a copy
    first = track.children[0]
    assert first.children[1].children == "910 MWh" and first.children[2].children == "7%"
    co2_t = 60_000 * 0.5703 / 1000  # 60 MWh of sun and wind at the grid's factor
    assert first.children[3].children == f"{co2_t:,.1f} t"


def test_the_flip_counter_shows_todays_readings(city_snapshot):
    values, _ = bigdata.update(city_snapshot, "en", {})
    wheels = values_by_output(values)["bigdata-odometer.children"]
    assert len(wheels) == bigdata.DIGITS
    shown = "".join(w.style["--d"] for w in wheels if "blank" not in getattr(w, "className", ""))
    assert shown == str(city_snapshot.city.readings_today) == "123456789"
    rate = texts(values_by_output(values)["bigdata-rate.children"], "en")
    assert rate[0] == "1,987 readings a second, live"
    assert texts(values_by_output(values)["bigdata-rate.children"], "zh") == ["共 1.23 亿 条 · 每秒实时 1,987 条"]


def test_the_kpis_are_the_citys_sums(city_snapshot):
    city = city_snapshot.city
    values, _ = bigdata.update(city_snapshot, "en", {})
    strip = " ".join(texts(values_by_output(values)["bigdata-kpis.children"], "en"))
    assert numbers.power(city.load_now_w)["en"] in strip == strip  # 134.8 MW
    assert numbers.power(city.load_now_w)["en"] == "134.8 MW"
    assert f"{city.meters_online:,}/{city.meters:,}" in strip
    assert numbers.energy(city.load_today_wh)["en"] in strip


@pytest.mark.parametrize("city", [None, CityNow("Binhai New Area", "滨海新区")], ids=["no city", "no sites"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_before_any_district_reports_it_waits_calmly(city, lang):
    snapshot = snapshot_of(city)
    values, sent = bigdata.update(snapshot, lang, {})
    shown = values_by_output(values)
    assert all(v is not no_update and not isinstance(v, Patch) for v in values)
    assert "Waiting for data from the city's districts" in texts(shown["bigdata-labels.children"], "en")
    assert shown["bigdata-areas.children"] == [] and shown["bigdata-flows.children"] == []
    assert texts(shown["bigdata-share.children"]) == ["—"]
    assert isinstance(shown["bigdata-load.figure"], go.Figure)
    caption = " ".join(texts(shown["bigdata-caption.children"], "en"))
    assert "appears here as soon as its meters report" in caption
    again, sent_again = bigdata.update(snapshot, lang, sent)
    assert all(v is no_update for v in again) and sent_again == sent


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_update_with_nothing_changed_sends_nothing(city_snapshot, lang):
    values, sent = bigdata.update(city_snapshot, lang, {})
    assert all(v is not no_update and not isinstance(v, Patch) for v in values)
    again, sent_again = bigdata.update(snapshot_of(city_snapshot.city), lang, sent)
    assert all(v is no_update for v in again), [type(v) for v in again]
    assert sent_again == sent
    assert len(json.dumps(sent)) < 2_000  # the page's digest of what it shows stays small


def operations(patch: Patch) -> set:
    return {tuple(op["location"]) for op in patch.to_plotly_json()["operations"]}


def test_a_change_of_power_moves_only_the_flows_it_changes(city_snapshot):
    _, sent = bigdata.update(city_snapshot, "en", {})
    sites = tuple(dataclasses.replace(s, grid_import_now_w=s.grid_import_now_w * 1.5) if s.site == "port" else s
                  for s in city_snapshot.city.sites)
    values, _ = bigdata.update(snapshot_of(dataclasses.replace(city_snapshot.city, sites=sites)), "en", sent)
    shown = values_by_output(values)
    flows = shown["bigdata-flows.children"]
    assert isinstance(flows, Patch)
    changed = {loc[0] for loc in operations(flows)}
    assert 0 < len(changed) < len(citymap.pairs([s.site for s in sites]))
    others = {k: v for k, v in shown.items() if k not in ("bigdata-flows.children", "bigdata-kpis.children")}
    assert all(v is no_update for v in others.values()), {k: type(v) for k, v in others.items()}


def test_a_new_reading_count_turns_only_the_wheels_that_move(city_snapshot):
    _, sent = bigdata.update(city_snapshot, "en", {})
    later = snapshot_of(binhai(readings_today=123_456_799))
    values, _ = bigdata.update(later, "en", sent)
    counter = values_by_output(values)["bigdata-odometer.children"]
    assert isinstance(counter, Patch)
    assert {loc[0] for loc in operations(counter)} == {bigdata.DIGITS - 2}  # ...789 -> ...799: the tens wheel


def test_switching_language_redraws_the_plan(city_snapshot):
    _, sent = bigdata.update(city_snapshot, "zh", {})
    values, _ = bigdata.update(city_snapshot, "en", sent)
    labels = values_by_output(values)["bigdata-labels.children"]
    assert isinstance(labels, list) and "Tianjin Port" in texts(labels)


def test_every_district_is_on_the_plan_inside_it(city_snapshot):
    plan = citymap.plan(city_snapshot.city.sites)
    points = [p for pts in plan.outlines.values() for p in pts] + list(plan.places.values()) + [plan.grid]
    assert all(0 <= x <= 100 and 0 <= y <= 100 for x, y in points)
    assert plan.places["hangu"][1] < plan.places["dagang-wind"][1]  # north is up
    assert plan.grid[0] < min(x for x, _ in plan.places.values())  # the outside grid comes in from the west


site_power = st.lists(st.floats(-5e7, 5e7, allow_nan=False), min_size=1, max_size=10)


@settings(max_examples=200, deadline=None)
@given(site_power)
def test_pooled_flows_carry_exactly_what_each_district_draws_and_sends(imports):
    sites = [SiteNow(f"s{i}", "district", f"S{i}", f"区{i}", i, i, grid_import_now_w=w) for i, w in enumerate(imports)]
    flows = citymap.flows(sites)
    assert all(w >= 0 for w in flows.values())
    for s in sites:
        into = sum(w for (a, b), w in flows.items() if b == s.site)
        out = sum(w for (a, b), w in flows.items() if a == s.site)
        assert into == pytest.approx(max(s.grid_import_now_w, 0), rel=1e-9, abs=1e-3)
        assert out == pytest.approx(max(-s.grid_import_now_w, 0), rel=1e-9, abs=1e-3)
    net = sum(imports)  # the city's exchange with the outside grid
    assert sum(w for (a, _), w in flows.items() if a == citymap.GRID) == pytest.approx(max(net, 0), abs=1e-3)
    assert sum(w for (_, b), w in flows.items() if b == citymap.GRID) == pytest.approx(max(-net, 0), abs=1e-3)


def test_the_wind_farms_flows_are_drawn_in_winds_colour_and_the_grids_in_its_own(city_snapshot):
    sites = bigdata.districts(city_snapshot)
    plan = citymap.plan(sites)
    styles = dict(zip(citymap.pairs([s.site for s in sites]), bigdata.flow_styles(sites, plan)))
    assert styles[("dagang-wind", "port")]["--c"] == bigdata.WIND
    assert styles[("grid", "teda")]["--c"] == bigdata.GRID_IMPORT
    assert styles[("port", "teda")] == {"display": "none"}  # two districts that both draw: hidden, kept
    assert "--dir" not in styles[("grid", "teda")]  # the grid sends: dashes run from the first place to the second
    widths = {k: int(v["--w"][:-2]) for k, v in styles.items() if "--w" in v}
    assert widths[("grid", "teda")] > widths[("grid", "yujiapu")]  # width follows power


def test_a_tap_on_a_district_opens_its_town(city_snapshot):
    assert bigdata.tapped({"type": "bigdata-district", "site": "port"}, 1) == ("city", "port")
    assert bigdata.tapped({"type": "bigdata-label", "site": "port"}, 0) == (no_update, no_update)  # drawn, not tapped
    # a page whose rotation has no town scene stays on the city rather than opening a scene it does not hold
    assert bigdata.tapped({"type": "bigdata-district", "site": "port"}, 1, ["bigdata", "zeb"]) == (no_update, no_update)

    from dashboard.app import KioskSettings, create_app
    from dashboard.model import ExhibitModel

    model = ExhibitModel(lambda: None, ModelSettings())
    model.snapshot = city_snapshot
    app = create_app(model, KioskSettings())
    key = next(k for k in app.callback_map if "bigdata-focus.data" in k and "scene.data" in k)
    ids = [{"type": "bigdata-district", "site": s.site} for s in bigdata.districts(city_snapshot)]
    body = {"output": key, "outputs": [{"id": "scene", "property": "data@" + key.split("@")[1].split(".")[0]}
                                       if "@" in key else {"id": "scene", "property": "data"},
                                       {"id": "bigdata-focus", "property": "data"}],
            "inputs": [[{"id": i, "property": "n_clicks", "value": 1 if i["site"] == "port" else 0} for i in ids],
                       []],
            "state": [{"id": "config", "property": "data", "value": {"scenes": ["zeb", "city", "bigdata"]}}],
            "changedPropIds": [json.dumps(ids[bigdata.districts(city_snapshot).index(
                next(s for s in city_snapshot.city.sites if s.site == "port"))], separators=(",", ":"),
                sort_keys=True) + ".n_clicks"]}
    response = app.server.test_client().post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    answer = json.loads(response.get_data(as_text=True))["response"]
    assert answer["bigdata-focus"]["data"] == "port"
    assert next(v for k, v in answer.items() if k == "scene")["data"] == "city"


def test_the_rotation_tells_building_town_city_and_back():
    from dashboard import scenes

    found = scenes.discover()
    assert [m.SCENE.id for m in scenes.story(found)] == ["zeb", "city", "bigdata", "flow", "load", "rank"]
    assert [m.SCENE.scale for m in scenes.story(found)][:3] == ["building", "town", "city"]
    assert [m.SCENE.id for m in scenes.story(found, ("bigdata", "nope", "city", "bigdata"))] == ["bigdata", "city"]


def test_every_scene_says_where_on_the_scale_it_stands(city_snapshot):
    from dashboard.app import KioskSettings, create_app
    from dashboard.model import ExhibitModel

    model = ExhibitModel(lambda: None, ModelSettings())
    model.snapshot = city_snapshot
    page = create_app(model, KioskSettings(rotation=("bigdata", "zeb"))).layout()
    config = next(c for c in _walk(page) if getattr(c, "id", None) == "config")
    assert config.data["scenes"] == ["bigdata", "zeb"]
    lit = {}
    for section in (c for c in _walk(page) if isinstance(getattr(c, "id", None), dict)
                    and c.id.get("type") == "scene"):
        here = [c for c in _walk(section) if "here" in (getattr(c, "className", "") or "").split()]
        lit[section.id["id"]] = texts(here, "en")
    assert lit == {"bigdata": ["City"], "zeb": ["Building"]}


def _walk(tree):
    yield tree
    children = getattr(tree, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and hasattr(child, "to_plotly_json"):
            yield from _walk(child)


def test_a_city_of_one_small_town_is_drawn_in_kilowatts():
    town = SiteNow("town", "town", "Test Town", "测试小镇", 0.0, 0.0, load_now_w=32_000.0, grid_import_now_w=30_000.0,
                   load_today_wh=17_800.0, renewable_today_wh=1_250.0, meters=41, meters_online=41)
    city = CityNow("", "", (town,), 1_722, 0.7, [40_000.0, 35_000.0] + [None] * (SLOTS - 2), [50_000.0] * SLOTS)
    values, _ = bigdata.update(snapshot_of(city), "en", {})
    figure = values_by_output(values)["bigdata-load.figure"]
    assert figure.layout.yaxis.title.text == "kW" and figure.data[1].y[:2] == (40.0, 35.0)
    assert figure.data[1].dx == 300_000  # 5-minute slots, in ms on a date axis
    assert texts(values_by_output(values)["bigdata-share.children"])[0] == "7%"
    assert bigdata.chart_unit(snapshot_of(binhai())) == ("MW", 1e6)


def test_nothing_flows_from_the_sun_at_night():
    night = [SiteNow("a", "district", "A", "甲", 0, 0, solar_now_w=0.0, grid_import_now_w=-2e6),  # a battery sends
             SiteNow("b", "district", "B", "乙", 5, 5, solar_now_w=3e6, grid_import_now_w=-1e6),
             SiteNow("c", "district", "C", "丙", 9, 0, grid_import_now_w=3e6)]
    plan = citymap.plan(night)
    styles = dict(zip(citymap.pairs(["a", "b", "c"]), bigdata.flow_styles(night, plan)))
    assert styles[("a", "c")]["--c"] == bigdata.BATTERY and styles[("b", "c")]["--c"] == bigdata.SOLAR


def test_a_tick_sends_a_few_kilobytes_and_the_whole_board_about_30():
    from plotly.utils import PlotlyJSONEncoder

    def size(values) -> int:
        return sum(len(json.dumps(v.to_plotly_json() if hasattr(v, "to_plotly_json") else v, cls=PlotlyJSONEncoder))
                   for v in values if v is not no_update)

    first, sent = bigdata.update(snapshot_of(binhai()), "zh", {})
    assert size(first) < 36_000  # drawn in full when the scene comes on screen (33 KB for the eight districts)
    for step in range(1, 4):  # every district's exchange with the grid moves, as it does each second
        city = binhai(readings_today=123_456_789 + 3_000 * step)
        sites = tuple(dataclasses.replace(s, grid_import_now_w=s.grid_import_now_w * (1 + 0.07 * step * (-1) ** i))
                      for i, s in enumerate(city.sites))
        values, sent = bigdata.update(snapshot_of(dataclasses.replace(city, sites=sites)), "zh", sent)
        assert size(values) < 8_000


def test_the_load_charts_axis_stands_still_until_todays_load_outgrows_it():
    """A round number above both curves, fixed; sent again only when today's load rises above it."""
    now = time.time()
    values, sent = bigdata.update(snapshot_of(binhai(), now), "en", {})
    figure = values_by_output(values)["bigdata-load.figure"]
    axis = figure.layout.yaxis
    drawn = max(v for trace in figure.data for v in trace.y if v is not None)
    assert axis.autorange is False and axis.range[0] == 0 and drawn <= axis.range[1] == theme.nice_top(axis.range[1])
    today = list(binhai().load_today_w)
    slot = max(i for i, v in enumerate(today) if v is not None)

    def chart_after(watts: float, seconds: float):
        load = today[:slot] + [today[slot] + watts] + today[slot + 1:]
        values, _ = bigdata.update(snapshot_of(binhai(load_today_w=load), now + seconds), "en", sent)
        return values_by_output(values)["bigdata-load.figure"]

    assert not {loc for loc in operations(chart_after(1e6, 10)) if loc[0] == "layout"}  # 1 MW more: same axis
    ops = {tuple(op["location"]): op["params"]["value"] for op in chart_after(3e6 * axis.range[1], 20)
           .to_plotly_json()["operations"]}
    assert ops[("layout", "yaxis", "range")][1] > axis.range[1] and ops[("layout", "yaxis", "autorange")] is False
