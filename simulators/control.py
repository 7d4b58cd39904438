"""The control path: what-if commands on ``expo/<site>/control``, checked before they touch the simulation.

A command (JSON, QoS 1, not retained)::

    {"v": 1, "action": "cloud", "value": 0.9, "duration_s": 60}
    {"v": 1, "action": "stop"}

is taken only if every part of it is known and within bounds: the action
(``expo.whatif.ACTIONS`` or ``stop``), its one parameter, a duration of
10-600 s, and the site's rate (``MIN_INTERVAL_S`` between commands, at most
``MAX_PER_WINDOW`` in ``WINDOW_S``: a child pressing a button ten times a
second changes the town once). Anything else is refused with a reason, logged
(throttled) and counted; it never raises. Only a site this simulator makes has
a control topic: a real meter's site is not ours to change. The broker's ACL
(deploy/mosquitto/acl) lets only the dashboard's user publish here.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Callable

from expo.logthrottle import LogThrottle
from expo.whatif import ACTIONS, DEFAULT_DURATION_S, MAX_DURATION_S, MIN_DURATION_S, STOP
from simulators.whatif import WhatIf

log = logging.getLogger("expo.simulate")

VERSION = 1
MAX_COMMAND_BYTES = 1024
MIN_INTERVAL_S = 3.0
WINDOW_S, MAX_PER_WINDOW = 600.0, 30


def control_topic(site: str) -> str:
    return f"expo/{site}/control"


@dataclass(frozen=True)
class Decision:
    """What a command came to: the what-if to put in force (or None to end the one in force, with ``stop``),
    or a refusal's reason and words."""

    accepted: bool
    whatif: WhatIf | None = None
    reason: str = ""
    detail: str = ""


class Control:
    """Per site: the rate of accepted commands, and the refusals by reason. ``monotonic`` is injected."""

    def __init__(self, sites: list[str], monotonic: Callable[[], float] = time.monotonic):
        self.sites = set(sites)
        self.refused: Counter[str] = Counter()
        self.accepted = 0
        self._monotonic = monotonic
        self._recent: dict[str, deque[float]] = {site: deque() for site in sites}
        self._throttle = LogThrottle()

    def decide(self, topic: str, payload: bytes) -> tuple[str | None, Decision]:
        """(site, decision) for one message; the site is None when the topic is no site of ours."""
        site = _site_of(topic)
        if site not in self.sites:
            return None, self._refuse("unknown_site", f"{topic!r} is not the control topic of a site simulated here")
        decision = self._check(site, payload)
        if decision.accepted:
            self.accepted += 1
            self._recent[site].append(self._monotonic())
            log.info("what-if on %s: %s", site, decision.whatif.action if decision.whatif else "stopped")
        return site, decision

    def _check(self, site: str, payload: bytes) -> Decision:
        if len(payload) > MAX_COMMAND_BYTES:
            return self._refuse("too_large", f"{len(payload)} bytes; a command is at most {MAX_COMMAND_BYTES}")
        try:
            body = json.loads(bytes(payload).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return self._refuse("malformed", "a command is a JSON object")
        if not isinstance(body, dict):
            return self._refuse("malformed", "a command is a JSON object")
        unknown = sorted(set(body) - {"v", "action", "value", "duration_s"})
        if unknown:
            return self._refuse("unknown_field", f"unknown field {unknown[0]!r}")
        if body.get("v") != VERSION:
            return self._refuse("unsupported_version", f"v must be {VERSION}")
        action = body.get("action")
        if action != STOP and action not in ACTIONS:
            return self._refuse("unknown_action", f"action {str(action)[:40]!r} is not one of "
                                                  f"{', '.join([*ACTIONS, STOP])}")
        if action == STOP:
            if "value" in body or "duration_s" in body:
                return self._refuse("out_of_bounds", "stop takes no value or duration")
            return self._rated(site) or Decision(True, None)
        spec = ACTIONS[action]
        value = body.get("value", spec.default if spec.param else None)
        if spec.param is None and value is not None:
            return self._refuse("out_of_bounds", f"{action} takes no value")
        if spec.param is not None and not _within(value, spec.low, spec.high):
            return self._refuse("out_of_bounds", f"{action}'s {spec.param} must be a number from {spec.low:g} to "
                                                 f"{spec.high:g}")
        duration_s = body.get("duration_s", DEFAULT_DURATION_S)
        if not _within(duration_s, MIN_DURATION_S, MAX_DURATION_S):
            return self._refuse("out_of_bounds", f"duration_s must be a number from {MIN_DURATION_S:g} to "
                                                 f"{MAX_DURATION_S:g}")
        return self._rated(site) or Decision(True, WhatIf(action, None if value is None else float(value),
                                                          self._monotonic() + float(duration_s)))

    def _rated(self, site: str) -> Decision | None:
        """A refusal when the site had a command accepted too recently or too often; None when it may have one."""
        now, recent = self._monotonic(), self._recent[site]
        while recent and now - recent[0] >= WINDOW_S:
            recent.popleft()
        if recent and now - recent[-1] < MIN_INTERVAL_S:
            return self._refuse("rate_limited", f"one command every {MIN_INTERVAL_S:g} s per site")
        if len(recent) >= MAX_PER_WINDOW:
            return self._refuse("rate_limited", f"at most {MAX_PER_WINDOW} commands in {WINDOW_S:g} s per site")
        return None

    def _refuse(self, reason: str, detail: str) -> Decision:
        self.refused[reason] += 1
        if n := self._throttle.count(reason):
            log.warning("[%s x%d] control command refused: %s", reason, n, detail)
        return Decision(False, reason=reason, detail=detail)


def _site_of(topic: str) -> str | None:
    levels = topic.split("/")
    return levels[1] if len(levels) == 3 and levels[0] == "expo" and levels[2] == "control" else None


def _within(value, low: float, high: float) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and low <= value <= high)
