"""The burst: what the simulator publishes for the bundled `large` scenario, first its retained metadata, then readings.

Built with the simulator's own engine and encoder (the payloads ``energy-expo simulate`` publishes, byte for
byte), not with a hand-made imitation: ingest's per-kind checks, counters and rollups see the real mix of
10,197 meters of 13 kinds. The readings start a few minutes before now, so none is in the future for ingest's
check and all of them lie inside any retention policy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from simulators import encode
from simulators.engine import Simulation
from simulators.scenario import load

STEP_S = 10
# Every kind but the weather station reports power_w, and only the weather station reports temperature_c:
# count(power_w) + count(temperature_c) over measurement "reading" is the number of readings stored.
COUNT_FIELDS = ("power_w", "temperature_c")


@dataclass
class Burst:
    scenario: str
    meters: int
    site: str
    meta: list[tuple[str, bytes, bool]]  # retained
    readings: list[tuple[str, bytes]]
    first_ts_s: float

    @property
    def messages(self) -> list:
        return self.meta + self.readings

    def subset(self, count: int) -> "Burst":
        return Burst(self.scenario, self.meters, self.site, self.meta, self.readings[:count], self.first_ts_s)


def build(readings: int, scenario: str = "large", seed: int = 1, now_s: float | None = None) -> Burst:
    """``readings`` readings in the simulator's order (time, then kind, then device), after every meter's metadata."""
    loaded = load(scenario)
    now_s = time.time() if now_s is None else now_s
    sim = Simulation(loaded, seed, 0.0, STEP_S)  # only for the meter count; the real start follows
    steps = -(-readings // sim.site.count)
    start_s = (int(now_s) // STEP_S) * STEP_S - (steps + 30) * STEP_S
    sim = Simulation(loaded, seed, start_s, STEP_S)
    groups = encode.kind_groups(sim.site.metas)
    frame = sim.advance(steps)
    out: list[tuple[str, bytes]] = []
    for step in range(frame.steps):
        for _row, topic, payload in encode.messages(frame, groups, step):
            out.append((topic, payload.encode()))
            if len(out) == readings:
                break
        if len(out) == readings:
            break
    meta = [(t, p.encode(), True) for t, p in encode.meta_messages(sim.site.metas)]
    return Burst(scenario, sim.site.count, sim.site.site_id, meta, out, float(frame.times_s[0]))
