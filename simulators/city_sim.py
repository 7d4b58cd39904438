"""A city's districts simulated together in one process: one ``Simulation`` per district, one sky.

Why this shape: the engine is vectorised over one site's meters, and a
district is a site with its own meter tree, counters and battery, so the
simplest city is a list of them stepped in lockstep, their frames stacked
into one. The districts share the weather seed (one weather field, each
district at its own place in it) but each draws its households, shops and
plants from its own device seed, so two residential districts of the same
type are not copies of each other.

Each district reports at its own phase within the step, as a real city's
head-ends and data concentrators do (none reads a whole city at one
instant): district k is stamped, and published, at the step's time plus its
phase. The phases split the step in proportion to the districts' meters
(``district_phases_s``), so the gap after each district's burst is as long as
that burst is big and ingest and the store get an even rate over the step
instead of one 20,000-reading burst at its start; equal phases (k * step / N)
would give the 93 meters of the wind farm as long as the 5,500 of Tanggu.
Phases are whole seconds (meters stamp on the second), distinct, the first
0, the last before the next step. Within a district every meter shares the
step's instant, so its own tree still sums and its counters integrate its
power exactly; the weather is a pure function of (time, place), so a district
computed at its own instants is simply the district at those instants.
"""

from __future__ import annotations

import math
import zlib
from datetime import datetime, timedelta, timezone

import numpy as np

from expo.kinds import KINDS, Flow
from simulators.city import City
from simulators.engine import Frame, Simulation


def district_seed(seed: int, site: str) -> int:
    """The device seed of a district: fixed by the city's seed and the district's site id, not its order."""
    return (seed ^ zlib.crc32(site.encode())) & 0xFFFFFFFF


def district_phases_s(counts: list[int], step_s: float) -> list[float]:
    """Each district's offset within the step: the step split in proportion to the meters before it.

    Whole seconds, strictly increasing from 0 and all before ``step_s`` when the step has room for
    that (at least a second per district); a shorter step is split evenly, to the millisecond.
    """
    n = len(counts)
    if n <= 1:
        return [0.0] * n
    if step_s < n:
        return [round(k * step_s / n, 3) for k in range(n)]
    total = max(1, sum(counts))
    before = np.cumsum([0] + list(counts[:-1]))
    last = math.ceil(step_s) - 1  # the latest whole second before the next step
    phases: list[float] = []
    for k, meters in enumerate(before):
        ideal = round(float(meters) * step_s / total)
        low = phases[-1] + 1 if phases else 0
        high = last - (n - 1 - k)  # room for the districts after this one
        phases.append(float(min(max(ideal, low), high)))
    return phases


class CitySimulation:
    """Construct with a city and seed, then ``advance(n)``; rows are the districts' meters, district by district.

    ``advance`` gives the step times (``times_s``) and each row's phase (``offsets_s``): a row's reading is
    stamped ``times_s[step] + offsets_s[row]``, exactly its district's own time.
    """

    def __init__(self, city: City, seed: int, start_s: float, step_s: float):
        self.city = city
        self.seed = seed
        self.step_s = float(step_s)
        self.start_s = float(start_s)
        self.districts = [Simulation(d, district_seed(seed, d.site.site), start_s, step_s, weather_seed=seed)
                          for d in city.districts]
        self.phases_s = district_phases_s([d.count for d in self.districts], self.step_s)
        for d, phase_s in zip(self.districts, self.phases_s):
            d.start_s = self.start_s + phase_s  # nothing is computed yet: the district's clock runs at its phase
        self.metas = [m for d in self.districts for m in d.metas]
        self.count = len(self.metas)
        bounds = np.cumsum([0] + [d.count for d in self.districts])
        self.rows = {d.site.site_id: slice(int(a), int(b)) for d, a, b in zip(self.districts, bounds, bounds[1:])}
        self.offsets_s = np.repeat(np.array(self.phases_s), [d.count for d in self.districts])
        kinds = np.array([m.kind for m in self.metas])
        self._consumes = np.array([KINDS[k].flow is Flow.CONSUMES for k in kinds], dtype=bool)
        self._pv, self._wind = kinds == "pv", kinds == "wind"

    @property
    def name(self) -> str:
        return self.city.name

    @property
    def site_ids(self) -> list[str]:
        return list(self.rows)

    @property
    def steps_done(self) -> int:
        return self.districts[0].steps_done

    @property
    def next_time_s(self) -> float:
        return self.start_s + (self.steps_done + 1) * self.step_s

    def advance(self, steps: int) -> Frame:
        frames = [d.advance(steps) for d in self.districts]
        names = list(dict.fromkeys(name for f in frames for name in f.metrics))
        metrics = {}
        for name in names:
            metrics[name] = np.concatenate([
                f.metrics[name] if name in f.metrics else np.full((d.count, steps), np.nan)
                for d, f in zip(self.districts, frames)])
        times_s = self.start_s + (self.steps_done - steps + 1 + np.arange(steps)) * self.step_s
        return Frame(times_s, frames[0].first_seq, metrics, self.offsets_s)

    def resume_sites(self, latest_by_site: dict[str, dict[str, dict[str, float]]]) -> int:
        return sum(d.resume_sites(latest_by_site) for d in self.districts)

    def descriptions(self) -> list[tuple[str, str]]:
        return [message for d in self.districts for message in d.descriptions()]

    def places(self) -> tuple[list, list]:
        sites, buildings = [], []
        for d in self.districts:
            s, b = d.places()
            sites += s
            buildings += b
        return sites, buildings

    def summary(self, frame: Frame, step: int = -1) -> str:
        power = frame.metrics["power_w"][:, step]
        local = datetime.fromtimestamp(float(frame.times_s[step]), timezone.utc) + timedelta(
            hours=self.city.climate.utc_offset_h)
        return " | ".join([
            f"{local:%Y-%m-%d %H:%M} local",
            f"{len(self.districts)} districts, {self.count:,} meters",
            f"load {power[self._consumes].sum() / 1000:,.1f} kW",
            f"solar {power[self._pv].sum() / 1000:,.1f} kW",
            f"wind {power[self._wind].sum() / 1000:,.1f} kW",
        ])
