"""The engineer view (/status): every device's last word, ingest's counters, and what was quarantined.

It is a plain server-rendered page refreshed every 5 s (and /status.json for
scripts), not a Dash page, so it shares no callback route with the open
kiosk scenes and can be protected on its own: when a password is configured
(``EXPO_DASHBOARD_PASSWORD``), /status and /status.json ask for it with HTTP
Basic auth, while the visitor scenes stay open. Without one they answer only
over loopback (403 with the reason to anyone else): a dashboard started with
``--host 0.0.0.0`` for the hall's screens does not hand raw payloads and device
addresses to the hall's network. There is no login session to expire on a kiosk.

It lists the devices of the home site and of the sites being watched (a
city's 20,000 meters are never read at once): ``?site=<id>`` watches that
site, so its devices are listed from the next poll on, while the page keeps
asking (``ExhibitModel.watch``). Every site's meters online come from the
city's figures.

Device names, topics and payloads come from other people's firmware, so the
page is a Jinja2 template with autoescaping on: nothing reaches the HTML
unescaped unless the template says so, and it never does. Its words are in
the one translation table, in the page's language (``?lang=zh`` / ``?lang=en``).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import time
from collections import Counter

import jinja2
from flask import Flask, Response, request

from dashboard.i18n import LANGS, text
from expo.kinds import KINDS
from expo.store import INGEST_SILENT_S
from expo.timeutil import age_parts

REJECTED_SHOWN = 50
INGEST_FIGURES = ("connected", "store_down", "received", "readings_written", "readings_spooled", "rejected",
                  "queue_length", "registry_meters")
SAMPLE_BYTES = 300
STATE_ORDER = {"offline": 0, "stale": 1, "live": 2}  # what needs an engineer first

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("dashboard", "templates"),
    autoescape=True,  # every value is escaped: payloads and names are untrusted
    undefined=jinja2.StrictUndefined,  # a misspelt field fails the page's test, not silently blank
    trim_blocks=True, lstrip_blocks=True,
)


def _authorised(password: str | None) -> bool:
    if not password:
        return True
    auth = request.authorization  # Werkzeug parses the header; a malformed one is None
    if auth is None or auth.type != "basic" or auth.password is None:
        return False
    return hmac.compare_digest(auth.password.encode(), password.encode())


def _from_this_machine() -> bool:
    """Whether the request comes over loopback: without a password the engineer view (raw payloads, device
    addresses) answers only there, never to the hall's network."""
    try:
        return ipaddress.ip_address((request.remote_addr or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def _closed() -> Response:
    return Response("The engineer view answers only on this machine until a password is set "
                    "(EXPO_DASHBOARD_PASSWORD; then HTTP Basic, any user name).\n", 403,
                    {"Content-Type": "text/plain; charset=utf-8"})


def _refused(password: str | None) -> Response | None:
    """The answer that stands in for the page: a challenge when a password is set and not given, a refusal
    when none is set and the request comes from beyond this machine; None: serve the page."""
    if not password:
        return None if _from_this_machine() else _closed()
    return None if _authorised(password) else _challenge()


def _challenge() -> Response:
    return Response("This page needs the engineer password.\n", 401,
                    {"WWW-Authenticate": 'Basic realm="energy-expo engineer view", charset="UTF-8"'})


def status_data(model, site: str | None = None) -> dict:
    """Everything the engineer view shows, as plain data (also served as /status.json); ``site``: list that
    site's devices too (it is watched)."""
    if site:
        model.watch(site)
    snapshot = model.snapshot
    city_sites = snapshot.city.sites if snapshot.city is not None else ()
    health, rejected, error = snapshot.health, snapshot.rejected[:REJECTED_SHOWN], snapshot.store_error
    now = model.clock()
    return {
        "generated_s": now,
        "store_ok": snapshot.store_ok and not error,
        "store_error": error,
        "newest_reading_s": snapshot.newest_ts_s,
        "replay_speed": snapshot.replay_speed,  # history arriving faster than real time (an accelerated simulator)
        "devices": [
            {"device": d.device, "site": d.site, "kind": d.kind, "name_en": d.name_en, "name_zh": d.name_zh,
             "source": d.source, "state": d.state, "last_seen_s": d.ts_s,
             "replayed": bool(snapshot.replay_speed) and d.state != "offline", "offline_since_s": d.offline_since_s,
             "age_s": None if d.ts_s is None else round(now - d.ts_s, 1), "metrics": d.metrics}
            for d in snapshot.devices
        ],
        "home_site": snapshot.home_site,
        "sites": [
            {"site": s.site, "name_en": s.name_en, "name_zh": s.name_zh, "meters": s.meters,
             "meters_online": s.meters_online, "home": s.site == snapshot.home_site,
             "shown": s.site in snapshot.watched}
            for s in city_sites
        ],
        "building_balance": balance_data(snapshot.building),
        "forecast": forecast_data(snapshot.forecast, snapshot.forecast_score),
        "ingest_processes": [
            {"process": p.process, "written_s": p.written_s, "age_s": round(now - p.written_s, 1),
             "silent": now - p.written_s > INGEST_SILENT_S, "figures": p.figures}
            for p in snapshot.ingest
        ],
        "alarms": [
            {"kind": a.kind, "site": a.site, "subject": a.subject, "since_s": a.since_s, "detail": a.detail}
            for a in snapshot.alarms
        ],
        "discovered": [
            {"site": d.site, "family": d.family, "key": d.key, "device": d.device, "name": d.name, "model": d.model,
             "address": d.address, "measures": d.measures, "seen_s": d.seen_s, "placed": placed,
             "readings_as": list(ids)}
            for d, placed, ids in snapshot.discovered
        ],
        "topics_seen": [
            {"topic": x.topic, "messages": x.messages, "window_s": x.window_s, "seen_s": x.seen_s,
             "sample": x.sample[:SAMPLE_BYTES].decode("utf-8", "replace")}
            for x in snapshot.topics_seen
        ],
        "health": health,
        "rejected_by_reason": dict(Counter(r.reason for r in rejected)),
        "rejected": [
            {"received_s": r.received_s, "topic": r.topic, "reason": r.reason, "detail": r.detail,
             "payload": r.payload[:SAMPLE_BYTES].decode("utf-8", "replace")}
            for r in rejected
        ],
    }


def balance_data(building) -> dict | None:
    """The zero-energy building's energy balance now (``model.balance``): the residual the building scene does not
    draw, for the engineer to act on when it is beyond its tolerance."""
    b = building.balance if building is not None else None
    if b is None:
        return None
    return {"site": building.site, "building": building.id, "pv_w": round(b.pv_w, 1), "grid_w": round(b.grid_w, 1),
            "storage_w": round(b.storage_w, 1), "loads_w": round(b.loads_w, 1),
            "residual_w": None if b.residual_w is None else round(b.residual_w, 1),
            "tolerance_w": round(b.tolerance_w, 1), "within_tolerance": b.within_tolerance, "daylight": b.daylight}


def forecast_data(forecast, score) -> dict | None:
    """Today's forecast (how it was made) and the morning's against what happened (``model.forecast``)."""
    if forecast is None:
        return None
    out = {"made_s": forecast.made_s, "solar_basis": forecast.solar_basis, "load_basis": forecast.load_basis,
           "cover": None if forecast.cover is None else round(forecast.cover, 3), "score": None}
    if score is not None:
        out["score"] = {
            "made_s": score.made_s, "slots": score.slots,
            "solar_mae_w": None if score.solar_mae_w is None else round(score.solar_mae_w, 1),
            "load_mae_w": None if score.load_mae_w is None else round(score.load_mae_w, 1),
            "solar_rated_w": round(score.solar_rated_w, 1), "load_peak_w": round(score.load_peak_w, 1)}
    return out


def _forecast_text(data: dict | None, t) -> list[str]:
    """The forecast's lines in the page's language: how it is made, then the morning's error."""
    if data is None:
        return [t("status.forecast.none")]
    at = lambda s: time.strftime("%H:%M", time.localtime(s))  # noqa: E731
    cover = "—" if data["cover"] is None else f"{data['cover'] * 100:.0f}%"
    lines = [t("status.forecast.how", made=at(data["made_s"]), solar=t(f"status.forecast.basis.{data['solar_basis']}"),
               load=t(f"status.forecast.basis.{data['load_basis']}"), cover=cover)]
    score = data["score"]
    if score is None:
        lines.append(t("status.forecast.no_score"))
        return lines

    def error(mae, of) -> str:
        if mae is None:
            return "—"
        share = f" ({mae / of * 100:.1f}%)" if of > 0 else ""
        return f"{mae / 1000:,.1f} kW{share}"
    lines.append(t("status.forecast.score", made=at(score["made_s"]), slots=str(score["slots"]),
                   solar=error(score["solar_mae_w"], score["solar_rated_w"]),
                   load=error(score["load_mae_w"], score["load_peak_w"])))
    return lines


def _balance_text(data: dict | None, t) -> tuple[str, str] | None:
    """(the balance as a sum, its verdict) in the page's language."""
    if data is None:
        return None
    kw = lambda w: f"{w / 1000:,.1f} kW"  # noqa: E731
    if data["residual_w"] is None:
        return "", t("status.balance.unchecked")
    line = t("status.balance.line", pv=kw(data["pv_w"]), grid=kw(data["grid_w"]), storage=kw(data["storage_w"]),
             loads=kw(data["loads_w"]), residual=kw(data["residual_w"]), tolerance=kw(data["tolerance_w"]))
    return line, t("status.balance.ok" if data["within_tolerance"] else "status.balance.off")


def _kind_label(kind: str, lang: str) -> str:
    known = KINDS.get(kind)
    if known is None:
        return kind
    return known.label_zh if lang == "zh" else known.label_en


def _source_label(source: str, lang: str) -> str:
    return text(f"status.{source}", lang) if source in ("simulated", "meter") else source


def render(data: dict, lang: str = "en") -> str:
    """The page, in ``lang``; every value is escaped by the template."""
    def t(key: str, **fields) -> str:
        return text(key, lang, **fields)

    def age(age_s) -> str:
        if age_s is None:
            return t("status.never")
        figure, unit = age_parts(age_s)
        return t(f"status.age.{unit}", n=figure)

    states = Counter(d["state"] for d in data["devices"])
    devices = [
        {"state": d["state"], "device": f"{d['site']}/{d['device']}", "name_en": d["name_en"], "name_zh": d["name_zh"],
         "kind": _kind_label(d["kind"], lang), "source": _source_label(d["source"], lang),
         "state_label": t(f"status.{d['state']}") if not d.get("offline_since_s") else t(
             "status.offline_since", since=time.strftime("%H:%M", time.localtime(d["offline_since_s"]))),
         "replayed": d["replayed"], "age": age(d["age_s"]),
         "last_values": ", ".join(f"{k}={v:g}" for k, v in sorted(d["metrics"].items()))}
        for d in sorted(data["devices"], key=lambda d: (STATE_ORDER[d["state"]], d["site"], d["device"]))
    ]
    processes = [
        {"process": p["process"], "age": age(p["age_s"]),
         "silent": p["silent"] or bool(p["figures"].get("registry_broken")),
         "state": t("status.ingest.silent", since=time.strftime("%H:%M", time.localtime(p["written_s"])))
         if p["silent"] else t("status.ingest.registry_broken") if p["figures"].get("registry_broken")
         else t("status.ingest.writing"),
         "figures": ", ".join(f"{k}={p['figures'][k]:,.6g}" for k in INGEST_FIGURES if k in p["figures"])}
        for p in data["ingest_processes"]
    ]
    newest = data["newest_reading_s"]
    newest_text = t("status.newest.none") if newest is None else age(data["generated_s"] - newest)
    if data["replay_speed"]:
        newest_text += " — " + t("status.replaying", speed=f"{data['replay_speed']:.0f}")
    return _TEMPLATES.get_template("status.html").render(
        t=t, lang=lang, other_lang="en" if lang == "zh" else "zh", html_lang="zh-CN" if lang == "zh" else "en",
        store_ok=data["store_ok"], store_error=data["store_error"], devices=devices, sites=data["sites"],
        balance=_balance_text(data["building_balance"], t), processes=processes,
        forecast=_forecast_text(data.get("forecast"), t),
        discovered=[dict(d, age=age(data["generated_s"] - d["seen_s"])) for d in data["discovered"] if not d["placed"]],
        placed_n=sum(d["placed"] for d in data["discovered"]), topics=data["topics_seen"],
        alarms=[dict(a, what=t(f"status.alarm.{a['kind']}"),
                     since=time.strftime("%Y-%m-%d %H:%M", time.localtime(a["since_s"])))
                for a in data.get("alarms", [])],
        topics_window=t("status.topics.window", window=f"{data['topics_seen'][0]['window_s']:.0f}",
                        ago=age(data["generated_s"] - data["topics_seen"][0]["seen_s"])) if data["topics_seen"] else "",
        balance_ok=data["building_balance"] is None or data["building_balance"]["within_tolerance"],
        summary=t("status.summary", total=len(data["devices"]), live=states.get("live", 0),
                  stale=states.get("stale", 0), offline=states.get("offline", 0)),
        newest=t("status.newest", age=newest_text),
        health=[(k, f"{v:,.6g}") for k, v in sorted(data["health"].items())],
        reasons=sorted(data["rejected_by_reason"].items()),
        rejected=[dict(r, received=time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["received_s"])))
                  for r in data["rejected"]],
    )


def register(server: Flask, model, password: str | None, language: str = "zh") -> None:
    """/status in ``language`` unless the address asks for the other (``?lang=``)."""
    @server.route("/status")
    def status_page():
        if (refused := _refused(password)) is not None:
            return refused
        lang = request.args.get("lang")
        return Response(render(status_data(model, request.args.get("site")), lang if lang in LANGS else language),
                        mimetype="text/html")

    @server.route("/status.json")
    def status_json():
        if (refused := _refused(password)) is not None:
            return refused
        return Response(json.dumps(status_data(model, request.args.get("site")), ensure_ascii=False),
                        mimetype="application/json")

    @server.route("/healthz")
    def healthz():
        """For a supervisor or compose healthcheck: 200 while the page can be served."""
        snapshot = model.snapshot
        return Response(json.dumps({"store_ok": snapshot.store_ok, "version": snapshot.version}),
                        mimetype="application/json")
