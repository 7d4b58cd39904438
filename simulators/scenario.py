"""Scenarios: what a simulated site contains, as a TOML data file checked field by field.

A scenario names the site, its climate, the zero-energy building and the town.
A city of such sites is ``simulators.city``. Bundled ones live in ``simulators/scenarios/<name>.toml``; ``load("name")``
finds them and ``load("path/to/file.toml")`` reads any other. Every field has
a default, a type and a range; a wrong one raises ``ScenarioError`` naming the
file and the field, and an unknown one is refused rather than ignored, since a
typo that silently does nothing is the hardest bug for an engineer to see.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from expo.errors import UserError
from expo.places import DEFAULT_TIMEZONE, SITE_KINDS
from expo.topics import is_valid_id
from physics.weather import Climate

BUNDLED = Path(__file__).with_name("scenarios")


class ScenarioError(UserError):
    pass


def _range(low: float | None = None, high: float | None = None) -> dict:
    return {"low": low, "high": high}


@dataclass(frozen=True)
class SiteSpec:
    name: str = "tianjin-demo"
    site: str = "binhai"
    name_en: str = "Binhai Smart Energy Town"
    name_zh: str = "滨海智慧能源小镇"
    kind: str = "town"  # the site's kind in its description (expo.places.SITE_KINDS)
    timezone: str = DEFAULT_TIMEZONE  # IANA name: where the site's "today" starts


@dataclass(frozen=True)
class TownSpec:
    feeders: int = field(default=6, metadata=_range(1, 500))
    feeder_rating_kw: float = field(default=400.0, metadata=_range(10, 100_000))
    households: int = field(default=220, metadata=_range(0, 200_000))
    rooftop_pv: int = field(default=40, metadata=_range(0, 200_000))
    rooftop_pv_kwp_min: float = field(default=3.0, metadata=_range(0.1, 1000))
    rooftop_pv_kwp_max: float = field(default=8.0, metadata=_range(0.1, 1000))
    shops: int = field(default=16, metadata=_range(0, 50_000))
    offices: int = field(default=6, metadata=_range(0, 50_000))
    street_light_circuits: int = field(default=12, metadata=_range(0, 50_000))
    street_light_circuit_kw: float = field(default=2.4, metadata=_range(0.01, 1000))
    public_ev_chargers: int = field(default=6, metadata=_range(0, 50_000))
    public_ev_charger_kw: float = field(default=60.0, metadata=_range(1, 1000))
    public_ev_sessions_per_day: float = field(default=6.0, metadata=_range(0, 100))
    wind_turbines: int = field(default=1, metadata=_range(0, 1000))
    wind_turbine_kw: float = field(default=2000.0, metadata=_range(1, 20_000))
    wind_hub_height_m: float = field(default=80.0, metadata=_range(10, 250))
    block_spacing_m: float = field(default=14.0, metadata=_range(2, 1000))
    shore_power_berths: int = field(default=0, metadata=_range(0, 1000))
    shore_power_kw: float = field(default=2000.0, metadata=_range(1, 50_000))
    cranes: int = field(default=0, metadata=_range(0, 1000))
    crane_kw: float = field(default=1500.0, metadata=_range(1, 20_000))
    process_loads: int = field(default=0, metadata=_range(0, 50_000))
    process_load_kw_min: float = field(default=200.0, metadata=_range(1, 200_000))
    process_load_kw_max: float = field(default=2000.0, metadata=_range(1, 200_000))


@dataclass(frozen=True)
class BuildingSpec:
    id: str = "zeb"
    name_en: str = "Zero-Energy Smart Building"
    name_zh: str = "零能耗智慧建筑"
    floor_area_m2: float = field(default=3000.0, metadata=_range(50, 1_000_000))
    roof_pv_kwp: float = field(default=108.0, metadata=_range(0, 100_000))
    roof_tilt_deg: float = field(default=30.0, metadata=_range(0, 90))
    facade_pv_kwp: float = field(default=30.0, metadata=_range(0, 100_000))
    battery_kwh: float = field(default=200.0, metadata=_range(0, 1_000_000))
    battery_kw: float = field(default=60.0, metadata=_range(0, 100_000))
    battery_initial_soc_pct: float = field(default=50.0, metadata=_range(0, 100))
    heat_pump_kw: float = field(default=150.0, metadata=_range(0, 100_000))
    ua_w_per_k: float = field(default=1500.0, metadata=_range(0, 1_000_000))
    heating_setpoint_c: float = field(default=20.0, metadata=_range(5, 30))
    cooling_setpoint_c: float = field(default=26.0, metadata=_range(15, 40))
    lighting_w_per_m2: float = field(default=4.0, metadata=_range(0, 50))
    plug_w_per_m2: float = field(default=8.0, metadata=_range(0, 100))
    plug_standby_w_per_m2: float = field(default=0.8, metadata=_range(0, 50))
    ev_chargers: int = field(default=4, metadata=_range(0, 1000))
    ev_charger_kw: float = field(default=7.0, metadata=_range(1, 400))
    ev_sessions_per_weekday: float = field(default=1.0, metadata=_range(0, 20))


@dataclass(frozen=True)
class DistrictPlace:
    """Where a district of a city lies (``simulators.city``): its place on the plan and in the weather field."""

    district_type: str
    x_km: float
    y_km: float
    outline_km: tuple[tuple[float, float], ...] = ()
    city_en: str = ""
    city_zh: str = ""
    cloud_delay_s: float = 0.0  # physics.weather_field.place_effects
    wind_factor: float = 1.0


@dataclass(frozen=True)
class Scenario:
    site: SiteSpec
    climate: Climate
    town: TownSpec
    building: BuildingSpec | None  # None: a district without a zero-energy building
    source: str = "<defaults>"
    district: DistrictPlace | None = None  # set for a city's districts only


_SECTIONS = {"scenario": SiteSpec, "climate": Climate, "town": TownSpec, "building": BuildingSpec}


def bundled_names() -> list[str]:
    return sorted(p.stem for p in BUNDLED.glob("*.toml"))


def load(name_or_path: str) -> Scenario:
    """A bundled scenario by name, or a scenario file by path."""
    data, path = read_toml(name_or_path)
    if "districts" in data or "city" in data:
        raise ScenarioError(f"scenario file {path} is a city of districts; this takes a single-site scenario")
    return from_dict(data, str(path))


def read_toml(name_or_path: str) -> tuple[dict, Path]:
    """The TOML table of a bundled scenario (by name) or of a file (by path), with the file's path."""
    path = Path(name_or_path)
    if path.suffix != ".toml" and "/" not in name_or_path:
        path = BUNDLED / f"{name_or_path}.toml"
        if not path.exists():
            raise ScenarioError(
                f"no scenario named {name_or_path!r}; bundled: {', '.join(bundled_names())}, or give a .toml path"
            )
    if not path.exists():
        raise ScenarioError(f"scenario file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"scenario file {path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"scenario file {path}: not UTF-8 text") from None
    except OSError as exc:
        raise ScenarioError(f"scenario file {path}: {exc.strerror}") from None
    return data, path


def from_dict(data: dict, source: str = "<dict>") -> Scenario:
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise ScenarioError(f"scenario file {source}: unknown section [{unknown[0]}]; known: {', '.join(_SECTIONS)}")
    parts = {}
    for section, cls in _SECTIONS.items():
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise ScenarioError(f"scenario file {source}: [{section}] must be a table")
        parts[section] = build_table(cls, table, section, source)
    scenario = Scenario(parts["scenario"], parts["climate"], parts["town"], parts["building"], source)
    check_consistency(scenario)
    return scenario


# Keys of older scenario files -> today's name (m/s was first spelled _ms, which reads as milliseconds).
RENAMED_KEYS = {"mean_wind_speed_10m_ms": "mean_wind_speed_10m_mps"}


def build_table(cls, table: dict, section: str, source: str):
    """A dataclass from one TOML table, every field checked; unknown fields refused with file and field."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    table = {RENAMED_KEYS.get(k, k): v for k, v in table.items()}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ScenarioError(
            f"scenario file {source}: unknown field [{section}].{unknown[0]}; known: {', '.join(fields)}"
        )
    values = {}
    for name, value in table.items():
        values[name] = _check_value(fields[name], value, f"[{section}].{name}", source)
    return cls(**values)


def _check_value(spec: dataclasses.Field, value: Any, where: str, source: str) -> Any:
    kind = spec.type if isinstance(spec.type, type) else {"int": int, "float": float, "str": str}[spec.type]
    ok = (
        isinstance(value, kind) and not isinstance(value, bool)
        if kind is not float
        else isinstance(value, (int, float)) and not isinstance(value, bool)
    )
    if not ok or (kind is float and not math.isfinite(value)):  # TOML has nan and inf; no field means them
        raise ScenarioError(f"scenario file {source}: {where} must be {_kind_name(kind)}, got {value!r}")
    low, high = spec.metadata.get("low"), spec.metadata.get("high")
    if kind in (int, float) and ((low is not None and value < low) or (high is not None and value > high)):
        raise ScenarioError(f"scenario file {source}: {where} must be between {low} and {high}, got {value!r}")
    return float(value) if kind is float else value


def _kind_name(kind: type) -> str:
    return {int: "an integer", float: "a number", str: "text"}[kind]


def check_consistency(scenario: Scenario) -> None:
    source = scenario.source
    if not is_valid_id(scenario.site.site):
        raise ScenarioError(f"scenario file {source}: [scenario].site {scenario.site.site!r} must be a-z, 0-9, - or _")
    if scenario.site.kind not in SITE_KINDS:
        raise ScenarioError(f"scenario file {source}: [scenario].kind {scenario.site.kind!r} is not one of "
                            f"{', '.join(SITE_KINDS)}")
    if not known_zone(scenario.site.timezone):
        raise ScenarioError(f"scenario file {source}: [scenario].timezone {scenario.site.timezone!r} is not an IANA "
                            "time zone, e.g. Asia/Shanghai")
    if scenario.building is not None and not is_valid_id(scenario.building.id):
        raise ScenarioError(f"scenario file {source}: [building].id {scenario.building.id!r} must be a-z, 0-9, - or _")
    town = scenario.town
    if town.process_load_kw_min > town.process_load_kw_max:
        raise ScenarioError(f"scenario file {source}: [town].process_load_kw_min exceeds process_load_kw_max")
    if town.rooftop_pv > town.households:
        raise ScenarioError(f"scenario file {source}: [town].rooftop_pv ({town.rooftop_pv}) exceeds households")
    if town.rooftop_pv_kwp_min > town.rooftop_pv_kwp_max:
        raise ScenarioError(f"scenario file {source}: [town].rooftop_pv_kwp_min exceeds rooftop_pv_kwp_max")
    if not -14 <= scenario.climate.utc_offset_h <= 14:
        raise ScenarioError(f"scenario file {source}: [climate].utc_offset_h must be between -14 and 14")
    if not -90 <= scenario.climate.latitude_deg <= 90 or not -180 <= scenario.climate.longitude_deg <= 180:
        raise ScenarioError(f"scenario file {source}: [climate] latitude_deg/longitude_deg out of range")


def known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
