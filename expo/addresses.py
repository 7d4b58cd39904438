"""Service addresses in the one form used by flags, the config file and the environment.

Broker: ``mqtt://[user:pass@]host[:port]`` or ``mqtts://...`` for TLS.
Store: a URL whose scheme names a store backend. Each backend parses its own
(``expo/stores/<name>.py``, ``parse_address``) with the helpers here, and
``expo.store.parse_store`` picks the backend, so a new backend needs no edit
in this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from expo.errors import UserError

BROKER_SCHEMES = {"mqtt": (1883, False), "mqtts": (8883, True)}


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
    parts = split_url(url, "broker", "mqtt://host:1883")
    if parts.scheme not in BROKER_SCHEMES:
        raise UserError(f"broker address {url!r} must start with mqtt:// or mqtts://")
    default_port, tls = BROKER_SCHEMES[parts.scheme]
    if not parts.hostname:
        raise UserError(f"broker address {url!r} has no host; e.g. mqtt://127.0.0.1:1883")
    if parts.path not in ("", "/"):
        raise UserError(f"broker address {url!r} must not have a path")
    return BrokerAddress(
        host=parts.hostname,
        port=port_of(parts, url, default_port),
        tls=tls,
        username=user_of(parts),
        password=password_of(parts),
    )


@dataclass(frozen=True)
class StoreAddress:
    """A store's address as its backend parsed it; each backend uses the fields that apply to it."""

    scheme: str
    host: str | None = None
    port: int | None = None
    path: str | None = None  # a file (sqlite)
    database: str | None = None  # a bucket or database (influxdb)
    username: str | None = None
    password: str | None = None
    tls: bool = False


def split_url(url: str, what: str, example: str):
    """``urlsplit`` of an address, or a ``UserError`` with an example when it is not a URL at all."""
    if not isinstance(url, str) or "://" not in url:
        raise UserError(f"{what} address {url!r} is not a URL; e.g. {example}")
    return urlsplit(url.strip())


def port_of(parts, url: str, default: int) -> int:
    try:
        port = parts.port
    except ValueError:
        raise UserError(f"address {url!r} has an invalid port") from None
    return default if port is None else port


def user_of(parts) -> str | None:
    return unquote(parts.username) if parts.username else None


def password_of(parts) -> str | None:
    return unquote(parts.password) if parts.password else None
