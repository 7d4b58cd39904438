"""The store interface: the only thing ingest's writer and the dashboard know about storage.

Backends (embedded SQLite, InfluxDB) implement ``Store`` and register under the
URL scheme of their address (``sqlite``, ``influxdb``) with ``register``; the
caller asks ``open_store(address)`` and never names a backend class. Adding a
backend is adding a module that calls ``register``.
"""

from __future__ import annotations

from typing import Callable, Iterable, Protocol, Sequence

from expo.addresses import StoreAddress, parse_store
from expo.errors import UserError
from expo.metadata import DeviceMeta
from expo.reading import Reading


class Store(Protocol):
    def write_readings(self, readings: Sequence[Reading]) -> None:
        """Write a batch; idempotent per (site, device, metric, ts), so a redelivery leaves no duplicate."""

    def write_meta(self, metas: Iterable[DeviceMeta]) -> None:
        """Insert or replace device metadata."""

    def close(self) -> None:
        """Flush and release the connection."""


_BACKENDS: dict[str, Callable[[StoreAddress], Store]] = {}


def register(scheme: str, factory: Callable[[StoreAddress], Store]) -> None:
    _BACKENDS[scheme] = factory


def open_store(url: str) -> Store:
    address = parse_store(url)
    factory = _BACKENDS.get(address.scheme)
    if factory is None:
        raise UserError(f"no store backend for {address.scheme}:// is installed")
    return factory(address)
