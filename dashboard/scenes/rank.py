"""Rankings: the largest users and the largest producers of electricity right now.

Only meters at the edge of the tree are ranked (a feeder is the sum of its
homes, not a competitor of them). Bars are labelled with the meter's name and
its power, so the ranking reads without the axis.
"""

from __future__ import annotations

import plotly.graph_objects as go
from dash import Output, Patch, dcc, html, no_update

from dashboard import numbers, theme
from dashboard.i18n import bilingual
from dashboard.scenes import SceneInfo
from dashboard.scenes._parts import changed, digest, kpi
from expo.kinds import KINDS, Flow

SCENE = SceneInfo("rank", 50, "scene.rank")
TOP = 8
CONSUMERS, PRODUCERS = "rank-consumers", "rank-producers"


def layout():
    return [
        html.Div([
            html.Div([bilingual("chart.consumers", "panel-title"),
                      dcc.Graph(id=CONSUMERS, figure=theme.placeholder(), config=theme.GRAPH_CONFIG,
                                className="graph")], className="half"),
            html.Div([bilingual("chart.producers", "panel-title"),
                      dcc.Graph(id=PRODUCERS, figure=theme.placeholder(), config=theme.GRAPH_CONFIG,
                                className="graph")], className="half"),
        ], className="visual split"),
        html.Div(id="rank-kpis", className="kpis"),
        html.Div(id="rank-caption", className="caption"),
    ]


def outputs():
    return [Output(CONSUMERS, "figure"), Output(PRODUCERS, "figure"), Output("rank-kpis", "children"),
            Output("rank-caption", "children")]


def ranking(snapshot, flow: Flow) -> list:
    devices = [d for d in snapshot.devices if d.counted and d.state != "offline" and d.power_w
               and d.kind in KINDS and KINDS[d.kind].flow is flow]
    return sorted(devices, key=lambda d: -d.power_w)[:TOP]


def bars(devices, lang: str, colour: str):
    names = [d.name_zh if lang == "zh" else d.name_en for d in devices][::-1]
    values = [round(d.power_w / 1000, 1) for d in devices][::-1]
    labels = [numbers.power(d.power_w)[lang] for d in devices][::-1]
    return names, values, labels


def make_figure(devices, lang: str, colour: str) -> go.Figure:
    names, values, labels = bars(devices, lang, colour)
    return go.Figure(
        go.Bar(x=values, y=names, orientation="h", text=labels, textposition="auto", marker=dict(color=colour),
               textfont=dict(size=theme.LABEL_PX - 2), insidetextanchor="end", hoverinfo="skip"),
        layout=theme.layout(xaxis=dict(visible=False), yaxis=dict(theme.layout()["yaxis"], range=[len(devices) - TOP - 0.5, len(devices) - 0.5],
                            tickfont=dict(size=theme.TICK_PX + 2, color=theme.TEXT)), bargap=0.25,
                            margin=dict(l=20, r=30, t=10, b=10),
                            # drawn at once when the scene comes on: eased from the board as it was minutes ago, every
                            # frame's names were measured anew at each place (plotly keeps every measurement)
                            transition=None),
    )


def _update_bars(sent, fresh, key, devices, lang, colour):
    names, values, labels = bars(devices, lang, colour)
    fresh[key] = digest([lang, len(devices)])
    fresh[key + ":d"] = digest([names, values, labels])
    if sent.get(key) != fresh[key]:
        return make_figure(devices, lang, colour)
    if sent.get(key + ":d") == fresh[key + ":d"]:
        return no_update
    patch = Patch()
    patch["data"][0]["x"], patch["data"][0]["y"], patch["data"][0]["text"] = values, names, labels
    patch["layout"]["transition"] = theme.layout()["transition"]  # a live change of places is eased
    return patch


def update(snapshot, lang: str, sent: dict):
    fresh: dict = {}
    users, makers = ranking(snapshot, Flow.CONSUMES), ranking(snapshot, Flow.PRODUCES)
    left = _update_bars(sent, fresh, "users", users, lang, theme.CONSUMPTION)
    right = _update_bars(sent, fresh, "makers", makers, lang, theme.GENERATION)
    data = [numbers.power(snapshot.load_now_w), numbers.power(snapshot.renewable_now_w),
            numbers.percent(snapshot.renewable_share_now)]
    strip = changed(sent, fresh, "kpis", data, lambda d: [
        kpi("kpi.consumption_now", d[0]), kpi("kpi.generation_now", d[1], "accent-solar"),
        kpi("kpi.renewable_now", d[2])])
    top = users[0] if users else None
    caption_data = [top.name_en, top.name_zh, numbers.power(top.power_w)] if top else None
    line = changed(sent, fresh, "caption", caption_data, lambda d: (
        bilingual("caption.rank", name={"en": d[0], "zh": d[1]}, power=d[2]) if d else bilingual("caption.rank.none")))
    return [left, right, strip, line], fresh
