"""Runs a simulation out to the world: as JSON lines as fast as possible, or to a broker on the clock.

Real time: step ``i`` is due at ``wall_start + i * step / speed``, but never
before its simulated instant has happened: readings from the future would be
refused by ingest (and would be lies), so an accelerated run that started in
the past speeds through to the present and then keeps pace with the clock. A
step is never skipped; if the machine falls behind, steps are sent back to back until
it catches up, and the lag is measured and reported, so "never falling
behind" is a number, not a hope.

A city's districts report at their own phase within the step (see
``simulators.city_sim``): phase ``p`` of step ``i`` is due at its own wall
time, ``wall_start + i * step / speed + offset_p / speed``, and the rule
against the future and the lateness accounting apply to each phase. One site
is the same loop with one phase at offset 0.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Callable

from simulators import encode
from simulators.engine import Simulation
from simulators.faults import FaultInjector, FaultRates
from simulators.publish import Publisher
from simulators.whatif_driver import WhatIfDriver

log = logging.getLogger("expo.simulate")

READINGS_PER_CHUNK = 50_000


@dataclass
class RunStats:
    steps: int = 0
    readings: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    max_lag_s: float = 0.0
    max_steady_lag_s: float = 0.0  # after the first step, which also carries the metadata and cold caches
    late_steps: int = 0

    def count_fault(self, name: str | None) -> None:
        if name:
            self.faults[name] = self.faults.get(name, 0) + 1


@dataclass
class Clocks:
    """The runner's time: the real clocks, or a test's, which steps on ``wait`` instead of sleeping."""

    wall: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Wait up to ``seconds``; true when ``stop`` was set."""
        return stop.wait(seconds)


def run_jsonl(sim: Simulation, steps: int, out: IO[str], faults: FaultRates, with_meta: bool = True) -> RunStats:
    """Write ``steps`` steps of every device as JSON lines; site and building descriptions and metadata first.

    ``sim`` is a ``Simulation`` or a ``CitySimulation``: anything with ``metas``, ``count``,
    ``descriptions()``, ``advance()`` and ``summary()``.
    """
    stats = RunStats()
    groups = encode.kind_groups(sim.metas, sim.offsets_s)
    if with_meta:
        out.write("\n".join(encode.retained_lines(sim.descriptions()) + encode.meta_lines(sim.metas)) + "\n")
    injector = FaultInjector(faults, sim.seed) if faults.any else None
    chunk = max(1, READINGS_PER_CHUNK // max(1, sim.count))
    while stats.steps < steps:
        frame = sim.advance(min(chunk, steps - stats.steps))
        if injector is None:
            lines = list(encode.jsonl_lines(frame, groups))
        else:
            lines = list(_faulty_lines(frame, groups, injector, stats))
        out.write("\n".join(lines) + "\n")
        stats.steps += frame.steps
        stats.readings += len(lines)
    out.flush()
    return stats


def _faulty_lines(frame, groups, injector: FaultInjector, stats: RunStats):
    for step in range(frame.steps):
        for offset_s, phase in encode.phases(groups):
            yield from _faulty_phase(frame, phase, step, float(frame.times_s[step]) + offset_s, injector, stats)


def _faulty_phase(frame, groups, step: int, time_s: float, injector: FaultInjector, stats: RunStats):
    for row, topic_name, payload in encode.messages(frame, groups, step):
        for message in injector.apply(row, topic_name, payload, time_s):
            stats.count_fault(message.fault)
            if message.fault == "malformed":
                raw = base64.b64encode(message.payload).decode()
                yield json.dumps({"topic": message.topic, "payload_b64": raw, "fault": "malformed"})
            elif message.fault:
                yield '{"topic":"%s","fault":"%s","payload":%s}' % (message.topic, message.fault, message.payload.decode())
            else:
                yield '{"topic":"%s","payload":%s}' % (message.topic, message.payload.decode())


def run_realtime(
    sim: Simulation,
    publisher: Publisher,
    speed: float,
    steps: int | None,
    faults: FaultRates,
    stop: threading.Event,
    report_every_s: float = 30.0,
    clocks: Clocks | None = None,
    whatifs: WhatIfDriver | None = None,
) -> RunStats:
    """Publish descriptions and metadata (retained), then each step's phases when due, until ``steps`` or ``stop``.

    ``whatifs``: visitors' what-ifs are put in force before a step and their spans published (retained)."""
    clocks = clocks or Clocks()
    try:
        return _run_realtime(sim, publisher, speed, steps, faults, stop, report_every_s, clocks, whatifs)
    finally:
        for topic_name, payload in whatifs.finish() if whatifs else ():
            publisher.publish(topic_name, payload, retain=True)


def _run_realtime(sim, publisher: Publisher, speed: float, steps: int | None, faults: FaultRates,
                  stop: threading.Event, report_every_s: float, clocks: Clocks,
                  whatifs: WhatIfDriver | None) -> RunStats:
    stats = RunStats()
    phases = encode.phases(encode.kind_groups(sim.metas, sim.offsets_s))
    for topic_name, payload in sim.descriptions() + encode.meta_messages(sim.metas):
        publisher.publish(topic_name, payload, retain=True)
    injector = FaultInjector(faults, sim.seed) if faults.any else None
    interval_s = sim.step_s / speed
    wall_start = clocks.monotonic()
    next_report = wall_start + report_every_s
    caught_up = False
    frame = None
    while not stop.is_set() and (steps is None or stats.steps < steps):
        late = False
        step_time_s = sim.next_time_s  # before the step is advanced, at its first phase
        for p, (offset_s, groups) in enumerate(phases):
            due = wall_start + (stats.steps + 1) * interval_s + offset_s / speed
            wait = due - clocks.monotonic()
            ahead = step_time_s + offset_s - clocks.wall()
            if ahead > 0 and wait < ahead:  # never publish the future: from here on, the real clock sets the pace
                if not caught_up:
                    log.info("the simulated clock has caught up with the present; continuing in real time")
                    caught_up = True
                if clocks.wait(stop, ahead):
                    return stats
                due = clocks.monotonic()  # lateness is measured against the new pace, anchored at this phase
                wall_start = due - (stats.steps + 1) * interval_s - offset_s / speed
            elif wait > 0 and clocks.wait(stop, wait):
                return stats
            if p == 0:
                for topic_name, payload in whatifs.step(step_time_s) if whatifs else ():
                    publisher.publish(topic_name, payload, retain=True)
                frame = sim.advance(1)  # every phase of the step at once; each is sent when it is due
            time_s = float(frame.times_s[0]) + offset_s
            for row, topic_name, payload in encode.messages(frame, groups, 0):
                if injector is None:
                    publisher.publish(topic_name, payload)
                    stats.readings += 1
                    continue
                for message in injector.apply(row, topic_name, payload, time_s):
                    stats.count_fault(message.fault)
                    publisher.publish(message.topic, message.payload)
                    stats.readings += 1
            lag = clocks.monotonic() - due
            late = late or lag > interval_s
            stats.max_lag_s = max(stats.max_lag_s, lag)
            if stats.steps > 0:
                stats.max_steady_lag_s = max(stats.max_steady_lag_s, lag)
        stats.steps += 1
        stats.late_steps += late  # a step is late when any of its phases is
        if clocks.monotonic() >= next_report:
            next_report += report_every_s
            pub = publisher.stats
            log.info("%s", sim.summary(frame))
            log.info(
                "steps=%d readings=%d acknowledged=%d pending=%d dropped=%d max_lag_s=%.3f connected=%s",
                stats.steps, stats.readings, pub.acknowledged, publisher.pending, pub.dropped, stats.max_lag_s,
                publisher.connected,
            )
    return stats
