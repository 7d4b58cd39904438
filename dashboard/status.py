"""The engineer view (/status): every device's last word, ingest's counters, and what was quarantined.

It is plain server-rendered HTML refreshed every 5 s (and /status.json for
scripts), not a Dash page, so it shares no callback route with the open
kiosk scenes and can be protected on its own: when a password is configured
(``EXPO_DASHBOARD_PASSWORD``), /status and /status.json ask for it with HTTP
Basic auth, while the visitor scenes stay open. There is no login session to
expire on a kiosk.
"""

from __future__ import annotations

import base64
import hmac
import html
import json
import time
from collections import Counter

from flask import Flask, Response, request

from expo.kinds import KINDS

REJECTED_SHOWN = 50
STYLE = """body { background: #0B1020; color: #F2F4F8; font-family: "Expo Sans SC", sans-serif; margin: 2em; font-size: 16px; }
h1 { font-size: 28px; } h2 { font-size: 22px; margin-top: 1.5em; }
a { color: #56B4E9; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #2A3350; padding: 4px 8px; text-align: left; vertical-align: top; }
th { color: #B8C2D6; }
tr.offline .state { color: #FF6B6B; font-weight: 700; }
tr.stale .state { color: #FFB000; font-weight: 700; }
tr.live .state { color: #3DDC84; }
code { white-space: pre-wrap; word-break: break-all; color: #B8C2D6; }
.error { background: #FFB000; color: #0B1020; padding: 0.5em 1em; font-weight: 700; }
.health { width: auto; }
"""
SAMPLE_BYTES = 300


def _authorised(password: str | None) -> bool:
    if not password:
        return True
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        _user, _, given = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(given.encode(), password.encode())


def _challenge() -> Response:
    return Response("This page needs the engineer password.\n", 401,
                    {"WWW-Authenticate": 'Basic realm="energy-expo engineer view", charset="UTF-8"'})


def status_data(model) -> dict:
    """Everything the engineer view shows, as plain data (also served as /status.json)."""
    snapshot = model.snapshot
    health, rejected, error = snapshot.health, snapshot.rejected[:REJECTED_SHOWN], snapshot.store_error
    now = time.time()
    return {
        "generated_s": now,
        "store_ok": snapshot.store_ok and not error,
        "store_error": error,
        "newest_reading_s": snapshot.newest_ts_s,
        "replay_speed": snapshot.replay_speed,  # history arriving faster than real time (an accelerated simulator)
        "devices": [
            {"device": d.device, "site": d.site, "kind": d.kind, "name_en": d.name_en, "name_zh": d.name_zh,
             "source": d.source, "state": d.state, "last_seen_s": d.ts_s,
             "replayed": bool(snapshot.replay_speed) and d.state != "offline",
             "age_s": None if d.ts_s is None else round(now - d.ts_s, 1), "metrics": d.metrics}
            for d in snapshot.devices
        ],
        "health": health,
        "rejected_by_reason": dict(Counter(r.reason for r in rejected)),
        "rejected": [
            {"received_s": r.received_s, "topic": r.topic, "reason": r.reason, "detail": r.detail,
             "payload": r.payload[:SAMPLE_BYTES].decode("utf-8", "replace")}
            for r in rejected
        ],
    }


def _age(seconds) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def render(data: dict) -> str:
    e = html.escape
    states = Counter(d["state"] for d in data["devices"])
    rows = "".join(
        f'<tr class="{e(d["state"])}"><td>{e(d["device"])}</td><td>{e(d["name_en"])}<br>{e(d["name_zh"])}</td>'
        f'<td>{e(KINDS[d["kind"]].label_en if d["kind"] in KINDS else d["kind"])}</td><td>{e(d["source"])}</td>'
        f'<td class="state">{e(d["state"])}{" (replayed)" if d["replayed"] else ""}</td>'
        f'<td>{e(_age(d["age_s"]))}</td>'
        f'<td>{e(", ".join(f"{k}={v:g}" for k, v in sorted(d["metrics"].items())))}</td></tr>'
        for d in sorted(data["devices"], key=lambda d: ({"offline": 0, "stale": 1, "live": 2}[d["state"]], d["device"]))
    )
    health = "".join(f"<tr><td>{e(k)}</td><td>{v:,.6g}</td></tr>" for k, v in sorted(data["health"].items())) \
        or '<tr><td colspan="2">no counters from ingest yet</td></tr>'
    reasons = "".join(f"<li>{e(k)}: {v}</li>" for k, v in sorted(data["rejected_by_reason"].items()))
    samples = "".join(
        f'<tr><td>{e(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["received_s"])))}</td><td>{e(r["reason"])}</td>'
        f'<td>{e(r["topic"])}</td><td>{e(r["detail"])}</td><td><code>{e(r["payload"])}</code></td></tr>'
        for r in data["rejected"]
    )
    banner = "" if data["store_ok"] else f'<p class="error">Store not answering: {e(data["store_error"])}</p>'
    newest = data["newest_reading_s"]
    newest_text = "none yet" if newest is None else f'{_age(data["generated_s"] - newest)}'
    if data["replay_speed"]:
        newest_text += f' — history is being replayed at {data["replay_speed"]:.0f}x real time'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Engineer view · 工程师视图 — energy-expo</title>
<style>{STYLE}</style></head>
<body><h1>Engineer view · 工程师视图</h1>{banner}
<p class="summary">Devices: {len(data["devices"])} — live {states.get("live", 0)}, stale {states.get("stale", 0)},
offline {states.get("offline", 0)}. Newest reading: {e(newest_text)}. Refreshes every 5 s;
<a href="/status.json">JSON</a> · <a href="/">kiosk</a>.</p>
<h2>Ingest health · 采集服务状态</h2><table class="health">{health}</table>
<h2>Quarantined messages · 隔离的消息</h2><ul>{reasons or "<li>none</li>"}</ul>
<table class="rejected"><tr><th>received</th><th>reason</th><th>topic</th><th>detail</th><th>payload (start)</th></tr>
{samples}</table>
<h2>Devices · 设备</h2>
<table class="devices"><tr><th>device</th><th>name</th><th>kind</th><th>source</th><th>state</th><th>last seen</th>
<th>last values</th></tr>{rows}</table></body></html>"""


def register(server: Flask, model, password: str | None) -> None:
    @server.route("/status")
    def status_page():
        if not _authorised(password):
            return _challenge()
        return Response(render(status_data(model)), mimetype="text/html")

    @server.route("/status.json")
    def status_json():
        if not _authorised(password):
            return _challenge()
        return Response(json.dumps(status_data(model), ensure_ascii=False), mimetype="application/json")

    @server.route("/healthz")
    def healthz():
        """For a supervisor or compose healthcheck: 200 while the page can be served."""
        snapshot = model.snapshot
        return Response(json.dumps({"store_ok": snapshot.store_ok, "version": snapshot.version}),
                        mimetype="application/json")
