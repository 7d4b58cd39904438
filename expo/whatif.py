"""What-ifs in the contract: the actions a command may ask for, and the span that says which readings one made.

The actions (``ACTIONS``): names, both languages' labels and each one's bounded
parameter, shared by the simulator that checks a command and the screen that
offers it. The span: which readings of a site a visitor's question made, so
nobody takes them for the town's own.

Retained on ``expo/<site>/whatif`` by the simulator that runs the site,
while the what-if is in force and once more when it ends::

    {"v": 1, "action": "cloud", "name": {"en": "a cloud passes", "zh": "云层飘过"},
     "start": "2026-12-07T12:00:10Z", "end": null,
     "until": "2026-12-07T13:00:10Z", "ends_at": "2026-12-07T12:01:10Z"}

``start`` and ``end`` are the instants of its first and last readings (the
readings' own clock, which an accelerated simulator runs ahead of the
wall); ``end`` is null while it lasts. ``until`` is when it is due to end on
that clock, ``ends_at`` on the wall clock (what a screen counts down). A
reading of the site at an instant in [start, end] was made under it: the
store keeps every span (``expo.store``), so year-to-date figures leave them out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from expo.places import bilingual_names, versioned_body
from expo.reading import ContractError, PAYLOAD_VERSION, format_ts, parse_ts
from expo.topics import check_id


DEFAULT_DURATION_S = 60.0
MIN_DURATION_S, MAX_DURATION_S = 10.0, 600.0


@dataclass(frozen=True)
class Action:
    """A what-if a command may ask for (``expo/<site>/control``): its labels, and its one parameter's name,
    default and bounds (inclusive). What it does to the simulation is ``simulators.whatif``'s."""

    name: str
    label_en: str
    label_zh: str
    param: str | None = None
    default: float = 0.0
    low: float = 0.0
    high: float = 0.0


ACTIONS = {a.name: a for a in (
    Action("cloud", "a cloud passes", "云层飘过", "cover", 0.95, 0.5, 1.0),
    Action("double_pv", "twice the rooftop PV", "屋顶光伏翻倍", "factor", 2.0, 1.0, 3.0),
    Action("ev_rush", "the evening EV rush", "晚间充电高峰"),
    Action("heat_wave", "a heat wave", "热浪来袭", "temp_c", 36.0, 30.0, 42.0),
    Action("battery_off", "the battery switched off", "储能关闭"),
    Action("calm", "a calm day, no wind", "无风的一天", "wind_factor", 0.0, 0.0, 0.5),
)}
STOP = "stop"  # the command that ends the what-if in force


@dataclass(frozen=True)
class WhatIfSpan:
    site: str
    action: str
    name_en: str
    name_zh: str
    start_s: float
    end_s: float | None  # None while in force
    until_s: float
    ends_at_s: float

    @property
    def in_force(self) -> bool:
        return self.end_s is None

    def covers(self, ts_s: float) -> bool:
        return self.start_s <= ts_s and (self.end_s is None or ts_s <= self.end_s)

    def to_payload(self) -> dict:
        return {"v": PAYLOAD_VERSION, "action": self.action, "name": {"en": self.name_en, "zh": self.name_zh},
                "start": format_ts(self.start_s), "end": None if self.end_s is None else format_ts(self.end_s),
                "until": format_ts(self.until_s), "ends_at": format_ts(self.ends_at_s)}

    def to_json(self) -> str:
        return json.dumps(self.to_payload(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_payload(cls, site: str, payload: bytes | str | dict) -> "WhatIfSpan":
        body = versioned_body(payload, "whatif")
        action = body.get("action")
        try:
            check_id(action, "what-if action")
        except ValueError as exc:
            raise ContractError("invalid", str(exc)) from None
        name_en, name_zh = bilingual_names(body.get("name"), "whatif")
        start_s, until_s, ends_at_s = (parse_ts(body.get(k)) for k in ("start", "until", "ends_at"))
        end_s = None if body.get("end") is None else parse_ts(body.get("end"))
        if end_s is not None and end_s < start_s:
            raise ContractError("invalid", "a what-if's end is before its start")
        return cls(site, action, name_en, name_zh, start_s, end_s, until_s, ends_at_s)
