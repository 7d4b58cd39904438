"""The exhibit model against real stores: its figures equal the same figures computed from raw readings."""

from __future__ import annotations

import math
import time
from collections import defaultdict

import pytest

from dashboard.categories import LOADS, SOURCES, USES, counted_kind, split
from dashboard.model import LATEST_FULL_EVERY_S, LATEST_OVERLAP_S, SLOT_S, SLOTS, ExhibitModel, ModelSettings
from expo.kinds import KINDS, Flow
from expo.store import StoreUnavailable
from tests.dashboard.conftest import FakeClock, Filled, raw


def same(actual, expected) -> bool:
    if expected is None or actual is None:
        return actual is expected
    return actual == pytest.approx(expected, rel=1e-6, abs=1e-6)


def model_for(filled, clock=time.time, **settings) -> ExhibitModel:
    return ExhibitModel(filled.open, ModelSettings(**settings), clock=clock)


def metas(filled):
    return {m.device: m for m in filled.sim.site.metas}


def categorised_minutes(filled, since_s):
    """minute -> category -> W, from raw readings (one reading a minute per meter in these stores)."""
    by_device = metas(filled)
    parents = {m.parent for m in by_device.values() if m.parent}
    minutes = defaultdict(lambda: defaultdict(float))
    for device, ts, value in raw(filled.url, "power_w", since_s):
        meta = by_device[device]
        if counted_kind(meta.kind, device in parents, bool(meta.parent)):
            for category, w in split(meta.kind, value):
                minutes[int(ts // 60) * 60][category] += w
    return minutes


def test_sources_equal_uses_now_and_today(filled):
    """Parent meters are not counted twice: what the sources supply is what the uses take, to the watt."""
    snapshot = model_for(filled).poll()
    assert snapshot.store_ok, snapshot.store_error
    supply = sum(snapshot.flows_now_w.get(k, 0.0) for k in SOURCES)
    demand = sum(snapshot.flows_now_w.get(k, 0.0) for k in USES)
    assert supply > 0
    assert supply == pytest.approx(demand, rel=1e-6)
    supply_today = sum(snapshot.flows_today_wh.get(k, 0.0) for k in SOURCES)
    demand_today = sum(snapshot.flows_today_wh.get(k, 0.0) for k in USES)
    assert supply_today == pytest.approx(demand_today, rel=1e-6, abs=1e-6)


def test_today_and_curves_equal_raw_readings(filled):
    snapshot = model_for(filled).poll()
    day = snapshot.day_start_s
    minutes = categorised_minutes(filled, day - 86400)
    for key in SOURCES + USES:
        expected_wh = sum(m.get(key, 0.0) for b, m in minutes.items() if b >= day) / 60.0
        assert snapshot.flows_today_wh[key] == pytest.approx(expected_wh, rel=1e-6, abs=1e-6), key
        for slot in range(SLOTS):
            present = [m.get(key, 0.0) for b, m in minutes.items() if day + slot * SLOT_S <= b < day + (slot + 1) * SLOT_S]
            expected = sum(present) / len(present) if present else None
            assert same(snapshot.curve_today[key][slot], expected), (key, slot, snapshot.curve_today[key][slot], expected)
    for slot in range(SLOTS):
        lo, hi = day - 86400 + slot * SLOT_S, day - 86400 + (slot + 1) * SLOT_S
        present = [sum(m.get(k, 0.0) for k in LOADS) for b, m in minutes.items() if lo <= b < hi]
        expected = sum(present) / len(present) if present else None
        assert same(snapshot.curve_yesterday_w[slot], expected), (slot, snapshot.curve_yesterday_w[slot], expected)
    counted = sum(1 for _, ts, _ in raw(filled.url, "power_w", day))
    assert snapshot.readings_today == counted


def test_history_read_back_a_chunk_per_poll_equals_one_read(filled_sqlite, monkeypatch):
    """A big town reads today and yesterday back over several polls, each bounded; the result is the
    same as reading them at once."""
    import dashboard.model.minutes as minutes_module

    whole = model_for(filled_sqlite).poll()
    devices = len(filled_sqlite.sim.site.metas)
    monkeypatch.setattr(minutes_module, "MINUTE_ROWS_PER_POLL", devices * 20)  # 20 minutes a poll
    wrapped = CountingStore(filled_sqlite.open())
    model = ExhibitModel(lambda: wrapped, ModelSettings())
    polls = 0
    while not model.history_complete:
        snapshot = model.poll()
        polls += 1
        assert polls < 200
    assert polls >= 3 * 60 / 20  # three hours of history, 20 minutes at a time
    assert max(span for resolution, span in wrapped.windows if resolution == "1m") <= 20 * 60
    assert snapshot.flows_today_wh == pytest.approx(whole.flows_today_wh)
    assert snapshot.readings_today == whole.readings_today
    for key in SOURCES + USES:
        assert all(same(a, b) for a, b in zip(snapshot.curve_today[key], whole.curve_today[key])), key
    assert all(same(a, b) for a, b in zip(snapshot.curve_yesterday_w, whole.curve_yesterday_w))


def test_zero_energy_building_year_from_its_counters(filled):
    snapshot = model_for(filled).poll()
    building = snapshot.building
    assert building is not None and building.id == filled.sim.scenario.building.id
    by_device = metas(filled)
    first, last = {}, {}
    for device, ts, value in raw(filled.url, "energy_wh", 0):
        if by_device[device].building != building.id:
            continue
        first[device] = min(first.get(device, math.inf), value)
        last[device] = max(last.get(device, -math.inf), value)
    produced = sum(last[d] - first[d] for d in first if KINDS[by_device[d].kind].flow is Flow.PRODUCES)
    used = sum(last[d] - first[d] for d in first if KINDS[by_device[d].kind].flow is Flow.CONSUMES)
    assert used > 0
    assert building.produced_ytd_wh == pytest.approx(produced, rel=1e-6, abs=1e-3)
    assert building.used_ytd_wh == pytest.approx(used, rel=1e-6)
    soc = [v for d, ts, v in raw(filled.url, "soc_pct", 0)]
    assert building.soc_pct is not None and min(soc) <= building.soc_pct <= max(soc)


def test_freshness_follows_the_newest_reading(filled_sqlite):
    model = model_for(filled_sqlite, live_s=30.0)
    assert model.poll().freshness == "delayed"  # the history ends a minute or more ago
    filled_sqlite.write_now()
    snapshot = model.poll()
    assert snapshot.freshness == "live"
    assert snapshot.meters_online == len(filled_sqlite.sim.site.metas) - 0
    assert all(d.state == "live" for d in snapshot.devices)


def test_history_replayed_fast_is_shown_as_replay_not_as_delay(tmp_path):
    empty = Filled(f"sqlite:///{tmp_path / 'replay.db'}", hours=0)
    clock = FakeClock()
    model = model_for(empty, clock)
    start = clock() - 3600
    empty.write_now(offset_s=-3600, now_s=clock())
    model.poll()
    clock.advance(0.6)
    empty.write_now(offset_s=-3600 + 120 - 0.6, now_s=clock())  # two minutes of data in 0.6 s of wall time
    snapshot = model.poll()
    assert snapshot.freshness == "replay"
    assert snapshot.replay_speed > 2
    assert snapshot.clock_s == pytest.approx(start + 120, abs=5)  # the exhibit's clock is the data's


def test_store_outage_keeps_the_last_data_and_fills_the_gap_after(filled_sqlite):
    failing = {"on": False}

    def factory():
        if failing["on"]:
            raise StoreUnavailable("connection refused (test)")
        return filled_sqlite.open()

    model = ExhibitModel(factory, ModelSettings())
    before = model.poll()
    assert before.store_ok
    model._fail("forced")  # as a failed query would: the connection is dropped
    failing["on"] = True
    during = model.poll()
    assert not during.store_ok and "connection refused" in during.store_error
    assert during.devices == before.devices and during.flows_today_wh == before.flows_today_wh
    ts = filled_sqlite.write_now()  # data arrives while the dashboard cannot read
    failing["on"] = False
    after = model.poll()
    assert after.store_ok and after.newest_ts_s == pytest.approx(ts, abs=1e-3)
    assert after.readings_today > before.readings_today or after.day_start_s != before.day_start_s


class CountingStore:
    """Wraps a store and records the time windows the model asks for (of the meters' series: a site's totals
    device, ``devices=["site-totals"]``, is recorded apart), and every call with what it named."""

    def __init__(self, store):
        self.store, self.windows, self.latest_since, self.calls = store, [], [], []

    def rollups(self, resolution, start_s, end_s, metric, devices=None, site=None):
        self.calls.append(("rollups", site, tuple(devices) if devices else None))
        if not devices:
            self.windows.append((resolution, end_s - start_s))
        return self.store.rollups(resolution, start_s, end_s, metric, devices, site=site)

    def latest(self, site=None, since_s=None, devices=None):
        self.calls.append(("latest", site, tuple(devices) if devices else None))
        if not devices:
            self.latest_since.append(since_s)
        return self.store.latest(site, since_s, devices)

    def devices(self, site=None):
        self.calls.append(("devices", site, None))
        return self.store.devices(site)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_steady_polls_read_minutes_not_history(filled_sqlite):
    """After the first poll, a poll reads a few minutes of 1-minute rollups, and at most every RECENT_EVERY_S
    (a store writes them a few times a minute): cost flat as history grows. The newest values, every poll."""
    from dashboard.model.minutes import RECENT_EVERY_S

    clock = FakeClock()
    wrapped = CountingStore(filled_sqlite.open())
    model = ExhibitModel(lambda: wrapped, ModelSettings(), clock=clock)
    model.poll()
    wrapped.windows.clear(), wrapped.latest_since.clear()
    for _ in range(int(RECENT_EVERY_S) - 1):  # a poll a second, until the minutes are due again
        clock.advance(1.0)
        model.poll()
    assert [w for w in wrapped.windows if w[0] == "1m"] == []
    assert len(wrapped.latest_since) == int(RECENT_EVERY_S) - 1
    for _ in range(3):
        clock.advance(RECENT_EVERY_S)
        model.poll()
    minute_windows = [span for resolution, span in wrapped.windows if resolution == "1m"]
    assert not model.snapshot.replay_speed  # live: the running minute and the two before it, a minute ahead
    assert len(minute_windows) == 3 and max(minute_windows) <= 4 * 60
    newest = model.snapshot.newest_ts_s
    assert wrapped.latest_since and all(since is not None and since >= newest - LATEST_OVERLAP_S
                                        for since in wrapped.latest_since)


def test_short_looks_keep_what_they_do_not_see_and_the_full_look_finds_late_readings(filled_sqlite):
    """A metric outside the short window keeps its newest value; a reading that arrived late, older than the
    window, shows at the next full look."""
    from expo.reading import Reading
    from expo.store import Batch

    clock = FakeClock()
    model = model_for(filled_sqlite, clock)
    first = {d.device: d for d in model.poll().devices}
    now = filled_sqlite.write_now()
    device = next(iter(first))
    store = filled_sqlite.open()
    try:  # only power, nothing else: the device's other metrics must stay as they were
        store.write(Batch(readings=[Reading(first[device].site, device, now + 600, {"power_w": 1234.5})]))
    finally:
        store.close()
    shown = {d.device: d for d in model.poll().devices}[device]
    assert shown.power_w == pytest.approx(1234.5)
    assert set(first[device].metrics) <= set(shown.metrics)
    late = next(d for d in first if d != device)
    store = filled_sqlite.open()
    try:  # a late reading, older than the short window (which hangs from now + 600) but newer than held
        late_ts = now + 1
        assert late_ts < now + 600 - LATEST_OVERLAP_S
        store.write(Batch(readings=[Reading(first[late].site, late, late_ts, {"power_w": 4321.0})]))
    finally:
        store.close()
    assert {d.device: d for d in model.poll().devices}[late].power_w != pytest.approx(4321.0)
    clock.advance(LATEST_FULL_EVERY_S)  # five minutes on: time for a full look
    assert {d.device: d for d in model.poll().devices}[late].ts_s == pytest.approx(late_ts, abs=1e-3)


def test_a_week_old_replay_is_found_and_followed(tmp_path):
    """An accelerated simulator starts a week back: the dashboard must show that data, not 'waiting'."""
    empty = Filled(f"sqlite:///{tmp_path / 'week.db'}", hours=0)
    clock = FakeClock()
    model = model_for(empty, clock)
    week = 7 * 86400
    empty.write_now(offset_s=-week, now_s=clock())
    first = model.poll()
    assert first.newest_ts_s == pytest.approx(clock() - week, abs=5)
    assert len([d for d in first.devices if d.ts_s]) == len(empty.sim.site.metas)
    clock.advance(0.6)
    empty.write_now(offset_s=-week + 300 - 0.6, now_s=clock())  # five minutes of data in 0.6 s
    snapshot = model.poll()
    assert snapshot.freshness == "replay" and snapshot.meters_online == len(empty.sim.site.metas)


def test_old_data_arriving_after_the_first_poll_is_found_at_the_next(tmp_path):
    empty = Filled(f"sqlite:///{tmp_path / 'later.db'}", hours=0)
    model = model_for(empty)
    assert model.poll().newest_ts_s is None
    empty.write_now(offset_s=-7 * 86400)  # an accelerated simulator's first step, a week back
    assert model.poll().newest_ts_s == pytest.approx(time.time() - 7 * 86400, abs=5)


def test_a_steady_poll_on_influxdb_groups_over_no_series(influxdb):
    """InfluxDB's cost is grouping over every series (two GROUP BY queries over raw readings took 0.5-1.2 s at
    2,026 meters): a steady poll reads the writer's ``latest`` points and the rollups as plain series."""
    store = Filled(influxdb.url("dash"), hours=3).open()
    asked: list[str] = []
    real = store._http.query
    store._http.query = lambda db, q, write=False: asked.append(q) or real(db, q, write)
    model = ExhibitModel(lambda: store, ModelSettings())
    model.poll()
    asked.clear()
    for _ in range(3):
        model.poll()
    assert asked and not [q for q in asked if "GROUP BY" in q]


@pytest.mark.parametrize("said_s, state", [(990.0, "live"), (1_010.0, "offline")])
def test_a_last_will_counts_only_until_the_meter_reads_again(said_s, state):
    """Offline by its own word until a reading newer than the will: a meter back online is live at once."""
    from dashboard.model.latest import devices_now
    from expo.metadata import DeviceMeta
    from expo.reading import Reading
    from expo.store import DeviceState

    metas = {("binhai", "plug-7"): DeviceMeta("binhai", "plug-7", "plug_load", "Plug", "插座", source="meter")}
    latest = [Reading("binhai", "plug-7", 1_000.0, {"power_w": 50.0})]
    told = {("binhai", "plug-7"): DeviceState("binhai", "plug-7", "offline", said_s)}
    (device,) = devices_now(metas, latest, 1_030.0, ModelSettings(), told)
    assert device.state == state and device.offline_since_s == (said_s if state == "offline" else None)
