"""Fault injection with real processes: break the broker, the database or the disk mid-stream, count what lands.

Each case runs a real Mosquitto, a real ingest process and the simulator
publishing the Tianjin town (320 meters) at 60x, about 1,900 readings a
second, for a bounded simulated span; breaks one thing while it runs; and
then compares what the store holds with what the simulator sent (its own
jsonl output for the same span), value by value.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from testkit.ports import free_port
from testkit.servers import InfluxDB, Mosquitto
from testkit.soak import Soak
from tests.cli import start_energy_expo
from tests.ingest.harness import SIM_RUN, Ingest, expected_values, influx_values, stored_values, wait_for

RATE = ["--speed", "60"]  # 320 meters every 10 simulated seconds, 60 simulated seconds a second: 1,920/s


def simulate(broker_url: str, duration: str) -> subprocess.Popen:
    return start_energy_expo("simulate", "--broker", broker_url, *RATE, "--duration", duration, *SIM_RUN)


def finish(sim: subprocess.Popen, timeout_s: float = 180) -> str:
    _, err = sim.communicate(timeout=timeout_s)
    assert sim.returncode == 0, err[-2000:]  # the simulator itself lost nothing (exit 1 if it dropped any)
    return err


@pytest.fixture(scope="module")
def two_minutes():
    return expected_values("2m")


@pytest.fixture(scope="module")
def ten_minutes():
    return expected_values("10m")


@pytest.fixture(scope="module")
def forty_five_minutes():
    return expected_values("45m")


def test_mosquitto_restarted_mid_stream_loses_nothing(tmp_path, two_minutes):
    """Persistence on: the broker keeps ingest's session and queue across its restart."""
    broker = Mosquitto(tmp_path, persistence=True).start()
    ingest = Ingest(tmp_path, broker.url).start()
    try:
        sim = simulate(broker.url, "2m")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (ingest.health() or {}).get("received"):
            time.sleep(0.05)
        assert sim.poll() is None  # mid-stream: ingest has readings and the simulator is still sending
        broker.stop()  # SIGTERM: Mosquitto writes its persistence file and exits
        time.sleep(2.0)
        broker.start()  # same port, same data directory
        finish(sim)
        stored = wait_for(lambda: stored_values(ingest.db), len(two_minutes), timeout_s=90)
        assert ingest.stop() == 0
    finally:
        broker.stop()
    assert stored == two_minutes  # every value, none missing, none extra


@pytest.mark.slow  # the default run kills InfluxDB for a few seconds (tests/ingest/test_ingest_influxdb.py)
def test_influxdb_killed_for_30_s_at_2000_readings_a_second(tmp_path, forty_five_minutes):
    """45 s of stream: 3 s stored, 30 s with the database gone, 12 s more after it is back, so the spool's
    replay (when ingest's next retry comes due, here at most 5 s after the restart) meets live readings."""
    (tmp_path / "mq").mkdir()
    broker = Mosquitto(tmp_path / "mq").start()
    influx_dir = tmp_path / "influx"
    influx_dir.mkdir()
    server = InfluxDB(influx_dir).start()
    ingest = Ingest(tmp_path, broker.url, "outage", "--store-retry-max-s", "5", store=server.url()).start()
    try:
        sim = simulate(broker.url, "45m")
        time.sleep(3)
        server.stop(signal.SIGKILL)  # kill -9 the database
        down_at = time.monotonic()
        time.sleep(30)
        down = ingest.health()
        assert down["store_down"] == 1.0 and down["readings_spooled"] > 30 * 1000
        server.start()  # same data directory
        finish(sim, timeout_s=240)
        stored = wait_for(lambda: influx_values(server.port), len(forty_five_minutes), timeout_s=180)
        after = ingest.health()
        assert ingest.stop() == 0
    finally:
        ingest.kill()  # a failure above (the database not coming back) must not leave ingest running
        server.stop()
        broker.stop()
    assert time.monotonic() - down_at > 30
    assert stored == forty_five_minutes  # nothing lost, and no duplicate: one value per (device, metric, instant)
    assert after["spool_batches"] == 0 and after["store_down"] == 0.0


def test_a_full_spool_holds_acknowledgements_back_and_the_broker_keeps_the_rest(tmp_path, ten_minutes):
    """Documented: a full spool makes ingest stop acknowledging; the broker queues; nothing is dropped."""
    (tmp_path / "mq").mkdir()
    broker = Mosquitto(tmp_path / "mq").start()
    influx_dir = tmp_path / "influx"
    influx_dir.mkdir()
    server = InfluxDB(influx_dir).start()
    ingest = Ingest(tmp_path, broker.url, "full-spool", "--spool-max-mb", "1", store=server.url()).start()
    try:
        server.stop(signal.SIGKILL)
        sim = simulate(broker.url, "10m")
        finish(sim)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (ingest.health() or {}).get("spool_full_waits"):
            time.sleep(0.2)
        full = ingest.health()
        assert full["spool_full_waits"] > 0  # counted and shown on /health and the engineer view
        assert full["spool_bytes"] <= 1.1 * 2**20  # the limit held
        messages = len({(device, ts) for device, _, ts in ten_minutes})
        assert full["readings_spooled"] < messages  # the spool took only part; the broker holds the rest
        server.start()
        stored = wait_for(lambda: influx_values(server.port), len(ten_minutes), timeout_s=180)
        assert ingest.stop() == 0
    finally:
        server.stop()
        broker.stop()
    assert stored == ten_minutes


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a small filesystem")
def test_sqlite_on_a_full_disk_spools_and_replays_when_there_is_room(tmp_path, two_minutes):
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(small)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    broker = Mosquitto(tmp_path).start()
    try:
        ingest = Ingest(tmp_path, broker.url, db=small / "expo.db").start()
        sim = simulate(broker.url, "2m")
        finish(sim)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (ingest.health() or {}).get("store_down"):
            time.sleep(0.2)
        full = ingest.health()
        assert full["store_down"] == 1.0 and full["readings_spooled"] > 0  # "database or disk is full"
        subprocess.run(["mount", "-o", "remount,size=200m", str(small)], check=True)
        stored = wait_for(lambda: stored_values(ingest.db), len(two_minutes), timeout_s=120)
        assert ingest.stop() == 0
    finally:
        broker.stop()
        subprocess.run(["umount", "-l", str(small)], capture_output=True)
    assert stored == two_minutes


def test_ingest_memory_stays_bounded_when_the_broker_does_not_hold_back(tmp_path):
    """MQTT 3.1.1 has no Receive Maximum and this broker allows unlimited in-flight messages: with the store
    gone and the spool full, ingest's own queue stops at its limit (TCP holds the broker back), and it
    still stops cleanly when asked."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from ingest.service import QUEUE_MAX_MESSAGES
    from testkit.ports import free_port

    broker = Mosquitto(tmp_path, extra="max_inflight_messages 0\n").start()
    ingest = Ingest(tmp_path, broker.url, "bounded", "--mqtt-protocol", "3.1.1", "--spool-max-mb", "1",
                    store=f"influxdb://127.0.0.1:{free_port()}/gone").start()
    try:
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        published = 3 * QUEUE_MAX_MESSAGES + 30_000
        for i in range(published):
            client.publish(f"expo/binhai/d{i % 300}/reading",
                           f'{{"v":1,"ts":"{now}","seq":{i},"metrics":{{"power_w":1.0}}}}', qos=1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (ingest.health() or {}).get("queue_full_waits"):
            time.sleep(0.2)
        health = ingest.health()
        client.disconnect()
        client.loop_stop()
        assert health["queue_full_waits"] > 0
        assert health["queue_length"] <= QUEUE_MAX_MESSAGES
        assert health["received"] < published  # the rest waits with the broker
        started = time.monotonic()
        assert ingest.stop() == 0 and time.monotonic() - started < 30
    finally:
        broker.stop()


# -- the quick soak, in this file so that it never shares the machine with the outages above -------------
# The quick soak: `energy-expo up` at 720x for 45 s; no process's memory keeps growing.
#
# Memory follows simulated time (the day's tables, the store) and the number of
# readings, not wall time: 45 s at 720x is the same simulated 9 hours and the
# same ~135,000 readings as 90 s at 360x, at about half a core of this machine's
# two (measured: ingest 0.27, simulator 0.2, broker and dashboard 0.04), so it
# keeps up and no backlog grows a queue.
#
# The long soak (24 simulated hours in about 10 minutes, with a kiosk tab) is
# ``bench/soak.py``; its figures are in docs/reliability.md.

SMALL = str(Path(__file__).resolve().parents[1] / "dashboard" / "small.toml")
SPEED = 720.0  # 41 meters every 10 simulated seconds: ~3,000 readings/s
SAMPLES, EVERY_S = 18, 2.5  # 45 s: a simulated 9 hours
WARMUP_S = 15.0  # a simulated 3 hours: the day's tables and the store's caches have their shape


@pytest.mark.slow  # a minute of the whole exhibit; the hours-long figures are bench/soak.py's (docs/performance.md)
def test_memory_of_every_process_levels_off(tmp_path):
    soak = Soak(tmp_path, free_port(), speed=SPEED, scenario=SMALL).start()
    try:
        for _ in range(SAMPLES):
            soak.sample()
            time.sleep(EVERY_S)
        growth = soak.growth(after_s=WARMUP_S)
    finally:
        assert soak.stop() == 0
    assert set(growth) >= {"up", "broker", "ingest", "dashboard", "simulate"}
    report = {name: f"{a:.0f} -> {b:.0f} MB ({g:+.1f}%)" for name, (a, b, g) in growth.items()}
    assert all(g < 10.0 for _, _, g in growth.values()), report
