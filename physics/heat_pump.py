"""Air-source heat pump: thermal demand of a building and the electricity that meets it.

Demand is steady-state: UA * (T_set - T_air) for heating, less internal and
solar gains; the coefficient of performance is a fixed fraction of the Carnot
limit between the outdoor air and the water loop, so the electric load rises
as winter nights get colder, which is what visitors should see.
"""

from __future__ import annotations

import numpy as np

KELVIN = 273.15


def cop_carnot_fraction(temp_source_c, temp_sink_c, fraction: float = 0.45, cop_max: float = 7.0) -> np.ndarray:
    """COP = fraction * T_sink / (T_sink - T_source), temperatures in kelvin; capped for tiny lifts."""
    sink_k = np.asarray(temp_sink_c, dtype=np.float64) + KELVIN
    lift = np.maximum(sink_k - (np.asarray(temp_source_c, dtype=np.float64) + KELVIN), 5.0)
    return np.minimum(fraction * sink_k / lift, cop_max)


def thermal_demand_w(temp_air_c, ua_w_per_k, heating_setpoint_c, cooling_setpoint_c, gains_w) -> tuple:
    """Heating and cooling demand [W] (both >= 0) of a building with conductance UA [W/K]."""
    t = np.asarray(temp_air_c, dtype=np.float64)
    heating = np.maximum(ua_w_per_k * (heating_setpoint_c - t) - gains_w, 0.0)
    cooling = np.maximum(ua_w_per_k * (t - cooling_setpoint_c) + gains_w, 0.0)
    return heating, cooling


def electric_power_w(heating_w, cooling_w, temp_air_c, capacity_w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Electric input, delivered heat and COP, with thermal output limited to the unit's capacity."""
    heating = np.minimum(heating_w, capacity_w)
    cooling = np.minimum(cooling_w, capacity_w)
    cop_heat = cop_carnot_fraction(temp_air_c, 45.0)  # source: outdoor air, sink: 45 degC floor loop
    cop_cool = cop_carnot_fraction(7.0, np.asarray(temp_air_c) + 10.0) - 1.0  # EER from a 7 degC chilled loop
    cop_cool = np.maximum(cop_cool, 1.5)
    electric = heating / cop_heat + cooling / cop_cool
    delivered = heating + cooling
    cop = np.where(electric > 0, delivered / np.where(electric > 0, electric, 1.0), 0.0)
    return electric, delivered, cop
