"""A scenario by name or path, whichever it is — one site or a city of districts — and its simulation.

Why one entry: ``simulate``, ``up`` and ``backfill`` take ``--scenario`` and
should not need to know which of the two a file holds; the file says it (a
city has ``[city]`` and ``[[districts]]``).
"""

from __future__ import annotations

from simulators import city as cities
from simulators import scenario as scenarios
from simulators.city import City
from simulators.city_sim import CitySimulation
from simulators.engine import Simulation
from simulators.scenario import Scenario


def load(name_or_path: str) -> Scenario | City:
    data, path = scenarios.read_toml(name_or_path)
    if cities.is_city(data):
        return cities.from_dict(data, str(path), path.parent / "districts")
    return scenarios.from_dict(data, str(path))


def simulation(loaded: Scenario | City, seed: int, start_s: float, step_s: float) -> Simulation | CitySimulation:
    if isinstance(loaded, City):
        return CitySimulation(loaded, seed, start_s, step_s)
    return Simulation(loaded, seed, start_s, step_s)


def site_ids(loaded: Scenario | City) -> list[str]:
    if isinstance(loaded, City):
        return [d.site.site for d in loaded.districts]
    return [loaded.site.site]


def meter_count(loaded: Scenario | City, seed: int) -> int:
    """How many meters the scenario has, without simulating a step (sites are built, nothing is computed)."""
    from simulators.site import build_site

    if isinstance(loaded, City):
        from simulators.city_sim import district_seed

        return sum(build_site(d, district_seed(seed, d.site.site)).count for d in loaded.districts)
    return build_site(loaded, seed).count
