"""Decoders turn one MQTT message into readings of the contract; one module per meter family.

A decoder module defines:

- ``NAME``: the key used in the ingest configuration (``decoder = "tasmota"``);
- ``DEFAULT_TOPICS``: MQTT filters subscribed with no configuration at all
  (a family's conventional topics; empty for decoders that need options);
- ``decode(topic, payload, ctx) -> Decoded``: pure, no I/O, no state.

Anything wrong with a message raises ``DecodeError(reason, detail)``; the
caller counts it by ``reason`` and quarantines the raw message. Adding a
format is adding a module here: ``registry()`` finds it.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any, Mapping

from expo.metadata import DeviceMeta
from expo.reading import Reading
from expo.topics import is_valid_id

MAX_PAYLOAD_BYTES = 64 * 1024


class DecodeError(ValueError):
    """A message a decoder cannot turn into readings; ``reason`` is a short, countable code."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class DecodeContext:
    site: str  # the site that meters without one of their own belong to
    received_s: float  # when the broker delivered the message: the reading's time if the payload has none
    options: Mapping[str, Any] = field(default_factory=dict)  # the route's own settings, e.g. the generic mapping


@dataclass(frozen=True)
class Decoded:
    readings: list[Reading] = field(default_factory=list)
    metas: list[DeviceMeta] = field(default_factory=list)
    status: dict[str, str] = field(default_factory=dict)  # device -> "online" / "offline"


_UNSAFE = re.compile(r"[^a-z0-9_-]+")


def device_id(raw: str, what: str = "device id") -> str:
    """A meter's own name as a contract id: lower-cased, other characters refused rather than guessed at.

    Lower-casing is safe (Tasmota and Shelly ids differ only in case from a
    valid id); anything else, such as a space, a quote, a comma or ``=`` that
    would break a line-protocol tag, is an error the engineer must see.
    """
    candidate = str(raw).strip().lower()
    if not is_valid_id(candidate):
        raise DecodeError("invalid_device_id", f"{what} {raw!r} cannot be used: a-z, 0-9, '-' and '_' only, at most 64")
    return candidate


def number(value: Any, where: str) -> float:
    """A finite number from JSON or text, or a DecodeError that says which field was wrong."""
    if isinstance(value, bool):
        raise DecodeError("wrong_type", f"{where} is a boolean, not a number")
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, (str, bytes)):
        try:
            result = float(value.strip() if isinstance(value, str) else value.decode("ascii").strip())
        except (ValueError, UnicodeDecodeError):
            raise DecodeError("wrong_type", f"{where} is {value!r}, not a number") from None
    else:
        raise DecodeError("wrong_type", f"{where} is {type(value).__name__}, not a number")
    if result != result or result in (float("inf"), float("-inf")):
        raise DecodeError("not_finite", f"{where} is not a finite number")
    return result


@cache
def registry() -> dict[str, ModuleType]:
    """Every decoder module in this package, by ``NAME``."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[module.NAME] = module
    return found
