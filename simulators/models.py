"""Device models: for each group of the site, its power (and any extra metrics) at a batch of instants.

A model is a function ``(ctx, site) -> {"power_w": (rows, instants), ...}``
registered under its group name with ``@model("group")``; the engine calls
every registered model whose group the site has. The battery and the meters
that sum their children are not here: they depend on the others' results and
live in the engine.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from simulators.context import Context
from physics import commercial, ev, heat_pump, household, industry, port, pv, solar, wind
from simulators.site import Site

Model = Callable[[Context, Site], dict[str, np.ndarray]]
MODELS: dict[str, Model] = {}

STREET_LIGHT_ON_ZENITH_DEG = 91.0  # lights switch on a little after sunset and off a little before sunrise


def model(group: str) -> Callable[[Model], Model]:
    def register(fn: Model) -> Model:
        MODELS[group] = fn
        return fn

    return register


def _pv(ctx: Context, site: Site, group: str) -> dict[str, np.ndarray]:
    w = ctx.weather
    tilt = site.param(group, "tilt_deg")[:, None]
    surface_az = site.param(group, "azimuth_deg")[:, None]
    poa = solar.poa_isotropic(w.dni_wm2, w.dhi_wm2, w.ghi_wm2, w.zenith_deg, w.azimuth_deg, tilt, surface_az)
    poa = np.maximum(poa, 0.0)
    cell = pv.cell_temperature_noct(poa, w.temp_air_c)
    pdc0 = site.param(group, "pdc0_w")[:, None]
    power = pv.ac_output_w(pv.pvwatts_dc(poa, cell, pdc0), pdc0 / 1.1)
    return {"power_w": power, "irradiance_wm2": poa}


@model("rooftop_pv")
def rooftop_pv(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    return _pv(ctx, site, "rooftop_pv")


@model("building_pv")
def building_pv(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    return _pv(ctx, site, "building_pv")


@model("wind")
def wind_turbines(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    hub = wind.hub_height_speed_mps(ctx.weather.wind_speed_10m_mps, 10.0, site.scenario.town.wind_hub_height_m)
    rated = site.param("wind", "rated_w")[:, None]
    power = wind.power_curve_w(hub[None, :], rated)
    return {"power_w": power, "wind_speed_mps": np.broadcast_to(hub, power.shape)}


@model("weather")
def weather_station(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    w = ctx.weather
    return {
        "temperature_c": w.temp_air_c[None, :],
        "irradiance_wm2": w.ghi_wm2[None, :],
        "wind_speed_mps": w.wind_speed_10m_mps[None, :],
        "cloud_cover_pct": 100.0 * w.cloud_cover[None, :],
    }


@model("households")
def households(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    traits = site.households

    def build(day, weekend, dark, temp):
        return household.day_profile_w(traits, ctx.seed, day, weekend, dark, temp)

    return {"power_w": ctx.by_day("households", build)}


@model("commercial")
def shops_and_offices(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    rows = site.group("commercial")
    power = commercial.power_w(
        ctx.epoch_s,
        ctx.local_hour,
        ctx.weekend,
        ctx.weather.temp_air_c,
        site.param("commercial", "base_w"),
        site.param("commercial", "peak_w"),
        site.param("commercial", "is_office"),
        ctx.seed,
        rows,
    )
    return {"power_w": power}


@model("street_lights")
def street_lights(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    on = ctx.weather.zenith_deg > STREET_LIGHT_ON_ZENITH_DEG
    dimmed = (ctx.local_hour >= 0) & (ctx.local_hour < 5)  # half power in the quiet hours after midnight
    level = np.where(on, np.where(dimmed, 0.5, 1.0), 0.0)
    return {"power_w": site.param("street_lights", "rated_w")[:, None] * level[None, :]}


@model("public_ev")
def public_chargers(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    rated = site.param("public_ev", "rated_w")
    sessions = site.scenario.town.public_ev_sessions_per_day

    def build(day, weekend, dark, temp):
        return ev.day_profile_w(ctx.seed, 1, day, rated, sessions, (10.0, 40.0), ev.PUBLIC_ARRIVALS)

    return {"power_w": ctx.by_day("public_ev", build)}


@model("building_ev")
def building_chargers(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    rated = site.param("building_ev", "rated_w")
    per_weekday = site.scenario.building.ev_sessions_per_weekday

    def build(day, weekend, dark, temp):
        sessions = per_weekday * (0.15 if weekend else 1.0)
        return ev.day_profile_w(ctx.seed, 2, day, rated, sessions, (8.0, 30.0), ev.WORKPLACE_ARRIVALS)

    return {"power_w": ctx.by_day("building_ev", build)}


@model("shore_power")
def shore_power(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    rows = site.group("shore_power")
    return {"power_w": port.shore_power_w(ctx.epoch_s, site.param("shore_power", "rated_w"), ctx.seed, rows)}


@model("cranes")
def cranes(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    rows = site.group("cranes")
    return {"power_w": port.crane_power_w(ctx.epoch_s, site.param("cranes", "rated_w"), ctx.seed, rows)}


@model("process_loads")
def process_loads(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    power = industry.process_power_w(
        ctx.epoch_s, ctx.local_hour, ctx.weekend, site.param("process_loads", "rated_w"),
        site.param("process_loads", "base_share"), ctx.seed, site.group("process_loads"),
    )
    return {"power_w": power}


def building_occupancy(ctx: Context) -> np.ndarray:
    """Share of the zero-energy building's people present: office hours, and a few weekend visitors."""
    hour = ctx.local_hour.astype(np.int64) % 24
    return np.where(ctx.weekend, 0.25 * commercial.OFFICE_WEEKDAY[hour], commercial.OFFICE_WEEKDAY[hour])


@model("building_lighting")
def building_lighting(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    b = site.scenario.building
    daylight_dimming = np.clip(1.0 - ctx.weather.ghi_wm2 / 500.0, 0.25, 1.0)
    level = 0.05 + 0.95 * building_occupancy(ctx) * daylight_dimming
    return {"power_w": (b.lighting_w_per_m2 * b.floor_area_m2 * level)[None, :]}


@model("building_plugs")
def building_plugs(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    b = site.scenario.building
    standby = b.plug_standby_w_per_m2 * b.floor_area_m2
    peak = b.plug_w_per_m2 * b.floor_area_m2
    return {"power_w": (standby + (peak - standby) * building_occupancy(ctx))[None, :]}


@model("building_heat_pump")
def building_heat_pump(ctx: Context, site: Site) -> dict[str, np.ndarray]:
    b = site.scenario.building
    occupancy = building_occupancy(ctx)
    gains_w = b.floor_area_m2 * (4.0 + 12.0 * occupancy)  # people, lights and equipment warm the building
    heating, cooling = heat_pump.thermal_demand_w(
        ctx.weather.temp_air_c, b.ua_w_per_k, b.heating_setpoint_c, b.cooling_setpoint_c, gains_w
    )
    cooling = cooling * (0.3 + 0.7 * occupancy)  # set back when nobody is in
    electric, delivered, cop = heat_pump.electric_power_w(heating, cooling, ctx.weather.temp_air_c, b.heat_pump_kw * 1000)
    return {"power_w": electric[None, :], "heat_w": delivered[None, :], "cop": cop[None, :]}
