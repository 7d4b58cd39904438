"""The city scenario: districts of one city, each a site of a district type, under one weather field.

A city file (``simulators/scenarios/city.toml``) has ``[city]`` (names, time
zone), ``[climate]`` (the city's, shared), ``[weather_field]``
(``physics.weather_field``) and one ``[[districts]]`` entry per district: its
site id, names, place and outline on the city plan (km east and north of the
city's origin) and its ``type``. A district type is a file of its own,
``districts/<type>.toml`` beside the city file (else the bundled one): a
``[district]`` table (the site kind), ``[town]`` and, for a district with the
zero-energy building, ``[building]`` — the character of a district is data,
not code. A district entry may override its type's fields in
``[districts.town]`` or ``[districts.building]``. Every table is checked field
by field as a single-site scenario is (``simulators.scenario``): an unknown or
misspelt field is refused naming its file and field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from expo.places import DEFAULT_TIMEZONE, MAX_OUTLINE_POINTS, SITE_KINDS
from expo.topics import is_valid_id
from physics.weather import Climate
from physics.weather_field import WeatherField, place_effects
from simulators.scenario import (BUNDLED, BuildingSpec, DistrictPlace, Scenario, ScenarioError, SiteSpec, TownSpec,
                                 _range, build_table, check_consistency, known_zone, read_toml)

DISTRICT_TYPES = BUNDLED / "districts"
MAX_DISTRICTS = 200


@dataclass(frozen=True)
class CitySpec:
    name: str = "city"
    name_en: str = "Binhai New Area"
    name_zh: str = "滨海新区"
    timezone: str = DEFAULT_TIMEZONE


@dataclass(frozen=True)
class DistrictEntry:
    site: str = ""
    type: str = ""
    name_en: str = ""
    name_zh: str = ""
    x_km: float = field(default=0.0, metadata=_range(-1000, 1000))
    y_km: float = field(default=0.0, metadata=_range(-1000, 1000))


@dataclass(frozen=True)
class DistrictType:
    kind: str = "district"  # the site kind of districts of this type (expo.places.SITE_KINDS)
    description: str = ""


@dataclass(frozen=True)
class City:
    spec: CitySpec
    climate: Climate
    field: WeatherField
    districts: tuple[Scenario, ...]
    source: str = "<dict>"

    @property
    def name(self) -> str:
        return self.spec.name


_CITY_SECTIONS = {"city": CitySpec, "climate": Climate, "weather_field": WeatherField, "districts": None}
_TYPE_SECTIONS = ("district", "town", "building")
_ENTRY_TABLES = ("outline_km", "town", "building")


def is_city(data: dict) -> bool:
    return "districts" in data or "city" in data


def load(name_or_path: str) -> City:
    data, path = read_toml(name_or_path)
    return from_dict(data, str(path), path.parent / "districts")


def from_dict(data: dict, source: str = "<dict>", types_dir: Path | None = None) -> City:
    unknown = sorted(set(data) - set(_CITY_SECTIONS))
    if unknown:
        raise ScenarioError(f"scenario file {source}: unknown section [{unknown[0]}]; known: {', '.join(_CITY_SECTIONS)}")
    parts = {}
    for section in ("city", "climate", "weather_field"):
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise ScenarioError(f"scenario file {source}: [{section}] must be a table")
        parts[section] = build_table(_CITY_SECTIONS[section], table, section, source)
    city, climate, weather_field = parts["city"], parts["climate"], parts["weather_field"]
    if not known_zone(city.timezone):
        raise ScenarioError(f"scenario file {source}: [city].timezone {city.timezone!r} is not an IANA time zone, "
                            "e.g. Asia/Shanghai")
    f = weather_field
    if not (0.1 <= f.cloud_drift_mps <= 100 and 0.1 <= f.coast_decay_km <= 1000 and 0 <= f.coast_wind_gain <= 5
            and abs(f.coast_slope) <= 10):
        raise ScenarioError(f"scenario file {source}: [weather_field] needs cloud_drift_mps 0.1-100, coast_decay_km "
                            "0.1-1000, coast_wind_gain 0-5 and coast_slope -10 to 10")
    entries = data.get("districts", [])
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ScenarioError(f"scenario file {source}: a city needs [[districts]] entries, one per district")
    if len(entries) > MAX_DISTRICTS:
        raise ScenarioError(f"scenario file {source}: at most {MAX_DISTRICTS} districts, got {len(entries)}")
    types: dict[str, tuple[DistrictType, dict, str]] = {}
    districts = []
    for i, entry in enumerate(entries):
        districts.append(_district(city, climate, weather_field, entry, i, source, types_dir, types))
    seen: set[str] = set()
    for d in districts:
        if d.site.site in seen:
            raise ScenarioError(f"scenario file {source}: two districts have the site id {d.site.site!r}")
        seen.add(d.site.site)
    return City(city, climate, weather_field, tuple(districts), source)


def _district(city: CitySpec, climate: Climate, weather_field: WeatherField, entry: dict, i: int, source: str,
              types_dir: Path | None, types: dict) -> Scenario:
    label = entry.get("site") if isinstance(entry.get("site"), str) and entry.get("site") else f"number {i + 1}"
    where = f"{source} (district {label})"
    spec = build_table(DistrictEntry, {k: v for k, v in entry.items() if k not in _ENTRY_TABLES}, "districts", where)
    for name in ("site", "type", "name_en", "name_zh"):
        if not getattr(spec, name):
            raise ScenarioError(f"scenario file {where}: [districts].{name} is missing")
    if not is_valid_id(spec.site):
        raise ScenarioError(f"scenario file {where}: [districts].site {spec.site!r} must be a-z, 0-9, - or _")
    if spec.type not in types:
        types[spec.type] = load_type(spec.type, types_dir, f"scenario file {where}: [districts].type")
    kind, type_tables, type_source = types[spec.type]
    town_override = _table(entry, "town", where)
    building_override = _table(entry, "building", where)
    build_table(TownSpec, town_override, "districts.town", where)
    town = build_table(TownSpec, {**type_tables.get("town", {}), **town_override}, "town", type_source)
    building = None
    if "building" in type_tables or building_override:
        build_table(BuildingSpec, building_override, "districts.building", where)
        building = build_table(BuildingSpec, {**type_tables.get("building", {}), **building_override}, "building",
                               type_source)
    outline = _outline(entry.get("outline_km", []), "[districts].outline_km", where)
    delay_s, wind_factor = place_effects(spec.x_km, spec.y_km, weather_field)
    place = DistrictPlace(spec.type, spec.x_km, spec.y_km, outline, city.name_en, city.name_zh, delay_s, wind_factor)
    site = SiteSpec(f"{city.name}/{spec.site}", spec.site, spec.name_en, spec.name_zh, kind.kind, city.timezone)
    scenario = Scenario(site, climate, town, building, type_source, place)
    check_consistency(scenario)
    return scenario


def load_type(name: str, types_dir: Path | None, where: str) -> tuple[DistrictType, dict, str]:
    """A district type's file: (its [district] table, its raw [town]/[building] tables, its path)."""
    if not is_valid_id(name):
        raise ScenarioError(f"{where} {name!r} must be a-z, 0-9, - or _ (the name of a districts/<type>.toml)")
    candidates = [d / f"{name}.toml" for d in (types_dir, DISTRICT_TYPES) if d is not None]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        known = sorted({p.stem for d in (types_dir, DISTRICT_TYPES) if d is not None and d.is_dir()
                        for p in d.glob("*.toml")})
        raise ScenarioError(f"{where}: no district type {name!r}; known: {', '.join(known)}")
    data, _ = read_toml(str(path))
    source = str(path)
    unknown = sorted(set(data) - set(_TYPE_SECTIONS))
    if unknown:
        raise ScenarioError(f"district type file {source}: unknown section [{unknown[0]}]; known: "
                            f"{', '.join(_TYPE_SECTIONS)}")
    for section in _TYPE_SECTIONS:
        if not isinstance(data.get(section, {}), dict):
            raise ScenarioError(f"district type file {source}: [{section}] must be a table")
    kind = build_table(DistrictType, data.get("district", {}), "district", source)
    if kind.kind not in SITE_KINDS:
        raise ScenarioError(f"district type file {source}: [district].kind {kind.kind!r} is not one of "
                            f"{', '.join(SITE_KINDS)}")
    build_table(TownSpec, data.get("town", {}), "town", source)  # refuse a wrong field in the type file itself
    if "building" in data:
        build_table(BuildingSpec, data["building"], "building", source)
    return kind, {k: data[k] for k in ("town", "building") if k in data}, source


def _table(entry: dict, name: str, where: str) -> dict:
    table = entry.get(name, {})
    if not isinstance(table, dict):
        raise ScenarioError(f"scenario file {where}: [districts].{name} must be a table")
    return table


def _outline(points: object, where: str, source: str) -> tuple[tuple[float, float], ...]:
    ok = isinstance(points, list) and len(points) <= MAX_OUTLINE_POINTS and all(
        isinstance(p, list) and len(p) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in p) for p in points)
    if not ok or 0 < len(points) < 3:
        raise ScenarioError(f"scenario file {source}: {where} must be a list of 3 to {MAX_OUTLINE_POINTS} "
                            "[x_km, y_km] corners (or none)")
    return tuple((float(x), float(y)) for x, y in points)
