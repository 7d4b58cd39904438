"""The SQLite store's layout: its tables (docs/data-model.md) and the statements that recompute rollups.

Kept apart from the store's code because it is the file's format: a change
here is a new ``SCHEMA_VERSION``, and a file of another version is refused
with a clear message rather than misread. A new table is the exception: every
open runs ``SCHEMA`` (``CREATE TABLE IF NOT EXISTS``), so a file from before
it gets it the first time it is opened, and an older version simply does not
read it (``sites``, ``buildings``).
"""

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, site TEXT NOT NULL, device TEXT NOT NULL, metric TEXT NOT NULL,
    UNIQUE (site, device, metric));
CREATE TABLE IF NOT EXISTS readings (
    series INTEGER NOT NULL, ts_ms INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (series, ts_ms)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (series INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rollup_1m (
    series INTEGER NOT NULL, bucket_ms INTEGER NOT NULL, n INTEGER NOT NULL, total REAL NOT NULL,
    lo REAL NOT NULL, hi REAL NOT NULL, last_ts_ms INTEGER NOT NULL, last REAL NOT NULL,
    PRIMARY KEY (series, bucket_ms)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1h (
    series INTEGER NOT NULL, bucket_ms INTEGER NOT NULL, n INTEGER NOT NULL, total REAL NOT NULL,
    lo REAL NOT NULL, hi REAL NOT NULL, last_ts_ms INTEGER NOT NULL, last REAL NOT NULL,
    PRIMARY KEY (series, bucket_ms)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
    site TEXT NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL, name_en TEXT NOT NULL, name_zh TEXT NOT NULL,
    x_m REAL, y_m REAL, rated_power_w REAL, parent TEXT, building TEXT, source TEXT NOT NULL,
    PRIMARY KEY (site, device));
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL, topic TEXT NOT NULL, reason TEXT NOT NULL,
    detail TEXT NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS health (name TEXT PRIMARY KEY, value REAL NOT NULL, ts_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sites (
    site TEXT PRIMARY KEY, description TEXT NOT NULL, stored_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS buildings (
    site TEXT NOT NULL, building TEXT NOT NULL, description TEXT NOT NULL, stored_ms INTEGER NOT NULL,
    PRIMARY KEY (site, building));
"""

# Recompute the touched buckets of one rollup from its source; {source} is raw readings or the finer rollup.
ROLLUP_FROM_READINGS = """
WITH agg AS (
    SELECT t.series, t.bucket_ms, count(*) AS n, sum(r.value) AS total, min(r.value) AS lo, max(r.value) AS hi,
           max(r.ts_ms) AS last_ts_ms
    FROM touched t JOIN readings r
      ON r.series = t.series AND r.ts_ms >= t.bucket_ms AND r.ts_ms < t.bucket_ms + {width_ms}
    GROUP BY t.series, t.bucket_ms)
INSERT OR REPLACE INTO rollup_{name} (series, bucket_ms, n, total, lo, hi, last_ts_ms, last)
SELECT agg.*, (SELECT value FROM readings x WHERE x.series = agg.series AND x.ts_ms = agg.last_ts_ms) FROM agg
"""
ROLLUP_FROM_ROLLUP = """
WITH agg AS (
    SELECT t.series, t.bucket_ms, sum(r.n) AS n, sum(r.total) AS total, min(r.lo) AS lo, max(r.hi) AS hi,
           max(r.last_ts_ms) AS last_ts_ms
    FROM touched t JOIN rollup_{finer} r
      ON r.series = t.series AND r.bucket_ms >= t.bucket_ms AND r.bucket_ms < t.bucket_ms + {width_ms}
    GROUP BY t.series, t.bucket_ms)
INSERT OR REPLACE INTO rollup_{name} (series, bucket_ms, n, total, lo, hi, last_ts_ms, last)
SELECT agg.*, (SELECT last FROM rollup_{finer} x WHERE x.series = agg.series AND x.last_ts_ms = agg.last_ts_ms
               AND x.bucket_ms >= agg.bucket_ms AND x.bucket_ms < agg.bucket_ms + {width_ms}) FROM agg
"""
