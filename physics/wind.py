"""Wind turbine output from hub-height wind speed and a manufacturer-style power curve."""

from __future__ import annotations

import numpy as np


def hub_height_speed_mps(speed_ref_mps, ref_height_m: float, hub_height_m: float, shear_exponent: float = 0.14):
    """Power-law wind profile (Hellmann): v_hub = v_ref * (h_hub / h_ref) ** alpha."""
    return np.asarray(speed_ref_mps) * (hub_height_m / ref_height_m) ** shear_exponent


def power_curve_w(
    speed_mps, rated_w, cut_in_mps: float = 3.0, rated_mps: float = 12.0, cut_out_mps: float = 25.0
) -> np.ndarray:
    """Zero below cut-in, cubic rise to rated, flat to cut-out, zero above (storm shutdown)."""
    v = np.asarray(speed_mps, dtype=np.float64)
    rated_w = np.asarray(rated_w, dtype=np.float64)
    rising = (v**3 - cut_in_mps**3) / (rated_mps**3 - cut_in_mps**3)
    fraction = np.where(v < cut_in_mps, 0.0, np.where(v < rated_mps, rising, np.where(v <= cut_out_mps, 1.0, 0.0)))
    return rated_w * fraction
