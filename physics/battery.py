"""Battery energy storage: one dispatch step of a self-consumption controller.

The controller every zero-energy building runs: charge from the site's surplus,
discharge to cover its deficit, and let the grid take or give the rest. Arrays
are over batteries; time advances one step per call because state of charge
carries from step to step.
"""

from __future__ import annotations

import numpy as np


def dispatch_step(
    soc_wh,
    surplus_w,
    dt_s: float,
    capacity_wh,
    max_power_w,
    charge_efficiency=0.95,
    discharge_efficiency=0.95,
    soc_min=0.10,
    soc_max=0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Battery terminal power [W] (load convention: + charging) and the next state of charge [Wh].

    ``surplus_w`` is generation minus other load at the site; positive means
    energy to store, negative means a deficit to cover.
    """
    soc_wh = np.asarray(soc_wh, dtype=np.float64)
    surplus_w = np.asarray(surplus_w, dtype=np.float64)
    dt_h = dt_s / 3600.0
    room_w = np.maximum(soc_max * capacity_wh - soc_wh, 0.0) / (charge_efficiency * dt_h)
    stored_w = np.maximum(soc_wh - soc_min * capacity_wh, 0.0) * discharge_efficiency / dt_h
    charge = np.minimum(np.minimum(np.maximum(surplus_w, 0.0), max_power_w), room_w)
    discharge = np.minimum(np.minimum(np.maximum(-surplus_w, 0.0), max_power_w), stored_w)
    power = charge - discharge
    next_soc = soc_wh + (charge * charge_efficiency - discharge / discharge_efficiency) * dt_h
    return power, next_soc
