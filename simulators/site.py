"""The simulated site as a list of meters: ids, names, kinds, places on the town plan and the meter tree.

This is where a scenario's counts become devices. Their order is fixed (it is
the row order of every array the engine produces) and so are their traits,
drawn from the seed, so a device keeps its size and place across restarts.

The tree: the town's grid connection sits above the feeders and the wind
turbines; each feeder above the homes, rooftop PV, shops, offices, street
lights and public chargers in its block (and a port's berths and cranes,
an industrial park's plants); one feeder also carries the zero-energy
building, if the site has one, whose own grid meter sits above its PV,
battery, heat pump, lighting, plug loads and EV chargers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from expo.kinds import kind as lookup_kind
from expo.metadata import DeviceMeta
from physics.household import HouseholdTraits, draw_traits
from simulators.scenario import Scenario

_TRAITS_STREAM = 51


@dataclass
class Site:
    scenario: Scenario
    metas: list[DeviceMeta] = field(default_factory=list)
    # rows of each model's devices, in the order its parameters are listed
    rows: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    households: HouseholdTraits | None = None

    @property
    def site_id(self) -> str:
        return self.scenario.site.site

    @property
    def count(self) -> int:
        return len(self.metas)

    def add(self, group: str, meta: DeviceMeta, **params: float) -> int:
        row = len(self.metas)
        self.metas.append(meta)
        self.rows.setdefault(group, [])  # type: ignore[arg-type]
        self.rows[group].append(row)  # type: ignore[union-attr]
        bucket = self.params.setdefault(group, {})
        for name, value in params.items():
            bucket.setdefault(name, []).append(value)  # type: ignore[union-attr]
        return row

    def freeze(self) -> "Site":
        self.rows = {g: np.asarray(r, dtype=np.int64) for g, r in self.rows.items()}
        self.params = {g: {k: np.asarray(v) for k, v in p.items()} for g, p in self.params.items()}
        return self

    def group(self, name: str) -> np.ndarray:
        return self.rows.get(name, np.zeros(0, dtype=np.int64))

    def param(self, group: str, name: str) -> np.ndarray:
        return self.params[group][name]

    def parent_rows(self) -> np.ndarray:
        index = {m.device: i for i, m in enumerate(self.metas)}
        return np.array([index[m.parent] if m.parent else -1 for m in self.metas], dtype=np.int64)

    def load_signs(self) -> np.ndarray:
        return np.array([lookup_kind(m.kind).flow.load_sign for m in self.metas], dtype=np.float64)


def _ids(prefix: str, count: int) -> list[str]:
    width = max(2, len(str(count)))
    return [f"{prefix}-{i:0{width}d}" for i in range(1, count + 1)]


def build_site(scenario: Scenario, seed: int) -> Site:
    town = scenario.town
    site = Site(scenario)
    sid = site.site_id
    rng = np.random.default_rng([seed & 0xFFFFFFFF, _TRAITS_STREAM])

    def meta(device, kind, en, zh, xy, rated_w, parent=None, building=None) -> DeviceMeta:
        return DeviceMeta(sid, device, kind, en, zh, round(xy[0], 1), round(xy[1], 1), round(rated_w, 1), parent, building)

    # Blocks of the town plan: one per feeder, laid in a near-square grid around the substation.
    per_feeder = math.ceil(
        (town.households + town.shops + town.offices + town.street_light_circuits + town.public_ev_chargers
         + town.shore_power_berths + town.cranes + town.process_loads)
        / town.feeders
    )
    side = max(1, math.ceil(math.sqrt(per_feeder)))
    block_m = side * town.block_spacing_m
    cols = math.ceil(math.sqrt(town.feeders))
    rows_n = math.ceil(town.feeders / cols)
    gap_m = 3 * town.block_spacing_m
    width_m = cols * (block_m + gap_m)
    height_m = rows_n * (block_m + gap_m)

    def block_origin(f: int) -> tuple[float, float]:
        return (f % cols) * (block_m + gap_m) - width_m / 2, (f // cols) * (block_m + gap_m) - height_m / 2

    slot = [0] * town.feeders

    def place(f: int) -> tuple[float, float]:
        x0, y0 = block_origin(f)
        i = slot[f]
        slot[f] += 1
        return x0 + (i % side + 0.5) * town.block_spacing_m, y0 + (i // side + 0.5) * town.block_spacing_m

    grid_xy = (0.0, height_m / 2 + gap_m)
    site.add("weather", meta("weather", "weather_station", "Weather station", "气象站", (grid_xy[0] + 40, grid_xy[1]), 0))
    site.add("grid", meta("grid", "grid_connection", "Town grid connection", "小镇电网关口", grid_xy, 0))
    feeders = _ids("feeder", town.feeders)
    for f, device in enumerate(feeders):
        x0, y0 = block_origin(f)
        site.add(
            "feeders",
            meta(device, "feeder", f"Feeder {f + 1}", f"配变 {f + 1}", (x0 - gap_m / 3, y0 - gap_m / 3),
                 town.feeder_rating_kw * 1000, parent="grid"),
            rating_w=town.feeder_rating_kw * 1000,
        )
    for w, device in enumerate(_ids("wind", town.wind_turbines)):
        xy = (width_m / 2 + 2 * gap_m, -height_m / 2 + (w + 0.5) * max(height_m / max(town.wind_turbines, 1), 60))
        site.add("wind", meta(device, "wind", f"Wind turbine {w + 1}", f"风机 {w + 1}", xy, town.wind_turbine_kw * 1000,
                              parent="grid"), rated_w=town.wind_turbine_kw * 1000)

    site.households = draw_traits(seed, town.households)
    homes = _ids("home", town.households)
    pv_homes = set(np.linspace(0, town.households - 1, town.rooftop_pv).round().astype(int)) if town.rooftop_pv else set()
    pv_number = 0
    for h, device in enumerate(homes):
        f = h % town.feeders
        xy = place(f)
        site.add("households", meta(device, "household", f"Home {h + 1}", f"住户 {h + 1}", xy,
                                    float(site.households.rated_power_w[h]), parent=feeders[f]))
        if h in pv_homes:
            pv_number += 1
            kwp = rng.uniform(town.rooftop_pv_kwp_min, town.rooftop_pv_kwp_max)
            site.add(
                "rooftop_pv",
                meta(f"pv-{device}", "pv", f"Rooftop PV {pv_number}", f"屋顶光伏 {pv_number}", (xy[0] + 2, xy[1] + 2),
                     kwp * 1000, parent=feeders[f], building=device),
                pdc0_w=kwp * 1000, tilt_deg=rng.uniform(15, 35), azimuth_deg=rng.uniform(150, 210),
            )
    commercial = (  # prefix, count, names, feeder stride and offset, base and peak load ranges [kW]
        ("shop", town.shops, "Shop", "商铺", 7, 3, (2, 6), (10, 40), False),
        ("office", town.offices, "Office", "办公楼", 5, 1, (5, 15), (30, 120), True),
    )
    for prefix, count, en, zh, stride, offset, base_range, peak_range, is_office in commercial:
        for i, device in enumerate(_ids(prefix, count)):
            f = (i * stride + offset) % town.feeders
            base_kw, peak_kw = rng.uniform(*base_range), rng.uniform(*peak_range)
            site.add("commercial", meta(device, "commercial", f"{en} {i + 1}", f"{zh} {i + 1}", place(f),
                                        peak_kw * 1300, parent=feeders[f], building=device),
                     base_w=base_kw * 1000, peak_w=peak_kw * 1000, is_office=is_office)
    for i, device in enumerate(_ids("lights", town.street_light_circuits)):
        f = i % town.feeders
        site.add("street_lights", meta(device, "street_light", f"Street lights {i + 1}", f"路灯 {i + 1}", place(f),
                                       town.street_light_circuit_kw * 1000, parent=feeders[f]),
                 rated_w=town.street_light_circuit_kw * 1000)
    for i, device in enumerate(_ids("charger", town.public_ev_chargers)):
        f = (i * 3 + 2) % town.feeders
        site.add("public_ev", meta(device, "ev_charger", f"Public charger {i + 1}", f"公共充电桩 {i + 1}", place(f),
                                   town.public_ev_charger_kw * 1000, parent=feeders[f]),
                 rated_w=town.public_ev_charger_kw * 1000)

    _add_port_and_plants(site, meta, feeders, place, rng)
    if scenario.building is not None:
        _add_building(site, meta, feeders[0], block_origin(0), gap_m)
    return site.freeze()


def _add_port_and_plants(site: Site, meta, feeders: list[str], place, rng: np.random.Generator) -> None:
    """A port's berths with shore power and its quay cranes; an industrial park's plants, each its own building."""
    town = site.scenario.town
    port = (("shore", town.shore_power_berths, "shore_power", "shore_power", town.shore_power_kw),
            ("crane", town.cranes, "crane", "cranes", town.crane_kw))
    for prefix, count, kind, group, kw in port:
        for i, device in enumerate(_ids(prefix, count)):
            en, zh = (f"Berth {i + 1} shore power", f"{i + 1}号泊位岸电") if kind == "shore_power" else \
                (f"Quay crane {i + 1}", f"岸桥 {i + 1}")
            f = i % len(feeders)
            site.add(group, meta(device, kind, en, zh, place(f), kw * 1000, parent=feeders[f]), rated_w=kw * 1000)
    for i, device in enumerate(_ids("plant", town.process_loads)):
        f = i % len(feeders)
        kw = rng.uniform(town.process_load_kw_min, town.process_load_kw_max)
        site.add("process_loads", meta(device, "process_load", f"Plant {i + 1}", f"工厂 {i + 1}", place(f), kw * 1000,
                                       parent=feeders[f], building=device),
                 rated_w=kw * 1000, base_share=rng.uniform(0.4, 0.85))


def _add_building(site: Site, meta, feeder: str, origin: tuple[float, float], gap_m: float) -> None:
    b = site.scenario.building
    x, y = origin[0] - gap_m, origin[1] + gap_m
    bid = b.id
    grid = f"{bid}-grid"
    site.add("building_grid", meta(grid, "grid_connection", f"{b.name_en}: grid meter", f"{b.name_zh} 电网计量",
                                   (x, y), 0, parent=feeder, building=bid))

    def part(group, suffix, kind, en, zh, nameplate_w, dx, **params):
        site.add(group, meta(f"{bid}-{suffix}", kind, f"{b.name_en}: {en}", f"{b.name_zh} {zh}", (x + dx, y), nameplate_w,
                             parent=grid, building=bid), **params)

    part("building_pv", "pv-roof", "pv", "roof PV", "屋顶光伏", b.roof_pv_kwp * 1000, 2,
         pdc0_w=b.roof_pv_kwp * 1000, tilt_deg=b.roof_tilt_deg, azimuth_deg=180.0)
    part("building_pv", "pv-facade", "pv", "facade PV", "幕墙光伏", b.facade_pv_kwp * 1000, 4,
         pdc0_w=b.facade_pv_kwp * 1000, tilt_deg=90.0, azimuth_deg=180.0)
    part("building_battery", "battery", "battery", "battery", "储能电池", b.battery_kw * 1000, 6)
    part("building_heat_pump", "heat-pump", "heat_pump", "heat pump", "热泵", b.heat_pump_kw * 1000 / 2.5, 8)
    part("building_lighting", "lighting", "lighting", "lighting", "照明", b.lighting_w_per_m2 * b.floor_area_m2, 10)
    part("building_plugs", "plugs", "plug_load", "plug loads", "插座负荷", b.plug_w_per_m2 * b.floor_area_m2, 12)
    for i in range(b.ev_chargers):
        part("building_ev", f"ev-{i + 1}", "ev_charger", f"EV charger {i + 1}", f"充电桩 {i + 1}",
             b.ev_charger_kw * 1000, 14 + 2 * i, rated_w=b.ev_charger_kw * 1000)
