"""What-ifs: a visitor's question put to the running town ("what if a cloud covers the sun?").

A what-if changes the simulation itself, not a picture of it: the weather the
models see (a cloud, a heat wave, a calm), a parameter of the site (twice the
rooftop PV), or a device's behaviour (every charger busy, the battery off). Its
readings then travel simulator -> MQTT -> ingest -> store -> screen like any
other, and the simulator says, retained on ``expo/<site>/whatif``, which
simulated span it covered, so the store can tell them apart
(docs/telemetry.md).

The actions themselves (names, labels, bounded parameters) are the
contract's (``expo.whatif.ACTIONS``); here is how each changes the step
(``weather``, ``outputs``, ``battery_on``). The engine asks the active
what-if at those three points; the physics stays in ``physics/``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from expo.whatif import ACTIONS, Action
from physics import weather as wx

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
