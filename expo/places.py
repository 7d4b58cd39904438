"""Sites and buildings: the retained descriptions that say what a site is and which building plays which role.

Why: without them a consumer guessed — the dashboard took "the building with
PV, a battery and the most meters" for the zero-energy one and parsed a
building's name out of a meter's name, and a city of districts had no place
on a plan. A description is published once, retained, like a device's
``meta``; a consumer that never receives one falls back to what it can tell
from the devices (a site of its id, no place on the city plan).

Site, retained on ``expo/<site>/site``::

    {"v": 1, "kind": "eco_city", "name": {"en": "Sino-Singapore Eco-City", "zh": "中新生态城"},
     "place": {"x_km": 12.0, "y_km": 20.5, "latitude_deg": 39.1, "longitude_deg": 117.8},
     "outline_km": [[9.0, 18.0], [15.0, 18.0], [15.0, 23.0], [9.0, 23.0]],
     "timezone": "Asia/Shanghai", "city": {"en": "Binhai New Area", "zh": "滨海新区"}}

``place`` is the district's centre on the city plan in km east and north of
the city's origin, and optionally on the globe (``latitude_deg``, north
positive; ``longitude_deg``, east positive): where the sun is, for the
forecast of its solar power (without them the forecast repeats yesterday's
sun); ``outline_km`` its boundary (at least three corners, or
none). ``timezone`` is an IANA name (the site's "today" starts at its local
midnight).

Building, retained on ``expo/<site>/<building>/building`` (its own message type,
so a building's id never clashes with a device's)::

    {"v": 1, "kind": "office", "name": {"en": "Zero-Energy Smart Building", "zh": "零能耗智慧建筑"},
     "role": "zero_energy", "position": {"x_m": 0.0, "y_m": 0.0}}

A device belongs to a building by the ``building`` field of its ``meta``.

A site's totals are the readings of one reserved device of that site,
``TOTALS_DEVICE`` (kind ``site_totals``, source ``derived``), kept by ingest:
a reader of a city takes one series per site instead of every meter's. Only
ingest writes it; a message from outside for that id is refused.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from expo.reading import PAYLOAD_VERSION, ContractError, load_json_object

SITE_KINDS = ("town", "district", "eco_city", "port", "industrial_park", "business_district", "wind_farm",
              "residential", "ev_hub", "campus")
BUILDING_KINDS = ("office", "residential", "commercial", "industrial", "public", "mixed")
BUILDING_ROLES = ("ordinary", "zero_energy")
MAX_OUTLINE_POINTS = 256
DEFAULT_TIMEZONE = "Asia/Shanghai"
TOTALS_DEVICE = "site-totals"  # the device id reserved in every site for its totals (docs/telemetry.md)


@dataclass(frozen=True)
class SiteMeta:
    site: str
    kind: str
    name_en: str
    name_zh: str
    x_km: float = 0.0
    y_km: float = 0.0
    outline_km: tuple[tuple[float, float], ...] = ()
    timezone: str = DEFAULT_TIMEZONE
    city_en: str = ""
    city_zh: str = ""
    latitude_deg: float | None = None
    longitude_deg: float | None = None

    def to_payload(self) -> dict:
        place = {"x_km": self.x_km, "y_km": self.y_km}
        if self.latitude_deg is not None and self.longitude_deg is not None:
            place.update(latitude_deg=self.latitude_deg, longitude_deg=self.longitude_deg)
        return {
            "v": PAYLOAD_VERSION, "kind": self.kind, "name": {"en": self.name_en, "zh": self.name_zh},
            "place": place,
            "outline_km": [[x, y] for x, y in self.outline_km],
            "timezone": self.timezone, "city": {"en": self.city_en, "zh": self.city_zh},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_payload(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_payload(cls, site: str, payload: bytes | str | dict) -> "SiteMeta":
        body = versioned_body(payload, "site")
        kind = _choice(body.get("kind"), SITE_KINDS, "site kind")
        name_en, name_zh = bilingual_names(body.get("name"), "site")
        place = body.get("place") or {}
        if not isinstance(place, dict):
            raise ContractError("wrong_type", 'site place must be {"x_km": ..., "y_km": ...}')
        x_km, y_km = _number(place.get("x_km", 0.0), "place.x_km"), _number(place.get("y_km", 0.0), "place.y_km")
        latitude, longitude = _globe(place)
        outline = _outline(body.get("outline_km") or [])
        timezone = body.get("timezone", DEFAULT_TIMEZONE)
        if not isinstance(timezone, str) or not _known_zone(timezone):
            raise ContractError("invalid", f"site timezone {timezone!r} is not an IANA time zone, e.g. Asia/Shanghai")
        city = body.get("city") or {}
        if not isinstance(city, dict) or not all(isinstance(city.get(k, ""), str) for k in ("en", "zh")):
            raise ContractError("invalid", 'site city must be {"en": "...", "zh": "..."}')
        return cls(site, kind, name_en, name_zh, x_km, y_km, outline, timezone, city.get("en", ""),
                   city.get("zh", ""), latitude, longitude)


@dataclass(frozen=True)
class BuildingMeta:
    site: str
    building: str
    kind: str
    name_en: str
    name_zh: str
    role: str = "ordinary"
    x_m: float = 0.0
    y_m: float = 0.0

    def to_payload(self) -> dict:
        return {"v": PAYLOAD_VERSION, "kind": self.kind, "name": {"en": self.name_en, "zh": self.name_zh},
                "role": self.role, "position": {"x_m": self.x_m, "y_m": self.y_m}}

    def to_json(self) -> str:
        return json.dumps(self.to_payload(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_payload(cls, site: str, building: str, payload: bytes | str | dict) -> "BuildingMeta":
        body = versioned_body(payload, "building")
        kind = _choice(body.get("kind"), BUILDING_KINDS, "building kind")
        name_en, name_zh = bilingual_names(body.get("name"), "building")
        role = _choice(body.get("role", "ordinary"), BUILDING_ROLES, "building role")
        position = body.get("position") or {}
        if not isinstance(position, dict):
            raise ContractError("wrong_type", 'building position must be {"x_m": ..., "y_m": ...}')
        return cls(site, building, kind, name_en, name_zh, role, _number(position.get("x_m", 0.0), "position.x_m"),
                   _number(position.get("y_m", 0.0), "position.y_m"))


def versioned_body(payload: bytes | str | dict, what: str) -> dict:
    body = load_json_object(payload)
    if body.get("v") != PAYLOAD_VERSION:
        raise ContractError("unsupported_version",
                            f"{what} version {body.get('v')!r} is not supported; expected v={PAYLOAD_VERSION}")
    return body


def _globe(place: dict) -> tuple[float | None, float | None]:
    """(latitude, longitude) of a site's place, both or neither."""
    if "latitude_deg" not in place and "longitude_deg" not in place:
        return None, None
    latitude = _number(place.get("latitude_deg"), "place.latitude_deg")
    longitude = _number(place.get("longitude_deg"), "place.longitude_deg")
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        raise ContractError("invalid", f"site place latitude_deg {latitude:g} / longitude_deg {longitude:g} is off "
                                       "the globe (-90..90, -180..180)")
    return latitude, longitude


def _choice(value: object, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ContractError("invalid", f"{what} {value!r} is not one of {', '.join(allowed)}")
    return value  # type: ignore[return-value]


def bilingual_names(name: object, what: str) -> tuple[str, str]:
    if not isinstance(name, dict) or not isinstance(name.get("en"), str) or not isinstance(name.get("zh"), str):
        raise ContractError("invalid", f'{what} needs name: {{"en": "...", "zh": "..."}}')
    return name["en"], name["zh"]


def _number(value: object, what: str) -> float:
    try:
        number = math.nan if isinstance(value, bool) or not isinstance(value, (int, float)) else float(value)
    except OverflowError:  # an integer of hundreds of digits
        number = math.inf
    if not math.isfinite(number):
        raise ContractError("wrong_type", f"{what} must be a finite number, got {str(value)[:40]!r}")
    return number


def _outline(points: object) -> tuple[tuple[float, float], ...]:
    if not isinstance(points, list) or len(points) > MAX_OUTLINE_POINTS:
        raise ContractError("invalid", f"site outline_km must be a list of at most {MAX_OUTLINE_POINTS} [x, y] pairs")
    out = []
    for i, point in enumerate(points):
        if not isinstance(point, list) or len(point) != 2:
            raise ContractError("invalid", f"site outline_km[{i}] must be [x_km, y_km]")
        out.append((_number(point[0], f"outline_km[{i}][0]"), _number(point[1], f"outline_km[{i}][1]")))
    if 0 < len(out) < 3:
        raise ContractError("invalid", "site outline_km needs at least three corners (or none)")
    return tuple(out)


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones ("America"), a name too long
        return False
    return True
