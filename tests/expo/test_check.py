"""`energy-expo check` against a real broker and real stores: what it finds, and a clear line per failure."""

from __future__ import annotations

import os
import subprocess

from expo.metadata import DeviceMeta
from expo.reading import Reading
from expo.store import Batch, open_store
from tests.cli import energy_expo
from testkit.ports import free_port, wait_for_port
from testkit.servers import Mosquitto
from tests.mqtt_client import publish_one


def fill(url: str) -> None:
    store = open_store(url)
    try:
        store.write(Batch(readings=[Reading("binhai", "home-1", 1.79e9, {"power_w": 1.0})],
                          metas=[DeviceMeta("binhai", "home-1", "household", "Home 1", "住户 1")]))
    finally:
        store.close()


def test_check_reports_broker_version_devices_and_the_newest_reading(tmp_path, mosquitto):
    publish_one(mosquitto.port, "expo/binhai/home-1/meta", DeviceMeta("binhai", "home-1", "household", "Home 1",
                                                                      "住户 1").to_json().encode(), retain=True)
    db = tmp_path / "expo.db"
    fill(f"sqlite:///{db}")
    result = energy_expo("check", "--broker", mosquitto.url, "--store", f"sqlite:///{db}")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok   broker") and "mosquitto version" in lines[0] and "1 devices" in lines[0]
    assert lines[1].startswith("ok   store") and "SQLite" in lines[1] and "journal wal" in lines[1]
    assert lines[2].startswith("ok   data: 1 devices known, 1 with readings; newest reading 2026-09-21")


def test_check_names_each_failure_in_plain_words(tmp_path):
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "ingest", "s3cret"], check=True)
    secured = free_port()
    broker = Mosquitto(tmp_path, extra=f"listener {secured} 127.0.0.1\nallow_anonymous false\n"
                                       f"password_file {passwords}\n").start()
    wait_for_port(secured)
    try:
        wrong = energy_expo("check", "--broker", f"mqtt://ingest@127.0.0.1:{secured}", "--no-store",
                            env={**os.environ, "EXPO_MQTT_PASSWORD": "nope"})
        right = energy_expo("check", "--broker", f"mqtt://ingest@127.0.0.1:{secured}", "--no-store",
                            env={**os.environ, "EXPO_MQTT_PASSWORD": "s3cret"})
    finally:
        broker.stop()
    assert wrong.returncode == 1 and "FAIL broker" in wrong.stdout and "refused the connection" in wrong.stdout
    assert "password" in wrong.stdout
    assert right.returncode == 0, right.stdout
    closed = energy_expo("check", "--broker", f"mqtt://127.0.0.1:{free_port()}", "--store",
                         f"influxdb://127.0.0.1:{free_port()}/expo")
    assert closed.returncode == 1
    assert "connection refused: nothing listens on that port" in closed.stdout
    assert "FAIL store influxdb://" in closed.stdout
    assert "Traceback" not in closed.stderr + wrong.stderr


def test_check_reads_an_influxdb_server(influxdb):
    url = influxdb.url("checked")
    fill(url)
    result = energy_expo("check", "--no-broker", "--store", url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "InfluxDB 1." in result.stdout and "database checked" in result.stdout
    assert "1 devices known, 1 with readings" in result.stdout


def test_check_looks_and_creates_nothing(tmp_path, influxdb):
    """A store that is not there yet is one FAIL line saying so, from the store itself; check makes no file and
    no database on the way."""
    from tests.expo.stores.influx_admin import influxql

    missing = tmp_path / "data" / "expo.db"
    result = energy_expo("check", "--no-broker", "--store", f"sqlite:///{missing}")
    assert result.returncode == 1
    assert f"FAIL store sqlite:///{missing}: no database at {missing} yet (ingest or up creates it)" in result.stdout
    assert not missing.exists()
    result = energy_expo("check", "--no-broker", "--store", influxdb.url("absent"))
    assert result.returncode == 1
    assert "has no database 'absent' yet" in result.stdout and "Traceback" not in result.stderr
    databases = [row[0] for s in influxql(influxdb.port, "SHOW DATABASES") for row in s.get("values", [])]
    assert "absent" not in databases


def test_a_file_that_is_not_a_store_is_one_line_from_every_command(tmp_path):
    bogus = tmp_path / "expo.db"
    bogus.write_text("not a database")
    checked = energy_expo("check", "--no-broker", "--store", f"sqlite:///{bogus}")
    assert checked.returncode == 1 and "FAIL store" in checked.stdout and "cannot open SQLite store" in checked.stdout
    served = energy_expo("backfill", "--days", "0.01", "--store", f"sqlite:///{bogus}")
    assert served.returncode == 2 and "Traceback" not in served.stderr
    assert served.stderr.strip().endswith(f"cannot open SQLite store {bogus}: file is not a database")


def test_check_shows_each_ingest_replica_and_fails_on_a_silent_one(capsys):
    """Each replica on a line of its own with its age; one silent past three heartbeats is a failure that says
    since when."""
    import time

    from energy_expo.commands.check import check_ingest
    from expo.store import INGEST_SILENT_S, ProcessHealth

    now = time.time()
    writing = ProcessHealth("ingest-a", now - 12, {"received": 1200.0, "readings_written": 1190.0})
    assert check_ingest([writing], now)
    stopped = ProcessHealth("ingest-b", now - INGEST_SILENT_S - 60, {"received": 80.0})
    assert not check_ingest([writing, stopped], now)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ok   ingest ingest-a: writing") and "received 1,200" in lines[0]
    since = time.strftime("%Y-%m-%d %H:%M", time.localtime(stopped.written_s))
    assert lines[-1].startswith("FAIL ingest ingest-b: ingest silent since " + since)
