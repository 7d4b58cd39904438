"""The SQLite store's layout: its tables (docs/data-model.md) and the statements that recompute rollups.

Kept apart from the store's code because it is the file's format: a change
here is a new ``SCHEMA_VERSION``, and a file of another version is refused
with a clear message rather than misread. A new table is the exception: every
open runs ``SCHEMA`` (``CREATE TABLE IF NOT EXISTS``), so a file from before
it gets it the first time it is opened, and an older version simply does not
read it (``sites``, ``buildings``).
"""

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, site TEXT NOT NULL, device TEXT NOT NULL, metric TEXT NOT NULL,
    UNIQUE (site, device, metric));
-- raw readings time-major: a batch (one reading of every meter) lands in a few contiguous pages, not in one page
-- per series (series-major, schema 1, wrote a page per series and batch once a series' rows filled a page: a
-- batch's cost grew for the first hours of a city's run). Nothing reads raw rows by series over time.
CREATE TABLE IF NOT EXISTS readings (
    ts_ms INTEGER NOT NULL, series INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (ts_ms, series)) WITHOUT ROWID;
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
CREATE TABLE IF NOT EXISTS device_state (
    site TEXT NOT NULL, device TEXT NOT NULL, state TEXT NOT NULL, since_ms INTEGER NOT NULL,
    PRIMARY KEY (site, device)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS discovered (
    site TEXT NOT NULL, family TEXT NOT NULL, key TEXT NOT NULL, device TEXT NOT NULL, name TEXT NOT NULL,
    model TEXT NOT NULL, address TEXT NOT NULL, measures TEXT NOT NULL, seen_ms INTEGER NOT NULL,
    PRIMARY KEY (site, family, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topics_seen (
    topic TEXT PRIMARY KEY, messages INTEGER NOT NULL, window_ms INTEGER NOT NULL, seen_ms INTEGER NOT NULL,
    sample BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS whatif (
    site TEXT NOT NULL, start_ms INTEGER NOT NULL, description TEXT NOT NULL,
    PRIMARY KEY (site, start_ms)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS process_health (
    process TEXT NOT NULL, name TEXT NOT NULL, value REAL NOT NULL, ts_ms INTEGER NOT NULL,
    PRIMARY KEY (process, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sites (
    site TEXT PRIMARY KEY, description TEXT NOT NULL, stored_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS buildings (
    site TEXT NOT NULL, building TEXT NOT NULL, description TEXT NOT NULL, stored_ms INTEGER NOT NULL,
    PRIMARY KEY (site, building));
"""

# Schema 1's raw table was series-major; a file of it is rewritten time-major when it is first opened.
MIGRATE_1_TO_2 = """
CREATE TABLE readings_by_time (
    ts_ms INTEGER NOT NULL, series INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (ts_ms, series)) WITHOUT ROWID;
INSERT INTO readings_by_time (ts_ms, series, value) SELECT ts_ms, series, value FROM readings ORDER BY ts_ms, series;
DROP TABLE readings;
ALTER TABLE readings_by_time RENAME TO readings;
UPDATE schema SET version = 2;
"""

# Recompute the touched buckets of one rollup from its source: raw readings, or the finer rollup (for the buckets
# the finer rollup's changes cannot be added to: ``CHANGED_INTO`` below). Raw rows are read a bucket at a time,
# every series' rows in it in one range of the time-major table (CROSS JOIN keeps that loop outside), and kept
# for the touched series.
ROLLUP_FROM_READINGS = """
WITH buckets AS (SELECT DISTINCT bucket_ms FROM touched),
agg AS (
    SELECT r.series, b.bucket_ms, count(*) AS n, sum(r.value) AS total, min(r.value) AS lo, max(r.value) AS hi,
           max(r.ts_ms) AS last_ts_ms
    FROM buckets b CROSS JOIN readings r ON r.ts_ms >= b.bucket_ms AND r.ts_ms < b.bucket_ms + {width_ms}
    WHERE EXISTS (SELECT 1 FROM touched t WHERE t.series = r.series AND t.bucket_ms = b.bucket_ms)
    GROUP BY r.series, b.bucket_ms)
INSERT OR REPLACE INTO rollup_{name} (series, bucket_ms, n, total, lo, hi, last_ts_ms, last)
SELECT agg.*, (SELECT value FROM readings x WHERE x.ts_ms = agg.last_ts_ms AND x.series = agg.series) FROM agg
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

# A coarser bucket is not recomputed from every finer one it holds (an hour from up to 60 minutes, every batch:
# a batch's cost grew through each hour, the city's lag with it). The finer buckets a batch touches are noted
# as they were before it (was_{finer}), then their changes are added to the coarser buckets. Exact where the
# touched finer buckets only grew, which is every live batch: count and total by difference, min and max as
# the min and max of the two, the last value by instant. Where a replaced reading raised a finer bucket's min
# or lowered its max, or the coarser bucket is new, it is recomputed (``ROLLUP_FROM_ROLLUP``).
NOTE_FINER_WAS = """
INSERT INTO was_{finer} (series, bucket_ms, n, total, lo, hi)
SELECT t.series, t.bucket_ms, r.n, r.total, r.lo, r.hi
FROM touched t LEFT JOIN rollup_{finer} r ON r.series = t.series AND r.bucket_ms = t.bucket_ms
"""
CHANGED_INTO = """
INSERT INTO changed (series, bucket_ms, dn, dtotal, lo, hi, last_ts_ms, shrank)
SELECT w.series, w.bucket_ms - w.bucket_ms % {width_ms}, sum(r.n - coalesce(w.n, 0)),
       sum(r.total - coalesce(w.total, 0)), min(r.lo), max(r.hi), max(r.last_ts_ms),
       max(w.n IS NOT NULL AND (r.lo > w.lo OR r.hi < w.hi))
FROM was_{finer} w JOIN rollup_{finer} r ON r.series = w.series AND r.bucket_ms = w.bucket_ms
GROUP BY w.series, w.bucket_ms - w.bucket_ms % {width_ms}
"""
ADD_CHANGED = """
UPDATE rollup_{name} AS c SET n = c.n + d.dn, total = c.total + d.dtotal, lo = min(c.lo, d.lo), hi = max(c.hi, d.hi),
    last = CASE WHEN d.last_ts_ms >= c.last_ts_ms THEN
        (SELECT last FROM rollup_{finer} x  -- the one finer bucket holding that instant: a key lookup
         WHERE x.series = d.series AND x.bucket_ms = d.last_ts_ms - d.last_ts_ms % {finer_width_ms}) ELSE c.last END,
    last_ts_ms = max(c.last_ts_ms, d.last_ts_ms)
FROM changed d WHERE c.series = d.series AND c.bucket_ms = d.bucket_ms AND NOT d.shrank
"""
TO_RECOMPUTE = """
INSERT INTO touched (series, bucket_ms)
SELECT d.series, d.bucket_ms FROM changed d
WHERE d.shrank OR NOT EXISTS (SELECT 1 FROM rollup_{name} c WHERE c.series = d.series AND c.bucket_ms = d.bucket_ms)
"""
