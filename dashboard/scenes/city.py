"""City overview: the town plan drawn from the meters' own positions, each dot coloured by what it does now.

No map tiles (exhibits are often offline): the plan is the meters' x/y in
metres from the site's metadata. A dot's colour runs from amber (making power)
through dark (idle) to blue (using power), scaled by its rated power; size
shows how big the meter is; offline meters are grey crosses, so colour is
never the only sign. Each tick sends only the colours (and the symbols when a meter's state changed).
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from dash import Input, Output, dcc, html, no_update, Patch

from dashboard import numbers, theme
from expo.kinds import KINDS
from dashboard.i18n import bilingual, both, text
from dashboard.scenes import SceneInfo
from dashboard.scenes._parts import changed, digest, kpi

SCENE = SceneInfo("city", 10, "scene.city")
GRAPH = "city-graph"
COLOURSCALE = [[0.0, theme.GENERATION], [0.5, theme.IDLE], [1.0, theme.CONSUMPTION]]
SYMBOLS = {"feeder": "square", "grid_connection": "diamond", "wind": "triangle-up", "battery": "hexagon",
           "weather_station": "star"}


def layout():
    return [
        html.Div([
            dcc.Graph(id=GRAPH, figure=go.Figure(layout=theme.layout()), config=theme.GRAPH_CONFIG, className="graph"),
            html.Div([
                html.Span([html.I(className="dot dot-makes"), bilingual("legend.makes")]),
                html.Span([html.I(className="dot dot-uses"), bilingual("legend.uses")]),
                html.Span([html.I(className="dot dot-offline"), bilingual("legend.offline")]),
            ], className="legend"),
            html.Div(id="city-detail", className="detail"),
        ], className="visual"),
        html.Div(id="city-kpis", className="kpis"),
        html.Div(id="city-caption", className="caption"),
    ]


def outputs():
    return [Output(GRAPH, "figure"), Output("city-kpis", "children"), Output("city-caption", "children")]


def shown(snapshot):
    """The devices on the plan: every metered device that has a position."""
    return [d for d in snapshot.devices if d.kind != "weather_station"]


def colour_value(device) -> float:
    """-1 (making its rated power) .. 0 (idle) .. +1 (using its rated power)."""
    if device.load_w is None or device.state == "offline":
        return 0.0
    rated = device.rated_w or max(abs(device.load_w), 1.0)
    return max(-1.0, min(1.0, device.load_w / rated))


def kind_label(device, lang: str) -> str:
    kind = KINDS.get(device.kind)
    if kind is None:
        return device.kind
    return kind.label_zh if lang == "zh" else kind.label_en


def hover(device, lang: str) -> str:
    """The meter's name and what it is: fixed, so a tick never resends 2,000 strings (a tap opens the
    detail panel with the live value)."""
    return f"{device.name_zh if lang == 'zh' else device.name_en}<br>{kind_label(device, lang)}"


def make_figure(snapshot, lang: str) -> go.Figure:
    devices = shown(snapshot)
    sizes = [14 + 30 * math.sqrt(min(d.rated_w, 2e6) / 2e6) if d.rated_w else 16 for d in devices]
    marks = landmarks(snapshot, lang)
    fig = go.Figure(
        [go.Scattergl(
            x=[d.x_m for d in devices], y=[d.y_m for d in devices], mode="markers",
            marker=dict(size=sizes, color=[round(colour_value(d), 2) for d in devices], cmin=-1, cmax=1,
                        colorscale=COLOURSCALE, symbol=[_symbol(d) for d in devices],
                        line=dict(width=1, color=theme.BACKGROUND)),
            text=[hover(d, lang) for d in devices], hoverinfo="text", customdata=[d.key for d in devices],
        ),
         go.Scatter(x=[m[0] for m in marks], y=[m[1] for m in marks], text=[m[2] for m in marks], mode="text",
                    textposition=[m[3] for m in marks], textfont=dict(size=theme.LABEL_PX - 2, color=theme.TEXT),
                    hoverinfo="skip")],
        layout=theme.layout(
            xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x", scaleratio=1, range=_y_range(devices)),
            margin=dict(l=10, r=10, t=10, b=10), showlegend=False, dragmode=False,
        ),
    )
    return fig


def _y_range(devices) -> list[float] | None:
    """Room above the plan for the landmark names, which plotly does not count when it fits the axes."""
    if not devices:
        return None
    low, high = min(d.y_m for d in devices), max(d.y_m for d in devices)
    pad = max(20.0, 0.12 * (high - low))
    return [low - pad, high + 2.5 * pad]


def landmarks(snapshot, lang: str) -> list[tuple[float, float, str, str]]:
    """Names on the plan for what a visitor looks for: the grid connection, the building, the wind farm."""
    out = []
    devices = shown(snapshot)
    top = [d for d in devices if d.kind == "grid_connection" and d.counted]
    for d in top[:1]:
        out.append((d.x_m, d.y_m + 25, text("landmark.grid", lang), "top center"))
    building = snapshot.building
    members = [d for d in devices if building and d.site == building.site and d.building == building.id]
    if members:
        out.append((min(d.x_m for d in members) - 10, sum(d.y_m for d in members) / len(members),
                    text("landmark.building", lang), "middle left"))
    wind = [d for d in devices if d.kind == "wind"]
    if wind:
        out.append((sum(d.x_m for d in wind) / len(wind), max(d.y_m for d in wind) + 25, text("landmark.wind", lang),
                    "top center"))
    return out


def _symbol(device) -> str:
    if device.state == "offline":
        return "x"
    return SYMBOLS.get(device.kind, "circle")


def kpis(snapshot):
    total = sum(1 for d in snapshot.devices)
    online = snapshot.meters_online
    return [
        kpi("kpi.load", numbers.power(snapshot.load_now_w)),
        kpi("kpi.renewable_now", numbers.percent(snapshot.renewable_share_now), "accent-solar"),
        kpi("kpi.renewable_today", numbers.percent(snapshot.renewable_share_today)),
        kpi("kpi.co2", numbers.mass_kg(snapshot.co2_avoided_today_kg)),
        kpi("kpi.online", {"en": f"{online:,}/{total:,}", "zh": f"{online}/{total}"}),
        kpi("kpi.readings", numbers.count(snapshot.readings_today), "counter"),
    ]


def caption(snapshot):
    share = snapshot.renewable_share_now
    if share is None:
        return bilingual("caption.city.none")
    return bilingual("caption.city", share=numbers.percent(share))


def update(snapshot, lang: str, sent: dict):
    devices = shown(snapshot)
    structure = {"lang": lang, "devices": [(d.key, d.x_m, d.y_m, d.rated_w) for d in devices]}
    colours = [round(colour_value(d), 2) for d in devices]
    symbols = [_symbol(d) for d in devices]
    fresh = {"structure": digest(structure), "colours": digest(colours), "symbols": digest(symbols)}
    if sent.get("structure") != fresh["structure"]:
        figure = make_figure(snapshot, lang)
    elif sent.get("colours") == fresh["colours"] and sent.get("symbols") == fresh["symbols"]:
        figure = no_update
    else:  # only the part that changed: colours most ticks, symbols when a meter goes offline or returns
        figure = Patch()
        if sent.get("colours") != fresh["colours"]:
            figure["data"][0]["marker"]["color"] = colours
        if sent.get("symbols") != fresh["symbols"]:
            figure["data"][0]["marker"]["symbol"] = symbols
    strip = changed(sent, fresh, "kpis", _kpi_data(snapshot), lambda _: kpis(snapshot))
    line = changed(sent, fresh, "caption", numbers.percent(snapshot.renewable_share_now), lambda _: caption(snapshot))
    return [figure, strip, line], fresh


def _kpi_data(snapshot):
    return [numbers.power(snapshot.load_now_w), numbers.percent(snapshot.renewable_share_now),
            numbers.percent(snapshot.renewable_share_today), numbers.mass_kg(snapshot.co2_avoided_today_kg),
            snapshot.meters_online, len(snapshot.devices), snapshot.readings_today]


def register_callbacks(app, model) -> None:
    """A tap on a dot opens that meter's live values beside the plan."""
    @app.callback(Output("city-detail", "children"), Input(GRAPH, "clickData"), prevent_initial_call=True)
    def city_detail(click):
        device = (click or {}).get("points", [{}])[0].get("customdata")
        return detail(model.snapshot, device)


def detail(snapshot, device_key: str | None):
    """What a visitor sees after tapping a dot (``site/device``): the meter's name, what it is, and what it does now."""
    device = next((d for d in snapshot.devices if d.key == device_key), None)
    if device is None:
        return None
    return html.Div([
        both(device.name_en, device.name_zh, "detail-name"),
        both(kind_label(device, "en"), kind_label(device, "zh"), "detail-kind"),
        both(numbers.power(device.power_w)["en"], numbers.power(device.power_w)["zh"], "detail-value"),
        bilingual(f"status.{device.state}", "detail-state"),
    ])
