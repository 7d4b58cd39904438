"""The poll's memory: what one store query may hand the model at once is bounded, whatever the town's size.

A whole hour of 1-minute rollups for 2,026 meters is 121,560 rows, re-read once a minute; held at once they
made the dashboard server's resident memory climb for as long as it ran (docs/reliability.md, "The dashboard
server's memory"). The model now reads in windows of at most ``ROWS_PER_QUERY`` rows.
"""

from __future__ import annotations

import pytest

import dashboard.model.minutes as minutes_module
from dashboard.categories import SOURCES, USES
from dashboard.model import ExhibitModel, ModelSettings
from tests.dashboard.conftest import FakeClock


class RowCountingStore:
    """Wraps a store and records how many 1-minute rollup rows each query returned."""

    def __init__(self, store):
        self.store, self.rows = store, []

    def rollups(self, resolution, start_s, end_s, metric, devices=None, **narrowed):
        out = self.store.rollups(resolution, start_s, end_s, metric, devices, **narrowed)
        if resolution == "1m":
            self.rows.append(len(out))
        return out

    def __getattr__(self, name):
        return getattr(self.store, name)


def poll_through_an_hour_reread(filled, monkeypatch, rows_per_query: int):
    monkeypatch.setattr(minutes_module, "ROWS_PER_QUERY", rows_per_query)
    clock = FakeClock()
    wrapped = RowCountingStore(filled.open())
    model = ExhibitModel(lambda: wrapped, ModelSettings(), clock=clock)
    polls = 0
    while not model.history_complete:
        assert model.poll().store_ok, model.snapshot.store_error
        polls += 1
        assert polls < 50
    wrapped.rows.clear()
    clock.advance(minutes_module.HOUR_EVERY_S + 1)
    snapshot = model.poll()  # re-reads the newest hour
    model.stop()
    return snapshot, wrapped.rows


def test_the_hour_reread_comes_in_bounded_windows_with_the_same_figures(filled_sqlite, monkeypatch):
    devices = len(filled_sqlite.sim.site.metas)
    whole, whole_rows = poll_through_an_hour_reread(filled_sqlite, monkeypatch, 10**12)
    assert max(whole_rows) > 7 * devices  # the test's premise: unbounded, the hour comes in one piece

    bounded, rows = poll_through_an_hour_reread(filled_sqlite, monkeypatch, 7 * devices)
    assert max(rows) <= 7 * devices
    assert len(rows) >= 60 // 7  # the hour, seven minutes at a time
    assert bounded.readings_today == whole.readings_today
    assert bounded.flows_today_wh == pytest.approx(whole.flows_today_wh)
    for key in SOURCES + USES:
        assert bounded.curve_today[key] == pytest.approx(whole.curve_today[key], nan_ok=True), key
    assert bounded.curve_yesterday_w == pytest.approx(whole.curve_yesterday_w, nan_ok=True)


def test_a_town_larger_than_the_bound_still_reads_a_minute_at_a_time(filled_sqlite, monkeypatch):
    """With fewer rows allowed than meters, a query covers one minute: never nothing, never a stall."""
    devices = len(filled_sqlite.sim.site.metas)
    snapshot, rows = poll_through_an_hour_reread(filled_sqlite, monkeypatch, devices // 2)
    assert snapshot.store_ok
    assert max(rows) <= devices
    assert len(rows) >= 60
