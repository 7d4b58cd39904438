"""Alarms for the engineer: what needs a person, since when, listed in the engineer view and published retained."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from dashboard.control import Commander
from dashboard.model.alarms import REJECTED_PER_MIN, AlarmWatch
from dashboard.model.views import DeviceNow, Snapshot
from expo.addresses import parse_broker
from expo.store import INGEST_SILENT_S, ProcessHealth

NOW = 1_800_000_000.0
OFFLINE_S = 900.0


def device(name: str, kind: str = "household", power_w: float | None = 500.0, rated_w: float = 0.0,
           state: str = "live", ts_s: float | None = NOW - 5, offline_since_s: float | None = None) -> DeviceNow:
    return DeviceNow("binhai", name, kind, name, name, 0.0, 0.0, rated_w, "meter", None, True, power_w, ts_s, state,
                     offline_since_s=offline_since_s)


def snapshot(devices=(), ingest=(), store_ok=True) -> Snapshot:
    return Snapshot(1, NOW, NOW, NOW - 3600, "Asia/Shanghai", store_ok, "" if store_ok else "connection refused",
                    NOW, None, tuple(devices), ingest=tuple(ingest))


def test_each_alarm_says_since_when_from_the_data_where_it_can():
    watch = AlarmWatch()
    alarms = watch.update(snapshot(
        devices=[device("feeder-03", "feeder", power_w=450_000, rated_w=400_000),
                 device("home-07", state="offline", ts_s=NOW - 2000),
                 device("plug-1", state="offline", ts_s=NOW - 100, offline_since_s=NOW - 60),
                 device("home-08")],
        ingest=[ProcessHealth("ingest-1", NOW - INGEST_SILENT_S - 10, {"rejected": 0.0})], store_ok=False),
        NOW, OFFLINE_S)
    got = {(a.kind, a.subject): a for a in alarms}
    assert [a.kind for a in alarms] == ["store_down", "ingest_silent", "feeder_over_rating", "meter_offline",
                                        "meter_offline"]  # the most urgent first
    assert got[("meter_offline", "home-07")].since_s == NOW - 2000 + OFFLINE_S  # silent since its last reading
    assert got[("meter_offline", "plug-1")].since_s == NOW - 60  # its own last will
    assert got[("ingest_silent", "ingest-1")].since_s == NOW - INGEST_SILENT_S - 10
    assert got[("feeder_over_rating", "feeder-03")].detail == "450.0 kW on a 400 kW rating"
    assert ("meter_offline", "home-08") not in got


def test_an_alarm_keeps_its_beginning_while_it_lasts_and_is_gone_with_its_cause():
    watch = AlarmWatch()
    over = [device("feeder-03", "feeder", power_w=-420_000, rated_w=400_000)]  # reverse flow counts too
    first = watch.update(snapshot(devices=over), NOW, OFFLINE_S)
    later = watch.update(snapshot(devices=over), NOW + 30, OFFLINE_S)
    assert first[0].since_s == later[0].since_s == NOW
    assert watch.update(snapshot(devices=[dataclasses.replace(over[0], power_w=300_000)]), NOW + 60, OFFLINE_S) == ()
    again = watch.update(snapshot(devices=over), NOW + 90, OFFLINE_S)
    assert again[0].since_s == NOW + 90  # a new episode, not the old one


def test_the_quarantine_filling_faster_than_its_limit_is_an_alarm_and_a_restart_is_not():
    watch = AlarmWatch()

    def at(t, rejected):
        return watch.update(snapshot(ingest=[ProcessHealth("ingest-1", NOW + t, {"rejected": rejected})]),
                            NOW + t, OFFLINE_S)

    assert at(0, 1000) == () and at(20, 1010) == ()  # not a minute of counters yet
    assert at(40, 1020) == ()  # 30 a minute
    fast = at(60, 1020 + 2 * REJECTED_PER_MIN)
    assert [a.kind for a in fast] == ["quarantine_rate"]
    assert at(70, 5) == ()  # the counter fell: a restarted process, the window starts again


def test_the_engineer_view_lists_the_alarms_in_both_languages(filled_sqlite):
    from dashboard.app import KioskSettings, create_app
    from dashboard.model import ExhibitModel, ModelSettings

    model = ExhibitModel(filled_sqlite.open, ModelSettings())
    model.poll()
    assert model.snapshot.alarms == ()
    feeder = next(d for d in model.snapshot.devices if d.kind == "feeder")
    model.snapshot = dataclasses.replace(model.snapshot, alarms=AlarmWatch().update(snapshot(devices=[
        dataclasses.replace(feeder, power_w=feeder.rated_w * 1.5)]), time.time(), OFFLINE_S))
    client = create_app(model, KioskSettings()).server.test_client()
    data = client.get("/status.json").get_json()["alarms"]
    assert [(a["kind"], a["subject"]) for a in data] == [("feeder_over_rating", feeder.device)]
    assert "feeder above its rating" in client.get("/status?lang=en").get_data(as_text=True)
    assert "配变超额定负荷" in client.get("/status?lang=zh").get_data(as_text=True)


def test_alarms_are_published_retained_and_a_cleared_site_says_so(mosquitto):
    """A monitoring system subscribing later learns the present: retained per site, the exhibit's own under the
    home site; once the cause is gone the site's message is an empty list, not a stale alarm."""
    commander = Commander(parse_broker(mosquitto.url), "alarm-test", offer_whatifs=False)
    watch = AlarmWatch()
    alarms = watch.update(snapshot(devices=[device("home-07", state="offline", ts_s=NOW - 2000)], store_ok=False),
                          NOW, OFFLINE_S)
    try:
        published(commander.publish_alarms(alarms, "binhai"))
        got = retained(mosquitto.port, "expo/+/alarms")
        assert [(a["kind"], a["subject"]) for a in got["expo/binhai/alarms"]["alarms"]] == [
            ("store_down", "store"), ("meter_offline", "home-07")]
        published(commander.publish_alarms((), "binhai"))
        assert retained(mosquitto.port, "expo/+/alarms")["expo/binhai/alarms"]["alarms"] == []
    finally:
        commander.close()
        clear = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        clear.connect("127.0.0.1", mosquitto.port)
        clear.loop_start()
        clear.publish("expo/binhai/alarms", b"", qos=1, retain=True).wait_for_publish(5)
        clear.disconnect()
        clear.loop_stop()


def published(infos, wait_s: float = 5.0) -> None:
    """Until the broker has each (the commander's first connection is made in the background)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and not all(i.is_published() for i in infos):
        time.sleep(0.02)
    assert all(i.is_published() for i in infos)


def retained(port: int, topic_filter: str, wait_s: float = 5.0) -> dict:
    """The retained messages on ``topic_filter`` as a new subscriber gets them (waiting for the newest to land)."""
    got: dict = {}
    done = threading.Event()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, m: (got.__setitem__(m.topic, json.loads(m.payload)), done.set())
    client.connect("127.0.0.1", port)
    client.subscribe(topic_filter, qos=1)
    client.loop_start()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and not done.wait(0.1):
        pass
    time.sleep(0.3)
    client.disconnect()
    client.loop_stop()
    return got
