"""Pieces several decoders share: safe JSON, a route's kind, a real meter's metadata and counters, meter clocks.

These belong beside ``number()`` and ``device_id()`` in ``__init__.py``; they
live here (a private module, so ``registry()`` skips it) only so that file
could stay untouched while others were editing it.
"""

from __future__ import annotations

import json
from typing import Any

from expo.kinds import KINDS, Flow
from expo.metadata import DeviceMeta
from expo.reading import EARLIEST_TS_S, LATEST_TS_S
from ingest.decoders import DecodeContext, DecodeError, number


def load_json(payload: bytes) -> Any:
    """The payload's JSON value, or a DecodeError; never any other exception.

    Integers are parsed as floats: Python parses a 5,000-digit integer only to
    refuse it (ValueError), and ``float()`` of a 400-digit one overflows, while
    as floats both are simply infinite, which ``number()`` reports as not_finite.
    """
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("not_utf8", f"payload is not UTF-8 (bad byte at {exc.start})") from None
    try:
        return json.loads(text, parse_int=float)
    except RecursionError:
        raise DecodeError("malformed", "payload JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise DecodeError("malformed", f"payload is not JSON: {exc}") from None


def load_json_object(payload: bytes) -> dict:
    body = load_json(payload)
    if not isinstance(body, dict):
        raise DecodeError("malformed", f"payload must be a JSON object, got {type(body).__name__}")
    return body


def route_kind(ctx: DecodeContext, default: str, option: str = "kind") -> str:
    """The device kind a route names (``kind = "heat_pump"``), else the family's usual one."""
    kind = ctx.options.get(option, default)
    if not isinstance(kind, str) or kind not in KINDS:
        raise DecodeError("bad_route",
                          f"route option {option} = {kind!r} is not a device kind ({', '.join(sorted(KINDS))})")
    return kind


def meter_meta(ctx: DecodeContext, device: str, kind: str, name: str) -> DeviceMeta:
    """Metadata for a real meter: it knows its own name, nothing of the town plan."""
    return DeviceMeta(ctx.site, device, kind, name_en=name, name_zh=name, source="meter")


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
        raise DecodeError("bad_timestamp", f"{where} {ts_s:g} s is not a time between 2000 and 2100")
    return ts_s
