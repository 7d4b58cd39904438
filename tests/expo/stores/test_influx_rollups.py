"""InfluxDB's rollups are kept by the writer from what it writes: exact across restarts, redeliveries and late
readings, and in steady operation the server is asked nothing. Each device's newest values come from the
``latest`` measurement, one point per device, without grouping over series."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from expo.reading import Reading
from expo.store import Batch, parse_store
from expo.stores._influx.line_protocol import reading_line
from expo.stores.influxdb import InfluxStore
from tests.expo.stores.test_stores import T0, expected_rollups

_names = itertools.count()


@pytest.fixture
def server(influx_server):
    return influx_server


def open_new(server, name):
    return InfluxStore(parse_store(server.url(name)))


def asked(store) -> list[str]:
    """Every InfluxQL statement the store sends from now on."""
    seen: list[str] = []
    real = store._http.query
    store._http.query = lambda db, q, write=False: seen.append(q) or real(db, q, write)
    return seen


def rollups_of(store, resolution):
    return {r.bucket_s: (r.count, r.mean, r.min, r.max, r.last)
            for r in store.rollups(resolution, T0 - 3600, T0 + 5 * 3600, "power_w", ["home-001"])}


def check(store, truth):
    for resolution, width in (("1m", 60), ("1h", 3600)):
        got, want = rollups_of(store, resolution), expected_rollups(truth, width)
        assert got.keys() == want.keys(), resolution
        for bucket, values in want.items():
            assert got[bucket] == pytest.approx(values, rel=1e-9, abs=1e-6), (resolution, bucket)


parts = st.lists(st.lists(st.tuples(st.integers(0, 2 * 3600 - 1), st.integers(-1000, 1000)), min_size=1, max_size=30),
                 min_size=1, max_size=4)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=parts, restarts=st.lists(st.booleans(), min_size=4, max_size=4))
def test_rollups_stay_exact_across_restarts_redeliveries_and_late_readings(server, parts, restarts):
    name = f"r{next(_names)}"
    store = open_new(server, name)
    truth: dict[float, float] = {}
    try:
        for part, restart in zip(parts, restarts):
            if restart:  # a new process: it never saw what the store holds
                store.close()
                store = open_new(server, name)
            store.write(Batch(readings=[Reading("binhai", "home-001", T0 + s, {"power_w": float(v)}) for s, v in part]))
            truth.update({T0 + s: float(v) for s, v in part})
            store.maintain(force=True)
        check(store, truth)
    finally:
        store.close()


def test_in_steady_operation_rollups_ask_the_server_nothing(server):
    store = open_new(server, f"steady{next(_names)}")
    readings = [Reading("binhai", f"home-{d:03d}", T0 + step * 10, {"power_w": 100.0 + step, "energy_wh": step * 0.3})
                for step in range(30) for d in range(20)]
    store.write(Batch(readings=readings[:20]))  # the first write learns what the store holds
    queries = asked(store)
    for start in range(20, len(readings), 100):
        store.write(Batch(readings=readings[start:start + 100]))
        store.maintain(force=True)
    assert [q for q in queries if "FROM" in q] == []
    [row] = store.rollups("1h", T0, T0 + 3600, "power_w", ["home-007"])
    assert (row.count, row.min, row.max, row.last) == (30, 100.0, 129.0, 129.0)
    assert row.mean == pytest.approx(114.5)
    store.close()


def test_a_late_reading_for_a_minute_long_written_corrects_it(server):
    store = open_new(server, f"late{next(_names)}")
    truth = {T0 + s: float(s) for s in range(0, 600, 10)}
    store.write(Batch(readings=[Reading("binhai", "home-001", t, {"power_w": v}) for t, v in truth.items()]))
    store.maintain(force=True)
    store.write(Batch(readings=[Reading("binhai", "home-001", T0 + 65, {"power_w": -5.0})]))  # minute 1, late
    truth[T0 + 65] = -5.0
    store.maintain(force=True)
    check(store, truth)
    store.close()


def test_latest_values_are_one_point_per_device_without_grouping(server):
    name = f"latest{next(_names)}"
    writer = open_new(server, name)
    writer.write(Batch(readings=[Reading("binhai", "home-001", T0 + 20, {"power_w": 5.0}),
                                 Reading("binhai", "home-001", T0 + 10, {"power_w": 4.0, "voltage_v": 220.0}),
                                 Reading("binhai", "home-002", T0 + 3700, {"power_w": 7.0})]))
    writer.write(Batch(readings=[Reading("binhai", "home-001", T0 + 15, {"power_w": 3.0})]))  # late: not newest
    reader = open_new(server, name)
    queries = asked(reader)
    got = {r.device: (r.ts_s, r.metrics) for r in reader.latest()}
    assert got == {"home-001": (T0 + 20, {"power_w": 5.0, "voltage_v": 220.0}),
                   "home-002": (T0 + 3700, {"power_w": 7.0})}
    assert [r.device for r in reader.latest(since_s=T0 + 100)] == ["home-002"]
    assert not any("GROUP BY" in q for q in queries)
    writer.close()
    reader.close()


def test_a_store_written_before_the_latest_measurement_is_read_from_its_raw_points(server):
    name = f"old{next(_names)}"
    old = Reading("binhai", "home-009", T0, {"power_w": 9.0})
    writer = open_new(server, name)
    writer._http.write(name, [reading_line(old)], "ms")  # as an older ingest wrote it: raw points only
    reader = open_new(server, name)
    assert [(r.device, r.metrics) for r in reader.latest()] == [("home-009", {"power_w": 9.0})]
    writer.write(Batch(readings=[Reading("binhai", "home-010", T0, {"power_w": 1.0})]))  # a new writer starts
    fresh = open_new(server, name)
    assert sorted(r.device for r in fresh.latest()) == ["home-009", "home-010"]
    for s in (writer, reader, fresh):
        s.close()


def test_rollups_are_one_point_per_bucket_and_those_of_the_earlier_layout_are_still_read(server):
    """A bucket is one point with a field per metric and statistic; points written one per metric (before)
    are read beside them, and where a bucket has both, the newer layout's point counts."""
    name = f"layout{next(_names)}"
    writer = open_new(server, name)
    writer.write(Batch(readings=[Reading("binhai", "home-001", T0 + 1, {"power_w": 2.0, "voltage_v": 230.0}),
                                 Reading("binhai", "home-001", T0 + 2, {"power_w": 4.0, "voltage_v": 231.0})]))
    writer.maintain(force=True)
    points = writer._http.query(name, f'SELECT * FROM "rollup_1m" WHERE time = {int(T0) * 1000}ms')
    [series] = points
    assert len(series["values"]) == 1 and "metric" not in series["columns"]
    earlier = [  # as an older ingest wrote them: one point per metric, a `metric` tag, the same statistics
        f"rollup_1m,site=binhai,device=home-002,metric=power_w n=2i,mean=5.0,min=4.0,max=6.0,last=6.0 {int(T0) * 1000}",
        f"rollup_1m,site=binhai,device=home-002,metric=voltage_v n=2i,mean=1.0,min=1.0,max=1.0,last=1.0 {int(T0) * 1000}",
        f"rollup_1m,site=binhai,device=home-001,metric=power_w n=9i,mean=9.0,min=9.0,max=9.0,last=9.0 {int(T0) * 1000}",
    ]
    writer._http.write(name, earlier, "ms")
    reader = open_new(server, name)
    got = {r.device: (r.count, r.mean, r.min, r.max, r.last)
           for r in reader.rollups("1m", T0, T0 + 60, "power_w")}
    assert got == {"home-001": (2, 3.0, 2.0, 4.0, 4.0), "home-002": (2, 5.0, 4.0, 6.0, 6.0)}
    assert [r.device for r in reader.rollups("1m", T0, T0 + 60, "power_w", ["home-002"])] == ["home-002"]
    assert [(r.device, r.mean) for r in reader.rollups("1m", T0, T0 + 60, "voltage_v")] == [
        ("home-001", 230.5), ("home-002", 1.0)]
    writer.close()
    reader.close()


def test_a_server_that_takes_the_request_and_does_not_answer_is_busy_not_down():
    """Connected but silent past the timeout: StoreBusy (back-pressure). Nobody listening: StoreUnavailable."""
    import socket

    from expo.store import StoreBusy, StoreUnavailable
    from expo.stores._influx.transport import Transport
    from testkit.ports import free_port

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # the kernel accepts the connection; nobody ever answers it
        loaded = Transport("127.0.0.1", listener.getsockname()[1], timeout_s=0.3)
        with pytest.raises(StoreBusy, match="did not answer within 0.3 s"):
            loaded.write("expo", ["reading power_w=1 1"], "ms")
        loaded.close()
    gone = Transport("127.0.0.1", free_port(), timeout_s=0.3)
    with pytest.raises(StoreUnavailable) as raised:
        gone.ping()
    assert not isinstance(raised.value, StoreBusy)


def test_history_older_than_anything_stored_is_counted_without_reading_back(server):
    """A backfill of the day before, after the newest hour: the store holds nothing of those buckets, so the
    writer asks it nothing, even after a restart (the span held is kept in ``latest``)."""
    name = f"backfill{next(_names)}"
    store = open_new(server, name)
    store.write(Batch(readings=[Reading("binhai", f"home-{d:03d}", T0 + 3600 + s, {"power_w": 1.0})
                                for s in range(0, 3600, 60) for d in range(30)]))
    store.close()
    store = open_new(server, name)
    store.write(Batch(readings=[Reading("binhai", "home-000", T0 + 3600 + 3600, {"power_w": 1.0})]))  # learns
    queries = asked(store)
    older = {T0 + s: float(s % 97) for s in range(0, 3600, 10)}
    store.write(Batch(readings=[Reading("binhai", f"home-{d:03d}", t, {"power_w": v})
                                for t, v in older.items() for d in range(30)]))
    store.maintain(force=True)
    assert [q for q in queries if 'FROM "reading"' in q or 'FROM "rollup_1m"' in q] == []
    got = {r.bucket_s: (r.count, r.mean, r.min, r.max, r.last)
           for r in store.rollups("1m", T0, T0 + 3600, "power_w", ["home-001"])}
    want = expected_rollups(older, 60)
    assert got.keys() == want.keys() and all(got[b] == pytest.approx(want[b]) for b in want)
    store.close()


def test_a_closed_minute_goes_out_within_seconds_and_an_open_one_only_once_quiet():
    """Each write of a bucket is all its fields again: a minute its device has moved on from is written within
    5 s, once; an open minute still counting is not written at all (it closes within the minute), one whose
    meter went quiet is written after a quiet half minute. The server is never asked anything."""
    from expo.stores._influx.held import Held
    from expo.stores._influx.rollups import Rollups

    written: list[list[str]] = []
    now = [0.0]
    rollups = Rollups(query=lambda q: pytest.fail(f"asked {q}"), write=written.append, clock=lambda: now[0])
    held = Held()

    def store(ts_s):
        readings = [Reading("binhai", "home-001", ts_s, {"power_w": 1.0})]
        rollups.stored(readings, held)
        held.extend(readings)

    def minutes_written():
        return sorted({int(line.rsplit(" ", 1)[1]) // 1000 - T0 for batch in written for line in batch
                       if line.startswith("rollup_1m")})

    store(T0 + 10)
    now[0] = 6.0
    rollups.maintain(held)
    assert minutes_written() == []  # open
    store(T0 + 70)  # the device moves on: the first minute is closed
    now[0] = 12.0
    rollups.maintain(held)
    assert minutes_written() == [0]
    written.clear()
    now[0] = 31.0
    rollups.maintain(held)
    assert minutes_written() == []  # the open minute, seen on the half-minute beat
    now[0] = 40.0
    store(T0 + 80)  # ... and still counting
    now[0] = 61.0
    rollups.maintain(held)
    assert minutes_written() == []  # changed since the last beat: it will close
    now[0] = 91.0
    rollups.maintain(held)
    assert minutes_written() == [60]  # quiet for a whole beat: its meter went silent; written
    written.clear()
    now[0] = 200.0
    rollups.maintain(held)
    assert minutes_written() == []  # and not again


def test_in_a_stream_without_pauses_rollups_wait_for_one_but_never_more_than_a_minute(monkeypatch):
    from expo.stores._influx import rollups as rollups_module
    from expo.stores._influx.held import Held
    from expo.stores._influx.rollups import Rollups

    written: list[str] = []
    now = [0.0]
    rollups = Rollups(query=lambda q: pytest.fail(q), write=written.extend, clock=lambda: now[0])
    held = Held()

    def store(ts_s, devices=1):
        readings = [Reading("binhai", f"home-{d}", ts_s, {"power_w": 1.0}) for d in range(devices)]
        rollups.stored(readings, held)
        held.extend(readings)

    store(T0)
    store(T0 + 60)  # the first minute is closed
    now[0] = 10.0
    rollups.maintain(held, busy=True)
    assert written == []  # between two writes of a burst: the readings first
    rollups.maintain(held)  # a pause
    assert any(line.startswith("rollup_1m") for line in written)
    rollups.maintain(held, force=True)  # nothing owed any more
    written.clear()
    store(T0 + 120)  # owed from now (10 s)
    store(T0 + 180)  # ... and closed at once
    now[0] = 69.0
    rollups.maintain(held, busy=True)
    assert written == []
    now[0] = 71.0  # a minute without a pause: written anyway
    rollups.maintain(held, busy=True)
    assert any(line.startswith("rollup_1m") for line in written)
    written.clear()
    monkeypatch.setattr(rollups_module, "BUSY_MAX_BUCKETS", 10)
    store(T0 + 180, devices=20)
    store(T0 + 240, devices=20)  # more buckets held than the bound, 20 of them closed: written at once
    now[0] = 72.0
    rollups.maintain(held, busy=True)
    closed = {line.split(" ")[0] for line in written if line.startswith("rollup_1m") and line.endswith(" 1782835380000")}
    assert len(closed) == 20


def test_redeliveries_and_late_readings_in_an_open_minute_ask_nothing_and_a_correction_is_read_back(server):
    """After a reconnect the broker sends what was in flight again: the same readings, known by their second
    and values, are not counted twice, and a reading late but new is added — the server is asked nothing.
    A reading again at a counted second with other values overwrites the stored point: that one is read back."""
    store = open_new(server, f"redeliver{next(_names)}")
    truth = {T0 + s: float(s) for s in (0, 10, 30, 40)}
    first = [Reading("binhai", "home-001", t, {"power_w": v}) for t, v in truth.items()]
    store.write(Batch(readings=first[:1]))  # the writer learns what the store holds
    queries = asked(store)
    store.write(Batch(readings=first[1:]))
    store.write(Batch(readings=first[1:]))  # redelivered
    store.write(Batch(readings=[Reading("binhai", "home-001", T0 + 20, {"power_w": 20.0})]))  # late, new
    truth[T0 + 20] = 20.0
    store.maintain(force=True)
    assert [q for q in queries if "FROM" in q] == []
    check(store, truth)
    store.write(Batch(readings=[Reading("binhai", "home-001", T0 + 30, {"power_w": -7.0})]))  # a correction
    truth[T0 + 30] = -7.0
    store.maintain(force=True)
    assert any('FROM "reading"' in q for q in queries)
    check(store, truth)
    store.close()


def test_a_store_too_busy_for_the_upkeep_is_not_asked_again_at_once():
    """A read-back that times out is tried again 15 s later, not after the next batch: each try would cost the
    writer its timeout while the readings wait."""
    from expo.store import StoreBusy
    from expo.stores._influx.held import Held
    from expo.stores._influx.rollups import Rollups

    tries = []
    now = [0.0]

    def slow(q):
        tries.append(q)
        raise StoreBusy("no answer within 10 s")

    rollups = Rollups(query=slow, write=lambda lines: None, clock=lambda: now[0])
    held = Held({("binhai", "home-001"): [T0, T0 + 30]})  # the store holds this minute: it must be read back
    rollups.stored([Reading("binhai", "home-001", T0 + 40, {"power_w": 1.0})], held)
    now[0] = 6.0
    with pytest.raises(StoreBusy):
        rollups.maintain(held)
    for t in (7.0, 10.0, 20.0):
        now[0] = t
        rollups.maintain(held)
        rollups.maintain(held, busy=True)
    assert len(tries) == 1
    now[0] = 21.5
    with pytest.raises(StoreBusy):
        rollups.maintain(held)
    assert len(tries) == 2


def test_a_writer_waiting_a_moment_for_its_next_batch_is_not_a_pause():
    """In a burst the batches come every fraction of a second and the writer's idle calls fall between them:
    rollups wait until no reading has been stored for PAUSE_S (or the stream's minute is up)."""
    from expo.stores._influx.held import Held
    from expo.stores._influx.rollups import PAUSE_S, Rollups

    written: list[str] = []
    now = [100.0]
    rollups = Rollups(query=lambda q: pytest.fail(q), write=written.extend, clock=lambda: now[0])
    held = Held()
    for step in range(40):  # a batch every 0.2 s; each device's minute closes every 6 batches
        readings = [Reading("binhai", f"home-{d}", T0 + step * 10, {"power_w": 1.0}) for d in range(3)]
        rollups.stored(readings, held)
        held.extend(readings)
        now[0] += 0.2
        rollups.maintain(held)  # the writer's idle moment between two batches
        assert written == []
    now[0] += PAUSE_S
    rollups.maintain(held)
    assert {line.split(" ")[0] for line in written if line.startswith("rollup_1m")} == {
        f"rollup_1m,site=binhai,device=home-{d}" for d in range(3)}


def test_a_burst_is_counted_into_its_buckets_in_the_pause_after_it_exactly_and_without_a_read_back(monkeypatch):
    """Counting (microseconds a reading) waits for the writer's pause, so an acknowledgement waits only for the
    store; a device's readings stored in several batches before the count are its own, not a reason to read
    its bucket back; and readings never wait unboundedly: past a bound they are counted at once."""
    from expo.stores._influx import rollups as rollups_module
    from expo.stores._influx.held import Held
    from expo.stores._influx.rollups import Rollups

    written: list[str] = []
    now = [0.0]
    rollups = Rollups(query=lambda q: pytest.fail(f"asked {q}"), write=written.extend, clock=lambda: now[0])
    held = Held()

    def store(readings):
        rollups.stored(readings, held)
        held.extend(readings)

    store([Reading("binhai", "home-1", T0 + 1, {"power_w": 2.0}), Reading("binhai", "home-2", T0 + 1, {"power_w": 5.0})])
    store([Reading("binhai", "home-1", T0 + 2, {"power_w": 4.0})])  # home-1 again, inside its own span
    rollups.maintain(held, busy=True)
    assert rollups.uncounted == 3 and written == []
    now[0] = 2.0  # a pause
    rollups.maintain(held)
    assert rollups.uncounted == 0
    rollups.maintain(held, force=True)  # the open minute written now, not once it has been quiet
    minute = {line.split(" ")[0]: line.split(" ")[1] for line in written if line.startswith("rollup_1m")}
    assert minute["rollup_1m,site=binhai,device=home-1"].startswith("power_w_n=2i,power_w_mean=3.0,power_w_min=2.0,"
                                                                    "power_w_max=4.0,power_w_last=4.0")
    assert minute["rollup_1m,site=binhai,device=home-2"].startswith("power_w_n=1i,power_w_mean=5.0")
    monkeypatch.setattr(rollups_module, "COUNT_DEFER_READINGS", 2)
    store([Reading("binhai", "home-1", T0 + 3, {"power_w": 1.0})])
    assert rollups.uncounted == 1
    store([Reading("binhai", "home-2", T0 + 3, {"power_w": 1.0})])
    assert rollups.uncounted == 0  # the bound: counted at once, in the stream
    monkeypatch.setattr(rollups_module, "COUNT_DEFER_READINGS", 1000)
    store([Reading("binhai", "home-1", T0 + 4, {"power_w": 1.0})])
    now[0] += rollups_module.COUNT_DEFER_S  # ... and none waits longer than COUNT_DEFER_S in a stream
    store([Reading("binhai", "home-2", T0 + 4, {"power_w": 1.0})])
    assert rollups.uncounted == 0


stamps = st.lists(st.lists(st.integers(0, 40 * 3600), min_size=1, max_size=40), min_size=1, max_size=6)


@given(stamps, st.integers(0, 40 * 3600), st.sampled_from([60, 3600]))
def test_what_the_writer_knows_held_never_misses_a_stored_point(batches, start, width):
    """Spans and the gaps inside them, after any order of batches: a bucket holding a stored point is never
    judged empty (a bucket judged empty is written from the writer's count alone, over what the store holds)."""
    from expo.stores._influx.held import Held

    held, stored = Held(), []
    for batch in batches:
        held.extend([Reading("binhai", "home-001", float(t), {"power_w": 1.0}) for t in batch])
        stored += batch
    start -= start % width
    if any(start <= t < start + width for t in stored):
        assert held.may_hold(("binhai", "home-001"), start, start + width)


def test_a_week_backfilled_before_the_live_hour_is_counted_without_reading_back(server):
    """History filled day by day into the stretch before the hour already live: every bucket of it lies in a
    gap the writer knows is empty, so the server is asked nothing (the city's week asked it for every
    device's every minute, in queries longer than the timeout)."""
    name = f"gaps{next(_names)}"
    store = open_new(server, name)
    devices = [f"home-{d:03d}" for d in range(30)]
    store.write(Batch(readings=[Reading("binhai", d, T0 + 10 * 3600 + s, {"power_w": 1.0})
                                for s in range(0, 3600, 300) for d in devices]))  # the live hour first
    queries = asked(store)
    truth: dict[float, float] = {}
    for hour in range(3):  # then the history before it, a segment at a time, as backfill writes it
        part = {T0 + hour * 3600 + s: float((hour * 3600 + s) % 89) for s in range(0, 3600, 60)}
        store.write(Batch(readings=[Reading("binhai", d, t, {"power_w": v}) for t, v in part.items()
                                    for d in devices]))
        store.maintain(force=True)
        truth.update(part)
    assert [q for q in queries if 'FROM "reading"' in q] == []
    check(store, truth)
    store.close()


def test_a_read_back_names_a_few_hundred_devices_at_most_and_finds_them_by_one_expression(server):
    """After a restart every device's minute is unsure: read back in queries of at most READ_BACK_DEVICES
    (250) devices, named by one regular expression each, and exact."""
    from expo.stores._influx.rollups import READ_BACK_DEVICES, windows

    keys = [("binhai", f"m-{d:05d}", T0) for d in range(2 * READ_BACK_DEVICES + 50)]
    parts = list(windows(keys, 60))
    assert [len(devices) for _, _, devices, _ in parts] == [READ_BACK_DEVICES, READ_BACK_DEVICES, 50]
    assert sorted(k for _, _, _, items in parts for k in items) == sorted(keys)

    name = f"wide{next(_names)}"
    store = open_new(server, name)
    devices = [f"home-{d:03d}" for d in range(80)]  # more than a filter names one by one
    store.write(Batch(readings=[Reading("binhai", d, T0 + 10, {"power_w": 10.0}) for d in devices]))
    store.maintain(force=True)
    store.close()
    store = open_new(server, name)  # a new process: every minute of these devices is unsure
    queries = asked(store)
    store.write(Batch(readings=[Reading("binhai", d, T0 + 40, {"power_w": 30.0}) for d in devices]))
    store.maintain(force=True)
    read_backs = [q for q in queries if 'FROM "reading"' in q]
    assert read_backs and all('"device" =~ /^(?:home-000|' in q for q in read_backs)
    for d in devices[::13]:
        [row] = store.rollups("1m", T0, T0 + 60, "power_w", [d])
        assert (row.count, row.mean, row.min, row.max, row.last) == (2, 20.0, 10.0, 30.0, 30.0)
    store.close()
