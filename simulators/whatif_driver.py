"""Puts checked what-if commands into the running simulation, at step boundaries, and says what it did.

Commands arrive on the MQTT client's thread (``command``); the run loop calls
``step`` before each step and publishes what it returns: the retained span
of each what-if that started or ended (``expo.whatif``). A what-if ends by
itself when its wall-clock minute is over, on ``stop``, when another replaces
it, or when the simulator stops (``finish``): a span is never left "in force"
by a process that is gone, except by a crash, which the next start corrects.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from expo import topics
from expo.topics import MessageType
from expo.whatif import WhatIfSpan
from simulators.control import Control, Decision
from simulators.whatif import WhatIf


def sims_by_site(sim) -> dict:
    """The simulation that makes each site: a city's districts, or the one town."""
    districts = getattr(sim, "districts", None)
    return {d.site.site_id: d for d in districts} if districts is not None else {sim.site.site_id: sim}


class WhatIfDriver:
    """``sims``: the simulation running each site (a city's district, or the one town); ``speed``: simulated
    seconds per wall second, to say when a what-if is due to end on the readings' clock."""

    def __init__(self, sims: dict, speed: float, monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time):
        self.sims = sims
        self.speed = speed
        self.control = Control(list(sims), monotonic)
        self._monotonic, self._wall = monotonic, wall
        self._pending: dict[str, Decision] = {}
        self._lock = threading.Lock()
        self._spans: dict[str, WhatIfSpan] = {}  # site -> the span in force
        self._last_step_s: dict[str, float] = {}

    @property
    def filters(self) -> list[str]:
        return [topics.site_topic(site, MessageType.CONTROL) for site in self.sims]

    def command(self, topic: str, payload: bytes) -> Decision:
        """A command from the broker: checked now (refusals counted and logged), applied at the next step."""
        site, decision = self.control.decide(topic, payload)
        if decision.accepted:
            with self._lock:
                self._pending[site] = decision
        return decision

    def step(self, step_time_s: float) -> list[tuple[str, str]]:
        """Before the step whose readings are stamped ``step_time_s``: apply what was asked, end what is over.
        Returns (topic, payload) of the spans that started or ended, to publish retained."""
        with self._lock:
            pending, self._pending = self._pending, {}
        said = []
        now = self._monotonic()
        for site, sim in self.sims.items():
            current = sim.whatif
            if site in pending:
                said += self._end(site)
                sim.whatif = pending[site].whatif  # None for stop
                if sim.whatif is not None:
                    said += self._start(site, sim.whatif, step_time_s, now)
            elif current is not None and now >= current.until_monotonic_s:
                sim.whatif = None
                said += self._end(site)
            if sim.whatif is not None:
                self._last_step_s[site] = step_time_s
        return said

    def finish(self) -> list[tuple[str, str]]:
        """The simulator stops: every what-if in force ends with its last step."""
        said = []
        for site, sim in self.sims.items():
            sim.whatif = None
            said += self._end(site)
        return said

    def _start(self, site: str, what: WhatIf, step_time_s: float, now: float) -> list[tuple[str, str]]:
        left_s = max(what.until_monotonic_s - now, 0.0)
        spec = what.spec
        span = WhatIfSpan(site, what.action, spec.label_en, spec.label_zh, step_time_s, None,
                          step_time_s + left_s * self.speed, self._wall() + left_s)
        self._spans[site] = span
        self._last_step_s[site] = step_time_s
        return [(topics.site_topic(site, MessageType.WHATIF), span.to_json())]

    def _end(self, site: str) -> list[tuple[str, str]]:
        span = self._spans.pop(site, None)
        if span is None:
            return []
        last = self._last_step_s.pop(site, span.start_s)
        ended = WhatIfSpan(span.site, span.action, span.name_en, span.name_zh, span.start_s, last, span.until_s,
                           min(span.ends_at_s, self._wall()))
        return [(topics.site_topic(site, MessageType.WHATIF), ended.to_json())]
