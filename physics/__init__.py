"""Pure physical and behavioural models: arrays in, arrays out, no clock, no I/O, no hidden random state.

Randomness enters only as an explicit ``seed`` and is a pure function of
(seed, stream, time), so any instant can be computed without computing the
ones before it, and a chunk of ten steps equals ten chunks of one step.

Glossary (units in brackets): ``epoch_s`` [s since 1970 UTC],
``zenith_deg``/``azimuth_deg`` [deg, azimuth clockwise from north],
``ghi_wm2``/``dni_wm2``/``dhi_wm2``/``poa_wm2`` [W/m^2], ``temp_air_c`` [degC],
``wind_speed_mps`` [m/s], ``cloud_cover`` [0..1], ``power_w`` [W].
"""
