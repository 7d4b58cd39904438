"""Ingest's memory is found from any folder and describes the store it is bound to; replaced meters carry on.

Each test runs ingest as its own process against a real Mosquitto (and InfluxDB where the store must come and
go), the way an exhibit runs it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from expo.reading import format_ts
from ingest.state import DEFAULT_STATE_DIR, Saved, StateFolder, resolve_state_dir
from tests.cli import energy_expo
from testkit.servers import InfluxDB
from tests.ingest.harness import (
    SIM_RUN, Ingest, expected_values, influx_values, stored_values, wait_for, wait_for_values,
)


def simulate(broker_url: str, duration: str) -> None:
    result = energy_expo("simulate", "--broker", broker_url, "--speed", "3000", "--duration", duration, *SIM_RUN)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("fresh", ["another database file", "the database file deleted"])
def test_a_fresh_store_started_beside_old_state_loses_nothing(mosquitto, tmp_path, fresh):
    """The old memory remembers counters higher than the new run's: bound to the old store, it is set aside."""
    old_db = tmp_path / "old.db"
    first = Ingest(tmp_path, mosquitto.url, db=old_db).start()
    simulate(mosquitto.url, "5m")  # counters five minutes on
    wait_for_values(old_db, len(expected_values("5m")))
    assert first.stop() == 0
    if fresh == "another database file":
        new_db = tmp_path / "new.db"
    else:
        for path in tmp_path.glob("old.db*"):
            path.unlink()
        new_db = old_db
    expected = expected_values("1m")
    second = Ingest(tmp_path, mosquitto.url, db=new_db).start()
    simulate(mosquitto.url, "1m")  # the same meters from the start again: their counters are lower
    stored = wait_for_values(new_db, len(expected))
    health = second.health()
    assert second.stop() == 0
    assert stored.keys() == expected.keys()
    assert health["rejected"] == 0
    log = second.log.read_text()
    assert "counters start clean" in log and "Traceback" not in log
    folder = tmp_path / "state-test-ingest" / "test-ingest"
    assert len(list(folder.glob("state.store-*.json"))) == 1  # the old memory, kept aside
    state = json.loads((folder / "state.json").read_text())
    con = sqlite3.connect(new_db)
    assert state["store"]["identity"] == con.execute("SELECT id FROM identity").fetchone()[0]


def test_started_from_another_folder_ingest_finds_its_spool(mosquitto, tmp_path):
    """No --state-dir: the default ($XDG_STATE_HOME) is absolute, so the second start replays the first's spool."""
    server = InfluxDB(tmp_path)  # not started: the first run can only spool
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg")}
    (tmp_path / "here").mkdir()
    (tmp_path / "there").mkdir()
    expected = expected_values("1m")
    first = Ingest(tmp_path, mosquitto.url, store=server.url(), state_dir="default", cwd=tmp_path / "here",
                   env=env).start()
    try:
        simulate(mosquitto.url, "1m")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (first.health() or {}).get("readings_spooled"):
            time.sleep(0.1)
        # what is spooled was acknowledged: only the spool can bring it now (the broker redelivers the rest)
        assert first.health()["spool_readings"] > 0
        assert first.stop() == 0
        spools = list((tmp_path / "xdg" / "energy-expo" / "ingest" / "test-ingest").glob("spool-*.db"))
        assert len(spools) == 1
        server.start()
        second = Ingest(tmp_path, mosquitto.url, store=server.url(), state_dir="default", cwd=tmp_path / "there",
                        env=env).start()
        stored = wait_for(lambda: influx_values(server.port), len(expected), timeout_s=60)
        health = second.health()
        assert second.stop() == 0
        assert stored.keys() == expected.keys()
        assert health["spool_batches"] == 0 and health["batches_replayed"] > 0
        assert str(tmp_path / "xdg" / "energy-expo" / "ingest" / "test-ingest") in second.log.read_text()
    finally:
        server.stop()


def publish(port: int, messages: list[tuple[str, dict]], retain: bool = False) -> None:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    for topic, body in messages:
        client.publish(topic, json.dumps(body), qos=1, retain=retain).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_a_replaced_meter_is_accepted_after_a_few_readings_and_recorded(mosquitto, tmp_path):
    ingest = Ingest(tmp_path, mosquitto.url).start()
    start_s = float(int(time.time()) - 600)

    def reading(device: str, i: int, energy_wh: float) -> tuple[str, dict]:
        return (f"expo/binhai/{device}/reading",
                {"v": 1, "ts": format_ts(start_s + 10 * i), "metrics": {"energy_wh": energy_wh}})

    meta = {"v": 1, "kind": "household", "name": {"en": "Home", "zh": "住户"}, "source": "meter"}
    publish(mosquitto.port, [("expo/binhai/home-declared/meta", {**meta, "replaced_s": start_s + 15})])
    publish(mosquitto.port, [
        reading("home-swapped", 0, 5000.0), reading("home-swapped", 1, 5010.0),  # the old meter
        *(reading("home-swapped", 2 + i, 3000.0 + 2 * i) for i in range(4)),  # a used one, counting on
        reading("home-declared", 0, 5000.0), reading("home-declared", 1, 5010.0),
        reading("home-declared", 2, 9000.0), reading("home-declared", 3, 9004.0),  # swapped at start + 15 s
    ])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (ingest.health() or {}).get("readings_written", 0) < 8:
        time.sleep(0.2)
    health = ingest.health()
    assert ingest.stop() == 0
    stored = stored_values(ingest.db)
    ms = lambda i: round((start_s + 10 * i) * 1000)  # noqa: E731
    swapped = {ts: v for (d, m, ts), v in stored.items() if d == "home-swapped"}
    assert swapped == {ms(0): 5000.0, ms(1): 5010.0, ms(4): 5014.0, ms(5): 5016.0}  # two refused, then on
    declared = {ts: v for (d, m, ts), v in stored.items() if d == "home-declared"}
    assert declared == {ms(0): 5000.0, ms(1): 5010.0, ms(2): 5010.0, ms(3): 5014.0}
    assert health["counter_replacements"] == 2 and health["rejected_counter_backwards"] == 2
    con = sqlite3.connect(ingest.db)
    records = con.execute("SELECT topic, detail FROM rejected WHERE reason = 'counter_replaced'").fetchall()
    assert {topic for topic, _ in records} == {"expo/binhai/home-swapped/reading", "expo/binhai/home-declared/reading"}
    assert all("meter replaced" in detail for _, detail in records)
    assert "counter_replaced" in ingest.log.read_text()


def test_the_state_directory_is_absolute_and_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_state_dir(DEFAULT_STATE_DIR, {"XDG_STATE_HOME": "/srv/state"}) == \
        resolve_state_dir("/srv/state/energy-expo/ingest", {})
    home = os.path.expanduser("~")
    for environ in ({}, {"XDG_STATE_HOME": "relative/is/ignored"}):
        assert str(resolve_state_dir(DEFAULT_STATE_DIR, environ)) == f"{home}/.local/state/energy-expo/ingest"
    assert resolve_state_dir("data/ingest", {}) == tmp_path / "data" / "ingest"


def test_memory_is_kept_while_the_store_cannot_say_who_it_is(tmp_path):
    folder = StateFolder(tmp_path, "ingest-1")
    folder.open()
    saved = Saved({"counters": [["binhai", "home-1", "energy_wh", 5.0, 1.0, 0.0]]}, ["expo/+/+/+"], "a", "id-1")
    assert folder.bind(saved, "a", None, store_has_readings=False) is saved  # unreachable: checked next start
    assert folder.bind(saved, "a", "id-1", store_has_readings=True).counters == saved.counters
    folder.save(saved)
    clean = folder.bind(saved, "a", "id-2", store_has_readings=True)
    assert clean.counters == {} and clean.filters == saved.filters and clean.identity == "id-2"
    assert not folder.state_file.exists() and len(list(folder.path.glob("state.store-id-1-*.json"))) == 1


def test_two_client_ids_never_share_a_folder(tmp_path):
    names = {StateFolder(tmp_path, client).path.name for client in ("a/b", "a_b", "a b", "ingest-1")}
    assert len(names) == 4 and all("/" not in n for n in names)


def test_files_of_the_earlier_layout_move_into_the_clients_folder(tmp_path):
    legacy = {"counters": {"counters": [["binhai", "home-1", "energy_wh", 5.0, 1.0, 0.0]]}, "filters": ["expo/+/+/+"]}
    (tmp_path / "state.json").write_text(json.dumps(legacy))
    (tmp_path / "spool.db").write_bytes(b"")
    folder = StateFolder(tmp_path, "ingest-1")
    folder.open()
    folder.adopt_legacy("sqlite:/data/expo.db")
    assert not (tmp_path / "state.json").exists() and folder.state_file.exists()
    assert folder.spool_path("sqlite:/data/expo.db").exists()
    saved = folder.load()
    assert saved.identity is None and saved.filters == ["expo/+/+/+"]
    kept = folder.bind(saved, "sqlite:/data/expo.db", "id-1", store_has_readings=True)  # the store it described
    assert kept.counters == legacy["counters"] and kept.identity == "id-1"
    clean = folder.bind(saved, "sqlite:/data/expo.db", "id-1", store_has_readings=False)  # an empty store
    assert clean.counters == {} and len(list(folder.path.glob("state.store-unknown-*.json"))) == 1


def test_a_store_keeps_its_identity_and_a_new_one_has_another(influxdb, tmp_path):
    from expo.store import open_store

    first = open_store(influxdb.url("one"))
    identity = first.identity()
    assert identity and first.identity() == identity and open_store(influxdb.url("one")).identity() == identity
    assert open_store(influxdb.url("two")).identity() != identity  # another database
    import urllib.parse
    import urllib.request

    def query(q: str) -> str:
        request = urllib.request.Request(f"http://127.0.0.1:{influxdb.port}/query?{urllib.parse.urlencode({'q': q})}",
                                         method="POST")
        return urllib.request.urlopen(request).read().decode()

    query('DROP DATABASE "one"')
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and '["one"]' in query("SHOW DATABASES"):  # the server drops it a while after
        time.sleep(0.05)
    assert open_store(influxdb.url("one")).identity() != identity  # the same name, re-created
    db = tmp_path / "expo.db"
    sqlite = open_store(f"sqlite:///{db}")
    kept = sqlite.identity()
    assert sqlite.identity() == kept
    sqlite.close()
    for path in tmp_path.glob("expo.db*"):
        path.unlink()
    assert open_store(f"sqlite:///{db}").identity() != kept  # the file deleted: a new store


def test_a_spool_left_in_the_old_default_folder_is_adopted_and_delivered(mosquitto, tmp_path):
    """Ingest used to keep its files in ./energy-expo-data/ingest: started there with the new default, it takes
    them over, so acknowledged readings spooled by the old layout still reach the store."""
    server = InfluxDB(tmp_path)  # not started: the first run can only spool
    here = tmp_path / "here"
    old_folder = here / "energy-expo-data" / "ingest"
    old_folder.mkdir(parents=True)
    expected = expected_values("1m")
    first = Ingest(tmp_path, mosquitto.url, store=server.url(), state_dir=str(tmp_path / "then")).start()
    try:
        simulate(mosquitto.url, "1m")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (first.health() or {}).get("readings_spooled"):
            time.sleep(0.1)
        # what is spooled was acknowledged: only the old spool can bring it (the rest the broker redelivers)
        assert first.health()["readings_spooled"] > 0
        assert first.stop() == 0
        [spool] = (tmp_path / "then" / "test-ingest").glob("spool-*.db")
        os.replace(spool, old_folder / "spool.db")  # the layout of before: files straight in the folder
        os.replace(tmp_path / "then" / "test-ingest" / "state.json", old_folder / "state.json")
        server.start()
        env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg")}
        second = Ingest(tmp_path, mosquitto.url, store=server.url(), state_dir="default", cwd=here, env=env).start()
        stored = wait_for(lambda: influx_values(server.port), len(expected), timeout_s=60)
        assert second.stop() == 0
        assert stored == expected
        assert not (old_folder / "spool.db").exists()
        assert f"moved {old_folder / 'spool.db'}" in second.log.read_text()
    finally:
        server.stop()
