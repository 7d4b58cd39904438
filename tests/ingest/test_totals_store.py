"""History written straight into a store (``energy-expo backfill``) has the site totals ingest would have made."""

from __future__ import annotations

import pytest

from expo.categories import CATEGORIES, counted_kind, split
from expo.places import TOTALS_DEVICE
from expo.store import open_store
from tests.cli import energy_expo
from tests.ingest.harness import stored_values


def test_backfilled_history_has_each_steps_site_totals_equal_to_its_meters(tmp_path):
    db = tmp_path / "expo.db"
    result = energy_expo("backfill", "--days", "0.02", "--step", "60s", "--scenario", "tests/dashboard/small.toml",
                         "--store", f"sqlite:///{db}")
    assert result.returncode == 0, result.stderr
    store = open_store(f"sqlite:///{db}")
    try:
        metas = {m.device: m for m in store.devices()}
        [site] = {m.site for m in metas.values()}
        totals_meta = metas.pop(TOTALS_DEVICE)
        assert (totals_meta.kind, totals_meta.source) == ("site_totals", "derived")
        rows = store.rollups("1m", 0, 2**31, "households_power_w", devices=[TOTALS_DEVICE], site=site)
    finally:
        store.close()
    values = stored_values(db, totals=True)
    power: dict[int, dict[str, float]] = {}
    made: dict[int, dict[str, float]] = {}
    for (device, metric, ts_ms), value in values.items():
        if device == TOTALS_DEVICE:
            made.setdefault(ts_ms, {})[metric] = value
        elif metric == "power_w":
            power.setdefault(ts_ms, {})[device] = value
    # The history's steps are a minute apart but start where 0.02 days before now falls: each totals reading is
    # stamped at the first multiple of 10 s from its step, and holds that step's meters.
    steps = sorted(power)
    step_of = {ts_ms: max(s for s in steps if s <= ts_ms) for ts_ms in made}
    assert sorted(step_of.values()) == steps[:-1] and all(0 <= t - step_of[t] < 10_000 for t in made)
    parents = {m.parent for m in metas.values() if m.parent}
    for ts_ms, totals in made.items():
        sums = dict.fromkeys(CATEGORIES, 0.0)
        meters = power[step_of[ts_ms]]
        for device, meta in metas.items():
            if device in meters and counted_kind(meta.kind, device in parents, meta.parent is not None):
                for category, watts in split(meta.kind, meters[device]):
                    sums[category] += watts
        assert {k: totals[c.metric] for k, c in CATEGORIES.items()} == pytest.approx(sums, abs=1e-6), ts_ms
        assert totals["meters_count"] == totals["meters_live_count"] == len(meters)
    assert sum(sums.values()) > 0 and len(rows) == len(made)  # a reading a minute: a rollup row each
