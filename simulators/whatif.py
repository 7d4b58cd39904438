"""What-ifs: a visitor's question put to the running town ("what if a cloud covers the sun?").

A what-if changes the simulation itself, not a picture of it: the weather the
models see (a cloud, a heat wave, a calm), a parameter of the site (twice the
rooftop PV), or a device's behaviour (every charger busy, the battery off). Its
readings then travel simulator -> MQTT -> ingest -> store -> screen like any
other, and the simulator says, retained on ``expo/<site>/whatif``, which
simulated span it covered, so the store can tell them apart
(docs/telemetry.md).

An action is data: its labels, one bounded parameter, and how it changes the
step (``weather``, ``outputs``, ``battery_on``). The engine asks the active
what-if at those three points; the physics stays in ``physics/``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from physics import weather as wx

DEFAULT_DURATION_S = 60.0
MIN_DURATION_S, MAX_DURATION_S = 10.0, 600.0


@dataclass(frozen=True)
class Action:
    name: str
    label_en: str
    label_zh: str
    param: str | None = None  # its one parameter: name, default and bounds (inclusive)
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
EV_GROUPS = ("public_ev", "building_ev")
ROOFTOP_PV_GROUPS = ("rooftop_pv",)


@dataclass(frozen=True)
class WhatIf:
    """An action in force: its parameter's value, and until when on the runner's monotonic clock (a visitor's
    minute is a wall-clock minute, whatever the simulation's speed)."""

    action: str
    value: float | None
    until_monotonic_s: float

    @property
    def spec(self) -> Action:
        return ACTIONS[self.action]


def weather(ctx, whatif: WhatIf | None, climate: wx.Climate):
    """The step's context with the what-if's weather: thicker cloud, hotter air, less wind."""
    if whatif is None or whatif.action not in ("cloud", "heat_wave", "calm"):
        return ctx
    w = ctx.weather
    if whatif.action == "cloud":
        w = wx.overcast(w, ctx.epoch_s, whatif.value, climate.clear_sky_factor)
    elif whatif.action == "heat_wave":
        w = dataclasses.replace(w, temp_air_c=np.maximum(w.temp_air_c, whatif.value))
    else:
        w = dataclasses.replace(w, wind_speed_10m_mps=w.wind_speed_10m_mps * whatif.value)
    return dataclasses.replace(ctx, weather=w)


def outputs(group: str, values: dict[str, np.ndarray], site, whatif: WhatIf | None) -> dict[str, np.ndarray]:
    """A model's results under the what-if: the rooftop PV scaled, every charger at its rating."""
    if whatif is None:
        return values
    if whatif.action == "double_pv" and group in ROOFTOP_PV_GROUPS:
        return {**values, "power_w": np.asarray(values["power_w"]) * whatif.value}
    if whatif.action == "ev_rush" and group in EV_GROUPS:
        power = np.asarray(values["power_w"])
        return {**values, "power_w": np.broadcast_to(site.param(group, "rated_w")[:, None], power.shape).copy()}
    return values


def battery_on(whatif: WhatIf | None) -> bool:
    return whatif is None or whatif.action != "battery_off"
