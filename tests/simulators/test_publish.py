"""Publishing to a real Mosquitto broker: everything arrives, metadata is retained, outages lose nothing."""

from __future__ import annotations

import json
import time

from testkit.ports import free_port
from testkit.servers import Mosquitto
from tests.cli import energy_expo, start_energy_expo
from tests.mqtt_client import Recorder

RUN = ["--start", "2026-07-01T12:00", "--duration", "5m", "--step", "10s", "--seed", "3"]
DEVICES = 320
STEPS = 30
DESCRIPTIONS = 1 + 1 + 16 + 6 + 40  # the town; its buildings: the zero-energy one, shops, offices, homes with PV


def jsonl_payloads() -> dict[tuple[str, int], dict]:
    result = energy_expo("simulate", "--output", "jsonl", "--no-meta", *RUN)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return {(l["topic"], l["payload"]["seq"]): l["payload"] for l in lines}


def test_every_reading_arrives_once_with_the_same_values_as_jsonl(mosquitto):
    readings = Recorder(mosquitto.port, "expo/binhai/+/reading").start()
    result = energy_expo("simulate", "--broker", mosquitto.url, "--speed", "3000", *RUN)
    assert result.returncode == 0, result.stderr
    received = readings.wait_for(DEVICES * STEPS)
    readings.stop()
    assert received == DEVICES * STEPS
    got = {(m.topic, json.loads(m.payload)["seq"]): json.loads(m.payload) for m in readings.messages}
    assert got == jsonl_payloads()

    # Metadata and the simulator's status are retained: a subscriber that comes later still learns them.
    late = Recorder(mosquitto.port, "expo/binhai/+/meta").start()
    assert late.wait_for(DEVICES, timeout_s=10) == DEVICES
    late.stop()
    status = Recorder(mosquitto.port, "expo/binhai/simulator/status").start()
    assert status.wait_for(1, timeout_s=10) == 1
    assert json.loads(status.messages[0].payload)["state"] == "offline"
    status.stop()
    site = Recorder(mosquitto.port, "expo/binhai/site").start()
    assert site.wait_for(1, timeout_s=10) == 1
    assert json.loads(site.messages[0].payload)["kind"] == "town"
    site.stop()
    zeb = Recorder(mosquitto.port, "expo/binhai/zeb/building").start()
    assert zeb.wait_for(1, timeout_s=10) == 1
    assert json.loads(zeb.messages[0].payload)["role"] == "zero_energy"
    zeb.stop()


def test_a_broker_that_is_down_at_start_gets_everything_when_it_comes_up(tmp_path):
    broker = Mosquitto(tmp_path, persistence=True).start()
    # A persistent subscriber session, so the broker keeps what arrives while the subscriber reconnects.
    early = Recorder(broker.port, "expo/binhai/+/reading", client_id="test-recorder", clean_session=False).start()
    early.stop()
    broker.stop()

    sim = start_energy_expo("simulate", "--broker", broker.url, "--speed", "600", "--drain", "60s", *RUN)
    said = []
    for line in sim.stderr:  # until its first attempt has failed: from here on it queues into the void
        said.append(line)
        if "cannot reach broker" in line:
            break
    assert sim.poll() is None, "".join(said)
    broker.start()
    try:
        recorder = Recorder(broker.port, "expo/binhai/+/reading", client_id="test-recorder", clean_session=False)
        recorder.start()
        _, rest = sim.communicate(timeout=90)
        stderr = "".join(said) + rest
        assert sim.returncode == 0, stderr
        assert "cannot reach broker" in stderr and "connection refused" in stderr and "Traceback" not in stderr
        received = recorder.wait_for(DEVICES * STEPS)
        recorder.stop()
        keys = {(m.topic, json.loads(m.payload)["seq"]) for m in recorder.messages}
        assert len(keys) == DEVICES * STEPS  # at least once: nothing lost (a redelivery would be a duplicate key)
        assert received >= DEVICES * STEPS
    finally:
        broker.stop()


def test_a_full_queue_counts_every_dropped_message_and_fails_the_run():
    port = free_port()  # nothing listens here
    result = energy_expo(
        "simulate", "--broker", f"mqtt://127.0.0.1:{port}", "--speed", "6000", "--publish-queue", "1000",
        "--drain", "1s", *RUN,
    )
    assert result.returncode == 1
    total = DESCRIPTIONS + DEVICES + DEVICES * STEPS  # site and building descriptions, metadata, then readings
    assert f"{total} messages were not delivered" in result.stderr
    assert f"{total - 1000} dropped from the full queue, 1000 unsent" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_accelerated_run_never_publishes_the_future(mosquitto):
    """Started in the past at 600x, the simulated clock reaches the present at once and then keeps pace.

    One-second steps, the run ending 4 s from now: the last readings are in the future when their turn
    comes (however long the process takes to start, within 3 s), and the wait for them is that short."""
    import math
    from datetime import datetime, timezone

    from expo.reading import parse_ts

    readings = Recorder(mosquitto.port, "expo/binhai/grid/reading").start()
    end_s = math.ceil(time.time()) + 4
    start = datetime.fromtimestamp(end_s - 13, timezone.utc).isoformat()
    result = energy_expo("simulate", "--broker", mosquitto.url, "--speed", "600", "--start", start,
                         "--duration", "13s", "--step", "1s")
    finished = time.time()
    assert result.returncode == 0, result.stderr
    assert "caught up with the present" in result.stderr
    readings.wait_for(13)
    readings.stop()
    stamps = [json.loads(m.payload)["ts"] for m in readings.messages]
    assert len(stamps) == 13
    assert max(parse_ts(ts) for ts in stamps) <= finished + 1  # nothing stamped after it was sent
