"""Fault injection: the ways real meters misbehave, so ingest can be exercised against them.

Rates are given as ``offline=0.01,spike=0.001,stuck=0.005,skew=0.02,malformed=0.001``:

- ``offline``: chance that a device is silent for a 10-minute window;
- ``stuck``: chance that a device repeats its last values for a 10-minute window;
- ``spike``: chance that one reading's power is a glitch 20x too large;
- ``skew``: share of devices whose clock is off by 1-15 minutes, all the time;
- ``malformed``: chance that one payload is broken (bad JSON, wrong types, bad UTF-8, ...).

Every decision is a hash of (seed, device, step), so a run with faults is as
reproducible as one without. Faults change only what is sent: the engine's
physics (and so every energy counter) stays correct underneath.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from typing import Iterator

from expo.errors import UserError
from expo.reading import format_ts, parse_ts
from physics.noise import hash_uniform

WINDOW_STEPS_S = 600.0
_STREAMS = {"offline": 71, "stuck": 72, "spike": 73, "skew": 74, "malformed": 75, "variant": 76}

MALFORMED_VARIANTS = (
    lambda p: p[: max(1, len(p) // 2)].encode(),  # truncated in transit
    lambda p: re.sub(r'("metrics":\{"[a-z0-9_]+":)[-0-9.e+]+', r'\1"n/a"', p, count=1).encode(),  # text, not a number
    lambda p: b"\xff\xfe" + p.encode()[2:],  # not UTF-8
    lambda p: p.replace('"ts":', '"time":', 1).encode(),  # no ts
    lambda p: (p[:-2] + ',"power_w":NaN}}').encode(),  # non-finite number
    lambda p: ("[" * 200 + "]" * 200).encode(),  # deeply nested, not an object
    lambda p: b"",  # empty
)


@dataclass(frozen=True)
class FaultRates:
    offline: float = 0.0
    stuck: float = 0.0
    spike: float = 0.0
    skew: float = 0.0
    malformed: float = 0.0

    @property
    def any(self) -> bool:
        return any(getattr(self, f.name) > 0 for f in fields(self))

    @classmethod
    def parse(cls, text: str | None) -> "FaultRates":
        if not text:
            return cls()
        known = {f.name for f in fields(cls)}
        values = {}
        for item in text.split(","):
            name, sep, value = item.partition("=")
            name = name.strip()
            if name not in known or not sep:
                raise UserError(f"--faults: {item!r} is not NAME=RATE with NAME one of {', '.join(sorted(known))}")
            try:
                rate = float(value)
            except ValueError:
                raise UserError(f"--faults: rate {value!r} for {name} is not a number") from None
            if not 0.0 <= rate <= 1.0:
                raise UserError(f"--faults: rate for {name} must be between 0 and 1, got {rate}")
            values[name] = rate
        return cls(**values)


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    fault: str | None = None


class FaultInjector:
    """Turns a stream of good (row, topic, payload, step time) into what a flaky fleet would send."""

    def __init__(self, rates: FaultRates, seed: int):
        self.rates = rates
        self.seed = seed
        self._held: dict[int, dict] = {}  # metrics a stuck meter keeps repeating

    def _chance(self, what: str, key: int) -> float:
        return float(hash_uniform(self.seed, _STREAMS[what], key))

    def apply(self, row: int, topic: str, payload: str, time_s: float) -> Iterator[Message]:
        r = self.rates
        window = int(time_s // WINDOW_STEPS_S)
        window_key = row * 10_000_019 + window
        reading_key = row * 1_000_000_007 + int(time_s)
        if r.offline and self._chance("offline", window_key) < r.offline:
            return
        fault = None
        if r.stuck and self._chance("stuck", window_key) < r.stuck:
            body = json.loads(payload)
            held = self._held.setdefault(row, body["metrics"])
            body["metrics"] = held
            payload, fault = json.dumps(body, separators=(",", ":")), "stuck"
        else:
            self._held.pop(row, None)
        if fault is None and r.spike and self._chance("spike", reading_key) < r.spike:
            body = json.loads(payload)
            if "power_w" in body["metrics"]:
                body["metrics"]["power_w"] = round(body["metrics"]["power_w"] * 20.0 + 5000.0, 1)
                payload, fault = json.dumps(body, separators=(",", ":")), "spike"
        if r.skew and self._chance("skew", row) < r.skew:
            body = json.loads(payload)
            offset_s = 60.0 + 840.0 * self._chance("variant", row)
            body["ts"] = format_ts(parse_ts(body["ts"]) + (offset_s if row % 2 else -offset_s))
            payload, fault = json.dumps(body, separators=(",", ":")), fault or "skew"
        if r.malformed and self._chance("malformed", reading_key) < r.malformed:
            variant = int(self._chance("variant", reading_key) * len(MALFORMED_VARIANTS))
            yield Message(topic, MALFORMED_VARIANTS[variant](payload), "malformed")
            return
        yield Message(topic, payload.encode(), fault)
