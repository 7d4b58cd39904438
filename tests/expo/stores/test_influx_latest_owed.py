"""A device's newest values reach ``latest`` at most every few seconds, yet a writer that starts after a crash
still counts every rollup bucket right."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, strategies as st

from expo.reading import Reading
from expo.store import Batch, parse_store
from expo.stores._influx.held import Held
from expo.stores._influx.latest_owed import LATEST_EVERY_S, LatestOwed
from expo.stores.influxdb import InfluxStore
from tests.expo.stores.test_stores import T0

_names = itertools.count()
DEVICE = ("binhai", "home-001")


def open_new(server, name, clock=None):
    return InfluxStore(parse_store(server.url(name)), **({"clock": clock} if clock else {}))


def reading(s, v, device="home-001"):
    return Reading("binhai", device, T0 + s, {"power_w": float(v)})


def now_of(store):
    return {r.device: (r.ts_s, r.metrics["power_w"]) for r in store.latest()}


def test_a_fast_meter_reaches_other_readers_every_few_seconds_and_its_writer_at_once(influx_server):
    name = f"owed{next(_names)}"
    wall = [1_000_000.0]
    writer = open_new(influx_server, name, clock=lambda: wall[0])
    reader = open_new(influx_server, name)
    writer.write(Batch(readings=[reading(0, 1)]))  # the device's first point: at once
    assert now_of(reader) == {"home-001": (T0, 1.0)}
    for second in range(1, 5):  # a reading a second, the same minute: owed
        wall[0] += 1
        writer.write(Batch(readings=[reading(second, second + 1)]))
        assert now_of(reader) == {"home-001": (T0, 1.0)}
        assert now_of(writer) == {"home-001": (T0 + second, second + 1.0)}
    wall[0] += LATEST_EVERY_S
    writer.maintain()  # an idle moment once they are due
    assert now_of(reader) == {"home-001": (T0 + 4, 5.0)}
    writer.write(Batch(readings=[reading(5, 6)]))
    writer.close()  # a clean stop writes what is owed
    assert now_of(reader) == {"home-001": (T0 + 5, 6.0)}
    reader.close()


def test_a_reading_in_a_new_minute_is_never_held_back(influx_server):
    name = f"minute{next(_names)}"
    wall = [1_000_000.0]
    writer = open_new(influx_server, name, clock=lambda: wall[0])
    reader = open_new(influx_server, name)
    writer.write(Batch(readings=[reading(50, 1)]))
    writer.write(Batch(readings=[reading(55, 2)]))
    assert now_of(reader) == {"home-001": (T0 + 50, 1.0)}
    writer.write(Batch(readings=[reading(61, 3)]))
    assert now_of(reader) == {"home-001": (T0 + 61, 3.0)}
    writer.close()
    reader.close()


@pytest.mark.parametrize("seconds", [(0, 10, 20), (0, 70, 80)], ids=["same minute", "next minute"])
def test_a_writer_that_starts_after_a_crash_reads_back_the_minute_the_store_may_hold(influx_server, seconds):
    name = f"crash{next(_names)}"
    wall = [1_000_000.0]
    crashed = open_new(influx_server, name, clock=lambda: wall[0])
    for s in seconds:  # each within a second of the one before: the later ones owed
        crashed.write(Batch(readings=[reading(s, s)]))
        wall[0] += 0.5
    # gone without a close: what it owed ``latest`` (and its rollups) never written
    after = open_new(influx_server, name)
    after.write(Batch(readings=[reading(seconds[-1] + 5, 1000)]))
    after.maintain(force=True)
    minute = (seconds[-1] // 60) * 60
    in_minute = [s for s in seconds if s >= minute] + [seconds[-1] + 5]
    [row] = after.rollups("1m", T0 + minute, T0 + minute + 60, "power_w", ["home-001"])
    assert row.count == len(in_minute)
    assert row.last == 1000.0
    after.close()


@given(steps=st.lists(st.tuples(st.integers(0, 600), st.floats(0, 8), st.booleans()), min_size=1, max_size=40))
def test_what_is_owed_plus_what_was_written_is_always_each_devices_newest(steps):
    """Whatever the order and pace of readings: what a reader would see (written) overlaid by what is owed
    equals the newest reading; nothing stays owed past LATEST_EVERY_S at the next write; the store's newest
    reading is always inside the minute of the newest point written; a device's first point says since when."""
    wall = [0.0]
    owed = LatestOwed(lambda: wall[0])
    held = Held()
    written: dict[tuple[str, str], float] = {}
    owed_since: float | None = None  # wall time since when something has been owed
    for index, (ts_s, pause_s, idle) in enumerate(steps):
        wall[0] += pause_s
        was_due = owed_since is not None and wall[0] - owed_since >= LATEST_EVERY_S
        batch = [Reading(*DEVICE, float(ts_s), {"power_w": float(ts_s)})]
        values, since = owed.plan(batch, held)
        assert (DEVICE in since) == (index == 0 or ts_s < held.oldest(DEVICE))
        written.update({d: max(written.get(d, -1.0), t) for d, (t, _) in values.items()})
        owed.wrote(values)
        held.extend(batch)
        if was_due:
            assert not owed.pending()
        if idle and owed.due:
            rest = owed.plan_all()
            written.update({d: max(written.get(d, -1.0), t) for d, (t, _) in rest.items()})
            owed.wrote(rest)
        pending = owed.pending()
        assert max(written.get(DEVICE, -1.0), pending.get(DEVICE, (-1.0,))[0]) == held.newest(DEVICE)
        assert held.newest(DEVICE) // 60 == written[DEVICE] // 60
        if pending:
            owed_since = wall[0] if owed_since is None else owed_since
        else:
            owed_since = None


def test_a_days_look_reads_an_hour_a_query_and_each_metric_ends_at_its_newest_value(influx_server):
    """At most one point per device comes back from any query (a day in one query was 24 per device), and
    values merge across hours as from one: the newest instant, each metric at its newest value."""
    name = f"day{next(_names)}"
    wall = [T0 + 5 * 3600 + 60]
    writer = open_new(influx_server, name, clock=lambda: wall[0])
    for hour in range(5):
        for d in range(3):
            metrics = {"power_w": float(hour)} if hour else {"power_w": 0.0, "voltage_v": 230.0}
            writer.write(Batch(readings=[Reading("binhai", f"home-{d}", T0 + hour * 3600 + 30, metrics)]))
    writer.close()
    reader = open_new(influx_server, name, clock=lambda: wall[0])
    rows_per_query: list[int] = []
    real = reader._http.query

    def counting(db, q, write=False):
        series = real(db, q, write)
        if 'FROM "latest"' in q:
            rows_per_query.append(sum(len(s.get("values", [])) for s in series))
        return series

    reader._http.query = counting
    got = {r.device: (r.ts_s, r.metrics) for r in reader.latest(since_s=T0)}
    assert got == {f"home-{d}": (T0 + 4 * 3600 + 30, {"power_w": 4.0, "voltage_v": 230.0}) for d in range(3)}
    assert len(rows_per_query) == 6 and max(rows_per_query) <= 3  # hours 0-4 and the open one from hour 5
    assert [r.device for r in reader.latest(since_s=T0 + 4 * 3600 + 31)] == []
    reader.close()


def test_newest_values_an_earlier_version_wrote_a_field_per_metric_are_still_read(influx_server):
    """Points with a field per metric (before the one ``metrics`` string field) read as before, alone and in
    an hour the new writer has since written to; a metric only the old point has is kept."""
    name = f"oldlatest{next(_names)}"
    wall = [T0 + 7200 + 60]
    writer = open_new(influx_server, name, clock=lambda: wall[0])
    hour_ms = round((T0 + 3600) * 1000)
    writer._http.write(name, [  # as the earlier version wrote them
        f"latest,site=binhai,device=home-old power_w=3.5,voltage_v=231.0,latest_ts_ms={hour_ms + 5000}i {hour_ms}",
        f"latest,site=binhai,device=home-mix power_w=1.0,voltage_v=229.0,latest_ts_ms={hour_ms + 5000}i {hour_ms}",
    ], "ms")
    writer.write(Batch(readings=[Reading("binhai", "home-mix", T0 + 3600 + 30, {"power_w": 2.0})]))
    writer.close()
    reader = open_new(influx_server, name, clock=lambda: wall[0])
    got = {r.device: (r.ts_s, r.metrics) for r in reader.latest(since_s=T0)}
    assert got == {"home-old": (T0 + 3605, {"power_w": 3.5, "voltage_v": 231.0}),
                   "home-mix": (T0 + 3630, {"power_w": 2.0, "voltage_v": 229.0})}
    reader.close()
