"""A city's districts simulated together in one process: one ``Simulation`` per district, one sky.

Why this shape: the engine is vectorised over one site's meters, and a
district is a site with its own meter tree, counters and battery, so the
simplest city is a list of them stepped in lockstep, their frames stacked
into one. The districts share the weather seed (one weather field, each
district at its own place in it) but each draws its households, shops and
plants from its own device seed, so two residential districts of the same
type are not copies of each other.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta, timezone

import numpy as np

from expo.kinds import KINDS, Flow
from simulators.city import City
from simulators.engine import Frame, Simulation


def district_seed(seed: int, site: str) -> int:
    """The device seed of a district: fixed by the city's seed and the district's site id, not its order."""
    return (seed ^ zlib.crc32(site.encode())) & 0xFFFFFFFF


class CitySimulation:
    """Construct with a city and seed, then ``advance(n)``; rows are the districts' meters, district by district."""

    def __init__(self, city: City, seed: int, start_s: float, step_s: float):
        self.city = city
        self.seed = seed
        self.step_s = float(step_s)
        self.start_s = float(start_s)
        self.districts = [Simulation(d, district_seed(seed, d.site.site), start_s, step_s, weather_seed=seed)
                          for d in city.districts]
        self.metas = [m for d in self.districts for m in d.metas]
        self.count = len(self.metas)
        bounds = np.cumsum([0] + [d.count for d in self.districts])
        self.rows = {d.site.site_id: slice(int(a), int(b)) for d, a, b in zip(self.districts, bounds, bounds[1:])}
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
        return self.districts[0].next_time_s

    def advance(self, steps: int) -> Frame:
        frames = [d.advance(steps) for d in self.districts]
        names = list(dict.fromkeys(name for f in frames for name in f.metrics))
        metrics = {}
        for name in names:
            metrics[name] = np.concatenate([
                f.metrics[name] if name in f.metrics else np.full((d.count, steps), np.nan)
                for d, f in zip(self.districts, frames)])
        return Frame(frames[0].times_s, frames[0].first_seq, metrics)

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
