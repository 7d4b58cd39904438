"""Plausibility checks on decoded readings: what a decoder cannot know on its own.

Each failed check names a countable reason. The limits are settings, with
defaults chosen for meters in one exhibition hall: a clock more than five
minutes ahead is wrong, a consumer that produces is wrong, and a thousand new
device ids in a minute is a misconfigured gateway (or an attack), not a town.
Devices that are known are never counted as new: those in the store or the
counter memory at start, and those announced by their own metadata (a native
meta message, as the simulators publish, retained, before any reading). A
city of 20,000 announced meters comes up at once; a gateway inventing ids in
its readings is still stopped.
A process given ``sites`` owns those sites' devices and no others: a reading
of another site that reaches it anyway (a broad configured route, a line-
protocol ``site`` tag) is quarantined as ``other_site`` rather than stored,
since the process that owns that site derives its energy and rollups and a
second writer would make both wrong.
"Now" is the message's delivery time when the caller has one, else the
injected clock, so a test or a replay decides what time it is.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from expo.errors import Refused
from expo.kinds import KINDS, Flow
from expo.reading import Reading

NEGATIVE_TOLERANCE_W = 1.0  # meters read a watt or so either side of zero at no load


@dataclass
class Limits:
    max_future_s: float = 300.0
    max_new_devices_per_minute: int = 1000
    sites: frozenset[str] | None = None  # the sites this process owns; None: all of them


class Checks:
    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] = time.time):
        self.limits = limits or Limits()
        self.clock = clock
        self.known: set[tuple[str, str]] = set()
        self._new_device_times: deque[float] = deque()

    def check(self, reading: Reading, kind: str | None, now_s: float | None = None) -> None:
        now_s = self.clock() if now_s is None else now_s
        sites = self.limits.sites
        if sites is not None and reading.site not in sites:
            raise Refused("other_site", f"site {reading.site!r} is not one of this process's sites "
                                        f"({', '.join(sorted(sites))}); the process that has it stores it")
        if reading.ts_s > now_s + self.limits.max_future_s:
            raise Refused(
                "future_timestamp",
                f"reading is {reading.ts_s - now_s:.0f} s in the future (limit {self.limits.max_future_s:.0f} s): "
                "is the meter's clock or time zone wrong?",
            )
        flow = KINDS[kind].flow if kind in KINDS else None
        power = reading.metrics.get("power_w")
        if flow in (Flow.CONSUMES, Flow.PRODUCES) and power is not None and power < -NEGATIVE_TOLERANCE_W:
            raise Refused(
                "negative_power",
                f"{kind} reports power_w {power:g}; a {flow.value} device cannot be negative "
                "(a bidirectional meter should be kind grid_connection)",
            )
        key = (reading.site, reading.device)
        if key not in self.known:
            self._admit_new_device(key, now_s)

    def _admit_new_device(self, key: tuple[str, str], now_s: float) -> None:
        window = self._new_device_times
        while window and window[0] < now_s - 60.0:
            window.popleft()
        if len(window) >= self.limits.max_new_devices_per_minute:
            raise Refused(
                "new_device_flood",
                f"more than {self.limits.max_new_devices_per_minute} new devices in a minute; "
                f"{key[1]!r} was not admitted (cardinality cap)",
            )
        window.append(now_s)
        self.known.add(key)
