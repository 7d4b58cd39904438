"""InfluxDB line protocol over MQTT (Telegraf's ``influx`` output format, many DIY meters).

::

    energy,device=pv-roof,site=binhai power_w=1520.5,energy_wh=982341i 1795579200000000000

One reading per line, several lines per message allowed. The ``device`` tag
is required and becomes the device id; a ``site`` tag overrides the route's
site; other tags and the measurement name are ignored (they are free text
that the contract has no place for). Every field must already be a contract
metric (``power_w``, not ``power``: a name without its unit is refused as
``unknown_metric``, since nothing here can know the unit). Floats, integers
(``3i``) and unsigned integers (``3u``) are accepted; strings and booleans are
``wrong_type``. The timestamp is nanoseconds unless the route sets
``precision = "s" | "ms" | "us"``; without one, the delivery time is used.

Escapes follow the InfluxDB reference: ``\\,`` ``\\=`` and ``\\ `` in tags and
field keys, ``\\,`` and ``\\ `` in the measurement, ``\\"`` and ``\\\\`` inside
string values, and a backslash before anything else is itself. Nothing is
guessed: a line that does not parse is ``malformed`` and takes its whole
message with it, as a message is stored completely or not at all.
No metadata is sent unless the route sets ``kind``; publish a native
retained meta message for richer descriptions.
"""

from __future__ import annotations

import re

from expo.errors import Refused
from expo.reading import EARLIEST_TS_S, LATEST_TS_S, MAX_METRICS, Reading, canonical_metric
from ingest.decoders import DecodeContext, Decoded, device_id, meter_meta, route_kind

DEFAULT_TOPICS: list[str] = []

NS_PER = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_FLOAT = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_INTEGER = re.compile(r"^[+-]?[0-9]{1,20}[iu]$")
_BOOLEAN = frozenset({"t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"})
_TIMESTAMP = re.compile(r"^-?[0-9]{1,19}$")


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused("not_utf8", f"payload is not UTF-8 (bad byte at {exc.start})") from None
    precision = ctx.options.get("precision", "ns")
    if not isinstance(precision, str) or precision not in NS_PER:
        raise Refused("bad_route", f"route option precision = {precision!r} must be one of {', '.join(NS_PER)}")
    kind = route_kind(ctx, "meter") if "kind" in ctx.options else None
    decoded = Decoded()
    for number_, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            reading = _reading(line, ctx, NS_PER[precision])
        except Refused as exc:
            raise Refused(exc.reason, f"line {number_}: {exc.detail}") from None
        decoded.readings.append(reading)
        if kind is not None:
            decoded.metas.append(meter_meta(ctx, reading.device, kind, reading.device))
    if not decoded.readings:
        raise Refused("malformed", "payload has no lines")
    return decoded


def _reading(line: str, ctx: DecodeContext, ns_per_unit: int) -> Reading:
    head, rest = _split_once(line, " ", quoted=False)
    if rest is None:
        raise Refused("malformed", "a line needs 'measurement,tags fields [timestamp]'")
    sections = _split(rest, " ", quoted=True)
    if len(sections) not in (1, 2) or not all(sections):
        raise Refused("malformed", "fields and timestamp must be separated by exactly one space")
    measurement, *tags = _split(head, ",", quoted=False)
    if not measurement:
        raise Refused("malformed", "a line must start with a measurement name")
    tag_values = {}
    for tag in tags:
        key, value = _split_once(tag, "=", quoted=False)
        if not key or not value:
            raise Refused("malformed", f"tag {_unescape(tag)[:40]!r} must be key=value")
        tag_values[_unescape(key)] = _unescape(value)
    if "device" not in tag_values:
        raise Refused("missing_device", "a line needs a device tag, e.g. energy,device=meter-01 power_w=1")
    device = device_id(tag_values["device"])
    site = device_id(tag_values["site"], "site tag") if "site" in tag_values else ctx.site
    metrics = _fields(sections[0])
    ts_s = _timestamp(sections[1], ns_per_unit) if len(sections) == 2 else ctx.received_s
    return Reading(site, device, ts_s, metrics)


def _fields(section: str) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for field in _split(section, ",", quoted=True):
        key, raw = _split_once(field, "=", quoted=False)
        if not key or not raw:
            raise Refused("malformed", f"field {_unescape(field)[:40]!r} must be key=value")
        name = canonical_metric(_unescape(key))  # the contract refuses a name without its unit: unknown_metric
        metrics[name] = _field_value(name, raw)
    if len(metrics) > MAX_METRICS:
        raise Refused("too_many_metrics", f"{len(metrics)} fields; a reading has at most {MAX_METRICS}")
    return metrics


def _field_value(name: str, raw: str) -> float:
    if raw.startswith('"') or raw in _BOOLEAN:
        raise Refused("wrong_type", f"field {name} is a string or boolean, not a number")
    if _INTEGER.match(raw):
        text = raw[:-1]
    elif _FLOAT.match(raw):
        text = raw
    else:
        raise Refused("malformed", f"field {name} = {raw[:40]!r} is not a line-protocol number")
    value = float(text)  # text, not int: float() of a 20-digit integer string cannot overflow
    if value != value or value in (float("inf"), float("-inf")):
        raise Refused("not_finite", f"field {name} is not a finite number")
    return value


def _timestamp(text: str, ns_per_unit: int) -> float:
    if not _TIMESTAMP.match(text):
        raise Refused("bad_timestamp", f"timestamp {text[:40]!r} must be an integer")
    ts_s = int(text) * ns_per_unit / 1e9
    if not EARLIEST_TS_S <= ts_s < LATEST_TS_S:
        raise Refused("bad_timestamp", f"timestamp {text} is not between 2000 and 2100 at precision "
                          f"{next(k for k, v in NS_PER.items() if v == ns_per_unit)}")
    return ts_s


def _split(text: str, separator: str, quoted: bool) -> list[str]:
    """Pieces of ``text`` between unescaped separators, escapes kept; inside "strings" too if ``quoted``."""
    pieces, start, i, in_string = [], 0, 0, False
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if quoted and char == '"':
            in_string = not in_string
        elif char == separator and not in_string:
            pieces.append(text[start:i])
            start = i + 1
        i += 1
    if in_string:
        raise Refused("malformed", "a string field has no closing quote")
    pieces.append(text[start:])
    return pieces


def _split_once(text: str, separator: str, quoted: bool) -> tuple[str, str | None]:
    pieces = _split(text, separator, quoted)
    if len(pieces) == 1:
        return pieces[0], None
    return pieces[0], separator.join(pieces[1:])


def _unescape(text: str) -> str:
    return re.sub(r'\\([,= "\\])', r"\1", text)
