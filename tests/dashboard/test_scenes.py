"""Scene figure builders and their updates: full figure first, then only what changed, nothing when nothing did."""

from __future__ import annotations

import dataclasses

import plotly.graph_objects as go
import pytest
from dash import Patch, no_update
from hypothesis import given, strategies as st

from dashboard import scenes, theme
from dashboard.categories import SOURCES, USES
from dashboard.model import ExhibitModel, ModelSettings
from dashboard.scenes import _wiring as wiring
from dashboard.scenes import city, flow, load, rank, zeb
from dashboard.scenes._parts import CHART_EVERY_S

MODULES = scenes.discover()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    from tests.dashboard.conftest import Filled

    filled = Filled(f"sqlite:///{tmp_path_factory.mktemp('scenes') / 'expo.db'}", hours=3)
    filled.write_now()
    model = ExhibitModel(filled.open, ModelSettings())
    model.poll()
    return model.poll()


def test_every_scene_is_discovered_in_rotation_order():
    assert [m.SCENE.id for m in MODULES] == ["city", "flow", "zeb", "load", "rank", "bigdata"]
    assert len({m.SCENE.order for m in MODULES}) == len(MODULES)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.SCENE.id)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_first_update_sends_everything_the_second_nothing(module, lang, snapshot):
    values, sent = module.update(snapshot, lang, {})
    assert len(values) == len(module.outputs())
    assert all(v is not no_update and not isinstance(v, Patch) for v in values)
    for output, value in zip(module.outputs(), values):
        if output.component_property == "figure":
            assert isinstance(value, go.Figure) and len(value.data) >= 1
    again, sent_again = module.update(snapshot, lang, sent)
    assert all(v is no_update for v in again), [type(v) for v in again]
    assert sent_again == sent


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.SCENE.id)
def test_switching_language_redraws_figures(module, snapshot):
    _, sent = module.update(snapshot, "zh", {})
    values, _ = module.update(snapshot, "en", sent)
    figures = [v for o, v in zip(module.outputs(), values) if o.component_property == "figure"]
    assert figures and all(isinstance(f, go.Figure) for f in figures)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.SCENE.id)
def test_no_visible_axis_asks_the_browser_to_measure_its_labels_again_after_each_one(module, snapshot):
    """plotly's default ``ticklabeloverflow`` measures every label of an axis after placing each one, each a
    layout of the whole page: seen as 20-25 s of a kiosk's main thread on the city's first draw."""
    values, _ = module.update(snapshot, "en", {})
    figures = [v for o, v in zip(module.outputs(), values) if o.component_property == "figure"]
    axes = [(k, a) for f in figures for k, a in f.to_plotly_json()["layout"].items() if k[1:5] == "axis"]
    shown = [(k, a) for k, a in axes if a.get("visible", True) and a.get("showticklabels", True)]
    assert all(a.get("ticklabeloverflow") == "allow" for _, a in shown), shown


def changed_power(snapshot, factor: float):
    devices = tuple(dataclasses.replace(d, power_w=None if d.power_w is None else d.power_w * factor)
                    for d in snapshot.devices)
    flows = {k: v * factor for k, v in snapshot.flows_now_w.items()}
    return dataclasses.replace(snapshot, devices=devices, flows_now_w=flows)


def later(snapshot, seconds: float = CHART_EVERY_S):
    """The same snapshot polled ``seconds`` later: a chart's held changes are due again."""
    return dataclasses.replace(snapshot, taken_s=snapshot.taken_s + seconds)


def test_city_sends_only_colours_when_power_changes(snapshot):
    _, sent = city.update(snapshot, "en", {})
    values, _ = city.update(later(changed_power(snapshot, 0.97)), "en", sent)
    figure = values[0]
    assert isinstance(figure, Patch)
    paths = {tuple(op["location"]) for op in figure.to_plotly_json()["operations"]}
    assert paths == {("data", 0, "marker", "color")}
    # halved: the feeders' lines come with the colours when one of them stepped to another width, nothing else
    halved = changed_power(snapshot, 0.5)
    values, _ = city.update(later(halved), "en", sent)
    paths = {tuple(op["location"]) for op in values[0].to_plotly_json()["operations"]}
    stepped = wiring.trunk_shapes(city.shown(snapshot)) != wiring.trunk_shapes(city.shown(halved))
    assert paths == {("data", 0, "marker", "color")} | ({("layout", "shapes")} if stepped else set())


def test_city_sends_symbols_when_a_meter_goes_offline(snapshot):
    """At once: a meter going dark is not held back with the colours (this tick is the first one's instant)."""
    _, sent = city.update(snapshot, "en", {})
    first = city.shown(snapshot)[0]
    devices = tuple(dataclasses.replace(d, state="offline") if d.device == first.device else d
                    for d in snapshot.devices)
    values, _ = city.update(dataclasses.replace(snapshot, devices=devices), "en", sent)
    operations = values[0].to_plotly_json()["operations"]
    symbols = next(op["params"]["value"] for op in operations
                   if tuple(op["location"]) == ("data", 0, "marker", "symbol"))
    assert symbols[0] == "x"


def test_city_colours_generation_and_load_apart(snapshot):
    shown = city.shown(snapshot)
    for d in shown:
        value = city.colour_value(d)
        if d.kind == "street_light":
            assert value in (0.0, city.LIT)
            continue
        assert -1.0 <= value <= 1.0
        if d.state != "offline" and d.load_w:
            assert (value < 0) == (d.load_w < 0)


@given(st.floats(0, 5000), st.floats(0, 5000), st.sampled_from(["live", "stale", "offline"]))
def test_a_street_light_is_lit_warm_and_starred_exactly_while_it_draws_power(load_w, rated_w, state):
    """At dusk the town's light circuits come on: warm (the colour scale's top, not the blue of loads) and a
    filled star; off, an outline star at the idle colour; offline, the grey cross like any meter."""
    from dashboard.model.views import DeviceNow

    light = DeviceNow("binhai", "lights-01", "street_light", "x", "x", 0.0, 0.0, rated_w, "simulated", None, True,
                      load_w, 0.0, state)  # a consumer: power_w is its load
    on = state != "offline" and load_w > (0.05 * rated_w if rated_w else 10.0)
    assert city.colour_value(light) == (city.LIT if on else 0.0)
    assert city._symbol(light) == ("x" if state == "offline" else "star" if on else "star-open")
    scale = dict((round(stop, 6), colour) for stop, colour in city.COLOURSCALE)
    assert scale[1.0] == theme.LAMP and theme.LAMP not in (theme.CONSUMPTION, theme.GENERATION)


def test_flow_links_carry_all_of_the_smaller_side():
    amounts = {"pv": 300.0, "grid_import": 700.0, "households": 400.0, "commercial": 500.0, "grid_export": 100.0}
    src, dst, val = flow.links(amounts)
    assert sum(val) == pytest.approx(1000.0, abs=1.0)
    by_use = {}
    for s, d, v in zip(src, dst, val):
        by_use[d] = by_use.get(d, 0) + v
    assert by_use[len(SOURCES) + USES.index("commercial")] == pytest.approx(500.0, abs=1.0)


@given(st.dictionaries(st.sampled_from(SOURCES + USES), st.floats(-1e9, 1e9, allow_nan=False), max_size=13))
def test_flow_links_never_negative_and_never_more_than_supplied(amounts):
    src, dst, val = flow.links(amounts)
    assert all(v >= 0 for v in val)
    supply = sum(max(amounts.get(k, 0.0), 0.0) for k in SOURCES)
    assert sum(val) <= supply * (1 + 1e-6) + len(val)


def test_a_charts_changes_wait_five_seconds_and_then_all_come_at_once(snapshot):
    """Numbers change every tick; a chart is redrawn at most every CHART_EVERY_S, and what changed while it
    waited is not lost: the next patch carries it."""
    _, sent = flow.update(snapshot, "zh", {})
    busier = changed_power(snapshot, 1.5)
    soon, sent = flow.update(later(busier, 1.0), "zh", sent)
    assert soon[0] is no_update and soon[2] is not no_update  # the Sankey waits, the KPIs do not
    quiet, sent = flow.update(later(busier, 3.0), "zh", sent)
    assert quiet[0] is no_update
    due, _ = flow.update(later(busier), "zh", sent)
    assert isinstance(due[0], Patch)
    shown = {tuple(op["location"]): op["params"]["value"] for op in due[0].to_plotly_json()["operations"]}
    assert shown[("data", 0, "link", "value")] == flow.links(busier.flows_now_w)[2]


def test_flow_patches_only_values_and_labels(snapshot):
    _, sent = flow.update(snapshot, "zh", {})
    values, _ = flow.update(later(changed_power(snapshot, 1.5)), "zh", sent)
    patch = values[0]
    assert isinstance(patch, Patch)
    paths = {tuple(op["location"]) for op in patch.to_plotly_json()["operations"]}
    assert paths == {("data", 0, "link", "value"), ("data", 0, "node", "label")}
    assert values[1] is no_update  # today's totals did not change


def test_load_curve_marks_the_highest_total(snapshot):
    figure = load.make_figure(snapshot, "en")
    totals = load.total_kw(load.series_kw(snapshot))
    marker = figure.data[-1]
    if any(v is not None for v in totals):
        assert marker.y[0] == max(v for v in totals if v is not None)


def test_load_curve_patches_only_the_changed_hour(snapshot):
    _, sent = load.update(snapshot, "en", {})
    curve = {k: list(v) for k, v in snapshot.curve_today.items()}
    key = load.sectors(snapshot)[0]
    slot = max(i for i, v in enumerate(curve[key]) if v is not None)
    curve[key][slot] = curve[key][slot] + 1000.0  # one more kW in the newest slot
    values, _ = load.update(later(dataclasses.replace(snapshot, curve_today=curve)), "en", sent)
    patch = values[0]
    assert isinstance(patch, Patch)
    locations = [tuple(op["location"]) for op in patch.to_plotly_json()["operations"]]
    slots = {loc[3] for loc in locations if loc[:3] == ("data", 0, "y")}
    assert slot in slots and len(slots) <= load.CHUNK


def test_rankings_are_largest_first_and_only_leaf_meters(snapshot):
    from expo.kinds import Flow

    users = rank.ranking(snapshot, Flow.CONSUMES)
    assert [d.power_w for d in users] == sorted((d.power_w for d in users), reverse=True)
    assert all(d.counted and d.kind not in ("feeder", "grid_connection") for d in users)


def test_zeb_progress_reads_as_one_plain_figure(snapshot):
    values, _ = zeb.update(snapshot, "en", {})
    shown = {o.component_id: v for o, v in zip(zeb.outputs(), values)}
    ratio = zeb.ratio(snapshot.building)
    assert ratio is not None
    assert f"{ratio * 100:.0f}%" in str(shown["zeb-caption"]) and f"{ratio * 100:.0f}%" in str(shown["zeb-progress"])


def test_flow_drawn_empty_then_with_energy_is_redrawn_not_patched(snapshot):
    """A Patch of link values onto a Sankey that has no links breaks plotly (seen in the demo at night)."""
    empty = dataclasses.replace(snapshot, flows_now_w={}, flows_today_wh={})
    values, sent = flow.update(empty, "en", {})
    assert isinstance(values[0], go.Figure) and len(values[0].data) == 0  # words, not an empty Sankey
    assert values[0].layout.annotations[0].text == "Waiting for data"
    values, _ = flow.update(snapshot, "en", sent)
    assert isinstance(values[0], go.Figure) and len(values[0].data[0].link.source) == len(SOURCES) * len(USES)


PROBE_SCENE = '''
from dash import Input, Output, html, no_update

from dashboard.scenes import SceneInfo

SCENE = SceneInfo("probe", 99, "scene.probe")


def layout():
    return [html.Div(id="probe-value"), html.Button(id="probe-button"), html.Div(id="probe-echo")]


def outputs():
    return [Output("probe-value", "children")]


def update(snapshot, lang, sent):
    return [str(snapshot.version)], {"version": snapshot.version}


def register_callbacks(app, model):
    @app.callback(Output("probe-echo", "children"), Input("probe-button", "n_clicks"), prevent_initial_call=True)
    def probe_echo(n):
        return f"{n} taps at version {model.snapshot.version}"
'''


def components(tree):
    yield tree
    children = getattr(tree, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and hasattr(child, "to_plotly_json"):
            yield from components(child)


def test_a_scene_added_as_a_file_is_shown_and_registers_its_own_callbacks(tmp_path, monkeypatch, snapshot):
    """Adding a scene is adding a file: nothing else is edited, yet it is in the page, the rotation and the
    refresh, and its own callback answers."""
    import sys

    from dashboard.app import KioskSettings, create_app
    from dashboard.i18n import TEXT

    (tmp_path / "probe.py").write_text(PROBE_SCENE)
    monkeypatch.setattr(scenes, "__path__", [*scenes.__path__, str(tmp_path)])
    monkeypatch.setitem(TEXT, "scene.probe", ("Probe", "探针"))
    monkeypatch.delitem(sys.modules, "dashboard.scenes.probe", raising=False)
    try:
        assert [m.SCENE.id for m in scenes.discover()][-1] == "probe"
        model = ExhibitModel(lambda: None, ModelSettings())
        model.snapshot = snapshot
        app = create_app(model, KioskSettings())
        page = app.layout()
        ids = [c.id for c in components(page) if getattr(c, "id", None) is not None]
        assert {"type": "scene", "id": "probe"} in ids and {"type": "nav", "id": "probe"} in ids
        assert "probe-value" in ids and "probe-echo" in ids
        assert next(c for c in components(page) if getattr(c, "id", None) == "config").data["scenes"][-1] == "probe"
        assert "probe-echo.children" in app.callback_map
        client = app.server.test_client()
        body = {"output": "probe-echo.children", "outputs": {"id": "probe-echo", "property": "children"},
                "inputs": [{"id": "probe-button", "property": "n_clicks", "value": 2}],
                "changedPropIds": ["probe-button.n_clicks"]}
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        assert f"2 taps at version {snapshot.version}" in response.get_data(as_text=True)
        refresh = next(k for k in app.callback_map if k.startswith("..beat.data"))
        assert "probe-value.children" in refresh
    finally:
        sys.modules.pop("dashboard.scenes.probe", None)
        vars(scenes).pop("probe", None)


def test_the_town_plan_registers_its_tap_through_the_scene_interface(snapshot):
    from dashboard.app import KioskSettings, create_app

    model = ExhibitModel(lambda: None, ModelSettings())
    model.snapshot = snapshot
    app = create_app(model, KioskSettings())
    assert "city-detail.children" in app.callback_map
    device = city.shown(snapshot)[0]
    body = {"output": "city-detail.children", "outputs": {"id": "city-detail", "property": "children"},
            "inputs": [{"id": "city-graph", "property": "clickData",
                        "value": {"points": [{"customdata": device.key}]}},
                       {"id": "bigdata-focus", "property": "data", "value": None}],
            "changedPropIds": ["city-graph.clickData"]}
    response = app.server.test_client().post("/_dash-update-component", json=body)
    assert response.status_code == 200 and device.name_en in response.get_data(as_text=True)
    body["changedPropIds"] = ["bigdata-focus.data"]  # another district on the plan: the panel closes
    response = app.server.test_client().post("/_dash-update-component", json=body)
    assert response.status_code == 200 and device.name_en not in response.get_data(as_text=True)


# the town plan of a tapped district, the frame's subtitle, the rotation setting ---------------------------------


def district_snapshot(port_devices: bool = True, homes: int = 0):
    """The Binhai city of test_bigdata with meters of the eco-city (the home town, the zero-energy building's site)
    and, when ``port_devices``, of the port, both using the same device ids: what the model holds while the port
    is watched. ``homes`` more households per site, in streets (a plan that looks like a town on screen)."""
    from dashboard.model.views import Building, DeviceNow
    from tests.dashboard.test_bigdata import binhai, snapshot_of

    base = snapshot_of(binhai())
    sites = ["eco-city", "port"] if port_devices else ["eco-city"]
    meters = [("grid", "grid_connection", 0, 0), ("home-01", "household", 40, 10), ("pv-01", "pv", 80, 30)]
    meters += [(f"home-{n + 2:02d}", "household", 60 * (n % 12) - 300, 50 * (n // 12) + 60) for n in range(homes)]
    devices = tuple(
        DeviceNow(site, device, kind, f"{site} {device}", f"{site}{device}", x, y, 5_000.0, "simulated",
                  "zeb" if site == "eco-city" and device in ("home-01", "pv-01") else None, True,
                  800.0 * (i % 6 + 1), base.taken_s, "live")
        for site in sites
        for i, (device, kind, x, y) in enumerate(meters))
    building = Building("zeb", "Eco-City Zero-Energy Hall", "生态城零能耗馆", [], [], 0.0, 0.0, None, 0.0, 0.0, 0.0,
                        0.0, site="eco-city", described=True)
    changes = {"devices": devices, "building": building, "flows_now_w": {"households": 3_000.0, "pv": 1_000.0}}
    fields = {f.name for f in dataclasses.fields(base)}
    if "home_site" in fields:
        changes["home_site"] = "eco-city"
    if "watched" in fields:
        changes["watched"] = ("eco-city", "port") if port_devices else ("eco-city",)
    return dataclasses.replace(base, **changes)


def by_output(module, values) -> dict:
    return {f"{o.component_id}.{o.component_property}": v for o, v in zip(module.outputs(), values)}


def words(component, lang: str) -> str:
    from tests.dashboard.test_bigdata import texts

    return " ".join(texts(component, lang))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_town_plan_shows_the_home_town_alone_by_default(lang):
    shot = district_snapshot()
    shown = by_output(city, city.update(shot, lang, {})[0])
    keys = shown["city-graph.figure"].data[0].customdata
    assert sorted(keys) == ["eco-city/grid", "eco-city/home-01", "eco-city/pv-01"]
    name = "中新天津生态城" if lang == "zh" else "Sino-Singapore Tianjin Eco-City"
    assert name in words(shown["city-caption.children"], lang)
    assert shown["city-back.style"] == {"display": "none"} and shown["city-note.children"] is None


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_tapped_district_shows_its_own_meters_name_figures_and_the_way_home(lang):
    shot = district_snapshot()
    shown = by_output(city, city.update(shot, lang, {}, focus="port")[0])
    assert sorted(shown["city-graph.figure"].data[0].customdata) == ["port/grid", "port/home-01", "port/pv-01"]
    port, home = ("天津港", "中新天津生态城") if lang == "zh" else ("Tianjin Port", "Sino-Singapore Tianjin Eco-City")
    assert port in words(shown["city-caption.children"], lang)
    assert home in words(shown["city-back.children"], lang) and shown["city-back.style"] == {}
    online = words(shown["city-kpis.children"], lang)
    assert ("2,058/2,100" if lang == "en" else "2058/2100") in online  # the port's meters, from the city view


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_district_not_yet_polled_says_it_is_loading_and_draws_nothing_else(lang):
    shot = district_snapshot(port_devices=False)
    values, sent = city.update(shot, lang, {}, focus="port")
    shown = by_output(city, values)
    assert shown["city-graph.figure"].data == ()  # not the home town's plan under the port's name
    assert words(shown["city-note.children"], lang) == ("正在载入天津港…" if lang == "zh" else "Loading Tianjin Port…")
    arrived = by_output(city, city.update(district_snapshot(), lang, sent, focus="port")[0])
    assert sorted(arrived["city-graph.figure"].data[0].customdata)[0] == "port/grid"
    assert arrived["city-note.children"] is None


def test_switching_district_redraws_the_plan_not_a_patch():
    shot = district_snapshot()
    _, sent = city.update(shot, "en", {}, focus="port")
    values, _ = city.update(shot, "en", sent, focus=None)
    assert isinstance(values[0], go.Figure)
    assert sorted(values[0].data[0].customdata)[0] == "eco-city/grid"


def test_the_shown_district_is_watched_and_the_home_town_is_not():
    class Recording(ExhibitModel):
        """The real model, noting what the scene asks it to watch."""

        def __init__(self):
            super().__init__(lambda: None, ModelSettings())
            self.asked = []

        def watch(self, site):
            self.asked.append(site)
            own = getattr(super(), "watch", None)
            return own(site) if own is not None else None

    model = Recording()
    model.snapshot = district_snapshot()
    assert city.watch_district(model, "port") == "port"
    assert city.watch_district(model, "eco-city") is None and city.watch_district(model, None) is None
    assert model.asked == ["port"]


def test_the_subtitle_names_the_place_of_each_scenes_scale():
    from dashboard.app import subtitle
    from dashboard.scenes import bigdata

    shot = district_snapshot()
    by_id = {m.SCENE.id: m for m in MODULES}
    assert subtitle(shot, by_id["zeb"]) == {"en": "Eco-City Zero-Energy Hall", "zh": "生态城零能耗馆"}
    for town_scene in ("city", "flow", "load", "rank"):
        assert subtitle(shot, by_id[town_scene]) == {"en": "Sino-Singapore Tianjin Eco-City", "zh": "中新天津生态城"}
    assert subtitle(shot, by_id["city"], "port") == {"en": "Tianjin Port", "zh": "天津港"}
    assert subtitle(shot, bigdata) == {"en": "Binhai New Area", "zh": "滨海新区"}
    nothing = dataclasses.replace(shot, building=None, city=None)
    assert subtitle(nothing, by_id["zeb"]) == {"en": "", "zh": ""}  # unknown: nothing rather than another place


def test_the_subtitle_is_sent_when_the_scene_changes_and_not_every_tick():
    from dashboard.app import KioskSettings, create_app

    model = ExhibitModel(lambda: None, ModelSettings())
    model.snapshot = district_snapshot()
    app = create_app(model, KioskSettings())
    key = next(k for k in app.callback_map if k.startswith("..beat.data"))
    assert "subtitle.children" in key

    def ask(scene, sent, focus=None):
        outputs = [{"id": part.split(".")[0], "property": part.split(".")[1]} for part in key.strip(".").split("...")]
        body = {"output": key, "outputs": outputs,
                "inputs": [{"id": "tick", "property": "n_intervals", "value": 1},
                           {"id": "scene", "property": "data", "value": scene},
                           {"id": "lang", "property": "data", "value": "en"},
                           {"id": "bigdata-focus", "property": "data", "value": focus}],
                "state": [{"id": "sent", "property": "data", "value": sent}], "changedPropIds": ["tick.n_intervals"]}
        response = app.server.test_client().post("/_dash-update-component", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        import json

        return json.loads(response.get_data(as_text=True))["response"]

    first = ask("bigdata", {})
    assert "Binhai New Area" in str(first["subtitle"]["children"])
    again = ask("bigdata", first["sent"]["data"])
    assert "subtitle" not in again  # unchanged: not sent
    town = ask("city", again["sent"]["data"], focus="port")
    assert "Tianjin Port" in str(town["subtitle"]["children"])
    assert "Binhai Smart Energy Town" not in str(town)


def test_the_rotation_setting_takes_scene_ids_in_order():
    assert scenes.rotation("zeb, city,bigdata,city") == ("zeb", "city", "bigdata")
    assert scenes.rotation(None) == () and scenes.rotation("") == ()
    assert [m.SCENE.id for m in scenes.story(MODULES, scenes.rotation("bigdata,zeb"))] == ["bigdata", "zeb"]


def test_an_unknown_scene_in_the_rotation_is_one_clear_error_naming_the_known():
    with pytest.raises(ValueError) as error:
        scenes.rotation("zeb,towns,bigdata")
    message = str(error.value)
    assert "'towns'" in message and "zeb, city, bigdata, flow, load, rank" in message and "\n" not in message


def test_the_rotation_is_a_flag_an_environment_variable_and_a_file_key(tmp_path):
    from expo import config

    assert config.load({}, environ={}).rotation is None
    assert config.load({"rotation": "zeb,bigdata"}, environ={}).rotation == "zeb,bigdata"
    assert config.load({}, environ={"EXPO_ROTATION": "city"}).rotation == "city"
    path = tmp_path / "expo.toml"
    path.write_text('rotation = "bigdata,city"\n')
    assert config.load({}, environ={}, path=path).rotation == "bigdata,city"


def test_the_dashboard_command_passes_the_rotation_and_refuses_an_unknown_scene(tmp_path):
    import argparse

    from energy_expo.commands import dashboard as command
    from expo import config
    from expo.errors import UserError

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    store = f"sqlite:///{tmp_path / 'expo.db'}"
    with pytest.raises(UserError, match=r"unknown scene 'nope'; known scenes: zeb, city, bigdata"):
        command.run(parser.parse_args(["--store", store, "--rotation", "bigdata,nope"]))  # before any port or store
    cfg = config.from_args(parser.parse_args(["--store", store, "--rotation", "bigdata,zeb", "--kiosk"]))
    settings = command.kiosk_settings(cfg)
    assert settings.rotation == ("bigdata", "zeb") and settings.kiosk
    assert command.kiosk_settings(config.from_args(parser.parse_args(["--store", store]))).rotation == ()


def test_a_tapped_district_of_a_real_store_loads_then_shows_only_its_meters(tmp_path):
    """Two districts with the same device ids in one store: the plan is the home town's; a tap watches the other,
    which says it is loading until the model's next poll reads its meters, then shows them alone."""
    from tests.dashboard.conftest import Filled

    url = f"sqlite:///{tmp_path / 'expo.db'}"
    home = Filled(url, hours=1)
    Filled(url, hours=1, site="harbour")
    model = ExhibitModel(home.open, ModelSettings(home_site=home.sim.scenario.site.site))
    model.poll()
    shot = model.poll()
    assert city.site_of(shot) == home.sim.scenario.site.site
    sites = {k.split("/")[0] for k in city.update(shot, "en", {})[0][0].data[0].customdata}
    assert sites == {home.sim.scenario.site.site}
    assert city.loading(shot, "harbour")
    assert city.watch_district(model, "harbour") == "harbour"
    shot = model.poll()
    assert not city.loading(shot, "harbour")
    values, _ = city.update(shot, "en", {}, focus="harbour")
    keys = values[0].data[0].customdata
    assert keys and {k.split("/")[0] for k in keys} == {"harbour"}
    assert len(keys) == len(city.shown(shot))  # the same town under another id: as many meters as the home's


@pytest.mark.parametrize("rotation", [(), ("city", "zeb"), ("bigdata", "zeb"), ("bigdata",), ("zeb", "city", "bigdata")])
def test_every_callback_of_a_chosen_rotation_finds_its_components(rotation):
    """Only the rotation's scenes are in the page: every id a callback reads or writes must still be there (the
    district tap and the town plan share ``bigdata-focus``, which the frame holds for either alone)."""
    import json

    from dashboard.app import KioskSettings, create_app

    model = ExhibitModel(lambda: None, ModelSettings())
    model.snapshot = district_snapshot()
    app = create_app(model, KioskSettings(rotation=rotation))
    page = app.layout()
    ids = {json.dumps(c.id, sort_keys=True) if isinstance(c.id, dict) else c.id
           for c in components(page) if getattr(c, "id", None) is not None}
    kinds = {json.loads(i)["type"] for i in ids if i.startswith("{")}
    assert "bigdata-focus" in ids and ("city-back" in ids) == ("city" in (rotation or ("city",)))
    for key, callback in app.callback_map.items():
        for dependency in callback["inputs"] + callback["state"]:
            wanted = dependency["id"]
            if wanted.startswith("{"):  # a pattern (ALL): its type must be drawn by some scene in the page
                assert json.loads(wanted)["type"] in kinds | {"bigdata-district", "bigdata-label"}, key
            else:
                assert wanted in ids, (key, wanted)
        for output in key.strip(".").split("..."):
            name = output.split("@")[0].rsplit(".", 1)[0]
            if not name.startswith("{"):
                assert name in ids, (key, name)


def test_the_home_site_is_a_setting_and_a_wrong_one_is_one_clear_error(tmp_path):
    import argparse

    from energy_expo.commands import dashboard as command
    from expo import config
    from expo.errors import UserError

    assert command.model_settings(config.load({"home_site": "port"}, environ={})).home_site == "port"
    assert command.model_settings(config.load({}, environ={"EXPO_HOME_SITE": "eco-city"})).home_site == "eco-city"
    assert command.model_settings(config.load({}, environ={})).home_site is None
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    with pytest.raises(UserError, match="invalid home_site 'Port 1'"):
        command.run(parser.parse_args(["--store", f"sqlite:///{tmp_path / 'expo.db'}", "--home-site", "Port 1"]))


@given(st.floats(min_value=1e-6, max_value=1e12))
def test_a_power_axis_reaches_the_next_round_number_and_no_further(highest):
    top = theme.nice_top(highest)
    assert highest <= top <= highest * 4 / 3 * (1 + 1e-9)  # 3 -> 4 and 6 -> 8 are the widest steps
    mantissa = float(f"{top:.6e}".split("e")[0])  # top as d.ddddd x 10^k
    assert mantissa in theme.NICE_STEPS


@pytest.mark.parametrize("nothing", [None, 0.0, -5.0, float("nan")])
def test_a_power_axis_with_nothing_to_show_is_left_to_plotly(nothing):
    assert theme.nice_top(nothing) is None
    axis = theme.power_axis(theme.nice_top_of([nothing], []), "kW")
    assert axis["rangemode"] == "tozero" and "range" not in axis


def _drawn_max(figure) -> float:
    return max(v for trace in figure.data for v in (trace.y or ()) if v is not None)


@pytest.mark.parametrize("module", [load, zeb])
def test_a_charts_power_axis_stands_still_until_the_curves_outgrow_it(module, snapshot):
    """The axis's top is a round number above every value drawn, fixed (no autorange following each new slot);
    a patch carries a new top only when the curves rise above the old one."""
    values, sent = module.update(snapshot, "en", {})
    figure = next(v for v in values if isinstance(v, go.Figure))
    axis = figure.layout.yaxis
    assert axis.autorange is False and axis.range[0] == 0 and axis.range[1] >= _drawn_max(figure)
    assert axis.range[1] == theme.nice_top(axis.range[1])
    # the quietest slot a little busier (still far under the top), then far above the top
    if module is load:
        key = load.sectors(snapshot)[0]
        curve = snapshot.curve_today[key]
    else:
        curve = snapshot.building.consumption_today
    slot = min((i for i, v in enumerate(curve) if v is not None), key=lambda i: curve[i])

    def busier(watts: float):
        more = list(curve[:slot]) + [curve[slot] + watts] + list(curve[slot + 1:])
        if module is load:
            return dataclasses.replace(snapshot, curve_today=dict(snapshot.curve_today, **{key: more}))
        return dataclasses.replace(snapshot, building=dataclasses.replace(snapshot.building, consumption_today=more))

    nudged, outgrown = busier(200.0), busier(3e3 * axis.range[1])
    patch = next(v for v in module.update(later(nudged), "en", sent)[0] if isinstance(v, Patch))
    assert not any(op["location"][:1] == ["layout"] for op in patch.to_plotly_json()["operations"])
    patch = next(v for v in module.update(later(outgrown), "en", sent)[0] if isinstance(v, Patch))
    ops = {tuple(op["location"]): op["params"].get("value") for op in patch.to_plotly_json()["operations"]}
    top = ops[("layout", "yaxis", "range")][1]
    assert top > axis.range[1] and top == theme.nice_top(top) and ops[("layout", "yaxis", "autorange")] is False
