"""One refusal type, whoever refuses: the contract, a decoder, a check or the counters; each counted by its reason."""

from __future__ import annotations

import json

import pytest

from expo.places import TOTALS_DEVICE, BuildingMeta, SiteMeta
from expo.store import Batch
from ingest.checks import Checks
from ingest.counters import CounterState
from ingest.decoders import is_guess
from ingest.process import Incoming, Processor
from ingest.routes import build_routes

NOW = 1795579200.0
TS = "2026-11-25T04:00:00Z"


def native(device: str, body) -> tuple[str, bytes]:
    return f"expo/binhai/{device}/reading", body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.mark.parametrize("topic, payload, reason", [
    (*native("a", {"v": 2, "ts": TS, "metrics": {"power_w": 1}}), "unsupported_version"),  # the contract
    (*native("b", {"v": 1, "ts": "2026-11-25T04:00:00", "metrics": {"power_w": 1}}), "bad_timestamp"),
    (*native("c", {"v": 1, "ts": TS, "metrics": {"power": 1}}), "unknown_metric"),
    (*native("d", b"\xff"), "not_utf8"),
    (*native("e", {"v": 1, "ts": TS, "metrics": {"power_w": True}}), "wrong_type"),
    ("expo/binhai/f/meta", b'{"v": 1, "kind": "spaceship", "name": {"en": "x", "zh": "x"}}', "unknown_kind"),
    ("tele/plug/SENSOR", b'{"ENERGY": {"Power": "lots"}}', "wrong_type"),  # a decoder
    ("expo/eco/site", b'{"v": 1, "kind": "moon_base", "name": {"en": "x", "zh": "x"}}', "invalid"),  # a description
    ("expo/eco/site", b'{"v": 2, "kind": "port", "name": {"en": "x", "zh": "x"}}', "unsupported_version"),
    ("expo/eco/site", b'{"v": 1, "kind": "port", "name": {"en": "x", "zh": "x"}, "timezone": "America"}', "invalid"),
    ("expo/eco/zeb/building", b'{"v": 1, "kind": "office", "name": {"en": "x"}}', "invalid"),
    ("expo/eco/zeb/building", b'', "malformed"),
    (*native("g", {"v": 1, "ts": "2026-11-25T05:00:00Z", "metrics": {"power_w": 1}}), "future_timestamp"),  # a check
])
def test_every_refusal_is_quarantined_with_the_reason_its_raiser_gave(topic, payload, reason):
    processor = Processor(build_routes([], True), "binhai", Checks(clock=lambda: NOW), CounterState())
    batch = Batch()
    processor.add(Incoming(topic, payload, NOW), batch)
    assert [q.reason for q in batch.rejected] == [reason] and not batch.readings
    assert processor.rejected_by_reason == {reason: 1}


def test_a_counter_backwards_is_refused_and_a_replacement_leaves_an_inspection_record():
    processor = Processor(build_routes([], True), "binhai", Checks(clock=lambda: NOW), CounterState())
    batch = Batch()
    for i, energy_wh in enumerate([5000.0, 3000.0, 3001.0, 3002.0]):
        ts = f"2026-11-25T03:5{i}:00Z"
        processor.add(Incoming(*native("h", {"v": 1, "ts": ts, "metrics": {"energy_wh": energy_wh}}), NOW), batch)
    assert [q.reason for q in batch.rejected] == ["counter_backwards", "counter_backwards", "counter_replaced"]
    assert [r.metrics["energy_wh"] for r in batch.readings if r.device != TOTALS_DEVICE] == [5000.0, 5002.0]
    assert processor.rejected_by_reason == {"counter_backwards": 2}  # the record is not a refusal


def test_devices_announced_by_their_metadata_are_never_a_flood_and_invented_ids_still_are():
    """A city comes up with 3,000 meters announcing themselves before they read, under a cap of 100 new devices
    a minute: all are stored. A gateway inventing ids in readings alone is held at the cap."""
    processor = Processor(build_routes([], True), "binhai", Checks(clock=lambda: NOW), CounterState())
    processor.checks.limits.max_new_devices_per_minute = 100
    meta = {"v": 1, "kind": "household", "name": {"en": "Home", "zh": "住户"}}
    batch = Batch()
    for i in range(3000):
        processor.add(Incoming(f"expo/binhai/home-{i}/meta", json.dumps(meta).encode(), NOW), batch)
    for i in range(3000):
        processor.add(Incoming(*native(f"home-{i}", {"v": 1, "ts": TS, "metrics": {"power_w": 1}}), NOW), batch)
    assert len(batch.readings) == 3000 and not batch.rejected
    for i in range(300):
        processor.add(Incoming(*native(f"invented-{i}", {"v": 1, "ts": TS, "metrics": {"power_w": 1}}), NOW), batch)
    assert processor.rejected_by_reason == {"new_device_flood": 200}


SITE = {"v": 1, "kind": "eco_city", "name": {"en": "Eco-City", "zh": "生态城"}, "place": {"x_km": 12, "y_km": 20.5},
        "outline_km": [[9, 18], [15, 18], [15, 23]], "timezone": "Asia/Shanghai"}
BUILDING = {"v": 1, "kind": "office", "name": {"en": "Zero-Energy Building", "zh": "零能耗建筑"}, "role": "zero_energy"}


def test_site_and_building_descriptions_go_into_the_batch_once_each_until_they_change():
    processor = Processor(build_routes([], None), "binhai", Checks(clock=lambda: NOW), CounterState())
    first, again = Batch(), Batch()
    processor.add(Incoming("expo/eco/site", json.dumps(SITE).encode(), NOW), first)
    processor.add(Incoming("expo/eco/zeb/building", json.dumps(BUILDING).encode(), NOW), first)
    assert first.sites == [SiteMeta("eco", "eco_city", "Eco-City", "生态城", 12.0, 20.5,
                                    ((9.0, 18.0), (15.0, 18.0), (15.0, 23.0)))]
    assert first.buildings == [BuildingMeta("eco", "zeb", "office", "Zero-Energy Building", "零能耗建筑", "zero_energy")]
    assert not (first.readings or first.metas or first.rejected)
    processor.add(Incoming("expo/eco/site", json.dumps(SITE).encode(), NOW), again)  # a retained one, redelivered
    assert not again.sites
    processor.add(Incoming("expo/eco/site", json.dumps({**SITE, "kind": "district"}).encode(), NOW), again)
    assert [s.kind for s in again.sites] == ["district"]
    assert not processor.rejected_by_reason


def test_a_meters_own_meta_outranks_what_a_decoder_guesses_from_its_readings():
    """A Tasmota plug told to be a heat pump on the plan, under feeder-03, by a retained native meta: its next
    Tasmota message (a decoder's guess: plug_load, nowhere) neither replaces that nor is written over it."""
    from expo.metadata import DeviceMeta

    processor = Processor(build_routes([], True), "binhai", Checks(clock=lambda: NOW), CounterState())
    told = {"v": 1, "kind": "heat_pump", "name": {"en": "Heat pump", "zh": "热泵"}, "position": {"x_m": 120, "y_m": 40},
            "parent": "feeder-03", "rated_power_w": 6000, "source": "meter"}
    batch = Batch()
    processor.add(Incoming("expo/binhai/plug-7/meta", json.dumps(told).encode(), NOW), batch)
    for _ in range(2):
        processor.add(Incoming("tele/plug-7/SENSOR", b'{"ENERGY": {"Power": 850, "Total": 12.5}}', NOW), batch)
    meta = processor.metas[("binhai", "plug-7")]
    assert (meta.kind, meta.parent, meta.x_m) == ("heat_pump", "feeder-03", 120.0)
    assert [m.kind for m in batch.metas if m.device == "plug-7"] == ["heat_pump"]  # the guess never written
    assert [r.metrics["power_w"] for r in batch.readings if r.device == "plug-7"] == [850.0, 850.0]
    # a device nobody told about keeps the decoder's guess, and a later guess (its route's kind changed) replaces it
    processor.add(Incoming("tele/plug-8/SENSOR", b'{"ENERGY": {"Power": 5}}', NOW), batch)
    assert processor.metas[("binhai", "plug-8")].kind == "plug_load"
    # what the store holds at a restart counts as told when it says more than a guess would
    assert is_guess(processor.metas[("binhai", "plug-8")]) and not is_guess(meta)
    assert not is_guess(DeviceMeta("binhai", "p", "plug_load", "Desk lamp", "台灯", source="meter"))


def test_a_message_that_decodes_to_nothing_is_counted_and_kept_once_an_hour_per_topic():
    """A thermometer's Tasmota SENSOR is valid and says nothing to us: never dropped without a trace, never a
    flood in the quarantine."""
    processor = Processor(build_routes([], True), "binhai", Checks(clock=lambda: NOW), CounterState())
    batch = Batch()
    thermometer = b'{"Time":"2026-11-25T12:00:00","DS18B20":{"Temperature":21.4},"TempUnit":"C"}'
    for minute in range(0, 125, 5):  # every 5 minutes for over two hours
        processor.add(Incoming("tele/keller/SENSOR", thermometer, NOW + 60 * minute), batch)
    processor.add(Incoming("tele/garage/SENSOR", thermometer, NOW), batch)
    kept = [(q.topic, q.received_s) for q in batch.rejected]
    assert kept == [("tele/keller/SENSOR", NOW), ("tele/keller/SENSOR", NOW + 3600), ("tele/keller/SENSOR", NOW + 7200),
                    ("tele/garage/SENSOR", NOW)]
    assert all(q.reason == "decoded_nothing" and q.payload == thermometer for q in batch.rejected)
    assert processor.decoded_nothing == 26 and not processor.rejected_by_reason and not batch.readings


def test_a_last_will_is_stored_as_a_change_of_state_with_its_time_and_not_again_when_redelivered():
    processor = Processor(build_routes([], True), "binhai", Checks(clock=lambda: NOW), CounterState())
    batch = Batch()
    processor.add(Incoming("tele/plug-7/LWT", b"Online", NOW), batch)
    processor.add(Incoming("tele/plug-7/LWT", b"Offline", NOW + 60), batch)
    processor.add(Incoming("tele/plug-7/LWT", b"Offline", NOW + 90), batch)  # retained, delivered again
    processor.add(Incoming("tele/plug-7/LWT", b"Online", NOW + 600), batch)
    assert [(x.device, x.state, x.since_s) for x in batch.states] == [
        ("plug-7", "online", NOW), ("plug-7", "offline", NOW + 60), ("plug-7", "online", NOW + 600)]


def test_a_what_ifs_span_goes_to_the_store_and_a_command_is_not_data():
    processor = Processor(build_routes([], True), "binhai", Checks(clock=lambda: NOW), CounterState())
    span = {"v": 1, "action": "cloud", "name": {"en": "a cloud passes", "zh": "云层飘过"}, "start": TS, "end": None,
            "until": "2026-11-25T05:00:00Z", "ends_at": "2026-11-25T04:01:00Z"}
    batch = Batch()
    processor.add(Incoming("expo/binhai/whatif", json.dumps(span).encode(), NOW), batch)
    processor.add(Incoming("expo/binhai/whatif", json.dumps({**span, "end": "2026-11-25T03:00:00Z"}).encode(), NOW),
                  batch)
    processor.add(Incoming("expo/binhai/control", b'{"v": 1, "action": "cloud"}', NOW), batch)
    assert [(w.action, w.in_force) for w in batch.whatifs] == [("cloud", True)]
    assert [q.reason for q in batch.rejected] == ["invalid", "unknown_topic"]  # an end before its start; a command
