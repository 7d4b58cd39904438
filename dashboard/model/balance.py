"""The zero-energy building's energy balance right now: what each of its parts does, and whether it adds up.

Why: the building scene draws power moving between the building's parts and
its switchboard, and a drawing like that must never say what the meters do
not (Home Assistant's energy flow has drawn the sun at night and a battery
charged by a grid that was not). So what is drawn is computed here, once a
poll, from the meters alone:

- every part is one *slot* of the drawing (the roof's PV, the facade's PV,
  the battery, the grid connection, the heat pump, lighting, plug loads, the
  EV chargers), and a slot's power flows one way only — into the switchboard
  (a source) or out of it (a use); a battery or grid meter's sign picks which,
  so it can never be drawn charging and discharging at once;
- daylight is what the PV says: under ``DAYLIGHT_SHARE`` of its rating the
  sun is not drawn and nothing flows from the PV;
- the balance — what the PV made, plus what the grid supplied (less what it
  took), less what the battery stored (plus what it gave), less what the
  loads used — is computed every poll. It is never
  exactly zero (meters report a few seconds apart), so a residual within
  ``tolerance_w`` is normal; beyond it the engineer view says so. The visitor's
  drawing still shows each meter as it reads: a missing or mis-signed meter is
  the engineer's to fix, not the drawing's to hide by fudging a flow.

PV arrays go to the roof's slot by rating: the largest on the roof, any others
on the facade (a building's meters say what they are, not where they hang).
Consumers of other kinds (a meter, a shop) share the plug loads' slot, so
every watt the building uses is drawn somewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.model.views import DeviceNow
from expo.kinds import KINDS, Flow

# slots of the drawing, in the order a scene lists them
SOURCES_FIRST = ("pv_roof", "pv_facade", "grid", "battery", "heat_pump", "lighting", "plugs", "ev")
SLOT_OF_KIND = {"battery": "battery", "grid_connection": "grid", "heat_pump": "heat_pump", "lighting": "lighting",
                "plug_load": "plugs", "ev_charger": "ev"}
DAYLIGHT_SHARE = 0.002  # PV above 0.2 % of its rating: the sun is up (a 138 kWp building: 276 W)
TOLERANCE_SHARE = 0.05  # of the power through the switchboard: meters a step apart differ by a few per cent
TOLERANCE_MIN_W = 500.0  # below this the residual is noise at any building's scale


@dataclass(frozen=True)
class Part:
    """One slot of the drawing: its meters' power, one way."""

    slot: str
    power_w: float  # >= 0, in the direction ``into_bus`` says
    into_bus: bool  # True: it supplies the switchboard (PV, a discharging battery, grid import)
    meters: int
    live: int  # of them, reporting now (not offline, with a power reading)

    @property
    def dark(self) -> bool:
        """Drawn dark: none of its meters is reporting."""
        return self.live == 0


@dataclass(frozen=True)
class Balance:
    """The building's power now, W: what it made, drew from the grid (+ import), stored (+ charging) and used.
    ``residual_w`` = made + grid - stored - used: zero when the meters agree."""

    parts: dict  # slot -> Part, for the slots the building has
    pv_w: float
    grid_w: float
    storage_w: float
    loads_w: float
    residual_w: float | None  # None without a reporting grid meter (nothing to check against)
    tolerance_w: float
    daylight: bool

    @property
    def within_tolerance(self) -> bool:
        return self.residual_w is None or abs(self.residual_w) <= self.tolerance_w


def _power(d: DeviceNow) -> float | None:
    """A device's power if it is reporting (offline meters are drawn dark and count nothing)."""
    return None if d.state == "offline" or d.power_w is None else d.power_w


def _slot(d: DeviceNow, roof: DeviceNow | None) -> str | None:
    if d.kind == "pv":
        return "pv_roof" if d is roof else "pv_facade"
    if d.kind in SLOT_OF_KIND:
        return SLOT_OF_KIND[d.kind]
    kind = KINDS.get(d.kind)
    return "plugs" if kind is not None and kind.flow is Flow.CONSUMES else None


def balance(devices: list[DeviceNow]) -> Balance:
    """The balance of one building's meters (``devices``: the building's own, its grid meter among them)."""
    pv = sorted((d for d in devices if d.kind == "pv"), key=lambda d: (-d.rated_w, d.device))
    roof = pv[0] if pv else None
    grouped: dict[str, list[DeviceNow]] = {}
    for d in devices:
        slot = _slot(d, roof)
        if slot is not None:
            grouped.setdefault(slot, []).append(d)
    parts: dict[str, Part] = {}
    reported: dict[str, float] = {}  # slot -> net power in load convention (+ uses), of reporting meters
    for slot in SOURCES_FIRST:
        members = grouped.get(slot)
        if not members:
            continue
        powers = [p for p in (_power(d) for d in members) if p is not None]
        net = sum(powers)
        if slot.startswith("pv"):
            net = -max(0.0, net)  # a PV meter's small negative at night (its inverter's standby) is not a use
        reported[slot] = net
        live = len(powers)
        if slot in ("battery", "grid"):  # load convention: + charging / importing
            into = net < 0 if slot == "battery" else net > 0
            parts[slot] = Part(slot, abs(net), into, len(members), live)
        else:
            parts[slot] = Part(slot, abs(net), slot.startswith("pv"), len(members), live)
    pv_w = -(reported.get("pv_roof", 0.0) + reported.get("pv_facade", 0.0))
    battery_w = reported.get("battery", 0.0)
    grid_w = reported.get("grid", 0.0)
    loads_w = sum(reported.get(s, 0.0) for s in ("heat_pump", "lighting", "plugs", "ev"))
    # what passes through the switchboard either way: the scale a residual is judged against
    through_w = max(pv_w + max(0.0, -battery_w) + max(0.0, grid_w), loads_w + max(0.0, battery_w) + max(0.0, -grid_w))
    grid_live = "grid" in parts and not parts["grid"].dark
    residual = pv_w + grid_w - battery_w - loads_w if grid_live else None
    rated_pv = sum(d.rated_w for d in pv)
    daylight = pv_w > max(1.0, DAYLIGHT_SHARE * rated_pv) if pv else False
    if not daylight:  # no flow from a PV in the dark, whatever a meter's noise says
        for slot in ("pv_roof", "pv_facade"):
            if slot in parts:
                parts[slot] = Part(slot, 0.0, True, parts[slot].meters, parts[slot].live)
    return Balance(parts, pv_w, grid_w, battery_w, loads_w, residual, max(TOLERANCE_MIN_W, TOLERANCE_SHARE * through_w),
                   daylight)
