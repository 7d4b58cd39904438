"""What-if buttons for the scenes that offer them, and the banner that says a what-if is in force.

A scene offers what it can show: the town the sky, its rooftops, its
chargers and its wind; the building its sky, the heat, its battery and its
chargers. A press sends a command (``dashboard.control``) and nothing else:
the figures change when the readings made under it arrive, and the banner
appears when the simulator's span does, both through ingest and the store.
The buttons show only on a screen that can be touched (not ``?role=wall``),
for a town the simulator makes, and when the dashboard has a broker. A
what-if about the sun or the wind shows only while the town's arrays or
turbines make something: a cloud passing at night changes nothing a visitor
could see, and a button that does nothing teaches that none of them does
(Home Assistant's flow drawing the sun at night is the lesson).
"""

from __future__ import annotations

from dash import ALL, Input, Output, State, ctx, html, no_update

from dashboard.i18n import both, text
from expo.whatif import ACTIONS

OFFERED = {
    "city": ("cloud", "double_pv", "ev_rush", "calm"),
    "zeb": ("cloud", "heat_wave", "battery_off", "ev_rush"),
}
SIMULATED = ("simulated", "mixed")  # a town with a simulator behind it (Snapshot.provenance)
NEEDS = {"cloud": "pv", "double_pv": "pv", "calm": "wind"}  # a what-if shown only while this kind makes power
AT_WORK = 0.02  # ... at least this share of its meters' rated power


def buttons(scene: str) -> html.Div:
    return html.Div(
        [html.Span(both("What if…", "如果…"), className="whatif-ask")] + [
            html.Button(both(ACTIONS[name].label_en, ACTIONS[name].label_zh), n_clicks=0, className="whatif-button",
                        id={"type": "whatif", "scene": scene, "action": name})
            for name in OFFERED[scene]],
        id={"type": "whatif-row", "scene": scene}, className="whatif-buttons", style={"display": "none"})


def offered(snapshot, commander) -> bool:
    return commander.available and snapshot.provenance in SIMULATED and snapshot.home_site is not None


def meaningful(snapshot, action: str) -> bool:
    """Whether the what-if would change something on screen now: the home town's meters of the kind it acts on
    make at least ``AT_WORK`` of their rated power (the sun is up, the wind blows)."""
    kind = NEEDS.get(action)
    if kind is None:
        return True
    meters = [d for d in snapshot.devices if d.kind == kind and d.site == snapshot.home_site and d.state == "live"]
    rated = sum(d.rated_w for d in meters)
    return rated > 0 and sum(max(d.power_w or 0.0, 0.0) for d in meters) >= AT_WORK * rated


def banner(snapshot, now_s: float):
    """'what-if: a cloud passes · 假设：云层飘过 · 0:42' (the time left), the page's language first; None when none."""
    span = snapshot.whatif
    if span is None:
        return None
    left_s = max(0, round(span.ends_at_s - now_s))
    left = f"{left_s // 60}:{left_s % 60:02d}"
    en, zh = text("whatif.banner", "en", what=span.name_en), text("whatif.banner", "zh", what=span.name_zh)
    return both(f"{en} · {zh} · {left}", f"{zh} · {en} · {left}")


CHECK_MS = 3_000  # how often a page asks whether what-ifs are offered and which mean something now


def register_callbacks(app, model, commander) -> None:
    scenes = list(OFFERED)

    # Whether what-ifs are offered at all, and which of them mean something now (a cloud at night does not): asked
    # every CHECK_MS on an interval of its own, in one request, not with every second's refresh. They change with
    # the hour, the weather and the what-if in force, and every callback on the page's one-second tick costs the
    # kiosk's browser a round of Dash's work each second.
    @app.callback(Output({"type": "whatif-row", "scene": ALL}, "style"),
                  Output({"type": "whatif", "scene": ALL, "action": ALL}, "style"),
                  Input("whatif-tick", "n_intervals"),
                  State({"type": "whatif-row", "scene": ALL}, "style"),
                  State({"type": "whatif", "scene": ALL, "action": ALL}, "style"))
    def show(_tick, rows, buttons):
        row = {} if offered(model.snapshot, commander) else {"display": "none"}
        ids = [o["id"] for o in ctx.outputs_list[1]]
        wanted = [{} if meaningful(model.snapshot, i["action"]) else {"display": "none"} for i in ids]
        return ([no_update if style == row else row for style in rows],
                [no_update if (style or {}) == want else want for style, want in zip(buttons, wanted)])

    @app.callback(Output("whatif-sent", "data"), Input({"type": "whatif", "scene": ALL, "action": ALL}, "n_clicks"),
                  prevent_initial_call=True)
    def press(clicks):
        pressed = ctx.triggered_id
        if not pressed or not any(clicks) or not offered(model.snapshot, commander) or not meaningful(
                model.snapshot, pressed["action"]):
            return no_update
        site = model.snapshot.home_site
        sent = commander.send(site, pressed["action"])
        return {"site": site, "action": pressed["action"], "sent": sent, "scenes": scenes}
