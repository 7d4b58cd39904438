"""The meter registry: what it says outranks every guess, a broken edit names its line and changes nothing."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings, strategies as st

from expo.errors import UserError
from expo.kinds import KINDS
from expo.store import Batch
from ingest.checks import Checks, Limits
from ingest.counters import CounterState
from ingest.meter_registry import CHECK_EVERY_S, RegistryFile, parse
from ingest.process import Incoming, Processor
from ingest.routes import build_routes

NOW = 1795579200.0

GOOD = """\
# the plant room
[[meter]]
id = "HeatPump-Plug"
kind = "heat_pump"
name = { en = "Heat pump", zh = "热泵" }
building = "zeb"
parent = "feeder-01"
position = { x_m = 120, y_m = -40 }
rated_power_w = 3000

[[meter]]
id = "keller-sml"
site = "eco-city"
kind = "grid_connection"
name = { en = "Grid meter", zh = "电网表" }
route = { topic = "tele/keller/SENSOR", decoder = "tasmota", sml_fields = { Zaehler_A = "import", Momentan = "power" } }
"""


def test_a_registry_says_everything_a_native_meta_can_and_lower_cases_ids_as_decoders_do():
    registry = parse(GOOD, "meters.toml", "binhai")
    plug = registry.metas[("binhai", "heatpump-plug")]
    assert (plug.kind, plug.name_zh, plug.building, plug.parent, plug.x_m, plug.y_m, plug.rated_power_w) == (
        "heat_pump", "热泵", "zeb", "feeder-01", 120.0, -40.0, 3000.0)
    assert plug.source == "meter"
    grid = registry.metas[("eco-city", "keller-sml")]
    assert grid.kind == "grid_connection" and grid.x_m == 0.0
    (route,) = registry.routes
    assert route.topic == "tele/keller/SENSOR" and route.decoder == "tasmota"
    assert route.options["kind"] == "grid_connection"  # the meter's kind names its counters, unless the route says
    assert route.options["sml_fields"] == {"Zaehler_A": "import", "Momentan": "power"}


def _broken(text: str) -> str:
    with pytest.raises(UserError) as caught:
        parse(text, "meters.toml", "binhai")
    return str(caught.value)


@pytest.mark.parametrize("line, old, new, says", [
    (4, 'kind = "heat_pump"', 'kind = "heatpump"', "heatpump"),
    (5, 'name = { en = "Heat pump", zh = "热泵" }', 'name = { en = "Heat pump" }', "name"),
    (7, 'parent = "feeder-01"', 'parent = "Feeder 01"', "Feeder 01"),
    (8, 'position = { x_m = 120, y_m = -40 }', 'position = { x_m = "far", y_m = -40 }', "number"),
    (16, 'route = { topic = "tele/keller/SENSOR", decoder = "tasmota", sml_fields',
     'route = { topic = "tele/keller/SENSOR", decoder = "tasmota2", sml_fields', "tasmota2"),
    (14, 'kind = "grid_connection"', 'knd = "grid_connection"', "knd"),
    (6, 'building = "zeb"', 'building = "zeb', "line 6"),  # TOML's own error names it too
])
def test_a_broken_entry_is_one_error_naming_its_line(line, old, new, says):
    text = GOOD.replace(old, new)
    assert text != GOOD
    assert text.splitlines()[line - 1].strip().startswith(new.split(" =")[0].split("=")[0].strip())
    message = _broken(text)
    assert (f"meters.toml:{line}:" in message or f"line {line}" in message) and says in message, message
    assert "Traceback" not in message and "\n" not in message


def test_the_same_meter_twice_and_a_missing_id_are_refused():
    twice = GOOD + '\n[[meter]]\nid = "heatpump-plug"\nkind = "lighting"\nname = { en = "x", zh = "x" }\n'
    assert "described twice" in _broken(twice) and "meters.toml:18:" in _broken(twice)
    assert "needs id" in _broken('[[meter]]\nkind = "lighting"\nname = { en = "x", zh = "x" }\n')
    assert "unknown table" in _broken('[meters]\nid = "x"\n')


_ids = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)
_names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)
_entries = st.fixed_dictionaries(
    {"id": _ids, "kind": st.sampled_from(sorted(KINDS)), "en": _names, "zh": _names},
    optional={"x_m": st.floats(-1e4, 1e4), "parent": _ids, "rated_power_w": st.floats(0, 1e7)})


@settings(max_examples=60, deadline=None)
@given(st.lists(_entries, min_size=1, max_size=6, unique_by=lambda e: e["id"]))
def test_every_written_meter_is_read_back_as_written(entries):
    def toml(entry):
        lines = ["[[meter]]", f"id = {json.dumps(entry['id'])}", f"kind = {json.dumps(entry['kind'])}",
                 f"name = {{ en = {json.dumps(entry['en'], ensure_ascii=False)}, zh = {json.dumps(entry['zh'], ensure_ascii=False)} }}"]
        if "x_m" in entry:
            lines.append(f"position = {{ x_m = {entry['x_m']!r}, y_m = 0.0 }}")
        if "parent" in entry:
            lines.append(f"parent = {json.dumps(entry['parent'])}")
        if "rated_power_w" in entry:
            lines.append(f"rated_power_w = {entry['rated_power_w']!r}")
        return "\n".join(lines)

    registry = parse("\n\n".join(toml(e) for e in entries), "m.toml", "binhai")
    assert len(registry) == len(entries)
    for entry in entries:
        meta = registry.metas[("binhai", entry["id"])]
        assert (meta.kind, meta.name_en, meta.name_zh) == (entry["kind"], entry["en"], entry["zh"])
        assert meta.x_m == entry.get("x_m", 0.0) and meta.parent == entry.get("parent")
        assert meta.rated_power_w == entry.get("rated_power_w", 0.0)


def test_an_edit_is_read_within_the_check_interval_and_a_broken_one_keeps_the_last_good(tmp_path, caplog):
    path = tmp_path / "meters.toml"
    path.write_text(GOOD, encoding="utf-8")
    file = RegistryFile(path, "binhai")
    assert len(file.load()) == 2
    assert file.poll(100.0) is None  # unchanged
    path.write_text(GOOD.replace("x_m = 120", "x_m = 130"), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a new time whatever the file system's resolution
    assert file.poll(100.0 + CHECK_EVERY_S / 2) is None  # not looked at yet: the clock decides, not a sleep
    moved = file.poll(100.0 + CHECK_EVERY_S)
    assert moved is not None and moved.metas[("binhai", "heatpump-plug")].x_m == 130.0
    path.write_text(GOOD.replace('"heat_pump"', '"heatpump"'), encoding="utf-8")
    os.utime(path, ns=(2, 2))
    assert file.poll(200.0) is None
    assert file.errors == 1 and "meters.toml:4:" in file.error and "heatpump" in file.error
    assert file.current.metas[("binhai", "heatpump-plug")].x_m == 130.0  # the last good stays in force
    assert sum("meters.toml:4:" in r.getMessage() for r in caplog.records) == 1
    assert file.poll(300.0) is None and file.errors == 1  # the same broken file is not said again
    path.write_text(GOOD, encoding="utf-8")
    os.utime(path, ns=(3, 3))
    assert file.poll(400.0) is not None and file.error is None


def test_a_missing_or_broken_registry_stops_the_start_in_one_line(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        RegistryFile(tmp_path / "nope.toml", "binhai").load()
    (tmp_path / "bad.toml").write_text("[[meter]]\nid = \n", encoding="utf-8")
    with pytest.raises(UserError, match="line 2"):
        RegistryFile(tmp_path / "bad.toml", "binhai").load()


def _processor(sites=None) -> Processor:
    return Processor(build_routes([], True), "binhai", Checks(Limits(max_new_devices_per_minute=1), clock=lambda: NOW),
                     CounterState())


def _meta_message(device: str, kind: str, x_m: float) -> Incoming:
    body = {"v": 1, "kind": kind, "name": {"en": device, "zh": device}, "position": {"x_m": x_m, "y_m": 0}}
    return Incoming(f"expo/binhai/{device}/meta", json.dumps(body).encode(), NOW)


def test_the_registry_outranks_a_native_meta_and_every_decoders_guess():
    processor = _processor()
    registry = parse(GOOD, "meters.toml", "binhai")
    batch = Batch()
    processor.use_registry(registry, batch)
    assert {(m.site, m.device) for m in batch.metas} == set(registry.metas)
    told = registry.metas[("binhai", "heatpump-plug")]
    later = Batch()
    processor.add(_meta_message("heatpump-plug", "lighting", 5.0), later)
    processor.add(Incoming("tele/heatpump-plug/SENSOR", b'{"ENERGY":{"Power":1800,"Total":12.5}}', NOW), later)
    assert processor.metas[("binhai", "heatpump-plug")] == told and not later.metas
    assert {r.device for r in later.readings} >= {"heatpump-plug"} and not later.rejected
    again = Batch()
    processor.use_registry(registry, again)  # read again, unchanged: nothing to write
    assert not again.metas


def test_registered_meters_are_known_never_a_flood_and_their_route_decodes_them():
    processor = _processor()
    processor.use_registry(parse(GOOD, "meters.toml", "binhai"), Batch())
    batch = Batch()
    processor.add(Incoming("tele/somebody-else/SENSOR", b'{"ENERGY":{"Power":10,"Total":1}}', NOW), batch)  # 1 new
    processor.add(Incoming("tele/heatpump-plug/SENSOR", b'{"ENERGY":{"Power":1800,"Total":12.5}}', NOW), batch)
    processor.add(Incoming("tele/keller/SENSOR", b'{"SML":{"Zaehler_A":3094.67,"Momentan":114}}', NOW), batch)
    assert not batch.rejected, [r.reason for r in batch.rejected]  # the cap of one new device took the stranger
    assert {r.device: r.site for r in batch.readings}["keller-sml"] == "eco-city"  # the registry's site, not binhai
    sml = {r.device: r.metrics for r in batch.readings}
    assert sml["keller-sml"]["energy_import_wh"] == pytest.approx(3_094_670.0)  # the route's sml_fields said so
    assert sml["keller-sml"]["power_w"] == 114.0


def test_a_meter_taken_out_of_the_registry_keeps_its_metadata_and_a_native_meta_may_change_it():
    processor = _processor()
    processor.use_registry(parse(GOOD, "meters.toml", "binhai"), Batch())
    processor.use_registry(parse("", "meters.toml", "binhai"), Batch())
    assert processor.metas[("binhai", "heatpump-plug")].kind == "heat_pump"
    batch = Batch()
    processor.add(_meta_message("heatpump-plug", "lighting", 5.0), batch)
    assert processor.metas[("binhai", "heatpump-plug")].kind == "lighting"
    assert route_topics(processor) == route_topics(_processor())  # its route went with it


def route_topics(processor: Processor) -> list[str]:
    return [r.topic for r in processor.routes]


def test_ingest_follows_an_edited_registry_without_a_restart(mosquitto, tmp_path):
    """Through a real broker into a real store: the registry's place for a Tasmota plug, a moved place after an
    edit, a route added by an edit subscribed at once, and a broken edit that changes nothing."""
    import time

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from expo import config as settings
    from expo.store import open_store
    from ingest.service import IngestService
    from tests.ingest.harness import stored_values

    path, db = tmp_path / "meters.toml", tmp_path / "expo.db"
    path.write_text(GOOD, encoding="utf-8")
    (tmp_path / "energy-expo.toml").touch()
    cfg = settings.load({"broker": mosquitto.url, "store": f"sqlite:///{db}", "state_dir": str(tmp_path / "state"),
                         "mqtt_client_id": "registry", "meters": str(path)}, environ={},
                        path=tmp_path / "energy-expo.toml")
    monotonic = [1000.0]
    service = IngestService(cfg, monotonic=lambda: monotonic[0])

    def until(done, what):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not done():
            time.sleep(0.1)
        assert done(), what

    def meta(device):
        store = open_store(f"sqlite:///{db}")
        try:
            return next((m for m in store.devices() if m.device == device), None)
        finally:
            store.close()

    def edit(text, ns):
        path.write_text(text, encoding="utf-8")
        os.utime(path, ns=(ns, ns))
        monotonic[0] += CHECK_EVERY_S

    service.start()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    try:
        until(service.subscriber.connected.is_set, "ingest connected")
        client.connect("127.0.0.1", mosquitto.port)
        client.loop_start()
        client.publish("tele/heatpump-plug/SENSOR", b'{"ENERGY":{"Power":1800,"Total":12.5}}', qos=1).wait_for_publish(5)
        until(lambda: any(k[0] == "heatpump-plug" for k in stored_values(db)), "the plug's reading stored")
        assert (meta("heatpump-plug").kind, meta("heatpump-plug").x_m) == ("heat_pump", 120.0)  # not plug_load at 0
        boiler = ('\n[[meter]]\nid = "boiler"\nkind = "heat_pump"\nname = { en = "Boiler", zh = "锅炉" }\n'
                  'route = { topic = "home/boiler/power", decoder = "generic", device = "boiler", metric = "power", '
                  'unit = "kW" }\n')
        # retained, before the edit: the broker hands it over when the edit's route subscribes, whenever that is
        client.publish("home/boiler/power", b"1.5", qos=1, retain=True).wait_for_publish(5)
        edit(GOOD.replace("x_m = 120", "x_m = 130") + boiler, 10**18)
        until(lambda: meta("heatpump-plug").x_m == 130.0 and meta("boiler") is not None, "the edit taken up")
        until(lambda: stored_values(db).get(next((k for k in stored_values(db) if k[0] == "boiler"), None)) == 1500.0,
              "the boiler's 1.5 kW stored as 1500 W")
        edit(GOOD.replace("x_m = 120", "x_m = 5").replace('"heat_pump"', '"heatpump"'), 2 * 10**18)
        until(lambda: service.health().get("registry_broken") == 1.0, "the broken edit seen")
        assert service.health()["registry_errors"] == 1.0 and service.health()["registry_meters"] == 3.0
        assert meta("heatpump-plug").x_m == 130.0  # the last good registry stays
    finally:
        client.publish("home/boiler/power", b"", qos=1, retain=True).wait_for_publish(5)  # the broker as it was
        client.disconnect()
        client.loop_stop()
        service.stop()


def test_a_newcomer_is_told_the_line_by_check_and_by_ingest_without_a_traceback(tmp_path):
    from tests.cli import energy_expo

    (tmp_path / "meters.toml").write_text(GOOD.replace('"heat_pump"', '"heatpump"'), encoding="utf-8")
    checked = energy_expo("check", "--meters", "meters.toml", "--no-broker", "--no-store", cwd=tmp_path)
    started = energy_expo("ingest", "--meters", "meters.toml", "--store", "sqlite:///x.db", cwd=tmp_path)
    for run in (checked, started):
        assert run.returncode != 0 and "meters.toml:4:" in run.stdout + run.stderr
        assert "Traceback" not in run.stderr
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened
    (tmp_path / "meters.toml").write_text(GOOD, encoding="utf-8")
    good = energy_expo("check", "--meters", "meters.toml", "--no-broker", "--no-store", cwd=tmp_path)
    assert good.returncode == 0 and "2 meters (binhai, eco-city), 1 with a route of their own" in good.stdout
