"""Embedded store: one SQLite file in WAL mode, so ingest writes while the dashboard reads, no server needed.

Layout (docs/data-model.md): a ``series`` table interns (site, device,
metric) as an integer; ``readings`` holds (ts_ms, series, value) keyed by
instant and series, so a redelivered reading replaces itself, and a batch of
every meter's reading lands in a few pages, not a page per series. Each batch
counts the 1-minute buckets it touched (from its own rows where a bucket is
new, from raw rows where it held readings) and adds what changed in them to
their 1-hour buckets, inside the same transaction: a
late reading corrects its rollups, a batch late in an hour costs what one
early in it does, and a query over a year reads at most 8,760 rows per series.

SQLite refuses nothing for good: a batch is stored whole or, when the file is
locked or the disk full, not at all (``StoreUnavailable``).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import unquote

from expo.addresses import StoreAddress, split_url
from expo.errors import UserError
from expo.metadata import DeviceMeta
from expo.places import BuildingMeta, SiteMeta
from expo.reading import Reading
from expo.store import (
    FORGET_PROCESS_S, ROLLUPS_S, UNNAMED_PROCESS, Batch, DeviceState, Discovered, ProcessHealth, Rejected, RollupRow,
    StoreError, StoreUnavailable, TopicSeen,
)
from expo.stores._places import read_back
from expo.whatif import WhatIfSpan
from expo.stores._sqlite.schema import (ADD_CHANGED, CHANGED_INTO, MIGRATE_1_TO_2, NOTE_FINER_WAS,
                                        ROLLUP_FROM_READINGS, ROLLUP_FROM_ROLLUP, SCHEMA, SCHEMA_VERSION, TO_RECOMPUTE)

SCHEMES = ("sqlite",)
ADDRESS = "sqlite:///relative.db or sqlite:////absolute.db"
SETTINGS = ()  # a file needs no credentials

_ANNOUNCED = ("device", "name", "model", "address", "measures")  # a meter's announcement: merged field by field
log = logging.getLogger(__name__)
KEEP_REJECTED = 10_000  # newest quarantined messages kept; older ones are counted in health, not kept


def parse_address(url: str) -> StoreAddress:
    parts = split_url(url, "store", "sqlite:///energy-expo-data/expo.db")
    if parts.netloc:
        raise UserError(f"store address {url!r}: a SQLite path needs three slashes, e.g. sqlite:///data/expo.db")
    if not parts.path or parts.path == "/":
        raise UserError(f"store address {url!r} names no database file")
    # As in SQLAlchemy: sqlite:///expo.db is relative to the working directory, sqlite:////var/x.db absolute.
    return StoreAddress("sqlite", path=unquote(parts.path[1:]))


def open(address: StoreAddress, create: bool = True) -> "SQLiteStore":  # noqa: A001 (the backend's verb)
    return SQLiteStore(address.path, create=create)


def aggregate(rows: list[tuple[int, int, float]], width_ms: int) -> dict[tuple[int, int], list]:
    """(series, bucket) -> [n, total, min, max, last instant, last value] of a batch's raw rows, each
    instant once, at the value the table keeps (the batch's last for it)."""
    values = {(sid, ts_ms): value for sid, ts_ms, value in rows}
    out: dict[tuple[int, int], list] = {}
    for (sid, ts_ms), value in values.items():
        key = (sid, ts_ms - ts_ms % width_ms)
        agg = out.get(key)
        if agg is None:
            out[key] = [1, value, value, value, ts_ms, value]
            continue
        agg[0] += 1
        agg[1] += value
        if value < agg[2]:
            agg[2] = value
        if value > agg[3]:
            agg[3] = value
        if ts_ms > agg[4]:
            agg[4], agg[5] = ts_ms, value
    return out


class SQLiteStore:
    def __init__(self, path: str | os.PathLike, timeout_s: float = 2.0, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise StoreUnavailable(f"no database at {self.path} yet (ingest or up creates it)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=timeout_s, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a reading acknowledged to the broker survives a power cut
            self._db.executescript(SCHEMA)
            row = self._db.execute("SELECT version FROM schema").fetchone()
            if row is None:
                self._db.execute("INSERT INTO schema VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] == 1:
                row = self._migrate_from_1()
            if row is not None and row[0] != SCHEMA_VERSION:
                raise StoreError(f"{self.path} has store schema {row[0]}; this version reads schema {SCHEMA_VERSION}")
            self._make_scratch_tables()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc.strerror}") from None
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str, str], int] = {}

    def _migrate_from_1(self) -> tuple:
        """A schema-1 file's raw table rewritten time-major, in one transaction: a process that opened the file
        at the same moment waits, then finds it done. Takes about a second per million readings."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT version FROM schema").fetchone()
            if row[0] == 1:
                count = db.execute("SELECT count(*) FROM readings").fetchone()[0]
                log.warning("%s: rewriting its %d raw readings time-major (store schema 1 -> 2), about a second "
                            "a million; writers wait meanwhile (ingest spools)", self.path, count)
                for statement in MIGRATE_1_TO_2.strip().split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return db.execute("SELECT version FROM schema").fetchone()

    # -- writing ---------------------------------------------------------------------------------

    def write(self, batch: Batch) -> list[Rejected]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._write(batch)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:  # locked, disk full, I/O error: worth retrying later
                self._series.clear()  # ids handed out inside the rolled-back transaction are gone
                raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc
        return []

    def _series_id(self, site: str, device: str, metric: str) -> int:
        key = (site, device, metric)
        sid = self._series.get(key)
        if sid is None:
            self._db.execute("INSERT OR IGNORE INTO series (site, device, metric) VALUES (?, ?, ?)", key)
            sid = self._db.execute(
                "SELECT id FROM series WHERE site = ? AND device = ? AND metric = ?", key
            ).fetchone()[0]
            self._series[key] = sid
        return sid

    def _write(self, batch: Batch) -> None:
        db = self._db
        rows = []
        for r in batch.readings:
            ts_ms = round(r.ts_s * 1000)
            for metric, value in r.metrics.items():
                rows.append((self._series_id(r.site, r.device, metric), ts_ms, value))
        if rows:
            db.executemany("INSERT OR REPLACE INTO readings (series, ts_ms, value) VALUES (?, ?, ?)", rows)
            db.executemany(
                "INSERT INTO latest (series, ts_ms, value) VALUES (?, ?, ?) ON CONFLICT (series) DO UPDATE "
                "SET ts_ms = excluded.ts_ms, value = excluded.value WHERE excluded.ts_ms >= latest.ts_ms",
                rows,
            )
            self._update_rollups(rows)
        if batch.metas:
            db.executemany(
                "INSERT OR REPLACE INTO devices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(m.site, m.device, m.kind, m.name_en, m.name_zh, m.x_m, m.y_m, m.rated_power_w, m.parent,
                  m.building, m.source) for m in batch.metas],
            )
        if batch.sites or batch.buildings:  # in batch order: of two descriptions of one site, the later stays
            now_ms = round(time.time() * 1000)
            db.executemany("INSERT OR REPLACE INTO sites (site, description, stored_ms) VALUES (?, ?, ?)",
                           [(m.site, m.to_json(), now_ms) for m in batch.sites])
            db.executemany(
                "INSERT OR REPLACE INTO buildings (site, building, description, stored_ms) VALUES (?, ?, ?, ?)",
                [(m.site, m.building, m.to_json(), now_ms) for m in batch.buildings])
        if batch.rejected:
            db.executemany(
                "INSERT INTO rejected (received_ms, topic, reason, detail, payload) VALUES (?, ?, ?, ?, ?)",
                [(round(q.received_s * 1000), q.topic, q.reason, q.detail, q.payload) for q in batch.rejected],
            )
            db.execute("DELETE FROM rejected WHERE id <= (SELECT max(id) FROM rejected) - ?", (KEEP_REJECTED,))
        if batch.states:  # a state said again keeps the time it first changed to it
            db.executemany(
                "INSERT INTO device_state (site, device, state, since_ms) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (site, device) DO UPDATE SET state = excluded.state, since_ms = excluded.since_ms "
                "WHERE excluded.state != device_state.state AND excluded.since_ms >= device_state.since_ms",
                [(x.site, x.device, x.state, round(x.since_s * 1000)) for x in batch.states])
        if batch.discovered:  # parts of one announcement merge: an empty field keeps what was said
            db.executemany(
                "INSERT INTO discovered VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site, family, key) DO UPDATE "
                "SET " + ", ".join(f"{c} = coalesce(nullif(excluded.{c}, ''), discovered.{c})" for c in _ANNOUNCED)
                + ", seen_ms = max(excluded.seen_ms, discovered.seen_ms)",
                [(d.site, d.family, d.key, d.device, d.name, d.model, d.address, d.measures, round(d.seen_s * 1000))
                 for d in batch.discovered])
        if batch.whatifs:  # a span said again (in force, then ended) replaces what it said before
            db.executemany("INSERT OR REPLACE INTO whatif (site, start_ms, description) VALUES (?, ?, ?)",
                           [(w.site, round(w.start_s * 1000), w.to_json()) for w in batch.whatifs])
        if batch.topics is not None:  # a survey replaces the one before
            db.execute("DELETE FROM topics_seen")
            db.executemany("INSERT OR REPLACE INTO topics_seen VALUES (?, ?, ?, ?, ?)",
                           [(t.topic, t.messages, round(t.window_s * 1000), round(t.seen_s * 1000), t.sample)
                            for t in batch.topics])
        if batch.health:
            now_ms = round(time.time() * 1000)
            db.executemany(
                "INSERT OR REPLACE INTO health (name, value, ts_ms) VALUES (?, ?, ?)",
                [(name, float(value), now_ms) for name, value in batch.health.items()],
            )
            process = batch.health_from or UNNAMED_PROCESS
            db.execute("DELETE FROM process_health WHERE process = ? OR ts_ms < ?",
                       (process, now_ms - FORGET_PROCESS_S * 1000))
            db.executemany(
                "INSERT INTO process_health (process, name, value, ts_ms) VALUES (?, ?, ?, ?)",
                [(process, name, float(value), now_ms) for name, value in batch.health.items()],
            )

    def _make_scratch_tables(self) -> None:
        """The temporary tables ``_update_rollups`` works in, once per connection: the buckets a batch
        touched, each level's touched buckets as they were before it, and what changed in a finer level."""
        db = self._db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS touched (series INTEGER, bucket_ms INTEGER)")
        db.execute("CREATE INDEX IF NOT EXISTS temp.touched_key ON touched (series, bucket_ms)")
        db.execute("CREATE TEMP TABLE IF NOT EXISTS changed (series INTEGER, bucket_ms INTEGER, dn INTEGER, "
                   "dtotal REAL, lo REAL, hi REAL, last_ts_ms INTEGER, shrank INTEGER)")
        for name in ROLLUPS_S:
            db.execute(f"CREATE TEMP TABLE IF NOT EXISTS was_{name} (series INTEGER, bucket_ms INTEGER, "
                       "n INTEGER, total REAL, lo REAL, hi REAL, PRIMARY KEY (series, bucket_ms))")

    def _update_rollups(self, rows: list[tuple[int, int, float]]) -> None:
        """The finest rollup's touched buckets from the batch where they are new, from raw readings where
        they held readings before; each coarser one by adding what changed in the finer
        (``schema.CHANGED_INTO``), or recomputed where that cannot be exact."""
        db = self._db
        names = list(ROLLUPS_S)
        for i, (name, width_s) in enumerate(ROLLUPS_S.items()):
            width_ms = width_s * 1000
            db.execute(f"DELETE FROM was_{name}")
            db.execute("DELETE FROM touched")
            if i == 0:
                fresh = aggregate(rows, width_ms)
                db.executemany("INSERT INTO touched VALUES (?, ?)", fresh)
                db.execute(NOTE_FINER_WAS.format(finer=name))  # these buckets as they were (none: new)
                # A bucket new to the store holds this batch's readings alone: counted here, not read back.
                db.executemany(f"INSERT OR IGNORE INTO rollup_{name} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               [(*key, *agg) for key, agg in fresh.items()])
                db.execute(f"DELETE FROM touched WHERE NOT EXISTS (SELECT 1 FROM was_{name} w WHERE w.series = "
                           "touched.series AND w.bucket_ms = touched.bucket_ms AND w.n IS NOT NULL)")
                db.execute(ROLLUP_FROM_READINGS.format(name=name, width_ms=width_ms))  # those that held some
                continue
            finer = names[i - 1]
            db.execute("DELETE FROM changed")
            db.execute(CHANGED_INTO.format(finer=finer, width_ms=width_ms))
            db.execute(TO_RECOMPUTE.format(name=name))
            if i + 1 < len(names):  # what the next coarser level will add: the buckets changed here, as they were
                db.execute(f"INSERT INTO was_{name} (series, bucket_ms, n, total, lo, hi) "
                           f"SELECT d.series, d.bucket_ms, c.n, c.total, c.lo, c.hi FROM changed d "
                           f"LEFT JOIN rollup_{name} c ON c.series = d.series AND c.bucket_ms = d.bucket_ms")
            db.execute(ADD_CHANGED.format(name=name, finer=finer, finer_width_ms=ROLLUPS_S[finer] * 1000))
            db.execute(ROLLUP_FROM_ROLLUP.format(name=name, width_ms=width_ms, finer=finer))

    # -- reading ---------------------------------------------------------------------------------

    def latest(self, site: str | None = None, since_s: float | None = None,
               devices: list[str] | None = None) -> list[Reading]:
        since_ms = None if since_s is None else round(since_s * 1000)
        narrow = f" AND s.device IN ({','.join('?' * len(devices))})" if devices else ""
        rows = self._db.execute(  # iterated, not fetched whole: a row per device and metric, 50,000 at `large`
            "SELECT s.site, s.device, s.metric, l.ts_ms, l.value FROM latest l JOIN series s ON s.id = l.series "
            f"WHERE (?1 IS NULL OR s.site = ?1) AND (?2 IS NULL OR l.ts_ms >= ?2){narrow} ORDER BY s.site, s.device",
            (site, since_ms, *(devices or ())),
        )
        by_device: dict[tuple[str, str], tuple[int, dict[str, float]]] = {}
        for s, d, metric, ts_ms, value in rows:
            newest, metrics = by_device.get((s, d), (0, {}))
            metrics[metric] = value
            by_device[(s, d)] = (max(newest, ts_ms), metrics)
        return [Reading(s, d, ts_ms / 1000, metrics) for (s, d), (ts_ms, metrics) in by_device.items()]

    def rollups(self, resolution, start_s, end_s, metric, devices=None, site=None) -> list[RollupRow]:
        if resolution not in ROLLUPS_S:
            raise ValueError(f"resolution must be one of {', '.join(ROLLUPS_S)}")
        query = (
            f"SELECT s.site, s.device, s.metric, r.bucket_ms, r.n, r.total, r.lo, r.hi, r.last "
            f"FROM rollup_{resolution} r JOIN series s ON s.id = r.series "
            "WHERE s.metric = ? AND r.bucket_ms >= ? AND r.bucket_ms < ?"
        )
        params: list = [metric, round(start_s * 1000), round(end_s * 1000)]
        if devices is not None:
            query += f" AND s.device IN ({','.join('?' * len(devices))})"
            params += list(devices)
        if site is not None:
            query += " AND s.site = ?"
            params.append(site)
        query += " ORDER BY s.device, s.site, r.bucket_ms"
        return [
            RollupRow(s, device, m, bucket / 1000, n, total / n, lo, hi, last)
            for s, device, m, bucket, n, total, lo, hi, last in self._db.execute(query, params)
        ]

    def devices(self, site: str | None = None) -> list[DeviceMeta]:
        rows = self._db.execute(
            "SELECT site, device, kind, name_en, name_zh, x_m, y_m, rated_power_w, parent, building, source "
            "FROM devices WHERE ?1 IS NULL OR site = ?1 ORDER BY site, device",
            (site,),
        )
        return [DeviceMeta(*row) for row in rows]

    def sites(self) -> list[SiteMeta]:
        rows = self._db.execute("SELECT site, description FROM sites ORDER BY site")
        return [m for m in (read_back(SiteMeta.from_payload, site, text) for site, text in rows) if m]

    def buildings(self, site: str | None = None) -> list[BuildingMeta]:
        rows = self._db.execute(
            "SELECT site, building, description FROM buildings WHERE ?1 IS NULL OR site = ?1 ORDER BY site, building",
            (site,))
        return [m for m in (read_back(BuildingMeta.from_payload, *row) for row in rows) if m]

    def rejected(self, limit: int = 100) -> list[Rejected]:
        rows = self._db.execute(
            "SELECT received_ms, topic, reason, detail, payload FROM rejected ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [Rejected(ms / 1000, topic, reason, detail, bytes(payload)) for ms, topic, reason, detail, payload in rows]

    def health(self) -> dict[str, float]:
        return dict(self._db.execute("SELECT name, value FROM health"))

    def states(self, site: str | None = None) -> list[DeviceState]:
        where, args = ("WHERE site = ?", (site,)) if site is not None else ("", ())
        return [DeviceState(s, d, state, since_ms / 1000.0) for s, d, state, since_ms in self._db.execute(
            f"SELECT site, device, state, since_ms FROM device_state {where} ORDER BY site, device", args)]

    def discovered(self, site: str | None = None) -> list[Discovered]:
        rows = self._db.execute(
            "SELECT site, family, key, device, name, model, address, measures, seen_ms FROM discovered "
            "WHERE ?1 IS NULL OR site = ?1 ORDER BY site, family, key", (site,))
        return [Discovered(*row[:8], seen_s=row[8] / 1000.0) for row in rows]

    def whatifs(self, site: str | None = None, since_s: float | None = None) -> list[WhatIfSpan]:
        since_ms = None if since_s is None else round(since_s * 1000)
        rows = self._db.execute("SELECT site, description FROM whatif WHERE (?1 IS NULL OR site = ?1) "
                                "AND (?2 IS NULL OR start_ms >= ?2) ORDER BY site, start_ms", (site, since_ms))
        return [w for w in (read_back(WhatIfSpan.from_payload, *row) for row in rows) if w]

    def topics_seen(self) -> list[TopicSeen]:
        rows = self._db.execute("SELECT topic, messages, window_ms, seen_ms, sample FROM topics_seen "
                                "ORDER BY messages DESC, topic")
        return [TopicSeen(topic, n, window_ms / 1000.0, seen_ms / 1000.0, bytes(sample))
                for topic, n, window_ms, seen_ms, sample in rows]

    def ingest_health(self) -> list[ProcessHealth]:
        found: dict[str, ProcessHealth] = {}
        for process, name, value, ts_ms in self._db.execute(
                "SELECT process, name, value, ts_ms FROM process_health ORDER BY process"):
            entry = found.setdefault(process, ProcessHealth(process, ts_ms / 1000.0, {}))
            entry.figures[name] = value
        return list(found.values())

    def identity(self) -> str:
        """A random id kept in the file itself (table ``identity``): a new or re-created expo.db has a new one.

        The table is made here, on first asking, not in the schema: it is additive (a file from before it
        gets one the first time ingest asks), so it needs no new ``SCHEMA_VERSION`` and no migration."""
        import uuid

        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")  # two processes asking at once agree on one id
                try:
                    self._db.execute("CREATE TABLE IF NOT EXISTS identity (id TEXT NOT NULL)")
                    row = self._db.execute("SELECT id FROM identity").fetchone()
                    if row is None:
                        row = (uuid.uuid4().hex,)
                        self._db.execute("INSERT INTO identity VALUES (?)", row)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc
        return row[0]

    def describe(self) -> dict[str, object]:
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return {"server": f"SQLite {sqlite3.sqlite_version} (embedded)", "file": str(self.path.resolve()),
                "size_mb": round(size / 2**20, 1),
                "journal": self._db.execute("PRAGMA journal_mode").fetchone()[0]}

    def count_readings(self) -> int:
        return self._db.execute("SELECT count(*) FROM readings").fetchone()[0]

    def maintain(self, force: bool = False) -> None:
        """Nothing is deferred: each write updates its rollups in the same transaction."""

    def close(self) -> None:
        with self._lock:
            self._db.close()
