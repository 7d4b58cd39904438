"""Both stores, embedded SQLite and a real InfluxDB server: idempotent writes, rollups that always equal the
raw data whatever order readings arrive in, metadata, site and building descriptions, and quarantine."""

from __future__ import annotations

import itertools
import sqlite3
from collections import defaultdict
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from expo.metadata import DeviceMeta
from expo.places import BuildingMeta, SiteMeta
from expo.reading import Reading
from expo.store import Batch, Rejected, StoreUnavailable, open_store
from expo.stores.sqlite import SQLiteStore

T0 = 1782835200.0  # 2026-07-01T00:00+08:00, on a whole hour
_names = itertools.count()


@pytest.fixture(params=["sqlite", "influxdb"])
def new_store(request, tmp_path_factory):
    """A factory of empty stores of one backend: a new file, or a new database on the shared server."""
    opened = []

    def make():
        if request.param == "sqlite":
            s = open_store(f"sqlite:///{tmp_path_factory.mktemp('db')}/expo.db")
        else:
            s = open_store(request.getfixturevalue("influx_server").url(f"test{next(_names)}"))
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


def expected_rollups(values: dict[float, float], width_s: int) -> dict[float, tuple]:
    buckets = defaultdict(list)
    for ts, v in values.items():
        buckets[ts - ts % width_s].append((ts, v))
    return {b: (len(p), sum(v for _, v in p) / len(p), min(v for _, v in p), max(v for _, v in p), max(p)[1])
            for b, p in buckets.items()}


readings_strategy = st.lists(
    st.tuples(st.integers(0, 3 * 3600 - 1), st.floats(-1e6, 1e6, allow_nan=False, width=32)), min_size=1, max_size=60
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])  # a factory: fresh per input
@given(first=readings_strategy, late=readings_strategy)
def test_rollups_equal_aggregates_of_raw_whatever_the_order(new_store, first, late):
    db = new_store()
    truth: dict[float, float] = {}
    for batch in (first, late):  # the second batch replays, overwrites and fills in earlier minutes
        db.write(Batch(readings=[Reading("binhai", "home-001", T0 + s, {"power_w": v}) for s, v in batch]))
        truth.update({T0 + s: float(v) for s, v in batch})
    db.maintain(force=True)  # rollups may lag writes by a few seconds; a reader sees them once maintained
    assert db.count_readings() == len(truth)
    for resolution, width in (("1m", 60), ("1h", 3600)):
        rows = db.rollups(resolution, T0, T0 + 4 * 3600, "power_w", ["home-001"])
        got = {r.bucket_s: (r.count, r.mean, r.min, r.max, r.last) for r in rows}
        want = expected_rollups(truth, width)
        assert got.keys() == want.keys()
        for bucket, values in want.items():
            assert got[bucket] == pytest.approx(values, rel=1e-9, abs=1e-6), (resolution, bucket)


def test_a_redelivered_batch_leaves_no_duplicate(new_store):
    db = new_store()
    batch = Batch(readings=[Reading("binhai", "home-001", T0 + i * 10, {"power_w": 100.0, "energy_wh": i}) for i in range(30)])
    db.write(batch)
    db.write(batch)
    db.maintain(force=True)
    assert db.count_readings() == 60
    [row] = db.rollups("1h", T0, T0 + 3600, "power_w")
    assert row.count == 30


def test_latest_devices_and_quarantine(new_store):
    db = new_store()
    meta = DeviceMeta("binhai", "home-001", "household", "Home 1", "住户 1", 1.0, 2.0, 9000.0, "feeder-01")
    db.write(Batch(
        readings=[Reading("binhai", "home-001", T0 + 20, {"power_w": 5.0}),
                  Reading("binhai", "home-001", T0 + 10, {"power_w": 4.0, "voltage_v": 220.0})],
        metas=[meta],
        rejected=[Rejected(T0, "expo/binhai/x/reading", "malformed", "payload is not JSON", b"\xff{")],
    ))
    [latest] = db.latest("binhai")
    assert latest.metrics == {"power_w": 5.0, "voltage_v": 220.0} and latest.ts_s == T0 + 20
    assert db.devices() == [meta]
    [q] = db.rejected()
    assert (q.reason, q.payload) == ("malformed", b"\xff{")


def test_a_locked_database_is_unavailable_not_an_error(tmp_path):
    db = SQLiteStore(tmp_path / "expo.db", timeout_s=0.2)
    other = sqlite3.connect(tmp_path / "expo.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreUnavailable, match="locked"):
        db.write(Batch(readings=[Reading("binhai", "home-001", T0, {"power_w": 1.0})]))
    other.execute("ROLLBACK")
    db.write(Batch(readings=[Reading("binhai", "home-001", T0, {"power_w": 1.0})]))
    assert db.count_readings() == 1


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    from expo.errors import UserError
    from expo.store import StoreError

    (tmp_path / "expo.db").write_text("hello")
    with pytest.raises(StoreError, match="cannot open SQLite store") as raised:
        SQLiteStore(tmp_path / "expo.db")
    assert not isinstance(raised.value, UserError)  # a store error; the CLI is what makes it one line


ECO = SiteMeta("eco", "eco_city", "Sino-Singapore Eco-City", "中新生态城", 12.0, 20.5,
               ((9.0, 18.0), (15.0, 18.0), (15.0, 23.0)), "Asia/Shanghai", "Binhai New Area", "滨海新区")
PORT = SiteMeta("port", "port", "Tianjin Port", "天津港", -3.0, 1.5)
ZEB = BuildingMeta("eco", "zeb", "office", "Zero-Energy Smart Building", "零能耗智慧建筑", "zero_energy", 1.0, -2.0)
DEPOT = BuildingMeta("port", "depot", "industrial", "Crane Depot", "起重机库")


def test_site_and_building_descriptions_round_trip(new_store):
    db = new_store()
    assert db.sites() == [] and db.buildings() == []
    db.write(Batch(sites=[PORT, ECO], buildings=[DEPOT, ZEB]))
    assert db.sites() == [ECO, PORT]  # by site id
    assert db.buildings() == [ZEB, DEPOT]  # by (site, building)
    assert db.buildings(site="port") == [DEPOT] and db.buildings(site="nowhere") == []
    assert db.devices() == [] and db.count_readings() == 0  # a description is neither a device nor a reading


def test_the_newest_description_of_a_site_or_building_wins(new_store):
    db = new_store()
    renamed = replace(ECO, name_en="Eco-City", outline_km=())
    db.write(Batch(sites=[ECO], buildings=[ZEB]))
    db.write(Batch(sites=[renamed], buildings=[replace(ZEB, role="ordinary")]))
    assert db.sites() == [renamed]
    assert db.buildings() == [replace(ZEB, role="ordinary")]
    again = replace(renamed, timezone="Asia/Tokyo")
    db.write(Batch(sites=[renamed, again]))  # two in one batch: the later one
    assert db.sites() == [again]


def test_two_sites_with_the_same_device_id_stay_apart(new_store):
    db = new_store()
    db.write(Batch(readings=[Reading(site, "home-01", T0 + i * 10, {"power_w": power})
                             for site, power in (("a", 1000.0), ("b", 3000.0)) for i in range(6)]))
    db.maintain(force=True)
    for resolution in ("1m", "1h"):
        [a] = db.rollups(resolution, T0, T0 + 3600, "power_w", site="a")
        assert (a.site, a.device, a.count, a.mean, a.max) == ("a", "home-01", 6, 1000.0, 1000.0)
        [b] = db.rollups(resolution, T0, T0 + 3600, "power_w", ["home-01"], site="b")
        assert (b.site, b.count, b.mean, b.min) == ("b", 6, 3000.0, 3000.0)
        both = db.rollups(resolution, T0, T0 + 3600, "power_w", ["home-01"])  # no site: every site's home-01
        assert sorted((r.site, r.mean) for r in both) == [("a", 1000.0), ("b", 3000.0)]
        assert db.rollups(resolution, T0, T0 + 3600, "power_w", site="c") == []
    assert {(r.site, r.device): r.metrics["power_w"] for r in db.latest()} == {("a", "home-01"): 1000.0,
                                                                               ("b", "home-01"): 3000.0}
    assert [(r.site, r.metrics["power_w"]) for r in db.latest("b")] == [("b", 3000.0)]
    assert db.count_readings() == 12


def test_a_database_from_before_descriptions_gets_their_tables_when_opened(tmp_path):
    db = SQLiteStore(tmp_path / "expo.db")
    db.write(Batch(readings=[Reading("binhai", "home-001", T0, {"power_w": 1.0})]))
    db.close()
    old = sqlite3.connect(tmp_path / "expo.db", isolation_level=None)
    old.execute("DROP TABLE sites")
    old.execute("DROP TABLE buildings")
    old.close()
    db = SQLiteStore(tmp_path / "expo.db")
    assert db.sites() == [] and db.count_readings() == 1
    db.write(Batch(sites=[ECO], buildings=[ZEB]))
    assert (db.sites(), db.buildings("eco")) == ([ECO], [ZEB])
    db.close()


def test_a_stored_description_this_version_cannot_read_hides_no_other(tmp_path, caplog):
    db = SQLiteStore(tmp_path / "expo.db")
    db.write(Batch(sites=[ECO, PORT]))
    db._db.execute("UPDATE sites SET description = '{\"v\": 2}' WHERE site = 'port'")
    assert db.sites() == [ECO]
    assert "stored description of port not read" in caplog.text
    db.close()


def test_each_ingest_process_keeps_its_own_counters_and_when_it_wrote_them(new_store):
    """Two replicas' counters stay apart (they used to overwrite each other's), each with its own time; counters
    of an older ingest, written without a process, read as one named ``ingest``."""
    import time

    from expo.store import UNNAMED_PROCESS

    store = new_store()
    before = time.time()
    store.write(Batch(health={"received": 10.0, "rejected_malformed": 1.0}, health_from="ingest-a"))
    store.write(Batch(health={"received": 20.0}, health_from="ingest-b"))
    store.write(Batch(health={"received": 11.0, "rejected_malformed": 2.0}, health_from="ingest-a"))
    store.write(Batch(health={"received": 5.0}))
    found = {p.process: p for p in store.ingest_health()}
    assert sorted(found) == sorted(["ingest-a", "ingest-b", UNNAMED_PROCESS])
    assert found["ingest-a"].figures == {"received": 11.0, "rejected_malformed": 2.0}  # its newest, whole
    assert found["ingest-b"].figures == {"received": 20.0}
    assert all(before - 1 <= p.written_s <= time.time() + 1 for p in found.values())


def test_a_meters_own_word_on_its_state_is_kept_with_when_it_changed(new_store):
    """A last will: offline since the moment it changed; said again (a retained will redelivered), the time it
    first changed stays; back online, the new time; per site and device."""
    from expo.store import DeviceState

    store = new_store()
    store.write(Batch(states=[DeviceState("binhai", "plug-7", "offline", T0 + 60)]))
    store.write(Batch(states=[DeviceState("eco", "plug-7", "online", T0 + 65)]))
    store.write(Batch(states=[DeviceState("binhai", "plug-7", "offline", T0 + 60)]))  # the same will again
    assert [(x.site, x.state, x.since_s) for x in store.states()] == [
        ("binhai", "offline", T0 + 60), ("eco", "online", T0 + 65)]
    store.write(Batch(states=[DeviceState("binhai", "plug-7", "online", T0 + 300)]))
    assert [(x.state, x.since_s) for x in store.states("binhai")] == [("online", T0 + 300)]


def test_an_announcement_in_parts_is_merged_and_a_part_never_blanks_what_another_said(new_store):
    """Tasmota's config names the meter, its sensors say what it measures; a Shelly's online says its id only.
    Each part is kept by (site, family, key), every backend merges them field by field."""
    from expo.store import Discovered

    store = new_store()
    store.write(Batch(discovered=[Discovered("binhai", "tasmota", "aabbccddeeff", "heatpump-plug", "Heat pump",
                                             "Sonoff Pow R2", "192.168.10.31", "", T0)]))
    store.write(Batch(discovered=[Discovered("binhai", "tasmota", "aabbccddeeff", measures="ENERGY", seen_s=T0 + 5),
                                  Discovered("eco", "shelly_gen2", "shellyplus1pm-a8032ab1", seen_s=T0 + 7)]))
    (plug,) = store.discovered("binhai")
    assert (plug.device, plug.name, plug.model, plug.address, plug.measures, plug.seen_s) == (
        "heatpump-plug", "Heat pump", "Sonoff Pow R2", "192.168.10.31", "ENERGY", T0 + 5)
    assert [(d.site, d.family, d.key) for d in store.discovered()] == [
        ("binhai", "tasmota", "aabbccddeeff"), ("eco", "shelly_gen2", "shellyplus1pm-a8032ab1")]


def test_a_topic_survey_replaces_the_one_before(new_store):
    from expo.store import TopicSeen

    store = new_store()
    store.write(Batch(topics=[TopicSeen("zigbee2mqtt/plug 1", 12, 60.0, T0, b'{"power": 3}'),
                              TopicSeen("cmnd/x/POWER", 1, 60.0, T0, b"ON")]))
    store.write(Batch(topics=[TopicSeen("home/boiler,temp=x", 40, 60.0, T0 + 600, b"55.5"),
                              TopicSeen("zigbee2mqtt/plug 1", 9, 60.0, T0 + 600, b"\xff\x00")]))
    assert [(t.topic, t.messages, t.window_s, t.seen_s, t.sample) for t in store.topics_seen()] == [
        ("home/boiler,temp=x", 40, 60.0, T0 + 600, b"55.5"), ("zigbee2mqtt/plug 1", 9, 60.0, T0 + 600, b"\xff\x00")]


def test_a_survey_that_found_nothing_clears_the_one_before_and_no_survey_keeps_it(new_store):
    from expo.store import TopicSeen

    store = new_store()
    store.write(Batch(topics=[TopicSeen("zigbee2mqtt/plug", 12, 60.0, T0, b"{}")]))
    store.write(Batch(readings=[]))  # a batch without a survey says nothing of topics
    assert [t.topic for t in store.topics_seen()] == ["zigbee2mqtt/plug"]
    store.write(Batch(topics=[]))
    assert store.topics_seen() == []


def test_a_what_ifs_span_is_kept_as_last_said_by_site_and_start(new_store):
    """In force, then ended: the span said again replaces what it said (a retained message redelivered is the
    same span); another site's and a later one are kept apart."""
    from expo.whatif import WhatIfSpan

    store = new_store()
    cloud = WhatIfSpan("binhai", "cloud", "a cloud passes", "云层飘过", T0, None, T0 + 3600, T0 + 60)
    store.write(Batch(whatifs=[cloud]))
    store.write(Batch(whatifs=[WhatIfSpan("eco", "calm", "a calm day", "无风", T0 + 5, None, T0 + 65, T0 + 65)]))
    assert [(w.site, w.action, w.in_force) for w in store.whatifs()] == [("binhai", "cloud", True),
                                                                        ("eco", "calm", True)]
    ended = WhatIfSpan("binhai", "cloud", "a cloud passes", "云层飘过", T0, T0 + 1800, T0 + 3600, T0 + 30)
    later = WhatIfSpan("binhai", "ev_rush", "the evening EV rush", "晚间充电高峰", T0 + 1810, None, T0 + 5000, T0 + 90)
    store.write(Batch(whatifs=[ended, later]))
    assert store.whatifs("binhai") == [ended, later]
    assert store.whatifs(since_s=T0 + 1) == [later, store.whatifs("eco")[0]]  # started since then, by site
    assert ended.covers(T0 + 900) and not ended.covers(T0 + 1801) and later.covers(T0 + 99_999)
