"""City overview: the town plan drawn from the meters' own positions, each dot coloured by what it does now.

No map tiles (exhibits are often offline): the plan is the meters' x/y in
metres from the site's metadata. A dot's colour runs from amber (making power)
through dark (idle) to blue (using power), scaled by its rated power; size
shows how big the meter is; offline meters are grey crosses, so colour is
never the only sign. Each tick sends only the colours (and the symbols when a meter's state changed).

The plan is one site's: the home town (the zero-energy building's site), or
the district a visitor tapped on the big-data centre's map (``bigdata-focus``,
kept in the frame). The model polls a district's meters only while it is
watched, so a tap asks for it (``model.watch``, again every minute while it
is shown) and the plan says calmly that the district is loading until its
meters are in the snapshot, rather than drawing nothing or the home town. A
button goes back to the home town; leaving the scene, or the visitor leaving
the screen alone for the kiosk's idle time, does too (``assets/kiosk.js``,
``expo.home``).
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from dash import ClientsideFunction, Input, Output, Patch, State, ctx, dcc, html, no_update

from dashboard import numbers, theme
from expo.kinds import KINDS
from dashboard.i18n import bilingual, both, text
from dashboard.model import WATCH_S
from dashboard.scenes import SceneInfo
from dashboard.scenes import _gather as gather
from dashboard.scenes import _parts
from dashboard.scenes import _whatif as whatif
from dashboard.scenes import _wiring as wiring
from dashboard.scenes._parts import changed, digest, kpi
from dashboard.scenes._parts import metres as _m
from dashboard.scenes._marks import CMAX, CMIN, COLOURSCALE, LIT, colour_value, symbol as _symbol  # noqa: F401

SCENE = SceneInfo("city", 10, "scene.city")
GRAPH = "city-graph"
RIM = "rgba(242,244,248,0.45)"  # a gathered mark's outline: an idle (dark) area still shows on the dark plan



def layout():
    return [
        html.Div([
            dcc.Graph(id=GRAPH, figure=theme.placeholder(), config=theme.GRAPH_CONFIG, className="graph"),
            html.Div([
                html.Span([html.I(className="dot dot-makes"), bilingual("legend.makes")]),
                html.Span([html.I(className="dot dot-uses"), bilingual("legend.uses")]),
                html.Span([html.I(className="dot dot-lit"), bilingual("legend.lit")]),
                html.Span([html.I(className="dot dot-offline"), bilingual("legend.offline")]),
            ], className="legend"),
            html.Div(id="city-detail", className="detail"),
            html.Div(id="city-note", className="city-note"),
            html.Button(id="city-back", n_clicks=0, className="city-back", style={"display": "none"}),
            html.Span(id="city-rotor", hidden=True),  # the rotors' turns a minute, read by assets/kiosk.js
        ], className="visual"),
        whatif.buttons(SCENE.id),
        html.Div(id="city-kpis", className="kpis"),
        html.Div(id="city-caption", className="caption"),
        dcc.Interval(id="city-rewatch", interval=WATCH_AGAIN_MS),
        dcc.Store(id="city-watched"),
    ]


WATCH_AGAIN_MS = int(WATCH_S * 1000 / 5)  # a watch lasts WATCH_S after the model's last call: asked again well before


def outputs():
    return [Output(GRAPH, "figure"), Output("city-kpis", "children"), Output("city-caption", "children"),
            Output("city-note", "children"), Output("city-back", "children"), Output("city-back", "style"),
            Output("city-rotor", "children")]


def site_of(snapshot, focus: str | None = None) -> str | None:
    """The site the plan shows: the tapped district, else the home town."""
    return focus or _parts.home_site(snapshot)


def shown(snapshot, site: str | None = None):
    """The devices on the plan: every metered device of that site (default: the home town) with a position."""
    site = site_of(snapshot, site)
    return [d for d in snapshot.devices if d.kind != "weather_station" and d.site == site]


def loading(snapshot, site: str | None) -> bool:
    """A district other than the home town whose meters are not in the snapshot yet (just tapped)."""
    if site is None or site == _parts.home_site(snapshot) or site in getattr(snapshot, "watched", ()):
        return False
    return not any(d.site == site for d in snapshot.devices)


def place(snapshot, focus: str | None = None) -> dict:
    """The frame's subtitle on this scene: the name of the town on the plan."""
    return _parts.place(snapshot, "town", site_of(snapshot, focus))


def kind_label(device, lang: str) -> str:
    kind = KINDS.get(device.kind)
    if kind is None:
        return device.kind
    return kind.label_zh if lang == "zh" else kind.label_en


def hover(device, lang: str) -> str:
    """The meter's name and what it is: fixed, so a tick never resends 2,000 strings (a tap opens the
    detail panel with the live value)."""
    return f"{device.name_zh if lang == 'zh' else device.name_en}<br>{kind_label(device, lang)}"


def zero_energy(snapshot, site: str | None) -> str | None:
    """The zero-energy building's id when it stands on this site."""
    b = snapshot.building
    return b.id if b is not None and b.site == site_of(snapshot, site) else None


def meter_trace(devices, lang: str, trace=go.Scatter) -> go.Scatter:
    """One mark per meter: the town as it is drawn below ``gather.MAX_METERS``.

    SVG, not WebGL: a plan of at most a few hundred marks draws as fast either way, and a WebGL trace in a
    scene that is hidden and shown again kept 16 more GPU buffers at every showing (regl's buffer count in a
    kiosk rotation), which a page running for weeks must not. ``trace``: the district scale's WebGL beside its
    gathered marks (``gathered_trace``)."""
    sizes = [round((14 + 30 * math.sqrt(min(d.rated_w, 2e6) / 2e6)) if d.rated_w else 16, 1)
             for d in devices]
    return trace(
        x=[_m(d.x_m) for d in devices], y=[_m(d.y_m) for d in devices], mode="markers",
        marker=dict(size=sizes, color=[round(colour_value(d), 2) for d in devices], cmin=CMIN, cmax=CMAX,
                    colorscale=COLOURSCALE, symbol=[_symbol(d) for d in devices],
                    line=dict(width=1, color=theme.BACKGROUND)),
        text=[hover(d, lang) for d in devices], hoverinfo="text", customdata=[d.key for d in devices],
    )


def gathered_trace(marks, lang: str, zeb: str | None) -> go.Scattergl:
    """Gathered marks: one template for the hover, per mark only its id and its count (a tap says what it holds:
    its kinds, its power, its biggest meters; a string per mark would be most of the draw).

    WebGL, unlike the town's marks: drawn in SVG, a district's plan opened at 4K got its point groups scaled by
    NaN (console errors) when shown; it is drawn when a visitor taps a district, not at every rotation."""
    return go.Scattergl(
        x=[m.x_m for m in marks], y=[m.y_m for m in marks], mode="markers",
        marker=dict(size=gather.sizes(marks, zeb), color=[round(gather.colour_value(m), 2) for m in marks],
                    cmin=CMIN, cmax=CMAX, colorscale=COLOURSCALE, symbol=[gather.symbol(m, zeb) for m in marks],
                    line=dict(width=1.5, color=RIM)),
        customdata=[[m.id, len(m.meters)] for m in marks], hovertemplate=text("plan.hover", lang),
    )


def make_figure(snapshot, lang: str, site: str | None = None) -> go.Figure:
    """Marks and names in design px: the page's canvas scales them with the screen.

    Traces: 0 the meters (or, at district scale, the gathered marks), 1 the landmarks' names, 2 at district
    scale the meters kept as their own marks (grid connections, feeders, wind turbines)."""
    devices = shown(snapshot, site)
    names = landmarks(snapshot, lang, site)
    if gather.gathered(devices):
        zeb = zero_energy(snapshot, site)
        marks, own = gather.split(devices, zeb)
        traces = [gathered_trace(marks, lang, zeb)]
    else:
        own = None
        traces = [meter_trace(devices, lang)]
    names = names + _room_left_of(names, devices)  # a town's plan and a district's (its names stand off half a cell)
    traces.append(go.Scatter(x=[m[0] for m in names], y=[m[1] for m in names], text=[m[2] for m in names],
                             mode="text", textposition=[m[3] for m in names],
                             textfont=dict(size=theme.LABEL_PX - 2, color=theme.TEXT),
                             hoverinfo="skip"))
    if own is not None:  # at district scale, beside the gathered marks and drawn like them (gathered_trace)
        traces.append(meter_trace(own, lang, go.Scattergl))
    fig = go.Figure(
        traces,
        layout=theme.layout(
            template=theme.LEAN_TEMPLATE,
            # one scale both ways by shrinking the plot area to the plan's shape ("domain"), not by widening an axis's
            # range ("range", plotly's default): a widened range is written back into the figure, and the next
            # redraw (a resize, a turned screen) widens it again from there, so the plan only ever shrank: a
            # third of a portrait screen's width
            xaxis=dict(visible=False, constrain="domain"),
            yaxis=dict(visible=False, scaleanchor="x", scaleratio=1, range=_y_range(devices), constrain="domain"),
            margin=dict(l=10, r=10, t=10, b=10), showlegend=False, dragmode=False,
            # no transition at all: eased, an SVG mark whose symbol changes (a light on, a meter offline) is morphed
            # path to path, flags and all, into shapes the browser refuses ("Expected arc flag"); and one of no
            # duration scales the names' groups by 0/0 when the screen's scale redraws them ("scale(NaN,NaN)")
            transition=None,
            shapes=wiring.trunk_shapes(devices) if own is None else [],
            images=wiring.rotor_images(devices) if own is None else [],
            hoverlabel=dict(font=dict(size=theme.TICK_PX, family=theme.FONT)),
        ),
    )
    return fig


LABEL_ROOM = 0.3  # of the plan's width: what a name written leftwards of its place takes at most (portrait)


def _room_left_of(names, devices) -> list[tuple[float, float, str, str]]:
    """A nameless point as far left of a leftward name as the name runs, for the axis to take in: plotly fits
    the axes to places, not to the text beside them, and in portrait, where the plan's width sets its scale,
    the building's name ran off the left edge. (A set x range would do it too, but with the equal scale
    plotly scaled the names' groups by NaN when a 4K screen first drew them.)"""
    leftward = [m for m in names if m[3] == "middle left"]
    if not leftward or not devices:
        return []
    width = max(d.x_m for d in devices) - min(d.x_m for d in devices)
    return [(m[0] - LABEL_ROOM * max(width, 100.0), m[1], "", "middle left") for m in leftward]


def _y_range(devices) -> list[float] | None:
    """Room above the plan for the landmark names, which plotly does not count when it fits the axes."""
    if not devices:
        return None
    low, high = min(d.y_m for d in devices), max(d.y_m for d in devices)
    pad = max(20.0, 0.12 * (high - low))
    return [low - pad, high + 2.5 * pad]


def landmarks(snapshot, lang: str, site: str | None = None) -> list[tuple[float, float, str, str]]:
    """Names on the plan for what a visitor looks for: the grid connection, the building, the wind farm."""
    out = []
    devices = shown(snapshot, site)
    # at district scale the names stand off by half a cell, clear of the marks (which are larger than a meter's)
    gap = gather.cell_m(devices) / 2 if gather.gathered(devices) else None
    top = [d for d in devices if d.kind == "grid_connection" and d.counted]
    for d in top[:1]:
        out.append((d.x_m, d.y_m + (gap or 25), text("landmark.grid", lang), "top center"))
    building = snapshot.building
    members = [d for d in devices if building and d.site == building.site and d.building == building.id]
    if members:
        x = sum(d.x_m for d in members) / len(members) - gap if gap else min(d.x_m for d in members) - 10
        out.append((x, sum(d.y_m for d in members) / len(members), text("landmark.building", lang), "middle left"))
    wind = [d for d in devices if d.kind == "wind"]
    if wind:
        out.append((sum(d.x_m for d in wind) / len(wind), max(d.y_m for d in wind) + (gap or wiring.ROTOR_M + 15),
                    text("landmark.wind", lang), "top center"))  # above its rotor (at town scale)
    return out


def kpis(snapshot, site: str | None = None):
    """The town-level figures are the home town's; a tapped district's come from its line of the city view."""
    if site is not None and site != _parts.home_site(snapshot):
        return district_kpis(snapshot, site)
    total = sum(1 for d in snapshot.devices if d.site == site_of(snapshot))
    online = sum(1 for d in snapshot.devices if d.site == site_of(snapshot) and d.state == "live")
    return [
        kpi("kpi.load", numbers.power(snapshot.load_now_w)),
        kpi("kpi.renewable_now", numbers.percent(snapshot.renewable_share_now), "accent-solar"),
        kpi("kpi.renewable_today", numbers.percent(snapshot.renewable_share_today)),
        kpi("kpi.co2", numbers.mass_kg(snapshot.co2_avoided_today_kg)),
        kpi("kpi.online", {"en": f"{online:,}/{total:,}", "zh": f"{online}/{total}"}),
        kpi("kpi.readings", numbers.count(snapshot.readings_today), "counter"),
    ]


def district_kpis(snapshot, site: str):
    now = _parts.site_now(snapshot, site)
    if now is None:
        return [kpi("kpi.load", numbers.power(None)), kpi("kpi.renewable_now", numbers.percent(None), "accent-solar")]
    clean_now = (min(1.0, (now.solar_now_w + now.wind_now_w) / now.load_now_w)
                 if now.load_now_w else None)
    return [
        kpi("kpi.load", numbers.power(now.load_now_w)),
        kpi("kpi.renewable_now", numbers.percent(clean_now), "accent-solar"),
        kpi("kpi.renewable_today", numbers.percent(now.renewable_share_today)),
        kpi("kpi.co2", numbers.mass_kg(now.co2_avoided_today_kg(snapshot.co2_kg_per_kwh))),
        kpi("kpi.online", {"en": f"{now.meters_online:,}/{now.meters:,}", "zh": f"{now.meters_online}/{now.meters}"}),
    ]


def share_now(snapshot, site: str | None) -> float | None:
    if site is None or site == _parts.home_site(snapshot):
        return snapshot.renewable_share_now
    now = _parts.site_now(snapshot, site)
    if now is None or not now.load_now_w:
        return None
    return min(1.0, (now.solar_now_w + now.wind_now_w) / now.load_now_w)


def caption(snapshot, site: str | None = None):
    """One sentence naming the town on the plan (and saying it is the town scale)."""
    site = site_of(snapshot, site)
    town = _parts.site_name(snapshot, site)
    share = share_now(snapshot, site)
    if share is None:
        return bilingual("caption.city.none", town=town)
    return bilingual("caption.city", share=numbers.percent(share), town=town)


def note(snapshot, site: str | None):
    """What the plan says while a tapped district's meters are on their way."""
    return bilingual("city.loading", "city-loading", town=_parts.site_name(snapshot, site))


def update(snapshot, lang: str, sent: dict, focus: str | None = None):
    site = site_of(snapshot, focus)
    home = _parts.home_site(snapshot)
    waiting = loading(snapshot, site)
    devices = [] if waiting else shown(snapshot, site)
    structure = {"lang": lang, "site": site, "waiting": waiting,
                 "devices": [(d.key, d.x_m, d.y_m, d.rated_w) for d in devices],
                 "up": [f.key for f in wiring.feeders_up(devices)[1]] if not gather.gathered(devices) else []}
    colours, symbols = marks_now(snapshot, devices, site)
    trunks = wiring.trunk_shapes(devices) if devices and not gather.gathered(devices) else []
    fresh = {"structure": digest(structure), "colours": digest(colours), "symbols": digest(symbols),
             "trunks": digest(trunks)}
    if sent.get("structure") != fresh["structure"]:
        figure = go.Figure(layout=theme.layout(xaxis=dict(visible=False), yaxis=dict(visible=False))) if waiting \
            else make_figure(snapshot, lang, site)
        _parts.chart_sent(fresh, snapshot)
    else:  # only the part that changed: colours every 5 s at most, symbols as soon as a meter goes offline or back
        _parts.chart_held(sent, fresh, ("colours", "trunks"), snapshot)
        figure = Patch() if any(sent.get(k) != fresh[k] for k in ("colours", "symbols", "trunks")) else no_update
        if sent.get("trunks") != fresh["trunks"]:  # a feeder's line stepped to another width
            figure["layout"]["shapes"] = trunks
        for trace, values in colours.items() if sent.get("colours") != fresh["colours"] else ():
            figure["data"][trace]["marker"]["color"] = values
        for trace, values in symbols.items() if sent.get("symbols") != fresh["symbols"] else ():
            figure["data"][trace]["marker"]["symbol"] = values
        if any(sent.get(k) != fresh[k] for k in ("colours", "trunks")):
            _parts.chart_sent(fresh, snapshot)
    strip = changed(sent, fresh, "kpis", [site, _kpi_data(snapshot, site)], lambda _: kpis(snapshot, site))
    line = changed(sent, fresh, "caption", [site, _parts.site_name(snapshot, site),
                                            numbers.percent(share_now(snapshot, site))],
                   lambda _: caption(snapshot, site))
    note_now = changed(sent, fresh, "note", [site, waiting, _parts.site_name(snapshot, site) if waiting else None],
                       lambda _: note(snapshot, site) if waiting else None)
    away = site is not None and site != home
    back = changed(sent, fresh, "back", [away, _parts.site_name(snapshot, home)],
                   lambda _: bilingual("city.back", town=_parts.site_name(snapshot, home)))
    back_style = changed(sent, fresh, "back_style", away, lambda a: {} if a else {"display": "none"})
    rpm = changed(sent, fresh, "rpm", wiring.rotor_rpm(devices), lambda r: f"{r:g}")
    return [figure, strip, line, note_now, back, back_style, rpm], fresh


def marks_now(snapshot, devices, site: str | None) -> tuple[dict, dict]:
    """{trace: colours} and {trace: symbols} of the plan's mark traces (see ``make_figure``): what a tick patches."""
    if not gather.gathered(devices):
        return {0: [round(colour_value(d), 2) for d in devices]}, {0: [_symbol(d) for d in devices]}
    zeb = zero_energy(snapshot, site)
    marks, own = gather.split(devices, zeb)
    return ({0: [round(gather.colour_value(m), 2) for m in marks], 2: [round(colour_value(d), 2) for d in own]},
            {0: [gather.symbol(m, zeb) for m in marks], 2: [_symbol(d) for d in own]})


def _kpi_data(snapshot, site: str | None = None):
    if site is not None and site != _parts.home_site(snapshot):
        return [repr(_parts.site_now(snapshot, site)), snapshot.co2_kg_per_kwh]
    return [numbers.power(snapshot.load_now_w), numbers.percent(snapshot.renewable_share_now),
            numbers.percent(snapshot.renewable_share_today), numbers.mass_kg(snapshot.co2_avoided_today_kg),
            snapshot.meters_online, len(snapshot.devices), snapshot.readings_today]


def register_callbacks(app, model) -> None:
    """A tap on a dot opens that meter's live values beside the plan; a tapped district is watched while it is
    shown; the back button, leaving the scene and the idle time return the plan to the home town."""
    @app.callback(Output("city-detail", "children"), Input(GRAPH, "clickData"), Input("bigdata-focus", "data"),
                  prevent_initial_call=True)
    def city_detail(click, _focus):
        if ctx.triggered_id == "bigdata-focus":
            return None  # another town on the plan: the meter tapped before is not on it
        device = (click or {}).get("points", [{}])[0].get("customdata")
        return detail(model.snapshot, device[0] if isinstance(device, list) and device else device)

    @app.callback(Output("city-watched", "data"), Input("bigdata-focus", "data"), Input("scene", "data"),
                  Input("city-rewatch", "n_intervals"))
    def watch(focus, scene, _n):
        return watch_district(model, focus if scene == SCENE.id else None)

    app.clientside_callback(
        ClientsideFunction("expo", "home"),
        Output("bigdata-focus", "data", allow_duplicate=True),
        Input("clock", "n_intervals"), Input("scene", "data"), Input("city-back", "n_clicks"),
        State("bigdata-focus", "data"), State("config", "data"), prevent_initial_call=True,
    )


def watch_district(model, site: str | None) -> str | None:
    """Ask the model to poll a district's meters (it polls the home town's always); the site asked for."""
    if not site or site == _parts.home_site(model.snapshot):
        return None
    watch = getattr(model, "watch", None)
    if watch is not None:
        watch(site)
    return site


def detail(snapshot, device_key: str | None):
    """What a visitor sees after tapping a dot (``site/device``): the meter's name, what it is, and what it does now."""
    if device_key and "/@" in device_key:
        return gathered_detail(snapshot, device_key)
    device = next((d for d in snapshot.devices if d.key == device_key), None)
    if device is None:
        return None
    return html.Div([
        both(device.name_en, device.name_zh, "detail-name"),
        both(kind_label(device, "en"), kind_label(device, "zh"), "detail-kind"),
        both(numbers.power(device.power_w)["en"], numbers.power(device.power_w)["zh"], "detail-value"),
        bilingual(f"status.{device.state}", "detail-state"),
    ])


def gathered_detail(snapshot, mark_id: str):
    """A gathered mark tapped: what it is (the building, or an area of the plan), its meters' count and power now,
    and the few doing the most."""
    site = mark_id.split("/@", 1)[0]
    zeb = zero_energy(snapshot, site)
    mark = gather.find(gather.split(shown(snapshot, site), zeb)[0], mark_id)
    if mark is None:
        return None
    b = snapshot.building
    if mark.building is not None and mark.building == zeb:
        title = both(b.name_en, b.name_zh, "detail-name")
    elif mark.building is not None:
        title = bilingual("plan.building", "detail-name", id=mark.building)
    else:
        title = bilingual("plan.area", "detail-name")
    n = {"en": f"{len(mark.meters):,}", "zh": str(len(mark.meters))}
    rows = [both(f"{d.name_en}: {numbers.power(d.power_w)['en']}", f"{d.name_zh}：{numbers.power(d.power_w)['zh']}",
                 "detail-kind") for d in gather.biggest(mark)]
    return html.Div([
        title,
        bilingual("plan.count", "detail-kind", n=n, kinds={"en": gather.kinds(mark, "en"), "zh": gather.kinds(mark, "zh")}),
        both(numbers.power(mark.power_w)["en"], numbers.power(mark.power_w)["zh"], "detail-value"),
        *rows,
    ])
