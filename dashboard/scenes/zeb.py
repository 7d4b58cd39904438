"""The zero-energy building: the building itself, cut open, with its power moving; and its year in one figure.

"Zero-energy" is a claim about a year, so the hero figure is the year's ratio
("made 104% of what it used"), with a bar that fills to 100%. The main visual
is the building in cross-section (``assets/zeb-building.svg``): roof and facade
PV, the battery, the heat pump, lighting, plug loads, the EV chargers and the
grid connection, each with its live power, joined to the switchboard by wires
whose dots move with the power (``_building``). What moves is what the meters
say, balanced first (``model.balance``): no flow from the PV in the dark, a
battery one way at a time, and a residual that does not add up is reported in
the engineer view, never drawn as if true. A small chart keeps the day's
story: today's sun against today's use.

The scene is a fixed design canvas (1836x640, portrait 1000x1240) scaled to
its place by ``assets/kiosk.js``; the cross-section inside it is a canvas of
its own (1220x640), so the wires and labels scale with the drawing.
"""

from __future__ import annotations

import plotly.graph_objects as go
from dash import Output, Patch, dcc, html, no_update

from dashboard import numbers, theme
from dashboard.categories import CATEGORIES
from dashboard.i18n import bilingual, both, text
from dashboard.model.balance import SOURCES_FIRST
from dashboard.model.slots import SLOT_S, slot_times
from dashboard.scenes import SceneInfo
from dashboard.scenes import _building as drawing
from dashboard.scenes import _whatif as whatif
from dashboard.scenes._parts import (asset_url, axis_patched, behind_note, changed, chart_held, chart_sent, data_until,
                                     digest, kpi, rounded)


SCENE = SceneInfo("zeb", 30, "scene.zeb", scale="building")
GRAPH = "zeb-graph"


def layout():
    return [
        html.Div(html.Div(id="zeb-canvas", className="zb-canvas fit", children=[
            html.Div(html.Div(className="zb-house fit", children=[
                html.Div([html.Div(className="zb-sun"), html.Div(className="zb-moon")], id="zeb-sky",
                         className="zb-sky", style={"left": f"{drawing.SUN[0]}px", "top": f"{drawing.SUN[1]}px"}),
                html.Img(src=asset_url("zeb-building.svg"), className="zb-art", alt=""),
                html.Div(id="zeb-wires", className="zb-wires"),
                html.Div(id="zeb-labels", className="zb-labels"),
            ]), className="zb-housecell"),
            html.Div([bilingual("kpi.net_zero", "bd-title"), html.Div(id="zeb-progress", className="zb-hero-body")],
                     className="bd-panel zb-hero"),
            html.Div([bilingual("zeb.today", "bd-title"), html.Div(id="zeb-behind", className="panel-behind"),
                      dcc.Graph(id=GRAPH, figure=theme.placeholder(), config=theme.GRAPH_CONFIG, className="bd-graph")],
                     className="bd-panel zb-chart"),
        ]), className="visual bd-visual"),
        whatif.buttons(SCENE.id),
        html.Div(id="zeb-kpis", className="kpis"),
        html.Div(id="zeb-caption", className="caption"),
    ]


def outputs():
    return [Output("zeb-sky", "className"), Output("zeb-wires", "children"), Output("zeb-labels", "children"),
            Output(GRAPH, "figure"), Output("zeb-behind", "children"), Output("zeb-progress", "children"),
            Output("zeb-kpis", "children"), Output("zeb-caption", "children")]


def ratio(building) -> float | None:
    if building is None or building.used_ytd_wh <= 0:
        return None
    return building.produced_ytd_wh / building.used_ytd_wh


# the cross-section -------------------------------------------------------------------------------------------


def slots(building) -> list[str]:
    """The parts this building has, in the drawing's order (none before the building is known)."""
    balance = building.balance if building is not None else None
    return [s for s in SOURCES_FIRST if balance is not None and s in balance.parts]


def wires(building) -> list[list[dict]]:
    """Per slot, the styles of its wire's runs."""
    balance = building.balance
    return [drawing.wire_styles(slot, balance.parts[slot]) for slot in slots(building)]


def _wire(slot: str, styles: list[dict]):
    vertical = drawing.is_vertical(slot)
    return html.Div([html.I(className="v" if v else None, style=st) for v, st in zip(vertical, styles)],
                    className="on" if "--dur" in styles[0] else None)


def label_data(building) -> list:
    """Per slot: its name key, its power as shown, which way it flows, and whether its meters are dark."""
    out = []
    for slot in slots(building):
        part = building.balance.parts[slot]
        power = numbers.power(part.power_w if not part.dark else None)
        way = "dark" if part.dark else ("idle" if part.power_w < drawing.MIN_FLOW_W else
                                         "in" if part.into_bus else "out")
        out.append([slot, power, way, part.live, part.meters])
    return out


WAYS = {("battery", "in"): "discharging", ("battery", "out"): "charging", ("grid", "in"): "buying",
        ("grid", "out"): "selling"}


def _label(item):
    slot, power, way, live, meters = item
    left, top, width = drawing.LABELS[slot]
    value = bilingual("zeb.offline", "zb-value") if way == "dark" else html.Span(power["en"], className="zb-value")
    children = [bilingual(f"zeb.part.{slot}", "zb-name"), value]
    if (slot, way) in WAYS:  # which way a two-way meter's power goes, in words as well as by the moving dots
        children.append(bilingual(f"zeb.way.{WAYS[(slot, way)]}", "zb-note"))
    if 0 < live < meters:  # some of its meters silent: the figure is theirs only, and the label says so
        children.append(bilingual("zeb.some_offline", "zb-note zb-warn", live=str(live), meters=str(meters)))
    return html.Div(children, className=f"zb-label {way}",
                    style={"left": f"{left}px", "top": f"{top}px", "minWidth": f"{width}px",
                           "--c": drawing.COLOURS[slot]})


def sky(building) -> str:
    """Day or night, as the PV says: the sun is drawn only while it is making power."""
    daylight = building is not None and building.balance is not None and building.balance.daylight
    return "zb-sky day" if daylight else "zb-sky night"


# the year and the day ----------------------------------------------------------------------------------------


def progress(building):
    r = ratio(building)
    if r is None:
        return html.Div("—", className="zb-hero-value")
    width = max(0.0, min(r, 1.0)) * 100
    pct = numbers.percent(r)
    made, used = numbers.energy(building.produced_ytd_wh), numbers.energy(building.used_ytd_wh)
    return [
        both(pct["en"], pct["zh"], "zb-hero-value"),
        html.Div(html.Div(className="progress-fill" + (" done" if r >= 1 else ""), style={"width": f"{width:.1f}%"}),
                 className="progress-track"),
        bilingual("zeb.year", "zb-hero-note", made=made, used=used),
    ]


def make_figure(snapshot, lang: str) -> go.Figure:
    b = snapshot.building
    x = slot_times(snapshot.day_start_s, snapshot.timezone)
    slot = dict(x0=x[0], dx=SLOT_S * 1000)  # slots by start and step, not 288 time strings a curve
    gen, use = series(b)
    sun_ahead, use_ahead = ahead(snapshot)
    top = theme.nice_top_of(gen, use, sun_ahead, use_ahead)
    return go.Figure(
        [
            go.Scatter(y=gen, name=text("chart.generation", lang), mode="lines", fill="tozeroy", **slot,
                       line=dict(color=CATEGORIES["pv"].colour, width=3), hoverinfo="skip"),
            go.Scatter(y=use, name=text("chart.consumption", lang), mode="lines", **slot,
                       line=dict(color=theme.CONSUMPTION, width=3), hoverinfo="skip"),
            go.Scatter(y=sun_ahead, name=text("chart.forecast_sun", lang), mode="lines", **slot,
                       line=dict(color=CATEGORIES["pv"].colour, width=3, dash="dot"), hoverinfo="skip"),
            go.Scatter(y=use_ahead, name=text("chart.forecast_use", lang), mode="lines", **slot,
                       line=dict(color=theme.CONSUMPTION, width=3, dash="dot"), hoverinfo="skip"),
        ],
        layout=theme.layout(
            template=theme.LEAN_TEMPLATE,
            xaxis=theme.day_axis(x, 6),
            yaxis=theme.power_axis(top, "kW", nticks=4),
            margin=dict(l=10, r=20, t=44, b=10), dragmode=False, hoverlabel=None,
            legend=dict(theme.layout()["legend"], y=1.0, font=dict(size=theme.TICK_PX)),
            transition=dict(duration=0),
        ),
    )


def series(b) -> tuple[list, list]:
    """Today's generation and consumption per slot, kW to two places (None where the day has not got to)."""
    gen = rounded([None if v is None else v / 1000 for v in (b.generation_today if b else [])], 2)
    use = rounded([None if v is None else v / 1000 for v in (b.consumption_today if b else [])], 2)
    return gen, use


def ahead(snapshot) -> tuple[list, list]:
    """The rest of today's sun and use as forecast for the building (``model.forecast``), kW per slot."""
    f = snapshot.forecast
    if f is None or f.day_start_s != snapshot.day_start_s or snapshot.building is None:
        return [], []
    return tuple(rounded([None if v is None else v / 1000 for v in values], 2)  # type: ignore[return-value]
                 for values in (f.building_solar_w, f.building_use_w))


def figure_update(snapshot, lang: str, sent: dict, fresh: dict):
    b = snapshot.building
    lines = [*series(b), *ahead(snapshot)]  # in the figure's trace order
    structure = digest([lang, snapshot.day_start_s, b is not None])
    fresh["structure"] = structure
    fresh["lines"] = [digest(v) for v in lines]
    axis_top = fresh["axis"] = theme.nice_top_of(*lines)
    if sent.get("structure") != structure:
        chart_sent(fresh, snapshot)
        return make_figure(snapshot, lang)
    before = sent.get("lines") or []
    if chart_held(sent, fresh, ["lines", "axis"], snapshot) or (before == fresh["lines"]
                                                                 and sent.get("axis") == axis_top):
        return no_update
    figure = Patch()
    axis_patched(figure, sent, axis_top)
    for i, values in enumerate(lines):
        if i >= len(before) or before[i] != fresh["lines"][i]:
            figure["data"][i]["y"] = values
    chart_sent(fresh, snapshot)
    return figure


def update(snapshot, lang: str, sent: dict):
    fresh: dict = {}
    b = snapshot.building
    sky_class = changed(sent, fresh, "sky", sky(b), lambda c: c)
    wire_list = changed(sent, fresh, "wires", [slots(b), wires(b) if b is not None else []],
                        lambda d: [_wire(slot, st) for slot, st in zip(*d)])
    labels = changed(sent, fresh, "labels", label_data(b) if b is not None else [],
                     lambda d: [_label(item) for item in d] or [bilingual("zeb.waiting", "zb-waiting")])
    figure = figure_update(snapshot, lang, sent, fresh)
    until = data_until(b.consumption_today if b is not None else [], snapshot)
    behind = changed(sent, fresh, "behind", until, lambda u: behind_note(snapshot, u))
    r = ratio(b)
    bar = changed(sent, fresh, "progress", [numbers.percent(r), numbers.energy(b.produced_ytd_wh if b else None),
                                            numbers.energy(b.used_ytd_wh if b else None)], lambda _: progress(b))
    data = [numbers.power(b.generation_now_w if b else None), numbers.power(b.consumption_now_w if b else None),
            {"en": f"{b.soc_pct:.0f}%", "zh": f"{b.soc_pct:.0f}%"} if b and b.soc_pct is not None else numbers.percent(None),
            numbers.energy(b.produced_today_wh if b else None), numbers.energy(b.used_today_wh if b else None)]
    strip = changed(sent, fresh, "kpis", data, lambda d: [
        kpi("kpi.generation_now", d[0], "accent-solar"), kpi("kpi.consumption_now", d[1]), kpi("kpi.soc", d[2]),
        kpi("kpi.produced_today", d[3]), kpi("kpi.used_today", d[4])])
    line = changed(sent, fresh, "caption", numbers.percent(r), lambda pct: (
        bilingual("caption.zeb", pct=pct) if r is not None else bilingual("caption.zeb.none")))
    return [sky_class, wire_list, labels, figure, behind, bar, strip, line], fresh
