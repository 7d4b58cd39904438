"""Both stores, embedded SQLite and a real InfluxDB server: idempotent writes, rollups that always equal the
raw data whatever order readings arrive in, metadata and quarantine."""

from __future__ import annotations

import itertools
import sqlite3
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from expo.metadata import DeviceMeta
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
