"""Port and industrial loads: shapes a port engineer or a plant's energy manager would check first."""

import numpy as np
from hypothesis import given, settings, strategies as st
from numpy.testing import assert_allclose

from physics import industry, port

JULY_1_LOCAL_S = 1782835200  # a Wednesday, 00:00 local
WEEK_S = np.arange(JULY_1_LOCAL_S, JULY_1_LOCAL_S + 7 * 86400, 10.0)


def local_hour(t):
    return np.mod(t / 3600.0 + 8.0, 24.0)


def test_a_crane_draws_its_rating_only_while_hoisting_and_about_a_quarter_on_average():
    share = port.crane_share(WEEK_S, 1, np.arange(20))
    assert share.min() >= port.CRANE_AUX_SHARE - 1e-12 and share.max() <= 0.85 + 1e-12
    assert 0.15 < share.mean() < 0.35  # STS cranes: a few hundred kW average on a 1.5 MW rating
    hoisting = (share == 0.85).mean()
    assert 0.15 < hoisting < 0.3  # about 30 % of a move, while the gang works
    one = port.crane_share(np.arange(0.0, 1200.0, 1.0) + JULY_1_LOCAL_S, 1, np.array([3]))[0]
    working = one[one > port.CRANE_AUX_SHARE]
    if len(working) > 240:  # a working stretch repeats every cycle
        i = np.flatnonzero(one > port.CRANE_AUX_SHARE)[0]
        assert_allclose(one[i:i + 120], one[i + 120:i + 240])


def test_shore_power_only_with_a_ship_alongside_at_its_hotel_load():
    rated = np.full(30, 3e6)
    power = port.shore_power_w(WEEK_S, rated, 4, np.arange(30))
    occupied = port.berth_occupied(WEEK_S, 4, np.arange(30))
    assert np.all(power[~occupied] == 0)
    assert np.all((power[occupied] >= 0.4 * 3e6) & (power[occupied] <= 0.6 * 3e6))
    assert 0.25 < occupied.mean() < 0.55
    stays_h = np.diff(np.flatnonzero(np.diff(occupied[0].astype(int)))) * 10 / 3600
    assert len(stays_h) and np.median(stays_h) > 2  # ships stay for hours, not minutes


def test_process_loads_keep_their_base_run_quieter_at_weekends_and_stop_rarely():
    t = np.arange(JULY_1_LOCAL_S, JULY_1_LOCAL_S + 28 * 86400, 600.0)
    day = np.floor((t + 8 * 3600) / 86400).astype(int)
    weekend = (day + 3) % 7 >= 5
    base = np.linspace(0.4, 0.85, 200)
    share = industry.process_share(t, local_hour(t), weekend, base, 5, np.arange(200))
    running = share > industry.MAINTENANCE_LEVEL
    assert 0.9 < running.mean() < 0.995  # a few days a year in maintenance
    assert np.all(np.where(running, share >= 0.8 * base[:, None], True))  # the base never stops while running
    assert share[:, weekend].mean() < share[:, ~weekend].mean()
    assert np.all(share <= 1.0)
    power = industry.process_power_w(t, local_hour(t), weekend, np.full(200, 1e6), base, 5, np.arange(200))
    assert_allclose(power, 1e6 * share)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**31 - 1), split=st.integers(1, 999))
def test_chunks_equal_the_whole(seed, split):
    t = np.arange(JULY_1_LOCAL_S, JULY_1_LOCAL_S + 1000 * 60.0, 60.0)
    rows = np.arange(4)
    for fn in (lambda x: port.crane_share(x, seed, rows), lambda x: port.shore_power_w(x, np.ones(4), seed, rows),
               lambda x: industry.process_share(x, local_hour(x), np.zeros(len(x), bool), np.full(4, 0.5), seed,
                                                rows)):
        whole = fn(t)
        np.testing.assert_array_equal(np.concatenate([fn(t[:split]), fn(t[split:])], axis=1), whole)
