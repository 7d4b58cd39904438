"""The zero-energy building: what it made against what it used today, its battery, and its year in one figure.

"Zero-energy" is a claim about a year, so the headline is the year's ratio
("produced 104% of what it used"), with a bar that fills to 100%; the chart
shows today's sun against today's use, so a visitor sees where the surplus
and the shortfall come from.
"""

from __future__ import annotations

import plotly.graph_objects as go
from dash import Output, Patch, dcc, html, no_update

from dashboard import numbers, theme
from dashboard.categories import CATEGORIES
from dashboard.i18n import bilingual, both, text
from dashboard.model.slots import slot_times
from dashboard.scenes import SceneInfo
from dashboard.scenes._parts import changed, digest, kpi, rounded

SCENE = SceneInfo("zeb", 30, "scene.zeb", scale="building")
GRAPH = "zeb-graph"


def layout():
    return [
        html.Div([
            dcc.Graph(id=GRAPH, figure=theme.placeholder(), config=theme.GRAPH_CONFIG, className="graph"),
            html.Div(id="zeb-progress", className="progress"),
        ], className="visual"),
        html.Div(id="zeb-kpis", className="kpis"),
        html.Div(id="zeb-caption", className="caption"),
    ]


def outputs():
    return [Output(GRAPH, "figure"), Output("zeb-progress", "children"), Output("zeb-kpis", "children"),
            Output("zeb-caption", "children")]


def ratio(building) -> float | None:
    if building is None or building.used_ytd_wh <= 0:
        return None
    return building.produced_ytd_wh / building.used_ytd_wh


def make_figure(snapshot, lang: str) -> go.Figure:
    b = snapshot.building
    x = slot_times(snapshot.day_start_s, snapshot.timezone)
    kw = lambda values: [None if v is None else round(v / 1000, 2) for v in values]  # noqa: E731
    gen = kw(b.generation_today) if b else []
    use = kw(b.consumption_today) if b else []
    return go.Figure(
        [
            go.Scatter(x=x, y=gen, name=text("chart.generation", lang), mode="lines", fill="tozeroy",
                       line=dict(color=CATEGORIES["pv"].colour, width=4, shape="spline"),
                       hovertemplate="%{y:.1f} kW<extra></extra>"),
            go.Scatter(x=x, y=use, name=text("chart.consumption", lang), mode="lines",
                       line=dict(color=theme.CONSUMPTION, width=4, dash="solid", shape="spline"),
                       hovertemplate="%{y:.1f} kW<extra></extra>"),
        ],
        layout=theme.layout(
            xaxis=dict(theme.layout()["xaxis"], type="date", tickformat="%H:%M", range=[x[0], x[-1]], dtick=3 * 3600000),
            yaxis=dict(theme.layout()["yaxis"], title=dict(text=text("chart.power_kw", lang)), rangemode="tozero"),
            margin=dict(l=20, r=20, t=60, b=20),
        ),
    )


def progress(building):
    r = ratio(building)
    if r is None:
        return None
    width = max(0.0, min(r, 1.0)) * 100
    pct = numbers.percent(r)
    return html.Div([
        html.Div([bilingual("kpi.net_zero", "progress-label"), both(pct["en"], pct["zh"], "progress-value")],
                 className="progress-head"),
        html.Div(html.Div(className="progress-fill" + (" done" if r >= 1 else ""), style={"width": f"{width:.1f}%"}),
                 className="progress-track"),
    ])


def update(snapshot, lang: str, sent: dict):
    fresh: dict = {}
    b = snapshot.building
    structure = digest([lang, snapshot.day_start_s, b is not None])
    gen = rounded([None if v is None else v / 1000 for v in (b.generation_today if b else [])], 2)
    use = rounded([None if v is None else v / 1000 for v in (b.consumption_today if b else [])], 2)
    fresh["structure"], fresh["gen"], fresh["use"] = structure, digest(gen), digest(use)
    if sent.get("structure") != structure:
        figure = make_figure(snapshot, lang)
    elif sent.get("gen") == fresh["gen"] and sent.get("use") == fresh["use"]:
        figure = no_update
    else:
        figure = Patch()
        figure["data"][0]["y"] = gen
        figure["data"][1]["y"] = use
    r = ratio(b)
    bar = changed(sent, fresh, "progress", numbers.percent(r), lambda _: progress(b))
    data = [numbers.power(b.generation_now_w if b else None), numbers.power(b.consumption_now_w if b else None),
            {"en": f"{b.soc_pct:.0f}%", "zh": f"{b.soc_pct:.0f}%"} if b and b.soc_pct is not None else numbers.percent(None),
            numbers.energy(b.produced_today_wh if b else None), numbers.energy(b.used_today_wh if b else None)]
    strip = changed(sent, fresh, "kpis", data, lambda d: [
        kpi("kpi.generation_now", d[0], "accent-solar"), kpi("kpi.consumption_now", d[1]), kpi("kpi.soc", d[2]),
        kpi("kpi.produced_today", d[3]), kpi("kpi.used_today", d[4])])
    line = changed(sent, fresh, "caption", numbers.percent(r), lambda pct: (
        bilingual("caption.zeb", pct=pct) if r is not None else bilingual("caption.zeb.none")))
    return [figure, bar, strip, line], fresh
