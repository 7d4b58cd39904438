"""Energy flow: a Sankey from where the town's electricity comes from to what uses it, now and today.

Sources (sun, wind, grid import, battery discharge) and uses (homes, shops,
cars, heat pumps, street lights, building services, battery charge, export)
are the categories of ``dashboard.categories``. Meters say how much each
source makes and each use takes, not which electron went where, so each use
is drawn as fed by the sources in proportion to their share — the usual
reading of a pooled supply.
"""

from __future__ import annotations

import plotly.graph_objects as go
from dash import Output, Patch, dcc, html, no_update

from dashboard import numbers, theme
from dashboard.categories import CATEGORIES, SOURCES, USES
from dashboard.i18n import bilingual, text
from dashboard.scenes import SceneInfo
from dashboard.scenes._parts import changed, chart_held, chart_sent, digest, kpi

SCENE = SceneInfo("flow", 20, "scene.flow")
NOW, TODAY = "flow-now", "flow-today"


def layout():
    return [
        html.Div([
            html.Div([bilingual("flow.now", "panel-title"),
                      dcc.Graph(id=NOW, figure=theme.placeholder(), config=theme.GRAPH_CONFIG,
                                className="graph")], className="half"),
            html.Div([bilingual("flow.today", "panel-title"),
                      dcc.Graph(id=TODAY, figure=theme.placeholder(), config=theme.GRAPH_CONFIG,
                                className="graph")], className="half"),
        ], className="visual split"),
        html.Div(id="flow-kpis", className="kpis"),
        html.Div(id="flow-caption", className="caption"),
    ]


def outputs():
    return [Output(NOW, "figure"), Output(TODAY, "figure"), Output("flow-kpis", "children"),
            Output("flow-caption", "children")]


def links(amounts: dict) -> tuple[list, list, list]:
    """(source index, target index, value) of every source-to-use link, sources shared in proportion."""
    supply = {k: max(amounts.get(k, 0.0), 0.0) for k in SOURCES}
    demand = {k: max(amounts.get(k, 0.0), 0.0) for k in USES}
    total_supply, total_demand = sum(supply.values()), sum(demand.values())
    src, dst, val = [], [], []
    if total_supply <= 0 or total_demand <= 0:
        return src, dst, val
    scale = min(total_supply, total_demand)
    for i, s in enumerate(SOURCES):
        for j, u in enumerate(USES):
            src.append(i)
            dst.append(len(SOURCES) + j)
            val.append(round(scale * supply[s] / total_supply * demand[u] / total_demand, 1))
    return src, dst, val


def labels(amounts: dict, lang: str, fmt) -> list[str]:
    return [f"{text('cat.' + k, lang)}  {fmt(amounts.get(k, 0.0))[lang]}" for k in SOURCES + USES]


def make_figure(amounts: dict, lang: str, fmt) -> go.Figure:
    src, dst, val = links(amounts)
    if not val:  # plotly's Sankey throws on nodes with no links at all: say so in words instead
        return go.Figure(layout=theme.layout(
            xaxis=dict(visible=False), yaxis=dict(visible=False),
            annotations=[dict(text=text("badge.none", lang), showarrow=False, x=0.5, y=0.5, xref="paper",
                              yref="paper", font=dict(size=theme.LABEL_PX, color=theme.MUTED))]))
    colours = [CATEGORIES[k].colour for k in SOURCES + USES]
    return go.Figure(
        go.Sankey(
            arrangement="fixed",
            node=dict(label=labels(amounts, lang, fmt), color=colours, pad=18, thickness=26,
                      line=dict(width=0), hovertemplate="%{label}<extra></extra>"),
            link=dict(source=src, target=dst, value=val, color=[_fade(colours[s]) for s in src],
                      hovertemplate="%{source.label} → %{target.label}<extra></extra>"),
            textfont=dict(size=theme.TICK_PX, color=theme.TEXT, family=theme.FONT),
        ),
        layout=theme.layout(margin=dict(l=10, r=10, t=10, b=10)),
    )


def _fade(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},0.45)"


def _figure_update(sent, fresh, key, amounts, lang, fmt, held: bool):
    values = links(amounts)[2]
    structure = digest([lang, key, len(values)])  # a Sankey drawn with no links has no source/target arrays
    names = labels(amounts, lang, fmt)
    fresh[key + ":s"], fresh[key + ":v"], fresh[key + ":l"] = structure, digest(values), digest(names)
    if sent.get(key + ":s") != structure:
        return make_figure(amounts, lang, fmt)
    if held:  # the page keeps what it shows, and so do its digests: the next patch carries every change
        fresh[key + ":v"], fresh[key + ":l"] = sent.get(key + ":v"), sent.get(key + ":l")
        return no_update
    if sent.get(key + ":v") == fresh[key + ":v"] and sent.get(key + ":l") == fresh[key + ":l"]:
        return no_update  # an empty Sankey unchanged too: it had been drawn again on every tick (7.8 KB)
    if not values:  # nothing to patch new names into
        return make_figure(amounts, lang, fmt)
    patch = Patch()
    patch["data"][0]["link"]["value"] = values
    patch["data"][0]["node"]["label"] = names
    return patch


def update(snapshot, lang: str, sent: dict):
    fresh: dict = {}
    held = chart_held(sent, fresh, (), snapshot)  # the two Sankeys' changes wait together
    now = _figure_update(sent, fresh, "now", snapshot.flows_now_w, lang, numbers.power, held)
    today = _figure_update(sent, fresh, "today", snapshot.flows_today_wh, lang, numbers.energy, held)
    if now is not no_update or today is not no_update:
        chart_sent(fresh, snapshot)
    data = [numbers.energy(snapshot.renewable_today_wh), numbers.percent(snapshot.renewable_share_today),
            numbers.mass_kg(snapshot.co2_avoided_today_kg), numbers.power(snapshot.load_now_w)]
    strip = changed(sent, fresh, "kpis", data, lambda d: [
        kpi("kpi.load", d[3]), kpi("kpi.renewable_today", d[1], "accent-solar"), kpi("kpi.co2", d[2])])
    line = changed(sent, fresh, "caption", data[:2], lambda d: bilingual("caption.flow", renewable=d[0], share=d[1]))
    return [now, today, strip, line], fresh
