"""The categories of a site's energy: one table in the contract, read alike by ingest's totals and the dashboard."""

from __future__ import annotations

from hypothesis import given, strategies as st

from expo.categories import (CATEGORIES, COUNT_METRICS, LOADS, RENEWABLE, SOURCES, TOTALS_METRICS, USES, counted_kind,
                             split)
from expo.kinds import KINDS, Flow
from expo.metadata import SOURCES as META_SOURCES
from expo.reading import canonical_metric, unit_of


def test_every_totals_metric_is_a_contract_metric_with_its_unit():
    assert len(set(TOTALS_METRICS)) == len(TOTALS_METRICS) == len(CATEGORIES) + len(COUNT_METRICS)
    for metric in TOTALS_METRICS:
        assert canonical_metric(metric) == metric
    assert {unit_of(c.metric) for c in CATEGORIES.values()} == {"W"}
    assert {unit_of(m) for m in COUNT_METRICS} == {"1"}  # the count suffix: a number of things


def test_sources_and_uses_split_the_categories_and_loads_are_what_a_site_consumes():
    assert sorted(SOURCES + USES) == sorted(CATEGORIES) and not set(SOURCES) & set(USES)
    assert set(LOADS) == set(USES) - {"battery_charge", "grid_export"}
    assert RENEWABLE == ["pv", "wind"]


def test_the_totals_kind_and_source_are_in_the_contract_and_counted_in_nothing():
    assert KINDS["site_totals"].flow is Flow.NONE and "derived" in META_SOURCES
    assert not counted_kind("site_totals", False, False) and not counted_kind("weather_station", False, False)
    assert counted_kind("grid_connection", True, False) and not counted_kind("grid_connection", False, True)
    assert not counted_kind("feeder", True, True) and counted_kind("household", False, True)


def test_the_dashboard_shows_the_contracts_categories_each_with_a_colour():
    from dashboard import categories as shown

    assert list(shown.CATEGORIES) == list(CATEGORIES)
    for key, category in shown.CATEGORIES.items():
        assert (category.side, category.renewable) == (CATEGORIES[key].side, CATEGORIES[key].renewable)
        assert category.colour.startswith("#") and len(category.colour) == 7
    assert (shown.SOURCES, shown.USES, shown.LOADS, shown.RENEWABLE) == (SOURCES, USES, LOADS, RENEWABLE)
    assert (shown.split, shown.counted_kind) == (split, counted_kind)


@given(st.sampled_from(sorted(KINDS)), st.floats(-1e6, 1e6, allow_nan=False))
def test_a_meters_power_goes_whole_into_categories_never_negative(kind, power_w):
    parts = split(kind, power_w)
    assert all(key in CATEGORIES and watts >= 0 for key, watts in parts)
    if KINDS[kind].flow is Flow.BIDIRECTIONAL and kind in ("battery", "grid_connection"):
        assert sum(w for _, w in parts) == abs(power_w)
    else:
        assert sum(w for _, w in parts) == max(power_w, 0.0)
