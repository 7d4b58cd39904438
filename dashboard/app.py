"""The Dash app: the kiosk's frame around the scenes, one refresh callback, and the engineer view.

Layout of a page: a top bar (title, the place the scene shows — the building,
the town, the city — local clock, freshness badge, language toggle, rotation
dots), the banner that appears when data cannot be fetched,
and every scene stacked in one place, the active one visible. All scenes stay
mounted, so a rotation is a CSS fade, not a rebuild: the page's memory does
not grow with the number of rotations.

Server work per tick is one callback that reads the model's newest snapshot
and returns what changed for the visible scene; rotation, language, the clock,
the badge and the lost-connection banner run in the browser
(``assets/kiosk.js``), so they keep working while the server is away. A scene
that needs callbacks of its own (the town plan's tap) registers them itself
(``register_callbacks``); the app calls it for every scene it finds and knows
no scene by name.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from pathlib import Path

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, dcc, html

from dashboard import scenes as scene_plugins
from dashboard.i18n import TEXT, bilingual, both, text
from dashboard.model import ExhibitModel
from dashboard.control import Commander
from dashboard.scenes import _whatif as whatif
from dashboard.scenes._parts import digest, place

ASSETS = Path(__file__).parent / "assets"


@dataclass(frozen=True)
class KioskSettings:
    kiosk: bool = False
    rotate_s: float = 20.0
    idle_s: float = 60.0
    alternate_languages: bool = False
    language: str = "zh"
    refresh_ms: int = 1000
    rotation: tuple[str, ...] = ()  # scene ids in rotation order; () tells the story (scenes.story); ?rotation= too


CLIENT_TEXT = ("badge.live", "badge.delayed", "badge.none", "badge.replay")  # what assets/kiosk.js writes itself


def _client_text() -> dict:
    return {k: {"en": TEXT[k][0], "zh": TEXT[k][1]} for k in CLIENT_TEXT}


def frame(scenes, settings: KioskSettings, timezone: str):
    first = scenes[0].SCENE.id
    config = {
        "kiosk": settings.kiosk, "rotate_ms": int(settings.rotate_s * 1000), "idle_ms": int(settings.idle_s * 1000),
        "alternate": settings.alternate_languages, "scenes": [m.SCENE.id for m in scenes], "timezone": timezone,
        "language": settings.language,
        "text": _client_text(),
    }
    # the classes kiosk.js's ``show`` sets, from the first frame: when the page opens on the first scene the
    # rotation changes nothing, and Dash then never calls ``show`` until the scene changes
    return html.Div(id="root", className=f"lang-{settings.language} scene-{first}", children=[
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="config", data=config),
        dcc.Store(id="scene", data=first),
        dcc.Store(id="lang", data=settings.language),
        dcc.Store(id="sent", data={}),
        dcc.Store(id="beat", data=None),
        dcc.Store(id="bigdata-focus"),  # the district a visitor tapped on the city's map (None: the home town)
        dcc.Store(id="whatif-sent"),  # the last what-if this page sent (scenes/_whatif.py)
        dcc.Interval(id="whatif-tick", interval=whatif.CHECK_MS),  # whether what-ifs are offered, now
        dcc.Interval(id="tick", interval=settings.refresh_ms),
        dcc.Interval(id="clock", interval=1000),
        html.Header(className="topbar", children=[
            html.Div([bilingual("app.title", "title"),
                      html.Span(id="subtitle", className="subtitle")],  # the place of the scene's scale (refresh)
                     className="titles"),
            html.Div([
                html.Nav([
                    html.Button(id={"type": "nav", "id": m.SCENE.id}, n_clicks=0, title=TEXT[m.SCENE.title][0],
                                className="nav-dot active" if m.SCENE.id == first else "nav-dot")
                    for m in scenes
                ] + [bilingual("nav.paused", "paused-note")], className="nav"),
                html.Span(id="local-clock", className="clock"),
                html.Span(id="provenance", className="provenance"),  # "simulated · 模拟数据" (refresh)
                html.Span(id="badge", className="badge badge-none"),
                html.Button(bilingual("lang.toggle"), id="lang-toggle", className="lang-toggle", n_clicks=0),
            ], className="status"),
        ]),
        html.Div([bilingual("banner.server", "banner-server"), bilingual("banner.store", "banner-store")],
                 id="banner", className="banner"),
        html.Div(id="whatif-banner", className="whatif-banner"),  # "what-if: a cloud passes · 0:42" while in force
        html.Main(className="scenes", children=[
            html.Section(
                [html.H1([bilingual(m.SCENE.title), scale_ladder(m.SCENE.scale)], className="scene-title"),
                 *m.layout()],
                id={"type": "scene", "id": m.SCENE.id},
                className="scene active" if m.SCENE.id == first else "scene",
            )
            for m in scenes
        ]),
    ])


def scale_ladder(scale: str) -> html.Span:
    """Building › town › city beside every scene's title, the visitor's place on that scale lit."""
    steps = []
    for i, step in enumerate(scene_plugins.SCALES):
        if i:
            steps.append(html.Span("›", className="scale-sep"))
        steps.append(bilingual(scene_plugins.SCALE_TEXT[step], "scale-step here" if step == scale else "scale-step"))
    return html.Span(steps, className="scale")


def create_app(model: ExhibitModel, settings: KioskSettings = KioskSettings(), status_password: str | None = None,
               commander: Commander | None = None) -> dash.Dash:
    """``commander``: where a visitor's what-if goes (the simulator's control topic); None offers none."""
    commander = commander or Commander(None)
    scenes = scene_plugins.story(scene_plugins.discover(), settings.rotation)
    app = dash.Dash(
        __name__,
        assets_folder=str(ASSETS),
        serve_locally=True,  # nothing from a CDN: exhibits are often offline
        title="城市能源大数据中心 · Urban Energy Big-Data Centre",
        update_title=None,  # no "Updating..." flicker in the tab title every second
        suppress_callback_exceptions=False,
    )
    app.layout = lambda: frame(scenes, settings, model.settings.timezone)
    by_id = {m.SCENE.id: m for m in scenes}
    outputs = [Output("beat", "data"), Output("sent", "data"), Output("subtitle", "children"),
               Output("provenance", "children"), Output("whatif-banner", "children")]
    takes = {m.SCENE.id: set(inspect.signature(m.update).parameters) & {"focus"} for m in scenes}
    slices = {}
    for m in scenes:
        start = len(outputs)
        outputs.extend(m.outputs())
        slices[m.SCENE.id] = (start, len(outputs))

    @app.callback(outputs, Input("tick", "n_intervals"), Input("scene", "data"), Input("lang", "data"),
                  Input("bigdata-focus", "data"), State("sent", "data"))
    def refresh(_tick, scene, lang, focus, sent):
        snapshot = model.snapshot
        values = [dash.no_update] * len(outputs)
        values[0] = beat(snapshot)
        sent = dict(sent or {})
        module = by_id.get(scene) or scenes[0]
        lang = lang if lang in ("zh", "en") else "zh"
        extra = {"focus": focus} if "focus" in takes[module.SCENE.id] else {}
        scene_values, fresh = module.update(snapshot, lang, (sent.get(module.SCENE.id) or {}), **extra)
        start, end = slices[module.SCENE.id]
        values[start:end] = scene_values
        # a scene not on screen forgets what it showed, so it is drawn in full when it comes back
        sent_place, sent_provenance = sent.get("_place"), sent.get("_provenance", "")
        sent = {module.SCENE.id: fresh, "_whatif": sent.get("_whatif")}
        where = subtitle(snapshot, module, focus)
        sent["_place"] = digest(where)
        values[2] = dash.no_update if sent_place == sent["_place"] else both(where["en"], where["zh"])
        sent["_provenance"] = snapshot.provenance
        values[3] = dash.no_update if sent_provenance == sent["_provenance"] else provenance(snapshot.provenance)
        now = time.time()
        banner = whatif.banner(snapshot, now)
        sent_banner = sent.get("_whatif")
        sent["_whatif"] = digest(repr(banner))
        values[4] = dash.no_update if sent_banner == sent["_whatif"] else banner
        values[1] = sent
        return values

    if any(m.SCENE.id in whatif.OFFERED for m in scenes):  # a rotation without them has no button to press
        whatif.register_callbacks(app, model, commander)
    for m in scenes:  # a scene's own callbacks (the town plan's tap), registered with no special case here
        register = getattr(m, "register_callbacks", None)
        if register is not None:
            register(app, model)

    app.clientside_callback(
        ClientsideFunction("expo", "rotate"),
        Output("scene", "data"), Output("lang", "data"),
        Input("clock", "n_intervals"), Input({"type": "nav", "id": ALL}, "n_clicks"), Input("lang-toggle", "n_clicks"),
        State("scene", "data"), State("lang", "data"), State("config", "data"), State("url", "search"),
    )
    app.clientside_callback(
        ClientsideFunction("expo", "show"),
        Output({"type": "scene", "id": ALL}, "className"), Output({"type": "nav", "id": ALL}, "className"),
        Output("root", "className"),
        Input("scene", "data"), Input("lang", "data"), State("config", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("expo", "watch"),
        Output("badge", "children"), Output("badge", "className"), Output("banner", "className"),
        Output("local-clock", "children"),
        Input("clock", "n_intervals"), State("beat", "data"), State("lang", "data"), State("config", "data"),
    )
    from dashboard import status

    status.register(app.server, model, status_password, settings.language)
    return app


def subtitle(snapshot, module, focus=None) -> dict:
    """The place of the scene's scale beside the title: the building, the town on the plan, or the city."""
    own = getattr(module, "place", None)
    if own is not None:
        return own(snapshot, focus)
    return place(snapshot, module.SCENE.scale)


def provenance(which: str | None):
    """Where the data comes from, in both languages at once, the page's own first: a visitor reading either
    language learns that it is simulated."""
    if which is None:
        return None
    key = f"provenance.{which}"
    en, zh = text(key, "en"), text(key, "zh")
    return both(f"{en} · {zh}", f"{zh} · {en}")


def beat(snapshot) -> dict:
    """What the browser needs to judge freshness on its own, even after it loses the server."""
    newest = snapshot.newest_ts_s
    return {
        "version": snapshot.version,
        "sent_s": time.time(),  # changes with every answer, so the page can tell the server is still there
        "server_s": snapshot.taken_s,
        "newest_s": newest,
        "newest_local": snapshot.local(newest).strftime("%H:%M") if newest else None,
        "freshness": snapshot.freshness,
        "replay_speed": round(snapshot.replay_speed) if snapshot.replay_speed else None,
        "live_s": snapshot.live_s,
        "store_ok": snapshot.store_ok,
    }

