"""Device metadata: the retained ``meta`` message that tells every consumer who a device is.

Payload on ``expo/<site>/<device>/meta`` (retained)::

    {"v": 1, "kind": "household", "name": {"en": "Home 12", "zh": "住户 12"},
     "building": null, "position": {"x_m": 120.0, "y_m": -40.0},
     "rated_power_w": 8000.0, "parent": "feeder-01", "source": "simulated"}

``parent`` names the meter this device hangs below; a parent's load-convention
power equals the sum of its children's (see ``expo.kinds.Flow``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from expo.kinds import Flow, kind as lookup_kind
from expo.reading import PAYLOAD_VERSION, ContractError, load_json_object
from expo.topics import check_id

SOURCES = ("simulated", "meter", "derived")  # derived: made by ingest from other devices (a site's totals)


@dataclass(frozen=True)
class DeviceMeta:
    site: str
    device: str
    kind: str
    name_en: str
    name_zh: str
    x_m: float = 0.0
    y_m: float = 0.0
    rated_power_w: float = 0.0
    parent: str | None = None
    building: str | None = None
    source: str = "simulated"

    @property
    def flow(self) -> Flow:
        return lookup_kind(self.kind).flow

    def to_payload(self) -> dict:
        return {
            "v": PAYLOAD_VERSION,
            "kind": self.kind,
            "name": {"en": self.name_en, "zh": self.name_zh},
            "building": self.building,
            "position": {"x_m": self.x_m, "y_m": self.y_m},
            "rated_power_w": self.rated_power_w,
            "parent": self.parent,
            "source": self.source,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_payload(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_payload(cls, site: str, device: str, payload: bytes | str | dict) -> "DeviceMeta":
        body = load_json_object(payload)
        if body.get("v") != PAYLOAD_VERSION:
            raise ContractError("unsupported_version",
                                f"meta version {body.get('v')!r} is not supported; expected v={PAYLOAD_VERSION}")
        try:
            lookup_kind(body.get("kind"))
        except ValueError as exc:
            raise ContractError("unknown_kind", str(exc)) from None
        name = body.get("name") or {}
        if not isinstance(name, dict) or not isinstance(name.get("en"), str) or not isinstance(name.get("zh"), str):
            raise ContractError("invalid", 'meta needs name: {"en": "...", "zh": "..."}')
        position = body.get("position") or {}
        try:
            x_m = float(position.get("x_m", 0.0))
            y_m = float(position.get("y_m", 0.0))
            rated = float(body.get("rated_power_w", 0.0))
        except (TypeError, ValueError, AttributeError, OverflowError):  # OverflowError: an int of 400 digits
            raise ContractError("wrong_type", "meta position and rated_power_w must be numbers") from None
        parent = body.get("parent")
        building = body.get("building")
        try:
            for value, what in ((parent, "parent"), (building, "building")):
                if value is not None:
                    check_id(value, what)
        except ValueError as exc:
            raise ContractError("invalid_device_id", str(exc)) from None
        source = body.get("source", "meter")
        if source not in SOURCES:
            raise ContractError("invalid", f"meta source {source!r} must be one of {', '.join(SOURCES)}")
        return cls(site, device, body["kind"], name["en"], name["zh"], x_m, y_m, rated, parent, building, source)
