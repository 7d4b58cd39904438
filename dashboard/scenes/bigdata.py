"""The urban energy big-data centre: the whole city on one screen, in the big-screen vocabulary of a grid hall.

A framed board around a central city plan ("数据大屏"): the districts drawn
from their own places and outlines (no map tiles), each filled by its clean
share today and labelled with it; moving flow lines from the districts that
send power (the wind farm, a sunny district) and from the outside grid into
the districts that draw it, their width and speed following power; a
scrolling ranking of the districts; a flip counter of today's readings and
the live readings per second; the city's load today against yesterday; the
clean share as one large figure. It reads only ``Snapshot.city``.

The board is a fixed design canvas (1836x640 px, a portrait variant
1000x1240) that ``assets/kiosk.js`` scales uniformly to its place (contain):
every screen shows the same composition, 720p to 4K. Motion is CSS (moving
dashes, a rolling counter, a scrolling board): a tick changes a style or a
text, never adds an element, so the page's memory does not grow.

A tap on a district opens the town scene on that district's plan: the tapped
site goes into ``bigdata-focus``, a store of the frame (so it is there in a
rotation without this scene), which the town scene reads.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from dash import ALL, Input, Output, Patch, State, ctx, dcc, html, no_update

from dashboard import numbers, theme
from dashboard.i18n import bilingual, both, text
from dashboard.model.slots import SLOT_S, slot_times
from dashboard.scenes import SceneInfo
from dashboard.scenes import _citymap as citymap
from dashboard.scenes._parts import axis_patched, behind_note, changed, chart_held, chart_sent, data_until, digest, kpi

SCENE = SceneInfo("bigdata", 60, "scene.bigdata", scale="city")
CHART = "bigdata-load"
DIGITS = 10  # the flip counter's wheels: up to 9,999,999,999 readings a day
SOLAR, WIND, GRID_IMPORT, BATTERY = "#E69F00", "#56B4E9", "#D55E00", "#009E73"


def layout():
    return [
        html.Div(html.Div(id="bigdata-canvas", className="bd-canvas fit", children=[
            html.Div([bilingual("bigdata.board", "bd-title"),
                      html.Div([bilingual("bigdata.col.energy"), bilingual("bigdata.col.share"),
                                bilingual("bigdata.col.co2")], className="bd-board-head"),
                      html.Div(html.Div(id="bigdata-board"), className="bd-board-window")],
                     className="bd-panel bd-board"),
            html.Div(html.Div(id="bigdata-map", className="bd-map", children=[
                html.Div(className="bd-city"),
                html.Div(id="bigdata-areas", className="bd-areas"),
                html.Div(id="bigdata-flows", className="bd-flows"),
                html.Div(id="bigdata-labels", className="bd-labels"),
            ]), className="bd-mapcell"),
            html.Div(legend(), className="bd-legend"),
            html.Div([bilingual("bigdata.share", "bd-title"), html.Div(id="bigdata-share")],
                     className="bd-panel bd-share"),
            html.Div([bilingual("bigdata.readings", "bd-title"), html.Div(id="bigdata-odometer", className="odometer"),
                      html.Div(id="bigdata-rate", className="bd-rate")], className="bd-panel bd-counter"),
            html.Div([bilingual("bigdata.load", "bd-title"), html.Div(id="bigdata-behind", className="panel-behind"),
                      dcc.Graph(id=CHART, figure=theme.placeholder(), config=theme.GRAPH_CONFIG,
                                className="bd-graph")], className="bd-panel bd-chart"),
        ]), className="visual bd-visual"),
        html.Div(id="bigdata-kpis", className="kpis"),
        html.Div(id="bigdata-caption", className="caption"),
    ]


def legend():
    return [
        html.Span([html.I(className="bd-ramp"), bilingual("bigdata.legend.share")]),
        html.Span([html.I(className="bd-key", style={"background": WIND}), bilingual("cat.wind")]),
        html.Span([html.I(className="bd-key", style={"background": SOLAR}), bilingual("cat.pv")]),
        html.Span([html.I(className="bd-key", style={"background": GRID_IMPORT}), bilingual("bigdata.legend.grid")]),
        html.Span([html.I(className="bd-key", style={"background": BATTERY}), bilingual("bigdata.legend.battery")]),
    ]


def outputs():
    return [Output("bigdata-map", "style"), Output("bigdata-areas", "children"), Output("bigdata-flows", "children"),
            Output("bigdata-labels", "children"), Output("bigdata-board", "children"),
            Output("bigdata-share", "children"), Output("bigdata-odometer", "children"),
            Output("bigdata-rate", "children"), Output(CHART, "figure"), Output("bigdata-behind", "children"),
            Output("bigdata-kpis", "children"),
            Output("bigdata-caption", "children")]


def districts(snapshot) -> tuple:
    """The city's districts in a fixed order (by id): what the plan draws. () before the city is known."""
    city = snapshot.city
    return tuple(sorted(city.sites, key=lambda s: s.site)) if city is not None else ()


def ranking(snapshot) -> list:
    """Districts by energy used today, most first (ties by id, so the board does not shuffle)."""
    return sorted(districts(snapshot), key=lambda s: (-s.load_today_wh, s.site))


def clean_share(snapshot) -> float | None:
    city = snapshot.city
    return city.renewable_share_today if city is not None and city.sites else None


def co2_avoided_kg(snapshot) -> float | None:
    if not districts(snapshot):
        return None
    return sum(s.co2_avoided_today_kg(snapshot.co2_kg_per_kwh) for s in districts(snapshot))


def readings_today(snapshot) -> int | None:
    return snapshot.city.readings_today if districts(snapshot) else None


# the plan ---------------------------------------------------------------------------------------------------


def _name(site, lang: str) -> str:
    return site.name_zh if lang == "zh" else site.name_en


def area_styles(sites, plan) -> list[dict]:
    return [{"clipPath": citymap.polygon(plan.outlines[s.site]), "background": citymap.clean_colour(_share5(s))}
            for s in sites]


def _share5(site) -> float | None:
    """The clean share in 5 % steps: the fill changes a few times a day, not every tick."""
    share = site.renewable_share_today
    return None if share is None else round(share * 20) / 20


def flow_styles(sites, plan) -> list[dict]:
    """One style per possible flow (``citymap.pairs``): hidden when nothing flows, else width and speed by power."""
    watts = citymap.flows(sites)
    biggest = max(watts.values(), default=0.0)
    by_id = {s.site: s for s in sites}
    places = {**plan.places, citymap.GRID: plan.grid}
    out = []
    for a, b in citymap.pairs([s.site for s in sites]):
        forward, back = watts.get((a, b), 0.0), watts.get((b, a), 0.0)
        w = max(forward, back)
        if w < citymap.MIN_FLOW_W or biggest <= 0:
            style = {"display": "none"}  # hidden, not removed; its place is sent when it starts to flow
        else:
            style = citymap.segment(places[a], places[b], plan.aspect)
            share = w / biggest
            style["--w"] = f"{2 * round(2 + 5 * share ** 0.5)}px"  # 4..14 px, in 2 px steps
            style["--dur"] = f"{round(2.4 - 1.8 * share, 1)}s"  # more power, faster dashes
            style["--c"] = _source_colour(by_id.get(a if forward >= back else b))
            if back > forward:
                style["--dir"] = "reverse"  # the dashes run from b to a
        out.append(style)
    return out


def _source_colour(site) -> str:
    """What a line carries, by where it starts: the outside grid, or the sending district's wind or sun — and
    storage when it has neither (nothing flows from the sun at night)."""
    if site is None:  # the outside grid
        return GRID_IMPORT
    if site.wind_now_w > 0 and site.wind_now_w >= site.solar_now_w:
        return WIND
    return SOLAR if site.solar_now_w > 0 else BATTERY


def label_data(sites, plan, lang: str) -> list:
    """Per district: its id, name, clean share, and where its label and the line to it go (``citymap.Callout``)."""
    shares = {s.site: text("bigdata.label", lang, share=numbers.percent(s.renewable_share_today)[lang]) for s in sites}
    at = citymap.place_labels(plan, {s.site: citymap.label_size(_name(s, lang), shares[s.site]) for s in sites})
    return [[s.site, _name(s, lang), shares[s.site], at[s.site], plan.places[s.site], plan.aspect] for s in sites]


def _area(site, style):
    return html.Div(id={"type": "bigdata-district", "site": site.site}, n_clicks=0, style=style)


def _flow(style):
    """A flow line (its moving dashes are CSS, ::before); a stopped one is kept, hidden. The plan's parts carry no
    class names: CSS finds them by place (``.bd-flows > div``), since every name is sent again on every draw."""
    if style == {"display": "none"}:
        return html.Div(hidden=True)
    return html.Div(style=style)


def _label(part, data):
    """A district's label in its column (``part`` "button"), or the line from it to the district with a dot where
    the district is ("leader"): two children of the labels' layer side by side, no wrapper to send."""
    site, name, share, callout, centre, aspect = data
    if part == "leader":  # its far end (::after) is the dot on the district
        return html.I(style=citymap.segment((callout.anchor_x_pct, callout.y_pct), centre, aspect))
    return html.Button([html.Span(name), html.Span(share)],  # the name, the share (by place in CSS)
                       id={"type": "bigdata-label", "site": site}, n_clicks=0, className="bd-label",
                       style={"left": f"{callout.x_pct}%", "top": f"{callout.y_pct}%"})


def _grid_label(plan, lang: str):
    x, y = plan.grid
    return html.Div(text("bigdata.grid", lang), className="bd-grid-node", style={"left": f"{x}%", "top": f"{y}%"})


def _items(sent, fresh, key, items, build, full: bool):
    """A list of children: whole when ``full``, else a Patch replacing only the items that changed."""
    marks = "".join(digest(i)[:6] for i in items)
    fresh[key] = marks
    before = sent.get(key)
    if full or before is None or len(before) != len(marks):
        return [build(i, item) for i, item in enumerate(items)]
    if before == marks:
        return no_update
    patch = Patch()
    for i, item in enumerate(items):
        if before[6 * i:6 * i + 6] != marks[6 * i:6 * i + 6]:
            patch[i] = build(i, item)
    return patch


def plan_update(snapshot, lang: str, sent: dict, fresh: dict):
    sites = districts(snapshot)
    plan = citymap.plan(sites)
    structure = digest([lang, [(s.site, s.outline_km, s.x_km, s.y_km) for s in sites]])
    fresh["plan"] = structure
    full = sent.get("plan") != structure
    style = no_update if not full else {"--aspect": str(plan.aspect),
                                        "--city": citymap.polygon(plan.city or ((0, 0), (0, 0), (0, 0)))}
    areas = _items(sent, fresh, "areas", area_styles(sites, plan), lambda i, st: _area(sites[i], st), full)
    flows = _items(sent, fresh, "flows", flow_styles(sites, plan), lambda i, st: _flow(st), full)
    if sites:
        parts = [(part, d) for d in label_data(sites, plan, lang) for part in ("leader", "button")]
        labels = _items(sent, fresh, "labels", parts, lambda i, item: _label(*item), full)
        if full:
            labels.append(_grid_label(plan, lang))
    else:
        fresh["labels"] = "waiting"
        labels = no_update if sent.get("labels") == "waiting" else [bilingual("bigdata.waiting", "bd-waiting")]
    return style, areas, flows, labels


# the panels ------------------------------------------------------------------------------------------------


def board_rows(snapshot, lang: str) -> list:
    """What each row of the ranking board says, in the page's language (the board is redrawn when it changes:
    both languages would double the rows sent each time a figure on them moves)."""
    factor = snapshot.co2_kg_per_kwh
    return [[i + 1, _name(s, lang), numbers.energy(s.load_today_wh)[lang], numbers.percent(s.renewable_share_today)[lang],
             numbers.mass_kg(s.co2_avoided_today_kg(factor))[lang]] for i, s in enumerate(ranking(snapshot))]


def board(rows):
    def row(r):
        rank, name, energy, share, co2 = r
        # name, energy, share, CO2, found by place in CSS (no class name per cell); the rank is the row's place,
        # a CSS counter (``rank`` is the row's place too, kept in the data so a new order redraws the board)
        return html.Div([html.Span(name), html.Span(energy), html.Span(share), html.Span(co2)], className="bd-row")

    if not rows:
        return bilingual("bigdata.board.none", "bd-empty")
    # the board scrolls down to its last row and back, pausing at each end, when it has more rows than fit
    return html.Div([row(r) for r in rows], className="bd-track", style={"--rows": str(len(rows))})


def share_panel(share):
    if share is None:
        return html.Div("—", className="bd-share-value")
    pct = numbers.percent(share)
    return [html.Div(pct["en"], className="bd-share-value"),
            html.Div(html.Div(className="bd-share-fill", style={"width": f"{max(0.0, min(share, 1.0)) * 100:.0f}%"}),
                     className="bd-share-track")]


def wheels(n: int | None) -> list[int | None]:
    """The counter's digits, most significant first; None for the leading blanks."""
    if n is None:
        return [None] * DIGITS
    s = str(max(0, int(n)))[-DIGITS:]
    return [None] * (DIGITS - len(s)) + [int(c) for c in s]


def _wheel(i: int, d: int | None):
    gap = " gap" if (DIGITS - i) % 3 == 0 and i > 0 else ""  # a thousands gap before every third wheel
    names = (gap + (" blank" if d is None else "")).strip() or None  # a wheel is ``.odometer > span`` in CSS
    return html.Span(style={"--d": str(d or 0)}, **({"className": names} if names else {}))  # its digits: CSS


def rate_data(snapshot) -> list | None:
    """[readings per second as shown, today's count in 万 / 亿]: what the line under the wheels says."""
    if not districts(snapshot):
        return None
    r = snapshot.city.readings_per_s
    return [f"{r:,.0f}" if r >= 10 or r == 0 else f"{r:,.1f}", numbers.count(snapshot.city.readings_today)["zh"]]


def rate(data):
    """Readings per second; in Chinese also today's count in 万 / 亿 (the wheels show every digit)."""
    if data is None:
        return bilingual("bigdata.rate", rate="—")
    per_s, count = data
    return both(text("bigdata.rate", "en", rate=per_s),
                text("bigdata.count", "zh", count=count) + " · " + text("bigdata.rate", "zh", rate=per_s))


def chart_unit(snapshot) -> tuple[str, float]:
    """MW for a city, kW for a city of one small town (0.05 MW reads worse than 50 kW)."""
    city = snapshot.city
    values = [v for v in (city.load_today_w + city.load_yesterday_w if city else []) if v is not None]
    return ("MW", 1e6) if max(values, default=0.0) >= 1e7 else ("kW", 1e3)


def chart_series(snapshot) -> tuple[list, list]:
    """Today's and yesterday's city load per slot in the chart's unit, to three significant figures (the
    curve cannot show more, and 576 values are sent whenever the chart is drawn)."""
    city = snapshot.city
    if city is None:
        return [], []
    _, per = chart_unit(snapshot)
    top = max((abs(v) for v in city.load_today_w + city.load_yesterday_w if v is not None), default=0.0) / per
    places = max(0, 2 - math.floor(math.log10(top))) if top > 0 else 2
    def scaled(values):  # whole numbers without ".0": 576 of them are sent when the chart is drawn
        return [None if v is None else round(v / per) if places == 0 else round(v / per, places) for v in values]

    return scaled(city.load_today_w), scaled(city.load_yesterday_w)


def chart(snapshot, lang: str) -> go.Figure:
    today, yesterday = chart_series(snapshot)
    x = slot_times(snapshot.day_start_s, snapshot.timezone)
    slot = dict(x0=x[0], dx=SLOT_S * 1000)  # slots by start and step, not 288 time strings per curve
    return go.Figure([
        go.Scatter(y=yesterday, name=text("chart.yesterday", lang), mode="lines", **slot,
                   line=dict(color=theme.MUTED, width=3, dash="dash"), hoverinfo="skip"),
        go.Scatter(y=today, name=text("bigdata.today", lang), mode="lines", fill="tozeroy", **slot,
                   line=dict(color=theme.CONSUMPTION, width=4), fillcolor="rgba(77,163,255,0.18)", hoverinfo="skip"),
    ], layout=theme.layout(template="none",  # the theme sets every colour; plotly's template is 7 KB a draw
        xaxis=theme.day_axis(x, 6),
        yaxis=theme.power_axis(theme.nice_top_of(today, yesterday), chart_unit(snapshot)[0], nticks=4),
        hoverlabel=None, margin=dict(l=10, r=20, t=44, b=10), legend=dict(theme.layout()["legend"], y=1.0, font=dict(size=theme.TICK_PX)),
        dragmode=False, transition=dict(duration=0),  # a patched curve moves a slot at a time: nothing to ease
    ))


def chart_update(snapshot, lang: str, sent: dict, fresh: dict):
    today, yesterday = chart_series(snapshot)
    top = fresh["axis"] = theme.nice_top_of(today, yesterday)
    fresh["chart"] = digest([lang, snapshot.day_start_s, len(today), len(yesterday), chart_unit(snapshot)[0]])
    fresh["today"], fresh["yesterday"] = digest(today), digest(yesterday)
    if sent.get("chart") != fresh["chart"]:
        chart_sent(fresh, snapshot)
        return chart(snapshot, lang)
    if chart_held(sent, fresh, ["today", "yesterday", "axis"], snapshot) or (
            sent.get("today") == fresh["today"] and sent.get("yesterday") == fresh["yesterday"]
            and sent.get("axis") == top):
        return no_update
    patch = Patch()
    axis_patched(patch, sent, top)
    if sent.get("yesterday") != fresh["yesterday"]:
        patch["data"][0]["y"] = yesterday
    if sent.get("today") != fresh["today"]:
        patch["data"][1]["y"] = today
    chart_sent(fresh, snapshot)
    return patch


def kpi_data(snapshot) -> list:
    sites = districts(snapshot)
    city = snapshot.city
    online = ({"en": f"{city.meters_online:,}/{city.meters:,}", "zh": f"{city.meters_online}/{city.meters}"}
              if sites else numbers.percent(None))
    return [numbers.power(city.load_now_w if sites else None), numbers.energy(city.load_today_wh if sites else None),
            numbers.mass_kg(co2_avoided_kg(snapshot)), online]


def caption(snapshot):
    sites = districts(snapshot)
    share = clean_share(snapshot)
    if not sites or share is None:
        return bilingual("caption.bigdata.none")
    return bilingual("caption.bigdata", share=numbers.percent(share))


def update(snapshot, lang: str, sent: dict):
    fresh: dict = {}
    style, areas, flows, labels = plan_update(snapshot, lang, sent, fresh)
    rows = changed(sent, fresh, "board", [lang, board_rows(snapshot, lang)], lambda d: board(d[1]))
    share = changed(sent, fresh, "share", numbers.percent(clean_share(snapshot)), lambda _: share_panel(clean_share(snapshot)))
    counter = _items(sent, fresh, "wheels", wheels(readings_today(snapshot)), _wheel, False)
    per_s = changed(sent, fresh, "rate", rate_data(snapshot), rate)
    figure = chart_update(snapshot, lang, sent, fresh)
    city_load = snapshot.city.load_today_w if snapshot.city is not None else []
    behind = changed(sent, fresh, "behind", data_until(city_load, snapshot), lambda u: behind_note(snapshot, u))
    strip = changed(sent, fresh, "kpis", kpi_data(snapshot), lambda d: [
        kpi("kpi.city_load", d[0]), kpi("kpi.energy_today", d[1]), kpi("kpi.co2", d[2], "accent-solar"),
        kpi("kpi.online", d[3])])
    line = changed(sent, fresh, "caption", [len(districts(snapshot)), numbers.percent(clean_share(snapshot))],
                   lambda _: caption(snapshot))
    return [style, areas, flows, labels, rows, share, counter, per_s, figure, behind, strip, line], fresh


def register_callbacks(app, model) -> None:
    """A tap on a district (its area or its label) opens the town scene, and keeps which district it was."""
    @app.callback(Output("scene", "data", allow_duplicate=True), Output("bigdata-focus", "data"),
                  Input({"type": "bigdata-district", "site": ALL}, "n_clicks"),
                  Input({"type": "bigdata-label", "site": ALL}, "n_clicks"), State("config", "data"),
                  prevent_initial_call=True)
    def open_district(_areas, _labels, config):
        return tapped(ctx.triggered_id, (ctx.triggered or [{}])[0].get("value"), (config or {}).get("scenes"))


def tapped(triggered_id, clicks, scenes=None):
    """(scene, focus) after a tap; nothing when the trigger was a district drawn anew (no click yet), or when the
    page has no town scene to open (a rotation without it)."""
    if not isinstance(triggered_id, dict) or not clicks or (scenes is not None and "city" not in scenes):
        return no_update, no_update
    return "city", triggered_id.get("site")
