"""Hostile input against real processes: floods, huge payloads, injection attempts through every door.

The decoders, the contract parser, the configuration and scenario loaders are
fuzzed beside their code (hypothesis, `--slow` for 10,000 cases each); this
file is about what arrives through the broker and the dashboard's own routes.
"""

from __future__ import annotations

import json
import time

import paho.mqtt.client as mqtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from expo.metadata import DeviceMeta
from expo.reading import Reading
from expo.store import Batch, open_store
from tests.ingest.harness import Ingest, wait_health, stored_values


def publisher(port: int) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(200)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def test_ten_thousand_bogus_devices_in_a_minute_are_held_by_the_cap(mosquitto, tmp_path):
    ingest = Ingest(tmp_path, mosquitto.url, "flood", "--max-new-devices-per-minute", "1000").start()
    client = publisher(mosquitto.port)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = json.dumps({"v": 1, "ts": now, "metrics": {"power_w": 1.0}}).encode()
    infos = [client.publish(f"expo/binhai/bogus-{i:05d}/reading", body, qos=1) for i in range(10_000)]
    for info in infos:
        info.wait_for_publish(30)
    client.disconnect()
    client.loop_stop()
    health = wait_health(ingest, lambda h: h.get("received", 0) >= 10_000 and not h.get("queue_length"))
    assert ingest.stop() == 0
    assert health["rejected_new_device_flood"] == 9_000  # counted, with a reason
    devices = {device for device, _, _ in stored_values(ingest.db)}
    assert len(devices) == 1_000
    assert "Traceback" not in ingest.log.read_text()


def test_a_megabyte_payload_and_injection_attempts_are_quarantined_and_the_stream_goes_on(mosquitto, tmp_path):
    ingest = Ingest(tmp_path, mosquitto.url, "hostile").start()
    client = publisher(mosquitto.port)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    good = json.dumps({"v": 1, "ts": now, "metrics": {"power_w": 5.0}}).encode()
    hostile = {
        "expo/binhai/big/reading": b'{"v":1,"metrics":{"power_w":1},"pad":"' + b"x" * 1_048_576 + b'"}',
        'expo/binhai/a,device=x power_w=1 0/reading': good,  # line protocol through the device id
        # (a newline in a topic never gets this far: Mosquitto disconnects a client that sends one)
        "expo/binhai/x\" OR 1=1 --/reading": good,  # InfluxQL through the device id
        "expo/binhai/evil/reading": json.dumps({"v": 1, "ts": now, "metrics": {
            'power_w,site=x fake=1': 1.0}}).encode(),  # ... and through a metric name
        "tele/bad name\"/SENSOR": b'{"ENERGY":{"Power":10}}',
        "expo/binhai/deep/reading": b'{"a":' * 8_000 + b"1" + b"}" * 8_000,  # deep, under the size limit
        "expo/binhai/utf/reading": b'{"v":1,"ts":"\xc3\x28","metrics":{}}',
    }
    for topic, payload in hostile.items():
        client.publish(topic, payload, qos=1).wait_for_publish(30)
    client.publish("expo/binhai/after/reading", good, qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    health = wait_health(ingest, lambda h: h.get("readings_written", 0) >= 1 and h.get("rejected", 0) >= len(hostile))
    assert ingest.stop() == 0
    assert health["rejected"] == len(hostile)
    assert health["rejected_too_large"] == 1
    stored = stored_values(ingest.db)
    assert {device for device, _, _ in stored} == {"after"}  # only the good reading, after all that
    assert "Traceback" not in ingest.log.read_text()


# Ids are what the contract allows (ingest refuses anything else, see above); names are free text from a
# meter's metadata: quotes, backslashes, commas, equals signs, spaces, any script. Control characters
# cannot be written in line protocol at all and are refused by the metadata parser.
contract_id = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)
hostile_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(site=contract_id, device=contract_id, name=hostile_text | st.sampled_from(['a"b', "a\\", '\\"', "x,y=z w"]))
def test_any_names_round_trip_through_influxdb_without_injection(influxdb, site, device, name):
    """Names with quotes and backslashes round-trip exactly; queries quote every id themselves."""
    store = open_store(influxdb.url("hostile"))
    try:
        store.write(Batch(readings=[Reading(site, device, 1.79e9, {"power_w": 42.0})],
                          metas=[DeviceMeta(site, device, "household", name, name)]))
        latest = {(r.site, r.device): r.metrics for r in store.latest(site)}
        assert latest[(site, device)] == {"power_w": 42.0}
        meta = next(m for m in store.devices(site) if m.device == device)
        assert meta.name_en == name
        store.maintain(force=True)
        rows = store.rollups("1m", 1.79e9 - 60, 1.79e9 + 60, "power_w", [device])
        assert (site, device) in {(r.site, r.device) for r in rows} and {r.device for r in rows} == {device}
    finally:
        store.close()


def test_dashboard_routes_ignore_hostile_parameters(tmp_path):
    """Scene and language come from the page (URL parameters); unknown values fall back, never reach a query."""
    from dashboard.app import KioskSettings, create_app
    from dashboard.model import ExhibitModel, ModelSettings

    model = ExhibitModel(lambda: open_store(f"sqlite:///{tmp_path / 'x.db'}"), ModelSettings())
    model.poll()
    app = create_app(model, KioskSettings())
    client = app.server.test_client()
    key = next(k for k in app.callback_map if k.startswith("..beat.data"))
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in key.strip(".").split("...")]
    for scene, lang in (("city'; DROP DATABASE expo; --", "en"), ("<script>alert(1)</script>", "zh\" OR 1=1"),
                        ("../../etc/passwd", None)):
        body = {"output": key, "outputs": outputs, "inputs": [
            {"id": "tick", "property": "n_intervals", "value": 1}, {"id": "scene", "property": "data", "value": scene},
            {"id": "lang", "property": "data", "value": lang},
            {"id": "bigdata-focus", "property": "data", "value": scene}],
            "state": [{"id": "sent", "property": "data", "value": {}}],
            "changedPropIds": ["tick.n_intervals"]}
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 200
        assert "<script>alert" not in response.get_data(as_text=True)
    for path in ("/status?device=%27%3B%20DROP", "/?scene=%3Cscript%3E&lang=%22"):
        assert client.get(path).status_code == 200
