"""Meters' units into the contract's: the one table every decoder converts through.

Meters say kW, kWh, Watt-minutes, mA. The contract says W and Wh and puts the
unit in the metric's name (docs/telemetry.md). Converting in one table, not
in each decoder, means a factor of 1000 is written once, tested once, and a
generic route (``unit = "kWh"``) converts exactly as Tasmota's ``Total`` does.
"""

from __future__ import annotations

import math

from expo.errors import Refused

# A meter's unit -> (dimension, factor to the contract unit of that dimension).
# Spellings are the ones meters and their manuals print; see _unit() for case.
UNITS: dict[str, tuple[str, float]] = {
    "W": ("power", 1.0),
    "kW": ("power", 1000.0),
    "MW": ("power", 1e6),
    "Wh": ("energy", 1.0),
    "kWh": ("energy", 1000.0),
    "MWh": ("energy", 1e6),
    "Wmin": ("energy", 1 / 60),  # Shelly Gen1 relays count Watt-minutes
    "Ws": ("energy", 1 / 3600),
    "J": ("energy", 1 / 3600),
    "var": ("reactive_power", 1.0),
    "kvar": ("reactive_power", 1000.0),
    "varh": ("reactive_energy", 1.0),
    "kvarh": ("reactive_energy", 1000.0),
    "VA": ("apparent_power", 1.0),
    "kVA": ("apparent_power", 1000.0),
    "V": ("voltage", 1.0),
    "kV": ("voltage", 1000.0),
    "A": ("current", 1.0),
    "mA": ("current", 0.001),
    "Hz": ("frequency", 1.0),
    "C": ("temperature", 1.0),
    "°C": ("temperature", 1.0),
    "%": ("percent", 1.0),
    "pct": ("percent", 1.0),
    "W/m2": ("irradiance", 1.0),
    "W/m²": ("irradiance", 1.0),
    "m/s": ("speed", 1.0),
    "1": ("ratio", 1.0),
    "": ("ratio", 1.0),
}

# Dimension -> the unit suffix of a contract metric name ("" for dimensionless names).
SUFFIX = {
    "power": "w", "energy": "wh", "reactive_power": "var", "reactive_energy": "varh",
    "apparent_power": "va", "voltage": "v", "current": "a", "frequency": "hz",
    "temperature": "c", "percent": "pct", "irradiance": "wm2", "speed": "mps", "ratio": "",
}

# Quantity a route or decoder asks for -> the dimension its unit must have.
# The metric is named after the quantity, so "energy_import" in kWh is energy_import_wh.
QUANTITIES = {
    "power": "power", "heat": "power",
    "energy": "energy", "energy_import": "energy", "energy_export": "energy",
    "reactive_power": "reactive_power", "reactive_energy": "reactive_energy",
    "apparent_power": "apparent_power",
    "voltage": "voltage", "current": "current", "frequency": "frequency", "temperature": "temperature",
    "soc": "percent", "humidity": "percent", "cloud_cover": "percent",
    "irradiance": "irradiance", "wind_speed": "speed",
    "power_factor": "ratio", "cop": "ratio",
}


def normalise(quantity: str, unit: str, value: float, channel: str = "") -> tuple[str, float]:
    """The contract metric and value for ``value`` of ``quantity`` measured in ``unit``.

    ``channel`` names a phase or input inside the metric ("l1" gives
    ``power_l1_w``), so one meter can report several of the same quantity.
    A unit of the wrong dimension ("power" in kWh) is refused rather than
    stored under a name that lies about it.
    """
    dimension = QUANTITIES.get(quantity)
    if dimension is None:
        raise Refused("unknown_metric", f"quantity {quantity!r} is not one of {', '.join(sorted(QUANTITIES))}")
    unit_dimension, factor = _unit(unit)
    if unit_dimension != dimension:
        raise Refused("unknown_unit", f"{quantity} cannot be measured in {unit!r} (that is {unit_dimension})")
    suffix = SUFFIX[dimension]
    if not suffix and channel:
        raise Refused("unknown_metric", f"{quantity} has no unit to end its name, so it cannot carry a channel")
    metric = "_".join(part for part in (quantity, channel, suffix) if part)
    converted = value * factor
    if not math.isfinite(converted):
        raise Refused("not_finite", f"{quantity} {value!r} {unit} is not a finite number in contract units")
    return metric, converted


def _unit(unit: str) -> tuple[str, float]:
    if not isinstance(unit, str):
        raise Refused("unknown_unit", f"unit must be text, got {type(unit).__name__}")
    text = unit.strip()
    if text in UNITS:
        return UNITS[text]
    # "kwh" and "KWH" are common in hand-written configs, so case is forgiven,
    # except for a leading m/M: "mW" read as "MW" would be off by a billion.
    if text[:1] not in ("m", "M"):
        matches = [k for k in UNITS if k.lower() == text.lower()]
        if len(matches) == 1:
            return UNITS[matches[0]]
    raise Refused("unknown_unit", f"unit {unit!r} is not one of {', '.join(k for k in UNITS if k)}")
