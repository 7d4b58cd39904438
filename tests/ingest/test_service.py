"""The service in this process against a real Mosquitto: what construction touches, and decoders added as files."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from expo import config as settings
from ingest.decoders import registry
from ingest.routes import build_routes, route_for
from ingest.service import IngestService
from tests.ingest.harness import stored_values

TESTDATA = Path(__file__).parent / "decoders" / "testdata"

BROAD = '''"""A family added for the test: any device's SENSOR topic, one power reading."""
from expo.reading import Reading
from ingest.decoders import Decoded, device_id, load_json_object, number

DEFAULT_TOPICS = ["+/+/SENSOR"]


def decode(topic, payload, ctx):
    body = load_json_object(payload)
    reading = Reading(ctx.site, device_id(topic.split("/")[1]), ctx.received_s, {"power_w": number(body["watts"], "w")})
    return Decoded(readings=[reading])
'''


def make_config(tmp_path: Path, **flags) -> settings.Config:
    file = tmp_path / "energy-expo.toml"
    file.touch()
    return settings.load({k: str(v) for k, v in flags.items()}, environ={}, path=file)


@pytest.fixture
def broad_decoder(tmp_path, monkeypatch):
    """A decoder module dropped into a folder on the decoders package's path: no other edit anywhere."""
    import ingest.decoders as package

    folder = tmp_path / "more-decoders"
    folder.mkdir()
    (folder / "aaa_broad.py").write_text(BROAD)  # named to sort before every bundled family
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
    registry.cache_clear()
    yield "aaa_broad"
    registry.cache_clear()
    sys.modules.pop("ingest.decoders.aaa_broad", None)


def test_construction_only_validates(tmp_path):
    cfg = make_config(tmp_path, state_dir=tmp_path / "state", store=f"sqlite:///{tmp_path / 'data' / 'expo.db'}",
                      mqtt_client_id="quiet", health="127.0.0.1:0")
    service = IngestService(cfg)
    assert service.state_dir == tmp_path / "state" and service.state_dir.is_absolute()
    assert not (tmp_path / "state").exists() and not (tmp_path / "data").exists()
    assert service.stop() == {}  # never started: nothing to close, nothing to report


def test_a_decoder_file_is_picked_up_and_its_broad_default_takes_nothing_narrower(broad_decoder):
    assert broad_decoder in registry()
    routes = build_routes([], True)
    assert route_for("tele/tasmota_5A9AE8/SENSOR", routes).decoder == "tasmota"  # the narrower filter
    assert route_for("garden/pump/SENSOR", routes).decoder == broad_decoder
    assert route_for("emon/status/x", routes).decoder == "emonhub"  # left-most literal level wins an overlap


def test_the_new_family_and_tasmota_both_arrive_through_a_real_broker(broad_decoder, mosquitto, tmp_path):
    db = tmp_path / "expo.db"
    received = [1795579200.0]
    service = IngestService(make_config(tmp_path, broker=mosquitto.url, store=f"sqlite:///{db}",
                                        state_dir=tmp_path / "state", mqtt_client_id="plugins"),
                            clock=lambda: received[0])  # messages are stamped by the injected clock
    service.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not service.subscriber.connected.is_set():
            time.sleep(0.05)
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        client.connect("127.0.0.1", mosquitto.port)
        client.loop_start()
        tasmota = TESTDATA / "tasmota" / "plug_single_phase"
        client.publish((tasmota / "topic").read_text().strip(), (tasmota / "payload").read_bytes(),
                       qos=1).wait_for_publish(5)
        client.publish("garden/pump/SENSOR", b'{"watts": 42}', qos=1).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len({k[0] for k in stored_values(db)}) < 2:
            time.sleep(0.1)
    finally:
        final = service.stop()
    stored = stored_values(db)
    assert stored[("pump", "power_w", 1795579200000)] == 42.0
    assert stored[("tasmota_5a9ae8", "voltage_v", 1795579200000)] == 229.0  # read by tasmota, not the new family
    assert final["rejected"] == 0


def test_a_quiet_ingest_still_writes_its_counters_every_heartbeat(mosquitto, tmp_path):
    """No meter speaks, yet the process's counters reach the store every INGEST_HEARTBEAT_S under its own name:
    the engineer view can tell an idle ingest from a silent one."""
    from expo.store import INGEST_HEARTBEAT_S, open_store

    db = tmp_path / "expo.db"
    monotonic = [1000.0]
    service = IngestService(make_config(tmp_path, broker=mosquitto.url, store=f"sqlite:///{db}",
                                        state_dir=tmp_path / "state", mqtt_client_id="quiet-one"),
                            monotonic=lambda: monotonic[0])
    service.start()

    def written():
        store = open_store(f"sqlite:///{db}")
        try:
            return {p.process: p for p in store.ingest_health()}
        finally:
            store.close()

    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not service.subscriber.connected.is_set():
            time.sleep(0.05)
        time.sleep(0.5)
        assert "quiet-one" not in written()  # nothing yet: no batch, and no heartbeat due
        monotonic[0] += INGEST_HEARTBEAT_S + 1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "quiet-one" not in written():
            time.sleep(0.1)
        beat = written()["quiet-one"]
        assert beat.figures["connected"] == 1.0 and beat.figures["received"] == 0.0
    finally:
        service.stop()
