"""Load curve: the town's electricity use through today, by sector, against yesterday, with the peak marked.

Stacked areas by sector (homes, shops and offices, cars, heat pumps, street
lights, building services) in 5-minute means; yesterday's total as a dashed
line for comparison; the rest of today forecast (``model.forecast``) as a
dotted line from now on; the day's peak as a labelled marker. Each tick
patches only the slots that changed (usually the last one or two).
"""

from __future__ import annotations

import plotly.graph_objects as go
from dash import Output, Patch, dcc, html, no_update

from dashboard import numbers, theme
from dashboard.categories import CATEGORIES, LOADS
from dashboard.i18n import bilingual, text
from dashboard.model.slots import SLOT_S, slot_times
from dashboard.scenes import SceneInfo
from dashboard.scenes._parts import axis_patched, behind_note, changed, chart_held, chart_sent, data_until, digest, kpi

SCENE = SceneInfo("load", 40, "scene.load")
GRAPH = "load-graph"


def layout():
    return [
        html.Div([dcc.Graph(id=GRAPH, figure=theme.placeholder(), config=theme.GRAPH_CONFIG, className="graph"),
                  html.Div(id="load-behind", className="panel-behind")], className="visual"),
        html.Div(id="load-kpis", className="kpis"),
        html.Div(id="load-caption", className="caption"),
    ]


def outputs():
    return [Output(GRAPH, "figure"), Output("load-behind", "children"), Output("load-kpis", "children"),
            Output("load-caption", "children")]


def sectors(snapshot) -> list[str]:
    """Sectors with any use today, in the table's order (a town without heat pumps shows none)."""
    return [k for k in LOADS if any(v for v in snapshot.curve_today.get(k, []) if v)]


def series_kw(snapshot) -> dict[str, list]:
    return {k: [None if v is None else round(v / 1000, 1) for v in snapshot.curve_today.get(k, [])]
            for k in sectors(snapshot)}


def total_kw(series: dict[str, list]) -> list:
    if not series:
        return []
    n = len(next(iter(series.values())))
    out = []
    for i in range(n):
        column = [s[i] for s in series.values() if s[i] is not None]
        out.append(round(sum(column), 1) if column else None)
    return out


def forecast_kw(snapshot) -> list:
    """The rest of today's use as forecast, kW per slot (None where it says nothing: the day so far)."""
    f = snapshot.forecast
    if f is None or f.day_start_s != snapshot.day_start_s:
        return []
    return [None if v is None else round(v / 1000, 1) for v in f.load_w]


# the axis reaches at least this far above the peak, so the label above its marker stays inside (plotly measures
# no label when it places an axis: at 720p the legend covered it)
PEAK_HEADROOM = 1.18


def peak_mark(x: list, top, lang: str) -> dict:
    """The peak's marker and its label."""
    if not top:
        return dict(x=[], y=[], text=[])
    label = f"{text('chart.peak', lang)} {numbers.power(top[1] * 1000)[lang]}"
    return dict(x=[x[top[0]]], y=[top[1]], text=[label])


def peak(totals: list) -> tuple[int, float] | None:
    best = None
    for i, v in enumerate(totals):
        if v is not None and (best is None or v > best[1]):
            best = (i, v)
    return best


def axis_top_kw(snapshot, totals: list) -> float | None:
    """The power axis's top: the nice number above everything drawn, the peak's label included."""
    top = peak(totals)
    return theme.nice_top_of(totals, yesterday_kw(snapshot), forecast_kw(snapshot),
                             [top[1] * PEAK_HEADROOM if top else None])


def yesterday_kw(snapshot) -> list:
    return [None if v is None else round(v / 1000, 1) for v in snapshot.curve_yesterday_w]


def make_figure(snapshot, lang: str) -> go.Figure:
    x = slot_times(snapshot.day_start_s, snapshot.timezone)
    series = series_kw(snapshot)
    # The slots are evenly spaced local times (``slot_times``): a start and a step instead of 288 date strings a
    # trace, which were 32 of the first draw's 63 KB at the city's scale.
    even = dict(x0=x[0], dx=SLOT_S * 1000)
    traces = [
        go.Scatter(**even, y=values, name=text("cat." + k, lang), stackgroup="today", mode="lines",
                   line=dict(width=0.5, color=CATEGORIES[k].colour), fillcolor=CATEGORIES[k].colour,
                   hovertemplate=f"{text('cat.' + k, lang)} %{{y:.0f}} kW<extra></extra>")
        for k, values in series.items()
    ]
    traces.append(go.Scatter(**even, y=yesterday_kw(snapshot), name=text("chart.yesterday", lang), mode="lines",
                             line=dict(color=theme.TEXT, width=3, dash="dash"),
                             hovertemplate=f"{text('chart.yesterday', lang)} %{{y:.0f}} kW<extra></extra>"))
    traces.append(go.Scatter(**even, y=forecast_kw(snapshot), name=text("chart.forecast", lang), mode="lines",
                             line=dict(color=theme.FORECAST, width=4, dash="dot"),
                             hovertemplate=f"{text('chart.forecast', lang)} %{{y:.0f}} kW<extra></extra>"))
    totals = total_kw(series)
    traces.append(go.Scatter(
        **peak_mark(x, peak(totals), lang), name=text("chart.peak", lang),
        mode="markers+text", marker=dict(size=22, color=theme.TEXT, symbol="triangle-down"),
        textposition="top center", textfont=dict(size=theme.LABEL_PX), hoverinfo="skip", showlegend=False))
    return go.Figure(traces, layout=theme.layout(
        template=theme.LEAN_TEMPLATE,
        xaxis=theme.day_axis(x, 3),
        yaxis=theme.power_axis(axis_top_kw(snapshot, totals), text("chart.power_kw", lang)),
        margin=dict(l=20, r=20, t=70, b=20),
        # not eased: every frame of an eased redraw measured its tick labels anew at each place. None, not a duration
        # of 0: with one, plotly's react still ran its axis transition, and a first draw of a graph laid out while
        # hidden scaled its plot by NaN (a console error)
        transition=None,
    ))


def update(snapshot, lang: str, sent: dict):
    fresh: dict = {}
    keys = sectors(snapshot)
    series = series_kw(snapshot)
    totals = total_kw(series)
    top = peak(totals)
    structure = digest([lang, snapshot.day_start_s, keys])
    fresh["structure"] = structure
    for k in keys:
        fresh["s:" + k] = [digest(v) for v in _chunks(series[k])]
    fresh["peak"] = digest(top)
    fresh["yesterday"] = digest([None if v is None else round(v) for v in snapshot.curve_yesterday_w])
    ahead = forecast_kw(snapshot)
    fresh["forecast"] = digest(ahead)
    axis_top = fresh["axis"] = axis_top_kw(snapshot, totals)
    if sent.get("structure") != structure or sent.get("yesterday") != fresh["yesterday"]:
        figure = make_figure(snapshot, lang)
        chart_sent(fresh, snapshot)
    elif chart_held(sent, fresh, ["s:" + k for k in keys] + ["forecast", "peak", "axis"], snapshot):
        figure = no_update
    else:
        figure = Patch()
        touched = False
        for index, k in enumerate(keys):
            before = sent.get("s:" + k) or []
            for c, chunk in enumerate(_chunks(series[k])):
                if c >= len(before) or before[c] != fresh["s:" + k][c]:
                    start = c * CHUNK
                    for offset, value in enumerate(chunk):
                        figure["data"][index]["y"][start + offset] = value
                    touched = True
        if sent.get("forecast") != fresh["forecast"]:  # once a minute at most (model.forecast)
            figure["data"][len(keys) + 1]["y"] = ahead
            touched = True
        if sent.get("peak") != fresh["peak"] and top:
            mark = peak_mark(slot_times(snapshot.day_start_s, snapshot.timezone), top, lang)
            for key, values in mark.items():
                figure["data"][len(keys) + 2][key] = values
            touched = True
        touched = axis_patched(figure, sent, axis_top) or touched
        if touched:
            chart_sent(fresh, snapshot)
        else:
            figure = no_update
    now_slot = int((snapshot.clock_s - snapshot.day_start_s) // SLOT_S)
    yesterday_now = snapshot.curve_yesterday_w[now_slot] if 0 <= now_slot < len(snapshot.curve_yesterday_w) else None
    peak_time = (snapshot.local(snapshot.day_start_s + top[0] * SLOT_S).strftime("%H:%M") if top else "")
    data = [numbers.power(snapshot.load_now_w), numbers.power(top[1] * 1000 if top else None),
            numbers.energy(snapshot.load_today_wh), numbers.power(yesterday_now), peak_time]
    strip = changed(sent, fresh, "kpis", data, lambda d: [
        kpi("kpi.load", d[0]),
        kpi("kpi.peak", {lang: f"{d[1][lang]} · {d[4]}" if d[4] else d[1][lang] for lang in ("en", "zh")}),
        kpi("kpi.energy_today", d[2]), kpi("kpi.vs_yesterday", d[3])])
    line = changed(sent, fresh, "caption", [data[1], peak_time], lambda d: (
        bilingual("caption.load", time=d[1], peak=d[0]) if top else bilingual("caption.load.none")))
    behind = changed(sent, fresh, "behind", data_until(totals, snapshot), lambda u: behind_note(snapshot, u))
    return [figure, behind, strip, line], fresh


CHUNK = 12  # slots per digest: an hour


def _chunks(values: list) -> list[list]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]
