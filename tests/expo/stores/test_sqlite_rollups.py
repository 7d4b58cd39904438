"""SQLite's coarser rollups are kept by adding what changed in the finer ones (an hour is not recomputed from
its 60 minutes every batch): after every batch, whatever the order, overwrites and late readings, every level
equals the aggregates of the raw readings."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from expo.reading import Reading
from expo.store import Batch
from expo.stores import sqlite as sqlite_store
from expo.stores.sqlite import SQLiteStore
from tests.expo.stores.test_stores import T0, expected_rollups

batches = st.lists(st.lists(st.tuples(st.integers(0, 2 * 3600 - 1), st.sampled_from([-5.0, 0.0, 1.5, 7.0, 1e6])),
                            min_size=1, max_size=12), min_size=1, max_size=8)


def check(db: SQLiteStore, truth: dict[float, float], levels: dict[str, int]) -> None:
    for resolution, width_s in levels.items():
        rows = db.rollups(resolution, T0, T0 + 3 * 3600, "power_w", ["m"])
        got = {r.bucket_s: (r.count, r.mean, r.min, r.max, r.last) for r in rows}
        want = expected_rollups(truth, width_s)
        assert got.keys() == want.keys(), resolution
        for bucket, values in want.items():
            assert got[bucket] == pytest.approx(values, rel=1e-9, abs=1e-6), (resolution, bucket)


def write_all(db: SQLiteStore, written: list, levels: dict[str, int]) -> None:
    truth: dict[float, float] = {}
    for batch in written:  # few values, so readings are often replaced by lower or higher ones
        db.write(Batch(readings=[Reading("s", "m", T0 + t, {"power_w": v}) for t, v in batch]))
        truth.update({T0 + t: v for t, v in batch})
        check(db, truth, levels)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(written=batches)
def test_every_level_equals_the_raw_readings_after_every_batch(tmp_path_factory, written):
    db = SQLiteStore(tmp_path_factory.mktemp("db") / "expo.db")
    try:
        write_all(db, written, sqlite_store.ROLLUPS_S)
    finally:
        db.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(written=batches)
def test_a_middle_level_is_kept_by_addition_too(tmp_path_factory, written):
    """A third level between the two (the chain is generic): each adds what changed in the one below."""
    levels = {"1m": 60, "10m": 600, "1h": 3600}
    saved = sqlite_store.ROLLUPS_S
    sqlite_store.ROLLUPS_S = levels
    db = SQLiteStore(tmp_path_factory.mktemp("db") / "expo.db")
    try:
        db._db.execute("CREATE TABLE rollup_10m AS SELECT * FROM rollup_1m WHERE 0")
        db._db.execute("CREATE UNIQUE INDEX rollup_10m_key ON rollup_10m (series, bucket_ms)")
        write_all(db, written, levels)
    finally:
        sqlite_store.ROLLUPS_S = saved
        db.close()
