"""Scene figure builders and their updates: full figure first, then only what changed, nothing when nothing did."""

from __future__ import annotations

import dataclasses

import plotly.graph_objects as go
import pytest
from dash import Patch, no_update
from hypothesis import given, strategies as st

from dashboard import scenes
from dashboard.categories import SOURCES, USES
from dashboard.model import ExhibitModel, ModelSettings
from dashboard.scenes import city, flow, load, rank, zeb

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


def changed_power(snapshot, factor: float):
    devices = tuple(dataclasses.replace(d, power_w=None if d.power_w is None else d.power_w * factor)
                    for d in snapshot.devices)
    flows = {k: v * factor for k, v in snapshot.flows_now_w.items()}
    return dataclasses.replace(snapshot, devices=devices, flows_now_w=flows)


def test_city_sends_only_colours_when_power_changes(snapshot):
    _, sent = city.update(snapshot, "en", {})
    values, _ = city.update(changed_power(snapshot, 0.5), "en", sent)
    figure = values[0]
    assert isinstance(figure, Patch)
    paths = {tuple(op["location"]) for op in figure.to_plotly_json()["operations"]}
    assert paths == {("data", 0, "marker", "color")}


def test_city_sends_symbols_when_a_meter_goes_offline(snapshot):
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
        assert -1.0 <= value <= 1.0
        if d.state != "offline" and d.load_w:
            assert (value < 0) == (d.load_w < 0)


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


def test_flow_patches_only_values_and_labels(snapshot):
    _, sent = flow.update(snapshot, "zh", {})
    values, _ = flow.update(changed_power(snapshot, 1.5), "zh", sent)
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
    values, _ = load.update(dataclasses.replace(snapshot, curve_today=curve), "en", sent)
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
    ratio = zeb.ratio(snapshot.building)
    assert ratio is not None
    caption = values[3]
    assert f"{ratio * 100:.0f}%" in str(caption)


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
                        "value": {"points": [{"customdata": device.key}]}}],
            "changedPropIds": ["city-graph.clickData"]}
    response = app.server.test_client().post("/_dash-update-component", json=body)
    assert response.status_code == 200 and device.name_en in response.get_data(as_text=True)
