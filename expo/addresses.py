"""Service addresses in the one form used by flags, the config file and the environment.

Broker: ``mqtt://[user:pass@]host[:port]`` or ``mqtts://...`` for TLS.
Store: ``sqlite:///relative/expo.db`` or ``sqlite:////absolute/expo.db``, ``influxdb://host:port/<bucket or database>``
(``influxdbs://`` for TLS).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from expo.errors import UserError

BROKER_SCHEMES = {"mqtt": (1883, False), "mqtts": (8883, True)}
STORE_SCHEMES = ("sqlite", "influxdb", "influxdbs")


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        """The address with the password hidden, fit for logs and error messages."""
        user = f"{self.username}:***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def parse_broker(url: str) -> BrokerAddress:
    parts = _split(url, "broker", "mqtt://host:1883")
    if parts.scheme not in BROKER_SCHEMES:
        raise UserError(f"broker address {url!r} must start with mqtt:// or mqtts://")
    default_port, tls = BROKER_SCHEMES[parts.scheme]
    if not parts.hostname:
        raise UserError(f"broker address {url!r} has no host; e.g. mqtt://127.0.0.1:1883")
    if parts.path not in ("", "/"):
        raise UserError(f"broker address {url!r} must not have a path")
    return BrokerAddress(
        host=parts.hostname,
        port=_port(parts, url, default_port),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


@dataclass(frozen=True)
class StoreAddress:
    scheme: str
    host: str | None = None
    port: int | None = None
    path: str | None = None  # sqlite file
    database: str | None = None  # influxdb bucket or database
    username: str | None = None
    password: str | None = None

    @property
    def tls(self) -> bool:
        return self.scheme == "influxdbs"


def parse_store(url: str) -> StoreAddress:
    parts = _split(url, "store", "sqlite:///var/lib/energy-expo/expo.db")
    if parts.scheme not in STORE_SCHEMES:
        raise UserError(f"store address {url!r} must start with sqlite:///, influxdb:// or influxdbs://")
    if parts.scheme == "sqlite":
        if parts.netloc:
            raise UserError(f"store address {url!r}: a SQLite path needs three slashes, e.g. sqlite:///data/expo.db")
        if not parts.path or parts.path == "/":
            raise UserError(f"store address {url!r} names no database file")
        # As in SQLAlchemy: sqlite:///expo.db is relative to the working directory, sqlite:////var/x.db absolute.
        return StoreAddress("sqlite", path=unquote(parts.path[1:]))
    if not parts.hostname:
        raise UserError(f"store address {url!r} has no host; e.g. influxdb://127.0.0.1:8086/expo")
    database = unquote(parts.path.strip("/"))
    if not database or "/" in database:
        raise UserError(f"store address {url!r} must name one bucket or database, e.g. influxdb://host:8086/expo")
    return StoreAddress(
        parts.scheme,
        host=parts.hostname,
        port=_port(parts, url, 8086),
        database=database,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _split(url: str, what: str, example: str):
    if not isinstance(url, str) or "://" not in url:
        raise UserError(f"{what} address {url!r} is not a URL; e.g. {example}")
    return urlsplit(url.strip())


def _port(parts, url: str, default: int) -> int:
    try:
        port = parts.port
    except ValueError:
        raise UserError(f"address {url!r} has an invalid port") from None
    return default if port is None else port
