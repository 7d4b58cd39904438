"""Meters that announce themselves, and topics nothing decodes: what an engineer sees before configuring anything."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings, strategies as st

from expo.store import Batch
from ingest.checks import Checks
from ingest.counters import CounterState
from ingest.process import Incoming, Processor
from ingest.routes import build_routes, route_for
from ingest.survey import SURVEY_MAX_MESSAGES, SURVEY_MAX_TOPICS, SURVEY_OTHERS, Tally

NOW = 1795579200.0
CONFIG = json.dumps({"ip": "192.168.10.31", "dn": "Heat pump", "md": "Sonoff Pow R2", "t": "HeatPump-Plug",
                     "mac": "A4CF12B3C4D5", "ver": 1}).encode()


def _processor() -> Processor:
    return Processor(build_routes([], True), "binhai", Checks(clock=lambda: NOW), CounterState())


def test_an_announcement_is_written_when_it_says_something_new_and_else_once_an_hour():
    processor = _processor()
    said = []
    for at_s, topic, payload in [
        (NOW, "tasmota/discovery/A4CF12B3C4D5/config", CONFIG),
        (NOW + 10, "tasmota/discovery/A4CF12B3C4D5/config", CONFIG),  # retained, delivered again: nothing new
        (NOW + 20, "tasmota/discovery/A4CF12B3C4D5/sensors", b'{"sn":{"Time":"x","ENERGY":{"Power":3}},"ver":1}'),
        (NOW + 3700, "tasmota/discovery/A4CF12B3C4D5/config", CONFIG),  # an hour on: seen again
    ]:
        batch = Batch()
        processor.add(Incoming(topic, payload, at_s), batch)
        assert not batch.rejected
        said.append([(d.key, d.device, d.measures, d.seen_s) for d in batch.discovered])
    assert said == [[("a4cf12b3c4d5", "heatpump-plug", "", NOW)], [],
                    [("a4cf12b3c4d5", "", "ENERGY", NOW + 20)], [("a4cf12b3c4d5", "heatpump-plug", "", NOW + 3700)]]
    assert processor.decoded_nothing == 0  # an announcement is something


def test_a_shellys_last_will_takes_every_channel_of_it_offline_and_no_other_device():
    processor = _processor()
    batch = Batch()
    for topic in ("shellies/shellyplug-s-7a1b2c/relay/0/power", "shellies/shellyplug-s-7a1b2c/relay/1/power",
                  "shellies/shellyplug-s-7a1b2cd/relay/0/power"):  # a longer id is another device
        processor.add(Incoming(topic, b"12.5", NOW), batch)
    later = Batch()
    processor.add(Incoming("shellies/shellyplug-s-7a1b2c/online", b"false", NOW + 5), later)
    assert sorted((x.device, x.state) for x in later.states) == [
        ("shellyplug-s-7a1b2c", "offline"), ("shellyplug-s-7a1b2c-relay0", "offline"),
        ("shellyplug-s-7a1b2c-relay1", "offline")]
    again = Batch()
    processor.add(Incoming("shellies/shellyplug-s-7a1b2c/online", b"false", NOW + 6), again)  # retained, again
    assert again.states == []


def test_a_native_status_speaks_for_its_own_device_only():
    processor = _processor()
    batch = Batch()
    for device in ("feeder", "feeder-01"):
        body = {"v": 1, "ts": "2026-11-25T03:59:00Z", "metrics": {"power_w": 5.0}}
        processor.add(Incoming(f"expo/binhai/{device}/reading", json.dumps(body).encode(), NOW), batch)
    later = Batch()
    processor.add(Incoming("expo/binhai/feeder/status", b'{"v": 1, "state": "offline"}', NOW), later)
    assert [(x.device, x.state) for x in later.states] == [("feeder", "offline")]


def _takes(topic: str) -> bool:
    return route_for(topic, build_routes([], True)) is not None


def test_a_survey_counts_only_what_no_route_takes_and_keeps_each_topics_newest_sample():
    tally = Tally(_takes, NOW)
    for topic, payload in [("tele/plug/SENSOR", b"{}"), ("zigbee2mqtt/plug 1", b'{"power": 3}'),
                           ("zigbee2mqtt/plug 1", b'{"power": 4}'), ("homeassistant/sensor/x/config", b"{}"),
                           ("expo/binhai/home-01/reading", b"{}")]:
        tally.add(topic, payload)
    seen = tally.result(NOW + 60)
    assert [(t.topic, t.messages, t.sample, t.window_s) for t in seen] == [
        ("zigbee2mqtt/plug 1", 2, b'{"power": 4}', 60.0), ("homeassistant/sensor/x/config", 1, b"{}", 60.0)]
    assert tally.messages == 5 and not tally.full()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30),
                          st.binary(max_size=400)), max_size=600))
def test_a_survey_is_bounded_and_loses_no_count(messages):
    """Any topics, any payloads: at most SURVEY_MAX_TOPICS listed plus the others together, every message that
    no route takes counted exactly once, samples cut short."""
    tally = Tally(_takes, NOW)
    for topic, payload in messages:
        tally.add(topic, payload)
    seen = tally.result(NOW + 1)
    assert len([t for t in seen if t.topic != SURVEY_OTHERS]) <= SURVEY_MAX_TOPICS
    assert sum(t.messages for t in seen) == sum(not _takes(topic) for topic, _ in messages)
    assert all(len(t.sample) <= 200 for t in seen)
    assert tally.full() == (len(messages) >= SURVEY_MAX_MESSAGES)


def test_ingest_lists_announced_meters_and_surveys_the_broker_through_a_real_mosquitto(mosquitto, tmp_path):
    """A Tasmota's retained discovery and a Zigbee plug's topic nobody routes: the store has the first as a
    discovered meter and the second, with its count and payload, in the survey; the engineer view lists both."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    import ingest.survey as survey
    from expo import config as settings_
    from expo.store import open_store
    from ingest.service import IngestService

    db = tmp_path / "expo.db"
    (tmp_path / "energy-expo.toml").touch()
    cfg = settings_.load({"broker": mosquitto.url, "store": f"sqlite:///{db}", "state_dir": str(tmp_path / "state"),
                          "mqtt_client_id": "discovery", "survey_every_s": "600"}, environ={},
                         path=tmp_path / "energy-expo.toml")
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    client.publish("tasmota/discovery/A4CF12B3C4D5/config", CONFIG, qos=1, retain=True).wait_for_publish(5)
    client.publish("zigbee2mqtt/kitchen plug", b'{"power": 42.5}', qos=1, retain=True).wait_for_publish(5)
    service = IngestService(cfg)
    patched = pytest.MonkeyPatch()
    patched.setattr(survey, "SURVEY_FIRST_AFTER_S", 0.0)
    patched.setattr(survey, "SURVEY_FOR_S", 1.0)  # the retained message arrives at once; a second is plenty
    service.start()

    def read(what):
        store = open_store(f"sqlite:///{db}")
        try:
            return getattr(store, what)()
        finally:
            store.close()

    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (read("discovered") and read("topics_seen")):
            time.sleep(0.2)
        (found,) = read("discovered")
        assert (found.device, found.name, found.model, found.address) == (
            "heatpump-plug", "Heat pump", "Sonoff Pow R2", "192.168.10.31")
        seen = {t.topic: t for t in read("topics_seen")}
        assert seen["zigbee2mqtt/kitchen plug"].messages == 1
        assert seen["zigbee2mqtt/kitchen plug"].sample == b'{"power": 42.5}'
        assert not any(topic.startswith("tasmota/discovery") for topic in seen)  # a route takes those
        assert service.health()["topics_undecoded"] >= 1
    finally:
        patched.undo()
        service.stop()
        for topic in ("tasmota/discovery/A4CF12B3C4D5/config", "zigbee2mqtt/kitchen plug"):
            client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()
