"""What a PV array will make for the rest of the day: the simulator's own chain run forward in time.

The chain is the one the simulated arrays follow (``simulators.models``): the
sun's position, the Haurwitz clear sky, the Kasten & Czeplak cloud index, the
Erbs split, the isotropic plane of array, the NOCT cell temperature, PVWatts
and the inverter. What is not known ahead — the cloud cover — is held at its
present value: clear-sky-index persistence, the reference solar forecasts are
scored against, and for the hours left in an exhibit's day hard to beat
without a weather model (a site has its weather station, not a forecast
service). What a real array adds (haze, its tilt, shading, soiling) is one
factor learnt from its own output (``calibration``), so the same code serves
an array whose orientation nobody wrote down.
"""

from __future__ import annotations

import numpy as np

from physics import pv, solar
from physics.weather import clear_sky_index

DEFAULT_TILT_DEG = 30.0
DEFAULT_AZIMUTH_DEG = 180.0  # facing south
INVERTER_RATIO = 1.1  # DC over AC rating, as the simulated arrays are built


def ac_per_rated_w(epoch_s, latitude_deg: float, longitude_deg: float, cover, temp_air_c=15.0,
                   tilt_deg: float = DEFAULT_TILT_DEG, azimuth_deg: float = DEFAULT_AZIMUTH_DEG) -> np.ndarray:
    """AC output per W of rated DC capacity [W/W] under ``cover`` (0..1) of cloud and no haze."""
    t = np.asarray(epoch_s, dtype=np.float64)
    zenith, azimuth = solar.solar_position(t, latitude_deg, longitude_deg)
    ghi = solar.clearsky_ghi_haurwitz(zenith) * clear_sky_index(np.clip(cover, 0.0, 1.0))
    dni, dhi = solar.split_ghi(ghi, zenith, t)
    poa = np.maximum(solar.poa_isotropic(dni, dhi, ghi, zenith, azimuth, tilt_deg, azimuth_deg), 0.0)
    dc = pv.pvwatts_dc(poa, pv.cell_temperature_noct(poa, temp_air_c), 1.0)
    return pv.ac_output_w(dc, 1.0 / INVERTER_RATIO)


def calibration(observed_w, modelled_w, least_modelled_w: float) -> float | None:
    """The factor that turns the model's output into this array's: the ratio of sums over the instants the
    model gives at least ``least_modelled_w`` (daylight worth learning from), or None with too few of them.

    A ratio of sums, not a mean of ratios: the hours near dawn and dusk, where both are small and their
    ratio wild, weigh as little as the energy in them."""
    observed = np.asarray(observed_w, dtype=np.float64)
    modelled = np.asarray(modelled_w, dtype=np.float64)
    used = (modelled >= least_modelled_w) & np.isfinite(observed)
    if used.sum() < 12 or modelled[used].sum() <= 0:
        return None
    return float(max(observed[used].sum(), 0.0) / modelled[used].sum())
