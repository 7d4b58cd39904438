"""Ingest end to end with real processes: Mosquitto, the simulator, ingest and its SQLite store."""

from __future__ import annotations

import json
import sqlite3
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.cli import energy_expo, start_energy_expo
from tests.ingest.harness import SIM_RUN, Ingest, expected_values, stored_values, wait_for_values


@pytest.fixture(scope="module")
def five_minutes():
    return expected_values("5m")


def simulate(broker_url: str, duration: str = "5m", speed: str = "3000"):
    result = energy_expo("simulate", "--broker", broker_url, "--speed", speed, "--duration", duration, *SIM_RUN)
    assert result.returncode == 0, result.stderr


def test_every_simulated_reading_is_stored_with_its_value(mosquitto, tmp_path, five_minutes):
    ingest = Ingest(tmp_path, mosquitto.url).start()
    simulate(mosquitto.url)
    stored = wait_for_values(ingest.db, len(five_minutes))
    assert ingest.stop() == 0
    assert stored.keys() == five_minutes.keys()
    assert all(stored[k] == pytest.approx(v, abs=1e-6) for k, v in five_minutes.items())
    log = ingest.log.read_text()
    assert "Traceback" not in log and "stopped: received=" in log
    con = sqlite3.connect(ingest.db)
    assert con.execute("SELECT count(*) FROM devices WHERE device != 'site-totals'").fetchone()[0] == 320  # retained
    assert con.execute("SELECT site FROM devices WHERE device = 'site-totals'").fetchall() == [("binhai",)]  # once
    assert con.execute("SELECT site FROM sites").fetchall() == [("binhai",)]  # and the site's description
    assert ("zeb",) in con.execute("SELECT building FROM buildings WHERE site = 'binhai'").fetchall()
    assert con.execute("SELECT count(*) FROM rejected").fetchone()[0] == 0


def test_ingest_killed_mid_stream_loses_nothing_and_duplicates_nothing(mosquitto, tmp_path):
    expected = expected_values("10m")
    ingest = Ingest(tmp_path, mosquitto.url).start()
    sim = start_energy_expo("simulate", "--broker", mosquitto.url, "--speed", "300", "--duration", "10m", *SIM_RUN)
    time.sleep(1.0)
    ingest.kill()  # kill -9: whatever it had taken but not stored was never acknowledged
    sim.wait(60)
    assert sim.returncode == 0
    time.sleep(1.0)  # the broker now holds the rest for the persistent session
    ingest.start()
    stored = wait_for_values(ingest.db, len(expected))
    assert ingest.stop() == 0
    assert stored.keys() == expected.keys()


def test_a_locked_store_spools_then_replays_everything(mosquitto, tmp_path, five_minutes):
    ingest = Ingest(tmp_path, mosquitto.url).start()
    simulate(mosquitto.url, "1m")  # creates the database and its tables
    wait_for_values(ingest.db, 1)
    lock = sqlite3.connect(ingest.db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    sim = start_energy_expo("simulate", "--broker", mosquitto.url, "--speed", "60", "--duration", "5m", *SIM_RUN)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (ingest.health() or {}).get("readings_spooled"):
        time.sleep(0.2)
    health = ingest.health()
    assert health["readings_spooled"] > 0 and health["store_down"] == 1.0
    lock.execute("ROLLBACK")
    lock.close()
    sim.wait(60)
    stored = wait_for_values(ingest.db, len(five_minutes))
    health = ingest.health()
    assert ingest.stop() == 0
    assert stored.keys() == five_minutes.keys()
    assert health["spool_batches"] == 0 and health["batches_replayed"] > 0
    assert "store unavailable" in ingest.log.read_text() and "store is back" in ingest.log.read_text()


def test_bad_messages_are_quarantined_counted_and_never_stall_the_stream(mosquitto, tmp_path):
    ingest = Ingest(tmp_path, mosquitto.url).start()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    bad = {
        "expo/binhai/plug-a/reading": b"{not json",
        "expo/binhai/plug-b/reading": b"\xff\xfe\x00",
        "expo/binhai/plug-c/reading": f'{{"v":1,"ts":"{now}","metrics":{{"power_w":"12"}}}}'.encode(),
        "expo/binhai/plug-d/reading": f'{{"v":1,"ts":"{future}","metrics":{{"power_w":12}}}}'.encode(),
        "expo/binhai/plug-e/reading": b"[" * 100_000,
        "expo/binhai/plug-f/reading": b"x" * 70_000,
        "expo/Binhai/Plug G/reading": b"{}",
    }
    for i in range(3):
        for topic, payload in bad.items():
            client.publish(topic, payload, qos=1).wait_for_publish(5)
        good = f'{{"v":1,"ts":"{now}","seq":{i},"metrics":{{"power_w":{i}.5}}}}'
        client.publish(f"expo/binhai/plug-ok-{i}/reading", good, qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        health = ingest.health() or {}
        if health.get("rejected", 0) >= 3 * len(bad) and health.get("readings_written", 0) >= 3:
            break
        time.sleep(0.2)
    health = ingest.health()
    assert ingest.stop() == 0
    assert health["rejected"] == 3 * len(bad)
    for reason in ("malformed", "not_utf8", "wrong_type", "future_timestamp", "too_large", "unknown_topic"):
        assert health[f"rejected_{reason}"] >= 3, reason
    stored = stored_values(ingest.db)
    assert {k[0] for k in stored} == {"plug-ok-0", "plug-ok-1", "plug-ok-2"}
    con = sqlite3.connect(ingest.db)
    kept = con.execute("SELECT topic, reason, length(payload) FROM rejected").fetchall()
    assert len(kept) == 3 * len(bad)
    assert ("expo/binhai/plug-f/reading", "too_large", 4096) in kept
    assert "Traceback" not in ingest.log.read_text()


def test_two_processes_in_a_shared_group_store_every_reading_once(mosquitto, tmp_path, five_minutes):
    db = tmp_path / "shared.db"
    first = Ingest(tmp_path, mosquitto.url, "ingest-a", "--shared-group", "expo", db=db).start()
    second = Ingest(tmp_path, mosquitto.url, "ingest-b", "--shared-group", "expo", db=db).start()
    simulate(mosquitto.url)
    stored = wait_for_values(db, len(five_minutes))
    received = [first.health()["readings_accepted"], second.health()["readings_accepted"]]
    assert first.stop() == 0 and second.stop() == 0
    assert stored.keys() == five_minutes.keys()
    assert all(n > 0 for n in received)  # both took a share
    assert sum(received) == 320 * 30  # and no reading went to both


def test_mqtt_3_1_1_stores_everything_too(mosquitto, tmp_path):
    """With 3.1.1 the broker, not ingest, sets the window of unacknowledged messages (Mosquitto: 20)."""
    expected = expected_values("1m")
    ingest = Ingest(tmp_path, mosquitto.url, "ingest-v3", "--mqtt-protocol", "3.1.1").start()
    simulate(mosquitto.url, "1m")
    stored = wait_for_values(ingest.db, len(expected), timeout_s=60)
    assert ingest.stop() == 0
    assert stored.keys() == expected.keys()


REAL_METERS = [  # golden cases: what these meters publish, straight from their documentation
    ("tasmota", "plug_single_phase"),
    ("tasmota", "three_phase_pzem_arrays"),
    ("shelly_gen1", "relay_power"),
    ("shelly_gen2", "rpc_pro3em_notify_status"),
    ("shelly_gen2", "status_switch_plus1pm"),
    ("emonhub", "emontx4_power"),
]


def test_real_meters_appear_with_no_configuration(mosquitto, tmp_path):
    from pathlib import Path

    testdata = Path(__file__).parent / "decoders" / "testdata"
    ingest = Ingest(tmp_path, mosquitto.url).start()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    expected_devices = set()
    for family, case in REAL_METERS:
        folder = testdata / family / case
        topic = (folder / "topic").read_text().strip()
        client.publish(topic, (folder / "payload").read_bytes(), qos=1).wait_for_publish(5)
        expected = json.loads((folder / "expected.json").read_text())
        expected_devices |= {r["device"] for r in expected["readings"]}
    client.disconnect()
    client.loop_stop()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and {k[0] for k in stored_values(ingest.db)} != expected_devices:
        time.sleep(0.2)
    health = ingest.health()
    assert ingest.stop() == 0
    assert {k[0] for k in stored_values(ingest.db)} == expected_devices
    assert health["rejected"] == 0
    con = sqlite3.connect(ingest.db)
    sources = {row[0] for row in con.execute("SELECT source FROM devices")}
    assert sources == {"meter"}


def test_ingest_over_tls_with_a_password(tmp_path, monkeypatch):
    """The same client set-up as the simulator's: a CA file for mqtts://, credentials from the environment."""
    import subprocess

    from testkit.ports import free_port, wait_for_port
    from testkit.servers import Mosquitto
    from testkit.tls import make_tls_files

    tls = make_tls_files(tmp_path)
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "ingest", "s3cret"], check=True)
    tls_port = free_port()
    broker = Mosquitto(tmp_path, extra=(
        f"listener {tls_port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
        f"cafile {tls['ca']}\ncertfile {tls['server']}\nkeyfile {tls['server-key']}\n")).start()
    wait_for_port(tls_port)
    monkeypatch.setenv("EXPO_MQTT_PASSWORD", "s3cret")
    try:
        expected = expected_values("1m")
        ingest = Ingest(tmp_path, f"mqtts://ingest@127.0.0.1:{tls_port}", "ingest-tls",
                        "--mqtt-ca-file", str(tls["ca"])).start()
        simulate(broker.url, "1m")  # publishes on the open listener
        stored = wait_for_values(ingest.db, len(expected))
        assert ingest.stop() == 0
        assert stored.keys() == expected.keys()
    finally:
        broker.stop()
