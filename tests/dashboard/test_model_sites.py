"""The home site, watched sites and the city from the sites' totals, against real stores.

The town scenes show the home site only; a district's meters are read only while a page watches it; the
city comes from each site's ``site-totals`` device (written here as ingest writes it, by
``ingest.site_totals.SiteTotals`` over the stored readings) and equals, to the watt, the city summed from
the same meters."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from dashboard.categories import LOADS
from dashboard.model import SLOTS, ExhibitModel, ModelSettings
from dashboard.model.poller import WATCH_S
from dashboard.model.totals import site_from_totals
from expo.categories import TOTALS_METRICS
from expo.places import TOTALS_DEVICE
from expo.reading import Reading
from expo.store import Batch, open_store
from ingest.site_totals import SiteTotals, totals_meta
from tests.dashboard.conftest import FakeClock, Filled, raw
from tests.dashboard.test_model import CountingStore
from tests.dashboard.test_model_city import awake_timezone, store_url, write  # noqa: F401 (store_url: a fixture)


def two_towns(url: str, hours: float = 3) -> tuple[Filled, Filled]:
    """The small town twice, binhai (whose zero-energy building sorts first: the home site) and port."""
    return Filled(url, hours=hours, seed=2), Filled(url, hours=hours, seed=7, site="port")


def add_totals(url: str, towns) -> int:
    """Each site's totals, made by ingest's own ``SiteTotals`` from the stored power readings in time order,
    plus the newest instant's (which ingest makes when the next step arrives); returns how many."""
    totals = SiteTotals()
    for town in towns:
        for meta in town.sim.site.metas:
            totals.meta(meta)
    made: list[Reading] = []
    newest: dict[str, float] = {}
    for site, device, ts, value in sorted(raw(url, "power_w", 0, sites=True), key=lambda r: r[2]):
        out = totals.observe(Reading(site, device, ts, {"power_w": value}))
        newest[site] = max(newest.get(site, ts), ts)
        if out is not None:
            made.append(out)
    made += [totals.totals(site, ts) for site, ts in newest.items()]
    write(url, Batch(metas=[totals_meta(site) for site in newest], readings=made))
    return len(made)


def test_the_town_is_the_home_sites_and_the_city_from_totals_equals_the_city_from_meters(store_url):
    binhai, port = two_towns(store_url)
    clock = FakeClock()
    settings = ModelSettings(timezone=awake_timezone(clock()))
    by_meters = ExhibitModel(binhai.open, settings, clock=clock).poll()
    assert by_meters.store_ok, by_meters.store_error
    assert by_meters.home_site == "binhai" and by_meters.watched == ("binhai",)
    assert {d.site for d in by_meters.devices} == {"binhai"}
    configured = ExhibitModel(binhai.open, ModelSettings(timezone=settings.timezone, home_site="port"), clock=clock)
    assert add_totals(store_url, (binhai, port)) > 0
    wrapped = CountingStore(binhai.open())
    model = ExhibitModel(lambda: wrapped, settings, clock=clock)
    by_totals = model.poll()
    assert by_totals.store_ok, by_totals.store_error

    # the town: the home site's meters only, as before the totals existed
    assert by_totals.home_site == "binhai"
    assert by_totals.load_now_w == pytest.approx(by_meters.load_now_w, abs=1e-6)
    assert by_totals.flows_today_wh == pytest.approx(by_meters.flows_today_wh, abs=1e-6)
    assert by_totals.readings_today == by_meters.readings_today
    home_raw = [r for r in raw(store_url, "power_w", by_totals.day_start_s, sites=True) if r[0] == "binhai"]
    assert by_totals.readings_today == len(home_raw)
    assert by_totals.building is not None and by_totals.building.site == "binhai"

    # the city: each district from its totals equals the same district summed from its meters, to the watt
    meters = {s.site: s for s in by_meters.city.sites}
    totals = {s.site: s for s in by_totals.city.sites}
    assert set(meters) == set(totals) == {"binhai", "port"}
    for site, expected in meters.items():
        got = totals[site]
        assert expected.load_now_w > 0 and expected.load_today_wh > 0, site  # the premise
        for field in ("load_now_w", "solar_now_w", "wind_now_w", "grid_import_now_w", "load_today_wh",
                      "renewable_today_wh"):
            assert getattr(got, field) == pytest.approx(getattr(expected, field), abs=1e-6), (site, field)
        assert got.meters == len({d for s, d, _, _ in raw(store_url, "power_w", 0, sites=True) if s == site})
        assert (got.kind, got.name_en) == (expected.kind, expected.name_en)
    assert by_totals.city.load_now_w == pytest.approx(by_meters.city.load_now_w, abs=1e-6)
    assert by_totals.city.load_today_wh == pytest.approx(by_meters.city.load_today_wh, abs=1e-6)
    assert by_totals.city.readings_today == by_meters.city.readings_today
    assert by_totals.city.readings_per_s == pytest.approx(by_meters.city.readings_per_s)
    for a, b in ((by_totals.city.load_today_w, by_meters.city.load_today_w),
                 (by_totals.city.load_yesterday_w, by_meters.city.load_yesterday_w)):
        assert len(a) == len(b) == SLOTS
        assert all((x is None) == (y is None) and (x is None or x == pytest.approx(y, abs=1e-6)) for x, y in zip(a, b))
    port_town = configured.poll()  # the settings name the home site: that town, its own building
    assert port_town.home_site == "port" and {d.site for d in port_town.devices} == {"port"}
    assert port_town.load_now_w == pytest.approx(meters["port"].load_now_w, abs=1e-6)
    assert port_town.load_today_wh == pytest.approx(meters["port"].load_today_wh, abs=1e-6)
    assert port_town.building.site == "port"

    # and nothing read the other site's meters: every read of meters named the home site
    for _ in range(3):
        clock.advance(30)
        model.poll()
    meter_reads = [c for c in wrapped.calls if c[2] != (TOTALS_DEVICE,)]  # the building's year names its meters
    assert meter_reads and all(site == "binhai" for _, site, _ in meter_reads), set(meter_reads)
    totals_reads = [site for _, site, devices in wrapped.calls if devices == (TOTALS_DEVICE,)]
    assert None in totals_reads  # every site's at once; the home site's alone only for the forecast's use a week
    assert set(totals_reads) <= {None, "binhai"} and totals_reads.count("binhai") <= len(LOADS)  # ago, once a day


def test_a_watched_site_brings_its_meters_in_and_they_go_after_watch_s(tmp_path):
    url = f"sqlite:///{tmp_path / 'expo.db'}"
    binhai, port = two_towns(url, hours=1)
    add_totals(url, (binhai, port))
    clock = FakeClock()
    wrapped = CountingStore(binhai.open())
    model = ExhibitModel(lambda: wrapped, ModelSettings(timezone=awake_timezone(clock())), clock=clock)
    assert {d.site for d in model.poll().devices} == {"binhai"}
    assert not [c for c in wrapped.calls if c[1] == "port"]
    model.watch("port")
    snapshot = model.poll()
    assert snapshot.watched == ("binhai", "port")
    assert len([d for d in snapshot.devices if d.site == "port"]) == len(port.sim.site.metas)
    assert snapshot.load_now_w == pytest.approx(model.snapshot.city.sites[0].load_now_w, abs=1e-6)  # still binhai's
    clock.advance(WATCH_S - 1)
    model.watch("port")  # asked again: the watch runs from here
    clock.advance(WATCH_S - 1)
    assert "port" in model.poll().watched
    clock.advance(2)
    snapshot = model.poll()
    assert snapshot.watched == ("binhai",) and {d.site for d in snapshot.devices} == {"binhai"}
    wrapped.calls.clear()
    clock.advance(40)
    model.poll()
    assert not [c for c in wrapped.calls if c[1] == "port"]
    model.watch("nowhere")  # a site nobody knows reads nothing
    assert model.poll().watched == ("binhai",)


def test_readings_today_never_fall_while_the_day_is_read_again(filled_sqlite, monkeypatch):
    """After an outage the two days are read back a chunk per poll; what was counted stays counted (a cleared
    table had "readings today" drop to a few minutes' worth on a city)."""
    import dashboard.model.minutes as minutes_module

    clock = FakeClock()
    model = ExhibitModel(filled_sqlite.open, ModelSettings(timezone=awake_timezone(clock())), clock=clock)
    while not model.history_complete:
        model.poll()
    before = model.snapshot
    assert before.readings_today > 0
    monkeypatch.setattr(minutes_module, "MINUTE_ROWS_PER_POLL", len(filled_sqlite.sim.site.metas) * 120)  # 2 h a poll
    model._fail("forced")  # as a failed query would
    seen = []
    for _ in range(40):
        clock.advance(1)
        snapshot = model.poll()
        seen.append((snapshot.readings_today, snapshot.city.readings_today))
    assert model.history_complete
    assert all(town >= before.readings_today and city >= before.city.readings_today for town, city in seen), seen
    assert seen[-1] == (before.readings_today, before.city.readings_today)


def test_an_offline_district_counts_nothing_now(tmp_path):
    """A district whose newest totals are older than offline_s shows no load now, and no meter online; the city
    is the districts that still report. The same rule as a meter's in the town."""
    url = f"sqlite:///{tmp_path / 'expo.db'}"
    binhai, port = two_towns(url, hours=1)
    add_totals(url, (binhai, port))
    settings = ModelSettings()
    clock = FakeClock(binhai.start_s + 3600 + settings.offline_s + 120)  # both districts silent for 15 min
    now = clock()
    fresh = Reading("binhai", TOTALS_DEVICE, now - 5, {**dict.fromkeys(TOTALS_METRICS, 0.0),
                                                        "households_power_w": 5000.0, "pv_power_w": 1200.0,
                                                        "grid_import_power_w": 3800.0, "meters_count": 40.0,
                                                        "meters_live_count": 40.0, "readings_count": 40.0})
    model = ExhibitModel(binhai.open, ModelSettings(timezone=awake_timezone(now)), clock=clock)
    snapshot = model.poll()
    sites = {s.site: s for s in snapshot.city.sites}
    assert sites["port"].load_now_w is None and sites["binhai"].load_now_w is None
    assert snapshot.city.load_now_w is None and snapshot.city.meters_online == 0
    assert sites["port"].load_today_wh > 0  # the day's energy stays
    write(url, Batch(readings=[fresh]))  # binhai reports again
    clock.advance(1)
    sites = {s.site: s for s in model.poll().city.sites}
    assert sites["binhai"].load_now_w == pytest.approx(5000.0) and sites["binhai"].meters_online == 40
    assert sites["port"].load_now_w is None and sites["port"].meters_online == 0
    assert model.snapshot.city.load_now_w == pytest.approx(5000.0)


def test_the_engineer_view_lists_the_devices_of_a_site_asked_for(tmp_path):
    from dashboard.status import render, status_data

    url = f"sqlite:///{tmp_path / 'expo.db'}"
    binhai, port = two_towns(url, hours=1)
    add_totals(url, (binhai, port))
    clock = FakeClock()
    model = ExhibitModel(binhai.open, ModelSettings(timezone=awake_timezone(clock())), clock=clock)
    model.poll()
    data = status_data(model)
    assert {d["site"] for d in data["devices"]} == {"binhai"}
    assert {s["site"]: (s["home"], s["shown"]) for s in data["sites"]} == {"binhai": (True, True),
                                                                          "port": (False, False)}
    assert "?site=port" in render(data)
    status_data(model, "port")  # /status?site=port
    model.poll()
    data = status_data(model, "port")
    assert {d["site"] for d in data["devices"]} == {"binhai", "port"}
    assert all(s["shown"] for s in data["sites"]) and "?site=port" not in render(data)


@given(st.floats(-1e5, 1e5, allow_nan=False), st.dictionaries(st.sampled_from(TOTALS_METRICS),
                                                               st.floats(0, 1e9, allow_nan=False)))
def test_a_districts_totals_count_as_now_while_they_are_not_offline(age_s, metrics):
    """The town's rule for a meter, applied to a district's totals: its power is "now" until it is offline_s
    old, its meters online until stale_s."""
    settings = ModelSettings()
    placed = {"kind": "town", "name_en": "x", "name_zh": "x", "x_km": 0.0, "y_km": 0.0}
    site = site_from_totals("x", Reading("x", TOTALS_DEVICE, 1e9, metrics), (1.0, 2.0), 1e9 + age_s, settings,
                            placed)
    if age_s > settings.offline_s:
        assert site.load_now_w is None and site.solar_now_w == site.wind_now_w == site.grid_import_now_w == 0.0
    else:
        assert site.load_now_w == pytest.approx(sum(metrics.get(f"{k}_power_w", 0.0) for k in LOADS))
        assert site.solar_now_w == metrics.get("pv_power_w", 0.0)
        assert site.grid_import_now_w == pytest.approx(metrics.get("grid_import_power_w", 0.0)
                                                       - metrics.get("grid_export_power_w", 0.0))
    live = round(metrics.get("meters_live_count", 0.0))
    assert site.meters_online == (live if age_s <= settings.stale_s else 0)
    assert (site.load_today_wh, site.renewable_today_wh) == (1.0, 2.0)  # the day's energy stays whatever its age
