"""Two ingest processes partitioned by site store exactly what one process stores; a round-robin group does not.

One stream of three sites goes, through one Mosquitto, to three sets of
ingest processes at once, each set writing its own InfluxDB database: one
process with every site; two processes with ``--sites`` (two sites and one);
and two processes in a shared group, which Mosquitto feeds round-robin. The
stream's devices need per-device state (energy integrated from power,
counters continued across resets, rollups, late readings), so a set that
splits a device's messages shows it: the test fails if the partitioned pair
differs from the truth by a single value, and records that the round-robin
pair, while storing every reading once, gets the derived energy wrong.
"""

from __future__ import annotations

import time

import pytest

from expo.places import TOTALS_DEVICE
from expo.store import open_store
from tests.ingest.harness import Ingest
from tests.ingest.site_stream import SITES, Stream, publish, stored

EAST, WEST = ("eco-city", "port"), ("airport",)


def wait_received(processes: list[Ingest], count: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sum((p.health() or {}).get("received", 0) for p in processes) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"the set did not receive {count} messages: {[p.health() for p in processes]}")


def rollups(url: str, width: str, metric: str) -> dict:
    store = open_store(url)
    try:
        rows = store.rollups(width, 0, 2**31, metric)
    finally:
        store.close()
    return {(r.site, r.device, int(r.bucket_s)): (r.count, r.mean, r.min, r.max, r.last) for r in rows}


def assert_rollups_equal(found: dict, truth: dict) -> None:
    assert found.keys() == truth.keys()
    for key, (n, mean, lo, hi, last) in truth.items():
        assert found[key][0] == n, key
        assert found[key][1:] == pytest.approx((mean, lo, hi, last), rel=1e-12), key


def test_ingest_partitioned_by_site_stores_what_one_process_stores(mosquitto, influxdb, tmp_path):
    stream = Stream()
    single = Ingest(tmp_path, mosquitto.url, "single", store=influxdb.url("single"))
    east = Ingest(tmp_path, mosquitto.url, "east", "--sites", ",".join(EAST), store=influxdb.url("pair"))
    west = Ingest(tmp_path, mosquitto.url, "west", "--sites", ",".join(WEST), store=influxdb.url("pair"))
    rr = [Ingest(tmp_path, mosquitto.url, f"rr-{i}", "--shared-group", "rr", store=influxdb.url("rr")) for i in (1, 2)]
    processes = [single, east, west, *rr]
    try:
        for process in processes:
            process.start()
        publish("127.0.0.1", mosquitto.port, stream.messages)
        for group in ([single], [east, west], rr):
            wait_received(group, len(stream.messages))
        time.sleep(0.5)  # a duplicate delivery, were there one, would arrive by now
        health = {p: p.health() for p in processes}
    finally:
        codes = [p.stop() if p.process else None for p in processes]
    assert codes == [0] * len(processes)  # stopping writes out every rollup

    # Each partitioned process took exactly its own sites' readings, and no reading went to both.
    assert health[east]["readings_accepted"] == stream.readings(EAST)
    assert health[west]["readings_accepted"] == stream.readings(WEST)
    assert health[east]["received"] + health[west]["received"] == len(stream.messages)
    assert all(health[p]["rejected"] == 0 for p in processes)
    assert health[east]["counter_resets"] == 2 * len(EAST) and health[west]["counter_resets"] == 2 * len(WEST)

    # Every value, derived and continued ones included, is the truth, in the pair as in the single process.
    truth = stream.expected
    for database in ("single", "pair"):
        points = stored("127.0.0.1", influxdb.port, database)
        assert points.keys() == truth.keys(), database
        assert all(points[k] == pytest.approx(v, rel=1e-12) for k, v in truth.items()), database
        for width, seconds in (("1m", 60), ("1h", 3600)):
            for metric in ("power_w", "energy_wh"):
                assert_rollups_equal(rollups(influxdb.url(database), width, metric), stream.rollups(seconds, metric))
    assert rollups(influxdb.url("pair"), "1m", "energy_wh") == rollups(influxdb.url("single"), "1m", "energy_wh")
    # Each site's totals are kept by the process that has the site, the same as by one process with all of them.
    totals = {db: {k: v for k, v in stored("127.0.0.1", influxdb.port, db, totals=True).items()
                   if k[1] == TOTALS_DEVICE} for db in ("single", "pair")}
    assert totals["pair"] == totals["single"] and {k[0] for k in totals["single"]} == set(SITES)
    assert health[east]["totals_written"] + health[west]["totals_written"] == health[single]["totals_written"] > 0

    # Why not a shared group on Mosquitto: it keeps every reading once, and gets what is per device wrong.
    assert [health[p]["received"] > 0 for p in rr] == [True, True]
    assert sum(health[p]["received"] for p in rr) == len(stream.messages)
    split = stored("127.0.0.1", influxdb.port, "rr")
    assert split.keys() == truth.keys()
    plugs = [k for k in truth if k[2] == "energy_wh" and k[1].startswith("plug") and truth[k] > 0]
    wrong = [k for k in plugs if split[k] != pytest.approx(truth[k], rel=1e-9)]
    assert len(wrong) > len(plugs) // 2, "a round-robin split kept each plug's energy right: is the step odd?"
    continued = [k for k in truth if k[2] == "energy_wh" and k[1].startswith("meter")]
    assert any(split[k] != pytest.approx(truth[k], rel=1e-9) for k in continued)
    assert {k[0] for k in wrong} == set(SITES)
