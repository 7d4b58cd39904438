"""The meters a run watches: a fixed random sample of (site, device) pairs of any scenario, one site or a city.

Why pairs: a city's districts are sites of their own and reuse device ids (the
city's 19,879 meters have 10,711 distinct ids; every district has a ``weather``),
so a device id alone names several meters. The scenario is loaded the way
``up`` loads it (``simulators.load``) and its meters are the simulation's own
``metas`` at up's seed, so the sample is exactly what ``up`` publishes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

Meter = tuple[str, str]  # (site, device)


@dataclass(frozen=True)
class Sample:
    scenario: str
    sites: tuple[str, ...]  # every site of the scenario, in the simulator's order
    meters: tuple[Meter, ...]  # the sample, sorted
    meter_count: int  # every meter of the scenario
    retained_count: int  # retained messages the simulator publishes first: site and building descriptions, metadata

    def describe(self) -> str:
        kind = f"a city of {len(self.sites)} districts" if len(self.sites) > 1 else f"site {self.sites[0]}"
        sites = len({site for site, _ in self.meters})
        return (f"{self.scenario}: {kind}, {len(self.meters)} of {self.meter_count:,} meters sampled "
                f"(from {sites} site{'s' * (sites != 1)})")


def sample_meters(scenario: str, count: int, seed: int = 1, sample_seed: int = 1) -> Sample:
    """``count`` meters drawn at random (``sample_seed``) from every site of ``scenario`` at simulator seed ``seed``."""
    from simulators import load

    loaded = load.load(scenario)
    sim = load.simulation(loaded, seed, 0.0, 60.0)  # builds the sites only: nothing is stepped
    meters = [(m.site, m.device) for m in sim.metas]
    if not sim.count == load.meter_count(loaded, seed) == len(set(meters)):
        raise RuntimeError(f"{scenario}: {sim.count:,} meters simulated, {load.meter_count(loaded, seed):,} counted, "
                           f"{len(set(meters)):,} distinct (site, device) pairs")
    chosen = sorted(random.Random(sample_seed).sample(meters, min(count, len(meters))))
    return Sample(scenario, tuple(load.site_ids(loaded)), tuple(chosen), sim.count,
                  len(sim.descriptions()) + sim.count)
