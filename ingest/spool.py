"""A bounded, durable, first-in-first-out spool of batches the store could not take.

It is a SQLite file (synchronous=FULL) in ingest's state directory, one per
store configuration (``ingest.state.spool_path``), which it names in its
``about`` table: a batch is acknowledged to the broker only once it is either
in the store or in here, so a crash, a power cut or a store that is down for
an hour loses nothing, and what was spooled for one store is replayed into
that store, not into whichever one ingest is pointed at next. Batches leave
in the order they came, so the store sees readings in order.

When the spool reaches ``max_bytes`` it refuses more (``SpoolFull``); the
writer then stops taking messages from the broker, which keeps them for
ingest's persistent session until there is room. Nothing is dropped here.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable

from expo.metadata import DeviceMeta
from expo.places import BuildingMeta, SiteMeta
from expo.reading import Reading
from expo.store import Batch, DeviceState, Rejected

DEFAULT_MAX_BYTES = 512 * 1024 * 1024


class SpoolFull(Exception):
    pass


def encode_batch(batch: Batch) -> bytes:
    body = {
        "readings": [[r.site, r.device, r.ts_s, r.metrics, r.seq] for r in batch.readings],
        "metas": [m.__dict__ for m in batch.metas],
        "rejected": [
            [q.received_s, q.topic, q.reason, q.detail, base64.b64encode(q.payload).decode()] for q in batch.rejected
        ],
        "health": batch.health,
        "sites": [[m.site, m.to_payload()] for m in batch.sites],
        "buildings": [[m.site, m.building, m.to_payload()] for m in batch.buildings],
        "health_from": batch.health_from,
        "states": [[x.site, x.device, x.state, x.since_s] for x in batch.states],
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def decode_batch(data: bytes) -> Batch:
    body = json.loads(data)
    return Batch(
        readings=[Reading(s, d, ts, m, seq) for s, d, ts, m, seq in body["readings"]],
        metas=[DeviceMeta(**m) for m in body["metas"]],
        rejected=[Rejected(t, topic, reason, detail, base64.b64decode(p))
                  for t, topic, reason, detail, p in body["rejected"]],
        health=body["health"],
        sites=[SiteMeta.from_payload(site, payload) for site, payload in body.get("sites", [])],  # none before
        buildings=[BuildingMeta.from_payload(site, building, payload)
                   for site, building, payload in body.get("buildings", [])],
        health_from=body.get("health_from", ""),  # none before: a spool an older ingest wrote
        states=[DeviceState(*x) for x in body.get("states", [])],
    )


class Spool:
    def __init__(self, path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES, for_store: str | None = None,
                 clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._clock = clock
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY, created_s REAL NOT NULL, "
            "readings INTEGER NOT NULL, oldest_reading_s REAL, body BLOB NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS about (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        if for_store is not None:
            self._db.execute("INSERT OR IGNORE INTO about VALUES ('store', ?)", (for_store,))
        self._lock = threading.Lock()
        self._bytes, self._batches, self._readings = self._db.execute(
            "SELECT coalesce(sum(length(body)), 0), count(*), coalesce(sum(readings), 0) FROM batches"
        ).fetchone()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    @property
    def batches(self) -> int:
        return self._batches

    @property
    def readings(self) -> int:
        return self._readings

    def oldest_reading_s(self) -> float | None:
        if not self._batches:  # asked with every batch's health: an empty spool needs no query
            return None
        row = self._db.execute("SELECT min(oldest_reading_s) FROM batches").fetchone()
        return row[0] if row else None

    def push(self, batch: Batch) -> None:
        data = encode_batch(batch)
        with self._lock:
            if self._bytes + len(data) > self.max_bytes and self._batches:
                raise SpoolFull(f"spool {self.path} holds {self._bytes:,} bytes (limit {self.max_bytes:,})")
            oldest = min((r.ts_s for r in batch.readings), default=None)
            try:
                self._db.execute(
                    "INSERT INTO batches (created_s, readings, oldest_reading_s, body) VALUES (?, ?, ?, ?)",
                    (self._clock(), len(batch.readings), oldest, data),
                )
            except sqlite3.OperationalError as exc:  # the disk is full or failing: as good as a full spool
                raise SpoolFull(f"spool {self.path} cannot grow: {exc}") from exc
            self._bytes += len(data)
            self._batches += 1
            self._readings += len(batch.readings)

    def peek(self) -> tuple[int, Batch] | None:
        """The oldest batch, left in place until ``remove`` confirms the store has it."""
        row = self._db.execute("SELECT id, body FROM batches ORDER BY id LIMIT 1").fetchone()
        return None if row is None else (row[0], decode_batch(row[1]))

    def remove(self, batch_id: int) -> None:
        with self._lock:
            row = self._db.execute("SELECT length(body), readings FROM batches WHERE id = ?", (batch_id,)).fetchone()
            if row is None:
                return
            self._db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
            self._bytes -= row[0]
            self._batches -= 1
            self._readings -= row[1]

    def close(self) -> None:
        with self._lock:
            self._db.close()
