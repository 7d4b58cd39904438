"""The reading: one device's metrics at one instant, and its native JSON payload (version 1).

Payload on ``expo/<site>/<device>/reading``::

    {"v": 1, "ts": "2026-11-25T04:00:00Z", "seq": 17,
     "metrics": {"power_w": 512.3, "energy_wh": 90412.125}}

``ts`` is RFC 3339 (any offset; ``Z`` preferred) or integer epoch milliseconds.
``seq`` is optional: a per-device counter that lets a consumer see gaps.
Every metric name ends in its unit (see ``UNITS``) so a number never travels
without one.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache

import msgspec

from expo.errors import Refused

PAYLOAD_VERSION = 1

# Unit suffix of a metric name -> the unit it stands for (SI, as shown to people).
UNITS: dict[str, str] = {
    "w": "W",
    "wh": "Wh",
    "var": "var",
    "varh": "varh",
    "va": "VA",
    "v": "V",
    "a": "A",
    "hz": "Hz",
    "pct": "%",
    "c": "°C",
    "wm2": "W/m²",
    "mps": "m/s",
    "count": "1",  # how many of something (meters_count): a number, with its unit spelt as the thing counted
    "ms": "m/s",  # version 1's first spelling of m/s; taken on input and stored as _mps (see canonical_metric)
}
# Old suffix -> the one stored. ``_ms`` reads as milliseconds everywhere else, so m/s became ``_mps``.
RENAMED_SUFFIXES = {"ms": "mps"}
# Dimensionless metrics, named in full because they have no unit to end in.
UNITLESS = frozenset({"cop", "power_factor"})

_METRIC = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
MAX_METRICS = 64


class ContractError(Refused):
    """A payload or reading that breaks the contract: ``reason`` is countable, ``detail`` says where."""


@lru_cache(maxsize=4096)  # a fleet uses a handful of names; this runs for every metric of every reading
def unit_of(metric: str) -> str:
    """The unit a metric name declares; ContractError when it declares none."""
    if metric in UNITLESS:
        return "1"
    if not _METRIC.match(metric) or "_" not in metric:
        raise ContractError("unknown_metric",
                            f"metric name {metric!r} must be snake_case and end in a unit, e.g. power_w")
    suffix = metric.rsplit("_", 1)[1]
    if suffix not in UNITS:
        raise ContractError(
            "unknown_metric",
            f"metric {metric!r} ends in {suffix!r}, which is not a known unit ({', '.join(sorted(UNITS))})",
        )
    return UNITS[suffix]


@lru_cache(maxsize=4096)
def canonical_metric(metric: str) -> str:
    """The name a metric is stored under: checked like ``unit_of``, an old unit suffix renamed (``wind_speed_ms``
    becomes ``wind_speed_mps``), so payloads of the first spelling keep working as the version rule promises."""
    unit_of(metric)
    stem, _, suffix = metric.rpartition("_")
    return f"{stem}_{RENAMED_SUFFIXES[suffix]}" if suffix in RENAMED_SUFFIXES else metric


def format_ts(epoch_s: float) -> str:
    """RFC 3339 in UTC; milliseconds only when the instant has them."""
    whole = int(epoch_s)
    ms = round((epoch_s - whole) * 1000)
    base = datetime.fromtimestamp(whole, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{ms:03d}Z" if ms else f"{base}Z"


# A meter whose clock says 1970 or 2300 has an unset or broken clock; every store and formatter can hold this range.
EARLIEST_TS_S = 946_684_800.0  # 2000-01-01T00:00:00Z
LATEST_TS_S = 4_102_444_800.0  # 2100-01-01T00:00:00Z


def parse_ts(value: object) -> float:
    """Epoch seconds from RFC 3339 text or integer epoch milliseconds, between 2000 and 2100."""
    return _parse_text(value) if isinstance(value, str) else _checked(value)


@lru_cache(maxsize=4096)  # every meter of a step shares its ts text: parsed once, not 10,000 times
def _parse_text(value: str) -> float:
    return _checked(value)


def _checked(value: object) -> float:
    ts_s = _parse_ts(value)
    if not EARLIEST_TS_S <= ts_s < LATEST_TS_S:
        raise ContractError("bad_timestamp", f"ts {value!r} is not between 2000 and 2100: is the meter's clock set?")
    return ts_s


def _parse_ts(value: object) -> float:
    if isinstance(value, bool):
        raise ContractError("bad_timestamp", "ts must be RFC 3339 text or epoch milliseconds, not a boolean")
    if isinstance(value, int):
        try:
            return value / 1000.0
        except OverflowError:  # a number of hundreds of digits: no clock wrote that
            raise ContractError("bad_timestamp", f"ts {str(value)[:20]}... is not a time") from None
    if not isinstance(value, str):
        raise ContractError("bad_timestamp",
                            f"ts must be RFC 3339 text or epoch milliseconds, got {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ContractError("bad_timestamp", f"ts {value!r} is not RFC 3339, e.g. 2026-11-25T04:00:00Z") from None
    if moment.tzinfo is None:
        raise ContractError("bad_timestamp", f"ts {value!r} has no UTC offset; add Z or +08:00")
    return moment.timestamp()


@dataclass(frozen=True)
class Reading:
    site: str
    device: str
    ts_s: float
    metrics: dict[str, float] = field(default_factory=dict)
    seq: int | None = None

    def to_payload(self) -> dict:
        body: dict = {"v": PAYLOAD_VERSION, "ts": format_ts(self.ts_s)}
        if self.seq is not None:
            body["seq"] = self.seq
        body["metrics"] = dict(self.metrics)
        return body

    def to_json(self) -> str:
        return json.dumps(self.to_payload(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_payload(cls, site: str, device: str, payload: bytes | str | dict) -> "Reading":
        """Validate a native payload; every way it can be wrong raises ContractError.

        A well-formed payload is decoded and type-checked in one step by msgspec (about a tenth of the
        time of ``json.loads`` and the checks in Python: this runs for every reading of a city). Anything
        it does not take goes the long way below, which names exactly what is wrong."""
        if isinstance(payload, bytes):
            fast = _decode_fast(site, device, payload)
            if fast is not None:
                return cls(*fast)
        return cls._from_payload_checked(site, device, payload)

    @classmethod
    def _from_payload_checked(cls, site: str, device: str, payload: bytes | str | dict) -> "Reading":
        body = load_json_object(payload)
        version = body.get("v")
        if version != PAYLOAD_VERSION:
            raise ContractError("unsupported_version",
                                f"payload version {version!r} is not supported; expected v={PAYLOAD_VERSION}")
        if "ts" not in body:
            raise ContractError("bad_timestamp", "payload has no ts")
        ts_s = parse_ts(body["ts"])
        seq = body.get("seq")
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or seq < 0):
            raise ContractError("invalid", f"seq must be a non-negative integer, got {seq!r}")
        metrics = body.get("metrics")
        if not isinstance(metrics, dict) or not metrics:
            raise ContractError("invalid", "payload needs a non-empty metrics object")
        if len(metrics) > MAX_METRICS:
            raise ContractError("invalid", f"payload has {len(metrics)} metrics; at most {MAX_METRICS} are accepted")
        clean: dict[str, float] = {}
        for name, value in metrics.items():
            stored_name = canonical_metric(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ContractError("wrong_type", f"metric {name!r} must be a number, got {type(value).__name__}")
            try:
                number = float(value)  # an integer of hundreds of digits does not fit a float
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise ContractError("not_finite", f"metric {name!r} is not finite")
            clean[stored_name] = number
        return cls(site, device, ts_s, clean, seq)


class _Body(msgspec.Struct):
    """The native payload's shape: what msgspec checks in C before any Python runs."""

    v: int
    ts: str | int
    metrics: dict[str, float]
    seq: int | None = None


_BODY = msgspec.json.Decoder(_Body)


def _decode_fast(site: str, device: str, payload: bytes) -> tuple | None:
    """The reading's fields if the payload is well-formed, else None (the checked path says why not)."""
    try:
        body = _BODY.decode(payload)
    except (msgspec.MsgspecError, RecursionError):
        return None
    metrics = body.metrics
    if body.v != PAYLOAD_VERSION or not metrics or len(metrics) > MAX_METRICS or (body.seq is not None and body.seq < 0):
        return None
    ts_s = parse_ts(body.ts)  # first, as the checked path: the same refusal whichever path raises it
    clean = {}
    for name, value in metrics.items():
        if not math.isfinite(value):
            return None
        clean[canonical_metric(name)] = value
    return site, device, ts_s, clean, body.seq


def load_json_object(payload: bytes | str | dict) -> dict:
    if isinstance(payload, dict):
        return payload
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ContractError("not_utf8", f"payload is not UTF-8 (bad byte at {exc.start})") from None
    try:
        body = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise ContractError("malformed", f"payload is not JSON: {exc.msg} at character {exc.pos}") from None
    except RecursionError:
        raise ContractError("malformed", "payload JSON is nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4,300 digits, which Python will not convert
        raise ContractError("malformed", f"payload is not JSON this reads: {exc}"[:200]) from None
    if not isinstance(body, dict):
        raise ContractError("malformed", f"payload must be a JSON object, got {type(body).__name__}")
    return body
