"""The SQLite file's layout across versions: a schema-1 file (raw readings series-major) is rewritten
time-major when first opened, losing nothing, and the store carries on writing and counting it."""

from __future__ import annotations

import sqlite3

import pytest

from expo.reading import Reading
from expo.store import Batch, StoreError
from expo.stores._sqlite.schema import SCHEMA_VERSION
from expo.stores.sqlite import SQLiteStore

# schema 1's raw table: series-major
TO_SCHEMA_1 = """
CREATE TABLE readings_1 (
    series INTEGER NOT NULL, ts_ms INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (series, ts_ms)) WITHOUT ROWID;
INSERT INTO readings_1 SELECT series, ts_ms, value FROM readings;
DROP TABLE readings;
ALTER TABLE readings_1 RENAME TO readings;
UPDATE schema SET version = 1;
"""
T0 = 1_780_000_020.0  # a minute's start


def schema_1_file(path, meters: int = 3, minutes: int = 4) -> list[tuple]:
    """A file as schema 1 left it (its readings and their rollups, the raw table series-major); its raw rows."""
    store = SQLiteStore(path)
    store.write(Batch(readings=[Reading("town", f"home-{m}", T0 + 60 * minute + second,
                                        {"power_w": 100.0 * m + minute + second / 100})
                                for minute in range(minutes) for second in (0, 20, 40) for m in range(meters)]))
    store.close()
    con = sqlite3.connect(path)
    con.executescript(TO_SCHEMA_1)
    con.close()
    return raw(path)


def raw(path) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return sorted(con.execute("SELECT series, ts_ms, value FROM readings"))
    finally:
        con.close()


def test_a_schema_1_file_is_rewritten_time_major_and_keeps_every_reading(tmp_path):
    path = tmp_path / "expo.db"
    written = schema_1_file(path)
    store = SQLiteStore(path)
    try:
        assert raw(path) == written
        con = sqlite3.connect(path)
        assert con.execute("SELECT version FROM schema").fetchone()[0] == SCHEMA_VERSION == 2
        key = [r[2] for r in con.execute("SELECT * FROM pragma_index_xinfo('sqlite_autoindex_readings_1')")
               if r[5]][:2]
        con.close()
        assert key == ["ts_ms", "series"]
        # and it carries on: a reading written again replaces itself, a new one is counted into its minute
        store.write(Batch(readings=[Reading("town", "home-1", T0 + 180, {"power_w": 5.0}),
                                    Reading("town", "home-1", T0 + 190, {"power_w": 7.0})]))
        minute = [r for r in store.rollups("1m", T0 + 180, T0 + 240, "power_w", ["home-1"], site="town")]
        assert len(minute) == 1 and minute[0].count == 4  # 3 (one replaced) + 1 new
        assert (minute[0].mean, minute[0].min, minute[0].max, minute[0].last) == pytest.approx(
            ((5.0 + 7.0 + 103.2 + 103.4) / 4, 5.0, 103.4, 103.4))
    finally:
        store.close()
    SQLiteStore(path).close()  # opened again: already schema 2, nothing to do
    assert len(raw(path)) == len(written) + 1


def test_a_file_of_a_newer_schema_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "expo.db"
    SQLiteStore(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE schema SET version = 9")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="schema 9"):
        SQLiteStore(path)
