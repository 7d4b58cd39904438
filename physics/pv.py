"""Photovoltaic output: PVWatts DC model with a simple cell-temperature model and an inverter limit.

PVWatts (Dobos 2014): P_dc = P_dc0 * G_poa / 1000 * (1 + gamma * (T_cell - 25)).
Cell temperature from the NOCT model: T_cell = T_air + G_poa * (NOCT - 20) / 800.
"""

from __future__ import annotations

import numpy as np


def cell_temperature_noct(poa_wm2, temp_air_c, noct_c: float = 45.0) -> np.ndarray:
    return np.asarray(temp_air_c) + np.asarray(poa_wm2) * (noct_c - 20.0) / 800.0


def pvwatts_dc(poa_wm2, temp_cell_c, pdc0_w, gamma_per_c: float = -0.0037) -> np.ndarray:
    return np.asarray(pdc0_w) * np.asarray(poa_wm2) / 1000.0 * (1.0 + gamma_per_c * (np.asarray(temp_cell_c) - 25.0))


def ac_output_w(pdc_w, pac_rated_w, system_losses: float = 0.14, inverter_efficiency: float = 0.96) -> np.ndarray:
    """AC power after wiring/soiling losses and the inverter, clipped at the inverter rating."""
    return np.clip(np.asarray(pdc_w) * (1.0 - system_losses) * inverter_efficiency, 0.0, pac_rated_w)
