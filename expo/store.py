"""The store interface: the only thing ingest's writer and the dashboard know about storage.

Backends (embedded SQLite, InfluxDB) implement ``Store`` and register under the
URL scheme of their address (``sqlite``, ``influxdb``) with ``register``; the
caller asks ``open_store(address)`` and never names a backend class. A backend
module registers itself when imported; ``open_store`` imports every module in
``expo.stores``, so adding a backend is adding a file there. Backends live in
the shared package because ingest writes through them and the dashboard
reads through them.

Writes are idempotent: a reading is keyed by (site, device, metric, ts), so a
redelivered message overwrites itself instead of adding a duplicate. A backend
that cannot reach its server raises ``StoreUnavailable`` (the writer then
spools and retries); any other exception is a bug and is not retried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from expo.addresses import parse_store
from expo.errors import UserError
from expo.plugins import discover
from expo.metadata import DeviceMeta
from expo.reading import Reading

ROLLUPS_S = {"1m": 60, "1h": 3600}


class StoreUnavailable(Exception):
    """The store cannot be reached or refused the write for now; worth retrying later.

    ``retry_after_s`` is the server's own word on when (HTTP ``Retry-After``), if it gave one.
    """

    def __init__(self, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Rejected:
    """A message ingest would not store, kept with its raw bytes so an engineer can see why."""

    received_s: float
    topic: str
    reason: str
    detail: str
    payload: bytes


@dataclass
class Batch:
    readings: list[Reading] = field(default_factory=list)
    metas: list[DeviceMeta] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    health: dict[str, float] = field(default_factory=dict)  # ingest's counters at the time of the batch

    def __len__(self) -> int:
        return len(self.readings) + len(self.metas) + len(self.rejected)


@dataclass(frozen=True)
class RollupRow:
    site: str
    device: str
    metric: str
    bucket_s: float  # start of the bucket
    count: int
    mean: float
    min: float
    max: float
    last: float  # last value in the bucket: for counters, the basis of energy deltas


class Store(Protocol):
    def write(self, batch: Batch) -> None:
        """Store everything in the batch atomically, and update the rollups it touches."""

    def latest(self, site: str | None = None, since_s: float | None = None) -> list[Reading]:
        """The newest reading of every device (all its metrics at their newest instant).

        ``since_s`` leaves out devices silent since then; the dashboard passes it
        so the query's cost does not grow with the years of history behind it.
        """

    def rollups(
        self, resolution: str, start_s: float, end_s: float, metric: str, devices: list[str] | None = None
    ) -> list[RollupRow]:
        """Aggregates at ``resolution`` ('1m' or '1h') with bucket start in [start_s, end_s)."""

    def devices(self, site: str | None = None) -> list[DeviceMeta]:
        """Metadata of every known device."""

    def rejected(self, limit: int = 100) -> list[Rejected]:
        """The newest quarantined messages, newest first."""

    def health(self) -> dict[str, float]:
        """Ingest's newest counters (written with each batch), for the engineer view; empty if none yet."""

    def count_readings(self) -> int:
        """How many (device, metric, instant) values are stored: for tests, checks and the engineer view."""

    def describe(self) -> dict[str, object]:
        """What the store is, for ``energy-expo check``: server and version, where the data lives."""

    def maintain(self, force: bool = False) -> None:
        """Catch up on deferred work (rollups of recent writes); the writer calls it when idle. May raise
        ``StoreUnavailable``."""

    def close(self) -> None:
        """Flush (``maintain(force=True)``) and release the connection."""


_BACKENDS: dict[str, Callable[..., Store]] = {}


def register(scheme: str, factory: Callable[..., Store]) -> None:
    """``factory(address, **options)``; options are credentials a backend may use (token, username, ...)."""
    _BACKENDS[scheme] = factory


def _load_backends() -> None:
    discover("expo.stores")


def open_store(url: str, **options) -> Store:
    address = parse_store(url)
    _load_backends()
    factory = _BACKENDS.get(address.scheme)
    if factory is None:
        raise UserError(f"no store backend for {address.scheme}:// is installed")
    return factory(address, **options)
