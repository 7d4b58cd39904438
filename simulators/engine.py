"""The simulation engine: advances the site step by step and returns every meter's readings as arrays.

A reading at time ``t`` reports the mean power over the step that ends at
``t``, and the energy counters advance by exactly that power times the step,
so energy is the integral of power by construction, as on a real meter. Steps
longer than a minute are averaged over minute sub-samples, so a coarse step
gives the same energy as a fine one.

Order within a step: every registered model, then the building's battery
controller (it needs the building's surplus), then the meters that sum their
children, deepest first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from expo.kinds import KINDS, Flow
from simulators.context import Context, DayCache
from simulators.models import MODELS
from physics import battery
from simulators.scenario import Scenario
from simulators.site import Site, build_site
from simulators import whatif

SUBSAMPLE_S = 60.0
NOMINAL_PHASE_V = 220.0
POWER_FACTOR = 0.95
_COUNTER_STREAM = 61


@dataclass
class Frame:
    """Readings of all devices for a run of consecutive steps; arrays are (devices, steps).

    Row ``r``'s reading of step ``i`` is stamped ``times_s[i] + offsets_s[r]``: a city's districts report
    at their own phase within the step (``simulators.city_sim``); one site has no offsets (all 0).
    """

    times_s: np.ndarray
    first_seq: int
    metrics: dict[str, np.ndarray]
    offsets_s: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return len(self.times_s)

    def row_times_s(self, step: int) -> np.ndarray | float:
        """Every row's instant at ``step`` (one number when all rows share it)."""
        base = float(self.times_s[step])
        return base if self.offsets_s is None else base + self.offsets_s


class Simulation:
    """Construct with a scenario and seed, then call ``advance(n)`` repeatedly; state carries between calls."""

    def __init__(self, scenario: Scenario, seed: int, start_s: float, step_s: float, weather_seed: int | None = None):
        if step_s <= 0:
            raise ValueError("step must be positive")
        self.scenario = scenario
        self.seed = seed
        self.weather_seed = seed if weather_seed is None else weather_seed  # a city's districts share one sky
        place = scenario.district
        self._cloud_delay_s, self._wind_factor = (place.cloud_delay_s, place.wind_factor) if place else (0.0, 1.0)
        self.step_s = float(step_s)
        self.start_s = float(start_s)
        self.site: Site = build_site(scenario, seed)
        self.whatif: whatif.WhatIf | None = None  # a visitor's what-if in force (simulators.whatif), set by control
        self.steps_done = 0
        self._cache = DayCache()
        self._parents = self.site.parent_rows()
        self._signs = self.site.load_signs()
        self._flows = [KINDS[m.kind].flow for m in self.site.metas]
        self._bidirectional = np.array([f is Flow.BIDIRECTIONAL for f in self._flows])
        self._has_power = np.array([f is not Flow.NONE for f in self._flows])
        self._levels = _parent_levels(self._parents)
        b = scenario.building
        self._soc_wh = np.array([b.battery_kwh * 1000 * b.battery_initial_soc_pct / 100.0]) if b else np.zeros(0)
        rng = np.random.default_rng([seed & 0xFFFFFFFF, _COUNTER_STREAM])
        # Real meters are not new: counters start from a plausible reading, not zero.
        start_kwh = np.where(self._has_power, rng.uniform(100, 20_000, self.site.count), 0.0)
        self._energy_wh = start_kwh * 1000.0
        self._import_wh = start_kwh * 1000.0
        self._export_wh = np.where(self._bidirectional, rng.uniform(0, 5_000, self.site.count) * 1000.0, 0.0)

    def resume(self, latest: dict[str, dict[str, float]]) -> int:
        """Carry on from a previous run: meters' counters and the battery's charge from their last readings.

        ``latest`` maps device id to its newest metrics (as a store's ``latest()``
        gives them). Without this, a run started later begins its counters from
        the same seeded values as before, so they would step backwards, which
        real meters never do (ingest quarantines it). Returns how many devices
        were carried over.
        """
        carried = 0
        for row, meta in enumerate(self.site.metas):
            metrics = latest.get(meta.device)
            if not metrics:
                continue
            carried += 1
            if "energy_wh" in metrics:
                self._energy_wh[row] = metrics["energy_wh"]
            if "energy_import_wh" in metrics:
                self._import_wh[row] = metrics["energy_import_wh"]
            if "energy_export_wh" in metrics:
                self._export_wh[row] = metrics["energy_export_wh"]
            if meta.kind == "battery" and "soc_pct" in metrics and len(self._soc_wh):
                capacity_wh = self.scenario.building.battery_kwh * 1000.0
                self._soc_wh = np.array([min(max(metrics["soc_pct"], 0.0), 100.0) / 100.0 * capacity_wh])
        return carried

    @property
    def metas(self):
        return self.site.metas

    @property
    def count(self) -> int:
        return self.site.count

    @property
    def name(self) -> str:
        return self.scenario.site.name

    @property
    def site_ids(self) -> list[str]:
        return [self.site.site_id]

    @property
    def offsets_s(self) -> np.ndarray:
        """Each row's phase within the step: one site reports at one instant, so all 0 (see ``Frame``)."""
        return np.zeros(self.site.count)

    def resume_sites(self, latest_by_site: dict[str, dict[str, dict[str, float]]]) -> int:
        """``resume`` with the latest metrics keyed by site, then device (the shape a city needs too)."""
        return self.resume(latest_by_site.get(self.site.site_id, {}))

    def descriptions(self) -> list[tuple[str, str]]:
        """(topic, payload) of the site's and its buildings' retained descriptions."""
        from simulators.describe import description_messages

        return description_messages(self.site)

    def places(self) -> tuple[list, list]:
        """The site's description and its buildings' (``expo.places``), for a store."""
        from simulators.describe import building_metas, site_meta

        return [site_meta(self.site)], building_metas(self.site)

    def summary(self, frame: Frame) -> str:
        from simulators.summary import site_summary

        return site_summary(self.site, frame)

    @property
    def next_time_s(self) -> float:
        return self.start_s + (self.steps_done + 1) * self.step_s

    def advance(self, steps: int) -> Frame:
        n, k = self.site.count, steps
        times = self.start_s + (self.steps_done + 1 + np.arange(k)) * self.step_s
        subs = max(1, math.ceil(self.step_s / SUBSAMPLE_S))
        offsets = -self.step_s + (np.arange(subs) + 0.5) * self.step_s / subs
        instants = (times[:, None] + offsets[None, :]).ravel()
        what = self.whatif  # read once: the control thread may change it between two steps, never within one
        ctx = whatif.weather(Context.at(instants, self.scenario.climate, self.seed, self._cache, self.weather_seed,
                                        self._cloud_delay_s, self._wind_factor), what, self.scenario.climate)

        metrics: dict[str, np.ndarray] = {"power_w": np.zeros((n, k))}
        for group, rows in self.site.rows.items():
            fn = MODELS.get(group)
            if fn is None:
                continue
            for name, values in whatif.outputs(group, fn(ctx, self.site), self.site, what).items():
                mean = np.asarray(values, dtype=np.float64).reshape(len(rows), k, subs).mean(axis=2)
                if name not in metrics:
                    metrics[name] = np.full((n, k), np.nan)
                metrics[name][rows] = mean

        power = metrics["power_w"]
        self._run_battery(power, metrics, whatif.battery_on(what))
        self._sum_children(power)
        self._electrical(power, metrics)
        self._count_energy(power, metrics)
        frame = Frame(times, self.steps_done + 1, metrics)
        self.steps_done += k
        return frame

    def _run_battery(self, power: np.ndarray, metrics: dict[str, np.ndarray], on: bool = True) -> None:
        rows = self.site.group("building_battery")
        if len(rows) == 0:
            return
        if not on:  # switched off: no power either way, its charge as it was
            power[rows] = 0.0
            capacity_wh = self.scenario.building.battery_kwh * 1000.0
            metrics.setdefault("soc_pct", np.full(power.shape, np.nan))
            metrics["soc_pct"][rows] = 100.0 * self._soc_wh[0] / capacity_wh if capacity_wh > 0 else 0.0
            return
        b = self.scenario.building
        capacity_wh = b.battery_kwh * 1000.0
        generation = power[self.site.group("building_pv")].sum(axis=0)
        loads = np.concatenate(
            [self.site.group(g) for g in ("building_heat_pump", "building_lighting", "building_plugs", "building_ev")]
        )
        surplus = generation - power[loads].sum(axis=0)
        soc = np.empty(power.shape[1])
        for i, value in enumerate(surplus):
            p, self._soc_wh = battery.dispatch_step(self._soc_wh, value, self.step_s, capacity_wh, b.battery_kw * 1000)
            power[rows, i] = p
            soc[i] = self._soc_wh[0]
        metrics.setdefault("soc_pct", np.full(power.shape, np.nan))
        metrics["soc_pct"][rows] = 100.0 * soc / capacity_wh if capacity_wh > 0 else 0.0

    def _sum_children(self, power: np.ndarray) -> None:
        """Parents' power = load-convention sum of their children, from the deepest parents up."""
        for children in self._levels:
            parents = self._parents[children]
            power[np.unique(parents)] = 0.0
            np.add.at(power, parents, power[children] * self._signs[children, None])

    def _electrical(self, power: np.ndarray, metrics: dict[str, np.ndarray]) -> None:
        """Voltage falls with a feeder's load (rises with reverse flow) and along each home's service cable."""
        feeders = self.site.group("feeders")
        homes = self.site.group("households")
        if len(feeders) == 0:
            return
        n = power.shape
        rating = self.site.param("feeders", "rating_w")[:, None]
        phase_v = NOMINAL_PHASE_V * (1.03 - 0.06 * power[feeders] / rating)
        for name in ("voltage_v", "current_a"):
            metrics.setdefault(name, np.full(n, np.nan))
        line_v = phase_v * math.sqrt(3.0)
        metrics["voltage_v"][feeders] = line_v
        metrics["current_a"][feeders] = np.abs(power[feeders]) / (math.sqrt(3.0) * line_v * POWER_FACTOR)
        if len(homes):
            feeder_of = np.searchsorted(feeders, self._parents[homes])
            supply_v = phase_v[feeder_of]
            current = power[homes] / (supply_v * POWER_FACTOR)
            metrics["current_a"][homes] = current
            metrics["voltage_v"][homes] = supply_v - 0.12 * current

    def _count_energy(self, power: np.ndarray, metrics: dict[str, np.ndarray]) -> None:
        step_h = self.step_s / 3600.0
        n, k = power.shape
        uni = self._has_power & ~self._bidirectional
        energy = self._energy_wh[:, None] + np.cumsum(power * step_h, axis=1)
        imported = self._import_wh[:, None] + np.cumsum(np.maximum(power, 0.0) * step_h, axis=1)
        exported = self._export_wh[:, None] + np.cumsum(np.maximum(-power, 0.0) * step_h, axis=1)
        self._energy_wh, self._import_wh, self._export_wh = energy[:, -1], imported[:, -1], exported[:, -1]
        metrics["energy_wh"] = np.where(uni[:, None], energy, np.nan)
        metrics["energy_import_wh"] = np.where(self._bidirectional[:, None], imported, np.nan)
        metrics["energy_export_wh"] = np.where(self._bidirectional[:, None], exported, np.nan)


def _parent_levels(parents: np.ndarray) -> list[np.ndarray]:
    """Children grouped by the depth of their parent, deepest parents first."""
    depth = np.zeros(len(parents), dtype=np.int64)
    for row in range(len(parents)):
        d, p = 0, parents[row]
        while p >= 0:
            d, p = d + 1, parents[p]
            if d > len(parents):
                raise ValueError("the meter tree has a cycle")
        depth[row] = d
    levels = []
    for d in sorted(set(depth[parents >= 0].tolist()), reverse=True):
        levels.append(np.flatnonzero((depth == d) & (parents >= 0)))
    return levels
