"""The engineer view: what it lists, and that a configured password guards it but not the kiosk."""

from __future__ import annotations

import base64

import pytest

from dashboard.app import KioskSettings, create_app
from dashboard.model import ENGINEER_EVERY_S, ExhibitModel, ModelSettings
from expo.store import Batch, Rejected
from tests.dashboard.conftest import FakeClock


@pytest.fixture
def model(filled_sqlite):
    store = filled_sqlite.open()
    store.write(Batch(rejected=[Rejected(1.0e9, "tele/plug/SENSOR", "malformed_json", "Expecting value", b"{oops")],
                      health={"received": 123.0, "readings_written": 120.0}))
    store.close()
    m = ExhibitModel(filled_sqlite.open, ModelSettings(), clock=FakeClock())
    m.poll()
    return m


def auth(password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"engineer:{password}".encode()).decode()}


def test_status_lists_devices_health_and_quarantine(model):
    client = create_app(model, KioskSettings()).server.test_client()
    data = client.get("/status.json").get_json()
    assert {d["device"] for d in data["devices"]} == {d.device for d in model.snapshot.devices}
    assert data["health"]["readings_written"] == 120.0
    assert data["rejected_by_reason"] == {"malformed_json": 1}
    assert data["rejected"][0]["payload"] == "{oops"
    page = client.get("/status").get_data(as_text=True)
    assert "malformed_json" in page and "tele/plug/SENSOR" in page and "&lt;" not in "{oops"
    device = next(d for d in model.snapshot.devices if "power_w" in d.metrics)
    assert f"power_w={device.metrics['power_w']:g}" in page  # each device's last values


def test_status_html_escapes_what_meters_sent(model, filled_sqlite):
    store = filled_sqlite.open()
    store.write(Batch(rejected=[Rejected(1.0e9, "x/<script>", "bad_topic", "<b>", b"<script>alert(1)</script>")]))
    store.close()
    model.clock.advance(ENGINEER_EVERY_S)  # the engineer view's counters and quarantine are read again
    model.poll()
    page = create_app(model).server.test_client().get("/status").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page


def test_password_guards_the_engineer_view_only(model):
    client = create_app(model, KioskSettings(), status_password="s3cret").server.test_client()
    for path in ("/status", "/status.json"):
        refused = client.get(path)
        assert refused.status_code == 401 and "Basic" in refused.headers["WWW-Authenticate"]
        assert client.get(path, headers=auth("wrong")).status_code == 401
        assert client.get(path, headers=auth("s3cret")).status_code == 200
    assert client.get("/").status_code == 200  # the kiosk stays open
    assert client.get("/_dash-layout").status_code == 200


def test_refresh_callback_answers_without_the_password(model):
    """The kiosk's data route is open even when /status is guarded (no login to expire on a kiosk)."""
    app = create_app(model, KioskSettings(), status_password="s3cret")
    client = app.server.test_client()
    key = next(k for k in app.callback_map if k.startswith("..beat.data"))
    outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
               for part in key.strip(".").split("...")]
    body = {"output": key, "outputs": outputs, "inputs": [
        {"id": "tick", "property": "n_intervals", "value": 1}, {"id": "scene", "property": "data", "value": "city"},
        {"id": "lang", "property": "data", "value": "en"}, {"id": "bigdata-focus", "property": "data", "value": None}],
        "state": [{"id": "sent", "property": "data", "value": {}}],
        "changedPropIds": ["tick.n_intervals"]}
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert '"beat"' in response.get_data(as_text=True)


def test_replayed_history_is_marked_as_such(model):
    import dataclasses

    model.snapshot = dataclasses.replace(model.snapshot, replay_speed=60.0)
    data = create_app(model).server.test_client().get("/status.json").get_json()
    assert data["replay_speed"] == 60.0
    assert all(d["replayed"] == (d["state"] != "offline") for d in data["devices"])
    page = create_app(model).server.test_client().get("/status?lang=en").get_data(as_text=True)
    assert "replayed at 60x real time" in page


def test_status_escapes_a_device_named_like_a_script(model, filled_sqlite):
    """Names come from metadata anyone on the broker can publish: a ``<script>`` in one is shown, never run."""
    from expo.metadata import DeviceMeta
    from expo.reading import Reading

    hostile = "<script>alert('name')</script>"
    store = filled_sqlite.open()
    store.write(Batch(readings=[Reading("binhai", "evil-1", model.clock(), {"power_w": 1.0})],
                      metas=[DeviceMeta("binhai", "evil-1", "household", hostile, hostile + "中")]))
    store.close()
    model.clock.advance(60)  # metadata is re-read every 30 s
    model.poll()
    assert any(d.name_en == hostile for d in model.snapshot.devices)
    client = create_app(model).server.test_client()
    for lang in ("en", "zh"):
        page = client.get(f"/status?lang={lang}").get_data(as_text=True)
        assert "<script>" not in page
        assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in page


def test_status_speaks_the_page_language(model):
    from dashboard.i18n import text

    client = create_app(model, KioskSettings(language="en")).server.test_client()
    english = client.get("/status").get_data(as_text=True)
    chinese = client.get("/status?lang=zh").get_data(as_text=True)
    assert f"<h1>{text('status.title', 'en')}</h1>" in english and text("status.col.last_seen", "en") in english
    assert f"<h1>{text('status.title', 'zh')}</h1>" in chinese and text("status.col.last_seen", "zh") in chinese
    assert 'lang="zh-CN"' in chinese and text("status.title", "zh") not in english
    default = create_app(model).server.test_client().get("/status?lang=fr").get_data(as_text=True)
    assert f"<h1>{text('status.title', 'zh')}</h1>" in default  # an unknown language falls back to the kiosk's


def test_a_malformed_authorization_header_is_refused_not_an_error(model):
    client = create_app(model, KioskSettings(), status_password="s3cret").server.test_client()
    for header in ("Basic !!!notbase64", "Bearer s3cret", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic"):
        assert client.get("/status", headers={"Authorization": header}).status_code == 401, header


def test_the_chinese_page_has_the_served_font_and_words_its_ages(model):
    """These machines have no CJK font: the page names the app's own, and the app serves it."""
    import re

    client = create_app(model, KioskSettings()).server.test_client()
    page = client.get("/status?lang=zh").get_data(as_text=True)
    fonts = re.findall(r'url\("(/assets/fonts/[^"]+\.woff2)"\)', page)
    assert len(fonts) == 2
    for url in fonts:
        response = client.get(url)
        assert response.status_code == 200 and response.data[:4] == b"wOF2"
    assert "ago" not in page and re.search(r"\d+(\.\d)? (秒|分钟|小时)前", page)


def test_each_ingest_replica_is_shown_with_its_age_and_a_silent_one_says_since_when(filled_sqlite):
    """Two replicas write their counters, each kept apart (they used to overwrite each other's); one stops. Its
    row says "ingest silent since" the time of its last counters, the other's "writing"."""
    import dataclasses
    import time

    from expo.store import ProcessHealth

    store = filled_sqlite.open()
    store.write(Batch(health={"received": 7.0, "connected": 1.0}, health_from="ingest-a"))
    store.write(Batch(health={"received": 9.0, "connected": 1.0}, health_from="ingest-b"))
    store.close()
    clock = FakeClock(time.time())
    m = ExhibitModel(filled_sqlite.open, ModelSettings(), clock=clock)
    m.poll()
    client = create_app(m, KioskSettings()).server.test_client()
    data = client.get("/status.json").get_json()["ingest_processes"]
    assert [(p["process"], p["silent"], p["figures"]["received"]) for p in data] == [
        ("ingest-a", False, 7.0), ("ingest-b", False, 9.0)]
    now = clock.now_s
    stopped = now - 300.0  # a's last counters five minutes ago, b's a few seconds ago
    m.snapshot = dataclasses.replace(m.snapshot, ingest=(ProcessHealth("ingest-a", stopped, {"received": 7.0}),
                                                         ProcessHealth("ingest-b", now - 4.0, {"received": 12.0})))
    rows = {p["process"]: p["silent"] for p in client.get("/status.json").get_json()["ingest_processes"]}
    assert rows == {"ingest-a": True, "ingest-b": False}
    page = client.get("/status?lang=en").get_data(as_text=True)
    assert f"ingest silent since {time.strftime('%H:%M', time.localtime(stopped))}" in page
    assert page.count("ingest silent since") == 1 and "writing" in page
    assert "采集进程自" in client.get("/status?lang=zh").get_data(as_text=True)
    m.snapshot = dataclasses.replace(m.snapshot, ingest=(ProcessHealth(
        "ingest-b", now - 4.0, {"received": 12.0, "registry_meters": 3.0, "registry_broken": 1.0}),))
    page = client.get("/status?lang=en").get_data(as_text=True)
    assert "the meter registry has an error" in page and "registry_meters=3" in page  # writing, yet needs a look


def test_without_a_password_the_engineer_view_answers_only_on_this_machine(model):
    """A dashboard served to the hall's network (--host 0.0.0.0) keeps raw payloads and device addresses on the
    machine until a password is set; the visitor pages stay open. (The far address is a documentation address
    in the request's environ: no traffic goes anywhere.)"""
    far = {"REMOTE_ADDR": "203.0.113.7"}
    open_app = create_app(model, KioskSettings()).server.test_client()
    for path in ("/status", "/status.json"):
        answer = open_app.get(path, environ_base=far)
        assert answer.status_code == 403 and "EXPO_DASHBOARD_PASSWORD" in answer.get_data(as_text=True)
        assert open_app.get(path, environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert open_app.get("/", environ_base=far).status_code == 200
    assert open_app.get("/healthz", environ_base=far).status_code == 200
    guarded = create_app(model, KioskSettings(), status_password="s3cret").server.test_client()
    assert guarded.get("/status", environ_base=far).status_code == 401
    assert guarded.get("/status", environ_base=far, headers=auth("s3cret")).status_code == 200


def test_a_meter_that_says_it_is_offline_is_offline_at_once_and_after_a_restart(filled_sqlite):
    """Its last will (stored by ingest) marks it offline at once, with since when, on the engineer view and for
    the town plan (its state), and a dashboard started afterwards reads the same from the store."""
    import time

    from expo.store import DeviceState

    # the clock a few seconds after the town's last readings (they end a minute or two before the fixture ran,
    # and on a loaded machine "now" was past the 120 s that make a meter stale: no meter was live)
    newest_s = filled_sqlite.start_s + 3 * 3600
    m = ExhibitModel(filled_sqlite.open, ModelSettings(), clock=FakeClock(newest_s + 5))
    m.poll()
    device = next(d for d in m.snapshot.devices if d.state == "live")
    gone_s = device.ts_s + 5  # said a moment after its last reading
    store = filled_sqlite.open()
    store.write(Batch(states=[DeviceState(device.site, device.device, "offline", gone_s)]))
    store.close()
    clock = FakeClock(newest_s + 5 + ENGINEER_EVERY_S)
    for model in (m, ExhibitModel(filled_sqlite.open, ModelSettings(), clock=clock)):  # running, then a new one
        model.clock = clock
        model.poll()
        now = next(d for d in model.snapshot.devices if d.key == device.key)
        assert now.state == "offline" and now.offline_since_s == gone_s
        page = create_app(model, KioskSettings()).server.test_client().get("/status?lang=en").get_data(as_text=True)
        assert f"offline since {time.strftime('%H:%M', time.localtime(gone_s))}" in page


def test_meters_that_announced_themselves_are_listed_until_placed_and_so_are_topics_nobody_routes(filled_sqlite):
    """A Tasmota nobody described is "discovered, not yet placed" with its name, model and address; a Shelly
    whose channel a meta puts on the plan is counted as placed, not listed; the survey's topics are listed with
    their counts and payloads, escaped."""
    import time

    from expo.store import Discovered, TopicSeen

    store = filled_sqlite.open()
    placed = next(m for m in store.devices() if m.x_m or m.y_m)
    now = time.time()
    store.write(Batch(discovered=[
        Discovered(placed.site, "tasmota", "a4cf12b3c4d5", "heatpump-plug", "Heat pump", "Sonoff Pow R2",
                   "192.168.10.31", "ENERGY", now - 30),
        Discovered(placed.site, "shelly_gen1", placed.device.split("-")[0], placed.device.split("-")[0],
                   seen_s=now - 5)],
        topics=[TopicSeen("zigbee2mqtt/kitchen plug", 7, 60.0, now - 300, b'{"power": "<b>42</b>"}')]))
    store.close()
    m = ExhibitModel(filled_sqlite.open, ModelSettings(), clock=FakeClock(now))
    m.poll()
    client = create_app(m, KioskSettings()).server.test_client()
    data = client.get("/status.json").get_json()
    assert {(d["device"], d["placed"]) for d in data["discovered"]} == {
        ("heatpump-plug", False), (placed.device.split("-")[0], True)}
    page = client.get("/status?lang=en").get_data(as_text=True)
    listed = page.split("Discovered, not yet placed")[1].split("Topics no route takes")[0]
    assert "heatpump-plug" in listed and "Sonoff Pow R2" in listed and "192.168.10.31" in listed
    assert f"<code>{placed.device.split('-')[0]}</code>" not in listed and "1 more announced themselves" in listed
    topics = page.split("Topics no route takes")[1]
    assert "zigbee2mqtt/kitchen plug" in topics and "&lt;b&gt;42&lt;/b&gt;" in topics and "<b>42</b>" not in topics
    assert "60 s, 5 min ago" in topics
    assert "已发现，尚未登记位置" in client.get("/status?lang=zh").get_data(as_text=True)
