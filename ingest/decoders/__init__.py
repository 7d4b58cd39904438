"""Decoders turn one MQTT message into readings of the contract; one module per meter family.

A decoder is a module in this package, found by ``expo.plugins.discover`` and
named by its file: ``tasmota.py`` is ``decoder = "tasmota"`` in a route. It defines

- ``DEFAULT_TOPICS``: MQTT filters subscribed with no configuration at all
  (a family's conventional topics; empty for decoders that need options);
- ``decode(topic, payload, ctx) -> Decoded``: pure, no I/O, no state.

Anything wrong with a message raises ``expo.errors.Refused(reason, detail)``;
the caller counts it by ``reason`` and quarantines the raw message. Adding a
format is adding a module here and nothing else; which default topic wins when
two families' filters both match is decided by ``ingest.routes``, not by the
order of the files. The helpers below are the ones several families share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any, Mapping

from expo.errors import Refused
from expo.kinds import KINDS, Flow
from expo.metadata import DeviceMeta
from expo.places import BuildingMeta, SiteMeta
from expo.plugins import discover
from expo.reading import EARLIEST_TS_S, LATEST_TS_S, Reading
from expo.store import Discovered
from expo.whatif import WhatIfSpan
from expo.topics import is_valid_id


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and these two are made for
# every message (a city's tens of thousands a second). Nothing changes them after they are made.
@dataclass(slots=True)
class DecodeContext:
    site: str  # the site that meters without one of their own belong to
    received_s: float  # when the broker delivered the message: the reading's time if the payload has none
    options: Mapping[str, Any] = field(default_factory=dict)  # the route's own settings, e.g. the generic mapping


@dataclass(slots=True)
class Decoded:
    readings: list[Reading] = field(default_factory=list)
    metas: list[DeviceMeta] = field(default_factory=list)
    status: dict[str, str] = field(default_factory=dict)  # device -> "online" / "offline"
    replaced: dict[str, float] = field(default_factory=dict)  # device -> when its meter was replaced (epoch s)
    # The metas are the devices' own announcement (a native meta message), not a decoder's guess from a
    # reading: an announced device is known, never part of a flood of new ids (ingest.checks).
    announced: bool = False
    sites: list[SiteMeta] = field(default_factory=list)  # a site's own description (native ``site``)
    buildings: list[BuildingMeta] = field(default_factory=list)
    discovered: list[Discovered] = field(default_factory=list)  # a meter announcing itself (discovery topics)
    whatifs: list[WhatIfSpan] = field(default_factory=list)  # a what-if's span (native ``whatif``)


@cache
def registry() -> dict[str, ModuleType]:
    """Every decoder module in this package, by module name."""
    found = discover(__name__)
    for module in found.values():
        if not callable(getattr(module, "decode", None)) or not isinstance(getattr(module, "DEFAULT_TOPICS", None),
                                                                          list):
            raise TypeError(f"decoder module {module.__name__} needs decode() and a DEFAULT_TOPICS list")
    return found


def device_id(raw: str, what: str = "device id") -> str:
    """A meter's own name as a contract id: lower-cased, other characters refused rather than guessed at.

    Lower-casing is safe (Tasmota and Shelly ids differ only in case from a
    valid id); anything else, such as a space, a quote, a comma or ``=`` that
    would break a line-protocol tag, is an error the engineer must see.
    """
    candidate = str(raw).strip().lower()
    if not is_valid_id(candidate):
        raise Refused("invalid_device_id", f"{what} {raw!r} cannot be used: a-z, 0-9, '-' and '_' only, at most 64")
    return candidate


def number(value: Any, where: str) -> float:
    """A finite number from JSON or text, or a refusal that says which field was wrong."""
    if isinstance(value, bool):
        raise Refused("wrong_type", f"{where} is a boolean, not a number")
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, (str, bytes)):
        try:
            result = float(value.strip() if isinstance(value, str) else value.decode("ascii").strip())
        except (ValueError, UnicodeDecodeError):
            raise Refused("wrong_type", f"{where} is {value!r}, not a number") from None
    else:
        raise Refused("wrong_type", f"{where} is {type(value).__name__}, not a number")
    if result != result or result in (float("inf"), float("-inf")):
        raise Refused("not_finite", f"{where} is not a finite number")
    return result


def load_json(payload: bytes) -> Any:
    """The payload's JSON value, or a refusal; never any other exception.

    Integers are parsed as floats: Python parses a 5,000-digit integer only to
    refuse it (ValueError), and ``float()`` of a 400-digit one overflows, while
    as floats both are simply infinite, which ``number()`` reports as not_finite.
    """
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused("not_utf8", f"payload is not UTF-8 (bad byte at {exc.start})") from None
    try:
        return json.loads(text, parse_int=float)
    except RecursionError:
        raise Refused("malformed", "payload JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise Refused("malformed", f"payload is not JSON: {exc}") from None


def load_json_object(payload: bytes) -> dict:
    body = load_json(payload)
    if not isinstance(body, dict):
        raise Refused("malformed", f"payload must be a JSON object, got {type(body).__name__}")
    return body


def route_kind(ctx: DecodeContext, default: str, option: str = "kind") -> str:
    """The device kind a route names (``kind = "heat_pump"``), else the family's usual one."""
    kind = ctx.options.get(option, default)
    if not isinstance(kind, str) or kind not in KINDS:
        raise Refused("bad_route",
                      f"route option {option} = {kind!r} is not a device kind ({', '.join(sorted(KINDS))})")
    return kind


def text(value: Any, longest: int = 120) -> str:
    """A field of an announcement as text for the engineer view ("" when absent or not text), cut to ``longest``."""
    return value.strip()[:longest] if isinstance(value, str) else ""


def online_state(payload: bytes) -> str | None:
    """A Shelly's ``online`` (``true``/``false``): its state, or None for any other payload (another family's
    ``<x>/online`` topic that happens to match): nothing to say, not an error."""
    return {b"true": "online", b"false": "offline"}.get(bytes(payload).strip().lower())


def meter_meta(ctx: DecodeContext, device: str, kind: str, name: str) -> DeviceMeta:
    """Metadata for a real meter: it knows its own name, nothing of the town plan."""
    return DeviceMeta(ctx.site, device, kind, name_en=name, name_zh=name, source="meter")


def is_guess(meta: DeviceMeta) -> bool:
    """Whether ``meta`` says no more than a decoder guesses from a reading (``meter_meta``): a name and a kind,
    nowhere on the plan. Anything else (a place, a parent, a building, a rating, a Chinese name of its own) was
    told by someone, and a guess never overwrites it."""
    return (meta.source == "meter" and meta.name_en == meta.name_zh and meta.x_m == 0.0 and meta.y_m == 0.0
            and meta.parent is None and meta.building is None and meta.rated_power_w == 0.0)


def energy_counters(kind: str) -> tuple[str, str | None]:
    """The counters a kind keeps (docs/telemetry.md): bidirectional kinds count each way, others one way.

    A meter that also counts energy sent back (Shelly ``total_returned``,
    Tasmota ``ExportActive``) on a consuming kind has nowhere to put it: the
    second counter is ``None`` and is left out.
    """
    if KINDS[kind].flow is Flow.BIDIRECTIONAL:
        return "energy_import", "energy_export"
    return "energy", None


def epoch_seconds(value: Any, where: str) -> float:
    """A meter's own timestamp, refused when no set clock could have produced it (the contract's range)."""
    ts_s = number(value, where)
    if not EARLIEST_TS_S <= ts_s < LATEST_TS_S:
        raise Refused("bad_timestamp", f"{where} {ts_s:g} s is not a time between 2000 and 2100")
    return ts_s
