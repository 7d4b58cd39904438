"""Ingest into a real InfluxDB server, including the server dying under it."""

from __future__ import annotations

import signal
import time

import pytest

from expo.places import TOTALS_DEVICE
from tests.cli import energy_expo, start_energy_expo
from testkit.servers import InfluxDB
from tests.ingest.harness import SIM_RUN, Ingest, expected_values, influx_values, wait_for


@pytest.fixture(scope="module")
def five_minutes():
    return expected_values("5m")


def test_every_reading_reaches_influxdb_with_its_value_and_rollups(mosquitto, influxdb, tmp_path, five_minutes):
    ingest = Ingest(tmp_path, mosquitto.url, store=influxdb.url()).start()
    result = energy_expo("simulate", "--broker", mosquitto.url, "--speed", "3000", "--duration", "5m", *SIM_RUN)
    assert result.returncode == 0, result.stderr
    stored = wait_for(lambda: influx_values(influxdb.port), len(five_minutes))
    assert ingest.stop() == 0
    assert stored.keys() == five_minutes.keys()
    assert all(stored[k] == pytest.approx(v, abs=1e-6) for k, v in five_minutes.items())

    from expo.store import open_store

    store = open_store(influxdb.url())
    assert len([m for m in store.devices() if m.source != "derived"]) == 320  # and the site's totals device
    hour = store.rollups("1h", 1782878400, 1782878400 + 3600, "power_w", ["home-001"])  # 12:00 local
    raw = [v for (d, m, ts), v in five_minutes.items() if d == "home-001" and m == "power_w"]
    assert hour[0].count == len(raw) and hour[0].mean == pytest.approx(sum(raw) / len(raw))


def test_influxdb_killed_for_a_while_loses_nothing(mosquitto, tmp_path, five_minutes):
    server = InfluxDB(tmp_path).start()
    try:
        ingest = Ingest(tmp_path, mosquitto.url, store=server.url()).start()
        sim = start_energy_expo("simulate", "--broker", mosquitto.url, "--speed", "30", "--duration", "5m", *SIM_RUN)
        time.sleep(2)
        server.stop(signal.SIGKILL)  # kill -9 the database mid-stream
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (ingest.health() or {}).get("readings_spooled"):
            time.sleep(0.2)
        down = ingest.health()
        assert down["store_down"] == 1.0 and down["readings_spooled"] > 0
        time.sleep(3)
        server.start()  # same data directory: what it had written is still there
        sim.wait(60)
        assert sim.returncode == 0
        stored = wait_for(lambda: influx_values(server.port), len(five_minutes), timeout_s=90)
        up = ingest.health()
        assert ingest.stop() == 0
        assert stored.keys() == five_minutes.keys()
        assert up["spool_batches"] == 0 and up["store_down"] == 0.0
    finally:
        server.stop()


def test_ingest_starts_while_influxdb_is_down_and_delivers_when_it_comes_up(mosquitto, tmp_path):
    server = InfluxDB(tmp_path)  # not started yet
    expected = expected_values("1m")
    ingest = Ingest(tmp_path, mosquitto.url, store=server.url()).start()
    try:
        result = energy_expo("simulate", "--broker", mosquitto.url, "--speed", "3000", "--duration", "1m", *SIM_RUN)
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (ingest.health() or {}).get("readings_spooled", 0) < 6 * 320:
            time.sleep(0.2)
        assert ingest.health()["readings_spooled"] == 6 * 320
        server.start()
        stored = wait_for(lambda: influx_values(server.port), len(expected), timeout_s=90)
        assert ingest.stop() == 0
        assert stored.keys() == expected.keys()
        totals = {ts for device, _, ts in influx_values(server.port, totals=True) if device == TOTALS_DEVICE}
        assert len(totals) == 5  # the town's totals were spooled with the readings, and replayed
    finally:
        server.stop()


def test_readings_beyond_the_retention_policy_are_quarantined_counted_and_acknowledged(mosquitto, influxdb,
                                                                                         tmp_path):
    """A database that keeps one hour, a simulator replaying a July day and a meter reading now: the old
    readings are refused by the server, quarantined with its message and counted; the new ones and every
    device's metadata are stored; every message is acknowledged, so nothing comes back after a restart."""
    import json

    from expo.reading import Reading
    from expo.store import REFUSED, open_store
    from tests.expo.stores.influx_admin import short_retention
    from tests.mqtt_client import publish_one

    short_retention(influxdb.port, "expo")
    ingest = Ingest(tmp_path, mosquitto.url, store=influxdb.url()).start()
    result = energy_expo("simulate", "--broker", mosquitto.url, "--speed", "3000", "--duration", "1m", *SIM_RUN)
    assert result.returncode == 0, result.stderr
    now = time.time()
    fresh = [Reading("binhai", "home-001", round(now) - 30 + 10 * i, {"power_w": 500.0 + i}) for i in range(3)]
    for reading in fresh:
        publish_one(mosquitto.port, "expo/binhai/home-001/reading", reading.to_json().encode())
    old = 6 * 320  # six 10-second steps of 320 meters, on 1 July
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (ingest.health() or {}).get("readings_written", 0) < len(fresh):
        time.sleep(0.2)
    health = ingest.health()
    old_totals = 6  # the site's totals of those six steps (each made as the next reading came) were old too
    assert health["rejected_store_refused"] == old + old_totals and health["readings_written"] == len(fresh)
    assert health["rejected"] >= old and health["spool_batches"] == 0 and health["store_down"] == 0.0
    assert ingest.stop() == 0

    stored = influx_values(influxdb.port)
    assert sorted(stored.values()) == [500.0, 501.0, 502.0]
    store = open_store(influxdb.url())
    refused = [q for q in store.rejected(limit=5000) if q.reason == REFUSED]
    assert len(refused) == old + old_totals
    assert all("beyond retention policy" in q.detail for q in refused)
    assert json.loads(refused[0].payload)["ts"].startswith("2026-07-01")
    assert len(store.devices()) == 320 + 1  # metadata (the totals' too) is written when it arrives, in the retention
    store.close()

    again = Ingest(tmp_path, mosquitto.url, store=influxdb.url()).start()  # the same persistent session
    time.sleep(3)
    after = again.health()
    assert again.stop() == 0
    assert after["readings_accepted"] == 0 and after["rejected_store_refused"] == 0  # all were acknowledged
