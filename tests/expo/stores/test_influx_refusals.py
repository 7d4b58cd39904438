"""What a real InfluxDB 1.x server refuses for good is quarantined with its message and returned; the rest of
the batch is stored; device metadata stays inside a finite retention policy."""

from __future__ import annotations

import itertools
import json
import time

import pytest
from hypothesis import given, strategies as st

from expo.metadata import DeviceMeta
from expo.places import BuildingMeta, SiteMeta
from expo.reading import Reading
from expo.store import REFUSED, Batch, Rejected, open_store, parse_store
from expo.stores._influx.refusals import write_isolating
from expo.stores.influxdb import InfluxStore
from tests.expo.stores.influx_admin import influxql, raw_write, short_retention

_names = itertools.count()
META = DeviceMeta("binhai", "home-001", "household", "Home 1", "住户 1", 1.0, 2.0, 9000.0, "feeder-01")


@pytest.fixture
def server(influx_server):
    return influx_server


@pytest.fixture
def short(server):
    """A store on a new database whose retention policy keeps one hour."""
    name = f"short{next(_names)}"
    short_retention(server.port, name)
    store = open_store(server.url(name))
    yield store, name
    store.close()


def test_readings_beyond_the_retention_are_quarantined_with_the_servers_message_and_the_rest_stored(short, server):
    store, name = short
    now = time.time()
    fresh = [Reading("binhai", "home-001", now - 60 + i, {"power_w": float(i)}) for i in range(3)]
    old = [Reading("binhai", "home-002", now - 7200 - i, {"power_w": 7.0, "energy_wh": 12.5}) for i in range(2)]
    arrived = Rejected(now - 1, "expo/binhai/x/reading", "malformed", "payload is not JSON", b"{")
    refused = store.write(Batch(readings=[fresh[0], old[0], fresh[1], old[1], fresh[2]], metas=[META],
                                rejected=[arrived], health={"received": 6.0}))

    assert [json.loads(r.payload)["metrics"] for r in refused] == [old[0].metrics, old[1].metrics]
    assert {r.reason for r in refused} == {REFUSED}
    assert all("beyond retention policy" in r.detail for r in refused)
    assert [r.topic for r in refused] == ["expo/binhai/home-002/reading"] * 2
    assert Reading.from_payload("binhai", "home-002", refused[0].payload).ts_s == pytest.approx(old[0].ts_s)
    assert store.count_readings() == 3
    assert store.devices() == [META]  # written at the time it was stored, not at 1970
    assert store.health() == {"received": 6.0}
    kept = store.rejected()
    assert sorted(q.reason for q in kept) == ["malformed", REFUSED, REFUSED]
    assert {q.payload for q in kept if q.reason == REFUSED} == {r.payload for r in refused}


def test_a_field_type_conflict_refuses_only_the_conflicting_point(short, server):
    store, name = short
    now_ms = round(time.time() * 1000)
    assert raw_write(server.port, name, [f"reading,site=binhai,device=other voltage_v=230i {now_ms}"])[0] == 204
    refused = store.write(Batch(readings=[
        Reading("binhai", "home-001", now_ms / 1000 - 2, {"power_w": 1.0}),
        Reading("binhai", "home-003", now_ms / 1000 - 1, {"voltage_v": 229.5}),
        Reading("binhai", "home-004", now_ms / 1000, {"power_w": 3.0}),
    ]))
    assert [r.topic for r in refused] == ["expo/binhai/home-003/reading"]
    assert "field type conflict" in refused[0].detail
    assert store.count_readings() == 3  # the two floats and the other writer's integer


def test_a_batch_wholly_beyond_the_retention_costs_one_request(short):
    store, _ = short
    asked = []
    real_write = store._http.write
    store._http.write = lambda *args: asked.append(len(args[1])) or real_write(*args)
    old = [Reading("binhai", f"home-{i:03d}", time.time() - 86400 - i, {"power_w": 1.0}) for i in range(200)]
    refused = store.write(Batch(readings=old))
    assert len(refused) == 200 and asked[0] == 400  # each reading and its device's latest value
    assert len(asked) == 2  # the readings, then their quarantine entries: no splitting


def test_a_quarantined_message_older_than_the_retention_is_kept_at_the_time_it_is_stored(short):
    store, _ = short
    arrived = Rejected(time.time() - 3 * 3600, "expo/binhai/x/reading", "malformed", "payload is not JSON", b"{")
    assert store.write(Batch(rejected=[arrived])) == []
    [kept] = store.rejected()
    assert kept.payload == b"{" and kept.detail.startswith("payload is not JSON (arrived ")
    assert kept.received_s == pytest.approx(time.time(), abs=60)


def test_metadata_is_stored_again_before_it_ages_out_by_a_process_that_writes(server):
    name = f"meta{next(_names)}"
    now = time.time()
    clock = [now - 2 * 86400]
    writer = InfluxStore(parse_store(server.url(name)), clock=lambda: clock[0])
    writer.write(Batch(metas=[META]))
    reader = InfluxStore(parse_store(server.url(name)))
    reader.maintain()  # a reader (the dashboard) never writes
    stored = influxql(server.port, 'SELECT "description" FROM "device"', name)[0]["values"]
    assert [t for t, _ in stored] == [round(clock[0] * 1000)]
    clock[0] = now
    writer.maintain()
    stored = influxql(server.port, 'SELECT "description" FROM "device"', name)[0]["values"]
    assert [t for t, _ in stored] == [round((now - 2 * 86400) * 1000), round(now * 1000)]
    assert writer.devices() == [META]
    writer.maintain()  # fresh now: nothing more until it is due again
    assert len(influxql(server.port, 'SELECT "description" FROM "device"', name)[0]["values"]) == 2
    writer.close()
    reader.close()


def test_metadata_written_at_timestamp_zero_by_an_older_version_is_moved_into_the_present(server):
    name = f"legacy{next(_names)}"
    influxql(server.port, f'CREATE DATABASE "{name}"')
    raw_write(server.port, name, ['device,site=binhai,device=home-001 kind="household",name_en="Home 1",'
                                  'name_zh="住户 1",x_m=1.0,y_m=2.0,rated_power_w=9000.0,parent="feeder-01",'
                                  'building="",source="simulated" 0'])
    clock = [time.time()]
    store = InfluxStore(parse_store(server.url(name)), clock=lambda: clock[0])
    store.write(Batch(readings=[Reading("binhai", "home-001", time.time(), {"power_w": 1.0})]))
    assert len(influxql(server.port, 'SELECT * FROM "device"', name)[0]["values"]) == 1  # a writer's
    clock[0] += 601  # first minutes are its busiest: the look at stale metadata waits ten minutes
    store.close()
    times = [row[0] for row in influxql(server.port, 'SELECT * FROM "device"', name)[0]["values"]]
    assert times[0] == 0 and times[-1] == pytest.approx(clock[0] * 1000, abs=60_000)
    assert open_store(server.url(name)).devices() == [META]


@given(st.lists(st.booleans(), max_size=300), st.booleans(), st.booleans())
def test_isolating_finds_exactly_the_refused_lines_and_stores_every_other(refusals, says_dropped, all_or_nothing):
    """Against any pattern of refusals and either way a server words (or does) a partial write."""
    lines = [str(i) for i in range(len(refusals))]
    bad = {i for i, refused in enumerate(refusals) if refused}
    stored: set[int] = set()

    def write(chunk: list[str]) -> str | None:
        indexes = [int(line) for line in chunk]
        refused = [i for i in indexes if i in bad]
        if not (all_or_nothing and refused):  # 1.x keeps the valid points of a partial write
            stored.update(i for i in indexes if i not in bad)
        if not refused:
            return None
        return f"partial write: dropped={len(refused)}" if says_dropped else "field type conflict"

    found = write_isolating(write, lines)
    assert [i for i, _ in found] == sorted(bad)
    assert stored == set(range(len(lines))) - bad


def test_an_influxdb_2_answering_422_outside_the_bucket_retention_does_not_stall_the_writes():
    """No InfluxDB 2 is installed here, so a small HTTP server answers as 2.x does (its v1 API, its 422 and
    wording for points outside a bucket's retention); what is tested is the store, not the server."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    cutoff_ms = round((time.time() - 400 * 86400) * 1000)
    kept: set[str] = set()  # a point written twice is one point: InfluxDB keys it by series and instant

    class Influx2(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("X-Influxdb-Version", "v2.7.11")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802
            self._answer(204) if self.path.startswith("/ping") else self._answer(200, b'{"results":[{}]}')

        def do_POST(self):  # noqa: N802
            if not self.path.startswith("/write"):
                return self._answer(200, b'{"results":[{}]}')
            lines = self.rfile.read(int(self.headers["Content-Length"])).decode().splitlines()
            precision_ns = "precision=ns" in self.path
            old = [line for line in lines if not precision_ns and int(line.rsplit(" ", 1)[1]) < cutoff_ms]
            kept.update(line for line in lines if line not in old)
            if not old:
                return self._answer(204)
            self._answer(422, json.dumps({"code": "unprocessable entity", "message": (
                f"failure writing points to database: partial write: dropped {len(old)} points outside "
                "retention policy of duration 9600h0m0s")}).encode())

        def log_message(self, *args):
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Influx2)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        store = open_store(f"influxdb://127.0.0.1:{http.server_address[1]}/expo", influx_token="t0ken")
        now = time.time()
        refused = store.write(Batch(readings=[Reading("binhai", "home-001", now - 500 * 86400, {"power_w": 1.0}),
                                              Reading("binhai", "home-001", now, {"power_w": 2.0})]))
        assert [json.loads(r.payload)["metrics"] for r in refused] == [{"power_w": 1.0}]
        assert "outside retention policy" in refused[0].detail
        assert sum(line.startswith("reading,") for line in kept) == 1
        assert sum(line.startswith("rejected,reason=store_refused") for line in kept) == 1
        store.close()
    finally:
        http.shutdown()
        http.server_close()


def test_the_newest_metadata_of_a_device_is_the_one_read(server):
    name = f"renamed{next(_names)}"
    clock = [time.time() - 10]
    store = InfluxStore(parse_store(server.url(name)), clock=lambda: clock[0])
    store.write(Batch(metas=[META]))
    clock[0] += 5
    renamed = DeviceMeta("binhai", "home-001", "household", "Home One", "住户一", 1.0, 2.0, 9000.0, "feeder-01")
    store.write(Batch(metas=[renamed]))
    assert store.devices() == [renamed]
    store.close()


def test_a_database_dropped_under_a_running_store_is_created_again_by_the_next_write(server):
    name = f"dropped{next(_names)}"
    store = open_store(server.url(name))
    store.write(Batch(readings=[Reading("binhai", "home-001", time.time() - 1, {"power_w": 1.0})]))
    influxql(server.port, f'DROP DATABASE "{name}"')
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any([name] in s.get("values", [])
                                              for s in influxql(server.port, "SHOW DATABASES")):
        time.sleep(0.05)
    assert store.write(Batch(readings=[Reading("binhai", "home-001", time.time(), {"power_w": 2.0})])) == []
    assert store.count_readings() == 1
    store.close()


SITE = SiteMeta("eco", "eco_city", "Eco-City", "生态城", 12.0, 20.5)
BUILDING = BuildingMeta("eco", "zeb", "office", "Zero-Energy Building", "零能耗建筑", "zero_energy")


def test_a_refused_site_or_building_description_is_quarantined_like_refused_metadata(server):
    """Another writer made ``description`` an integer: the server refuses our strings for good."""
    name = f"places{next(_names)}"
    influxql(server.port, f'CREATE DATABASE "{name}"')
    now_ms = round(time.time() * 1000)
    assert raw_write(server.port, name, [f"site,site=other description=1i {now_ms}",
                                         f"building,site=other,building=x description=1i {now_ms}"])[0] == 204
    store = open_store(server.url(name))
    refused = store.write(Batch(sites=[SITE], buildings=[BUILDING], metas=[META], readings=[
        Reading("binhai", "home-001", now_ms / 1000, {"power_w": 1.0})]))
    assert [(r.topic, r.reason) for r in refused] == [("expo/eco/site", REFUSED), ("expo/eco/zeb/building", REFUSED)]
    assert all("field type conflict" in r.detail for r in refused)
    assert SiteMeta.from_payload("eco", refused[0].payload) == SITE  # kept as it came: it can be published again
    assert BuildingMeta.from_payload("eco", "zeb", refused[1].payload) == BUILDING
    assert store.count_readings() == 1 and store.devices() == [META]  # the rest of the batch is stored
    assert sorted(q.topic for q in store.rejected()) == ["expo/eco/site", "expo/eco/zeb/building"]
    store.close()


def test_descriptions_are_stored_again_before_they_age_out_by_a_process_that_writes(server):
    name = f"placesmeta{next(_names)}"
    now = time.time()
    clock = [now - 2 * 86400]
    writer = InfluxStore(parse_store(server.url(name)), clock=lambda: clock[0])
    writer.write(Batch(sites=[SITE], buildings=[BUILDING]))
    for measurement in ("site", "building"):
        stored = influxql(server.port, f'SELECT "description" FROM "{measurement}"', name)[0]["values"]
        assert [t for t, _ in stored] == [round(clock[0] * 1000)]  # when it was stored: inside the retention
    clock[0] = now
    writer.maintain()
    for measurement in ("site", "building"):
        stored = influxql(server.port, f'SELECT "description" FROM "{measurement}"', name)[0]["values"]
        assert [t for t, _ in stored] == [round((now - 2 * 86400) * 1000), round(now * 1000)]
    assert (writer.sites(), writer.buildings()) == ([SITE], [BUILDING])
    writer.maintain()  # fresh now
    assert len(influxql(server.port, 'SELECT "description" FROM "site"', name)[0]["values"]) == 2
    writer.close()


def test_a_stored_description_this_version_cannot_read_hides_no_other(server):
    name = f"placesbad{next(_names)}"
    store = open_store(server.url(name))
    store.write(Batch(sites=[SITE]))
    newer = f'site,site=zz description="{{\\"v\\":2}}" {round(time.time() * 1000)}'  # a newer publisher's
    assert raw_write(server.port, name, [newer])[0] == 204
    assert store.sites() == [SITE]
    store.close()
