"""Today's forecast: the sun by the simulator's own physics, use by history, and the morning's kept and scored.

The accuracy bound. Over a simulated week the noon-to-20:00 solar forecast's mean absolute error must stay
within 5 % of the arrays' rated power, and below that of "the same as yesterday". Why 5 %: the forecast holds
the last hour's cloud cover, so what it cannot know is how the cover drifts over the eight hours ahead; in the
simulator that drift is a weather system of a day and a half (cover swinging ±0.38) under passing clouds of
20 minutes (±0.12). Measured as this test does on twelve weeks (four seasons, three weather seeds) the
week's error was 0.5-3.9 % of rating (the worst a summer week of monsoon cloud) against 0.6-8.2 % for the
same as yesterday; 5 % is that worst with a margin, and the low end of what a day-ahead service is commonly
held to for a single site (5-10 %), here without a weather model.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from dashboard.model.forecast import (LEVEL_BOUNDS, SLOTS, from_history, learnt_factor, mean_abs_error,
                                      solar_slots)
from dashboard.model.poller import ExhibitModel
from dashboard.model.slots import SLOT_S
from dashboard.model.views import ModelSettings
from dashboard.status import render, status_data
from expo.store import open_store
from physics.pv_forecast import ac_per_rated_w
from simulators import scenario as scenarios
from simulators.backfill import backfill
from simulators.engine import Simulation
from tests.dashboard.conftest import SMALL, FakeClock

TZ = dt.timezone(dt.timedelta(hours=8))
LAT, LON = 39.0, 117.7


def week(start: str, seed: int):
    """A simulated week and a day of the default town at 5-minute steps: (slot starts, the arrays' summed
    power, their rated power, the station's cover 0..1 and temperature), each step the mean of the slot."""
    start_s = dt.datetime.fromisoformat(start).replace(tzinfo=TZ).timestamp()
    sim = Simulation(scenarios.load("tianjin-demo"), seed, start_s, SLOT_S)
    frame = sim.advance(8 * SLOTS)
    kinds = [m.kind for m in sim.metas]
    arrays = [i for i, k in enumerate(kinds) if k == "pv"]
    station = kinds.index("weather_station")
    return (start_s, frame.times_s - SLOT_S, frame.metrics["power_w"][arrays].sum(axis=0),
            sum(sim.metas[i].rated_power_w for i in arrays), frame.metrics["cloud_cover_pct"][station] / 100.0,
            frame.metrics["temperature_c"][station])


@pytest.mark.parametrize("start, seed", [("2026-06-01", 7), ("2026-12-07", 3)])
def test_the_noon_solar_forecast_of_a_simulated_week_is_within_five_percent(start, seed):
    start_s, times, made, rated, cover, temp = week(start, seed)
    ours, yesterdays = [], []
    for day in range(1, 8):
        day_s = start_s + day * 86400
        noon = int(np.searchsorted(times, day_s + 12 * 3600))
        past = (times >= day_s - 86400) & (times < times[noon])
        factor = learnt_factor(dict(zip(times[past].astype(int), made[past])),
                               dict(zip(times[past].astype(int), cover[past])), rated, LAT, LON, temp[noon - 1])
        held = float(cover[noon - 12:noon].mean())  # the last hour's, as the model holds it
        forecast = solar_slots(day_s, 144, rated, LAT, LON, held, float(temp[noon - 1]), factor)
        today = list(made[(times >= day_s) & (times < day_s + 86400)])
        yesterday = [None] * 144 + list(made[(times >= day_s - 86400) & (times < day_s)])[144:]
        error, slots = mean_abs_error(forecast, today, 144, 240)  # 12:00 to 20:00
        assert slots == 96
        ours.append(error)
        yesterdays.append(mean_abs_error(yesterday, today, 144, 240)[0])
        assert all(v == 0 for v in forecast[252:]), "the sun forecast after 21:00 is not dark"
    assert np.mean(ours) / rated <= 0.05, f"week's error {np.mean(ours) / rated:.1%} of rating"
    assert np.mean(ours) < np.mean(yesterdays), "no better than the same as yesterday"


@given(st.floats(0.2, 1.3), st.floats(0.0, 1.0))
def test_the_learnt_factor_is_the_arrays_own(factor, cover):
    """An array making ``factor`` times the model under any cover is learnt as exactly that."""
    day = dt.datetime(2026, 6, 1, tzinfo=TZ).timestamp()
    buckets = day + 60 * np.arange(1440)
    model = 10_000 * ac_per_rated_w(buckets + 30, LAT, LON, cover)
    learnt = learnt_factor(dict(zip(buckets.astype(int), factor * model)), dict.fromkeys(buckets.astype(int), cover),
                           10_000, LAT, LON, 15.0)
    assert learnt == pytest.approx(factor, rel=1e-9)


def test_a_what_if_teaches_the_factor_nothing():
    """A visitor's "twice the PV" for an hour at noon is not the arrays: the factor learnt around it is theirs."""
    from expo.whatif import WhatIfSpan

    day = dt.datetime(2026, 6, 1, tzinfo=TZ).timestamp()
    buckets = day + 60 * np.arange(1440)
    made = 0.8 * 10_000 * ac_per_rated_w(buckets + 30, LAT, LON, 0.0)
    noon = (buckets >= day + 12 * 3600) & (buckets < day + 13 * 3600)
    made[noon] *= 2
    observed = dict(zip(buckets.astype(int), made))
    doubled = WhatIfSpan("town", "double_pv", "twice the PV", "光伏翻倍", day + 12 * 3600, day + 13 * 3600 - 60,
                         day + 13 * 3600, day + 13 * 3600)
    assert learnt_factor(observed, {}, 10_000, LAT, LON, 15.0) > 0.85  # taught by the doubled hour
    assert learnt_factor(observed, {}, 10_000, LAT, LON, 15.0, [doubled]) == pytest.approx(0.8, rel=1e-9)


def test_a_night_teaches_nothing():
    night = dt.datetime(2026, 6, 1, 22, tzinfo=TZ).timestamp() + 60 * np.arange(300)
    assert learnt_factor(dict.fromkeys(night.astype(int), 0.0), {}, 10_000, LAT, LON, 15.0) is None


# a day drawn by the hour (each hour's value in its twelve slots): shrinks in seconds where 288 free slots took
# hypothesis minutes
slot_values = st.lists(st.one_of(st.none(), st.floats(0, 1e6)), min_size=24, max_size=24).map(
    lambda hours: [v for v in hours for _ in range(SLOTS // 24)])


@given(slot_values, slot_values, slot_values, st.integers(0, SLOTS - 1))
def test_use_from_history_is_the_references_levelled_within_bounds(yesterday, week_ago, today, now):
    out, basis = from_history([yesterday, week_ago], today, now)
    assert len(out) == SLOTS and all(v is None for v in out[:now])  # the day so far is measured, not forecast
    present = [[r[i] for r in (yesterday, week_ago) if r[i] is not None] for i in range(SLOTS)]
    means = [float(np.mean(p)) if p else None for p in present]
    if any(m is not None for m in means[now:]):
        assert basis == "history"
        ahead = [i for i in range(now, SLOTS) if means[i] is not None]
        assert all(out[i] is not None for i in ahead)
        top = max(ahead, key=lambda i: means[i])
        if means[top] > 1:  # one level for the whole rest of the day, within its bounds (out is to 0.1 W)
            level = out[top] / means[top]
            assert LEVEL_BOUNDS[0] - 0.1 / means[top] <= level <= LEVEL_BOUNDS[1] + 0.1 / means[top]
            assert all(abs(out[i] - means[i] * level) <= 0.11 for i in ahead)
    elif any(v is not None for v in today[max(0, now - 6):now + 1]):
        assert basis == "persistence" and len(set(out[now:])) == 1
    else:
        assert basis == "none" and out == [None] * SLOTS


def test_a_busier_day_is_forecast_busier():
    reference = [1000.0] * SLOTS
    today = [1300.0] * 100 + [None] * (SLOTS - 100)
    out, _ = from_history([reference], today, 100)
    assert out[100:] == [1300.0] * (SLOTS - 100)


# through the model: a store, two days of a simulated town, the morning's forecast kept and scored -------------


def fill(store_url: str, sim: Simulation, until_s: float) -> None:
    store = open_store(store_url)
    try:
        backfill(sim, int(round((until_s - sim.next_time_s) / sim.step_s)) + 1, store)
    finally:
        store.close()


def settle(model: ExhibitModel) -> None:
    for _ in range(20):  # the two days come back a chunk a poll
        model.poll()
        if model.history_complete:
            break
    model.poll()


def test_the_morning_forecast_is_kept_and_scored_against_the_day(tmp_path):
    day = dt.datetime(2026, 6, 2, tzinfo=TZ).timestamp()
    url = f"sqlite:///{tmp_path / 'expo.db'}"
    sim = Simulation(scenarios.load(str(SMALL)), 2, day - 86400 - 60, 60.0)
    fill(url, sim, day + 9 * 3600)
    clock = FakeClock(day + 9 * 3600 + 5)
    model = ExhibitModel(lambda: open_store(url), ModelSettings(timezone="Asia/Shanghai"), clock=clock)
    settle(model)
    morning = model.snapshot.forecast
    assert morning is not None and morning.made_s >= day + 9 * 3600
    assert (morning.solar_basis, morning.load_basis) == ("physics", "history")
    assert morning.cover is not None and 0 <= morning.cover <= 1
    now = morning.from_slot
    assert now == 108 and all(v is None for v in morning.load_w[:now] + morning.solar_w[:now])
    assert all(v is not None and v > 0 for v in morning.load_w[now:])
    assert max(morning.solar_w[132:168]) > 0 and all(v == 0 for v in morning.solar_w[256:])  # noon, and night
    assert len(morning.building_solar_w) == SLOTS and max(morning.building_solar_w[132:168]) > 0
    assert model.snapshot.forecast_score is not None and model.snapshot.forecast_score.made_s == morning.made_s

    for _ in range(24):  # the morning goes by, ten minutes a poll (each re-reads its newest hour)
        fill(url, sim, clock.advance(600) - 5)
        model.poll()
    later, score = model.snapshot.forecast, model.snapshot.forecast_score
    assert later.made_s > morning.made_s and later.from_slot == 156
    assert score.made_s == morning.made_s  # the morning's is the one scored, not the newest
    assert score.slots == 48  # 09:00 to 13:00 in five-minute slots
    assert 0 < score.load_mae_w <= 0.3 * score.load_peak_w
    assert score.solar_mae_w is not None and score.solar_mae_w <= 0.2 * score.solar_rated_w
    page = render(status_data(model), "en")
    assert "sun by physics" in page and f"{score.slots} five-minute slots" in page
    assert "use by history" in page


def test_the_forecast_starts_over_at_midnight(tmp_path):
    day = dt.datetime(2026, 6, 2, tzinfo=TZ).timestamp()
    url = f"sqlite:///{tmp_path / 'expo.db'}"
    sim = Simulation(scenarios.load(str(SMALL)), 2, day - 3 * 3600, 60.0)
    fill(url, sim, day + 20 * 60)
    clock = FakeClock(day - 3600)
    model = ExhibitModel(lambda: open_store(url), ModelSettings(timezone="Asia/Shanghai"), clock=clock)
    settle(model)
    before = model.snapshot.forecast
    assert before.day_start_s == day - 86400 and model.snapshot.forecast_score is not None  # 23:00: 08:00 passed
    clock.now_s = day + 10 * 60
    model.poll()
    after = model.snapshot.forecast
    assert after.day_start_s == day and after.from_slot == 2
    assert model.snapshot.forecast_score is None  # before 08:00 no forecast of the new day is kept yet
    assert not math.isnan(sum(v for v in after.load_w[2:] if v is not None))
