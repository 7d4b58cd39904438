"""Sites in the exhibit model, against real stores: a device is (site, device), the city is the sum of its
districts and each district the sum of its meters, and the zero-energy building is the one described as such."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, strategies as st

from dashboard.categories import LOADS, RENEWABLE, counted_kind, split
from dashboard.model import SLOT_S, SLOTS, DeviceNow, ExhibitModel, ModelSettings
from dashboard.model.poller import METADATA_EVERY_S
from dashboard.model.sites import city_now, flows_by_site, site_from_devices
from dashboard.model.slots import local_midnight_s
from dashboard.scenes import city as city_scene
from dashboard.status import render, status_data
from expo.kinds import KINDS, Flow
from expo.metadata import DeviceMeta
from expo.places import BuildingMeta, SiteMeta
from expo.reading import Reading
from expo.store import Batch, open_store
from tests.dashboard.conftest import FakeClock, Filled, raw


def awake_timezone(now_s: float, after_s: float = 3600.0) -> str:
    """A time zone at least ``after_s`` past its midnight, so "today" holds data whenever the test runs."""
    for zone in ("Asia/Shanghai", "UTC", "America/New_York"):
        if now_s - local_midnight_s(now_s, zone) >= after_s:
            return zone
    raise AssertionError("three time zones 5 and 8 hours apart cannot all be within an hour of midnight")


@pytest.fixture(params=["sqlite", "influxdb"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'expo.db'}"
    return request.getfixturevalue("influxdb").url("dash")


def write(url: str, batch: Batch) -> None:
    store = open_store(url)
    try:
        store.write(batch)
    finally:
        store.close()  # InfluxDB: writes the open minute's rollups


def minutes_of(site: str, device: str, power_w: float, now_s: float, minutes: int = 6) -> list[Reading]:
    """One reading a minute for the last ``minutes`` minutes, the newest now."""
    return [Reading(site, device, now_s - 60 * k,
                    {"power_w": power_w, "energy_wh": 1000.0 + power_w * (minutes - k) / 60})
            for k in range(minutes - 1, -1, -1)]


def test_two_sites_with_the_same_device_ids_stay_separate(store_url):
    """The issue's case: two sites' home-01 at 1,000 W and 3,000 W are two homes and 4,000 W, not one of 3,000 W."""
    clock = FakeClock()
    now = clock()
    write(store_url, Batch(
        metas=[DeviceMeta("site-a", "home-01", "household", "Home A1", "住户 A1"),
               DeviceMeta("site-b", "home-01", "household", "Home B1", "住户 B1")],
        readings=minutes_of("site-a", "home-01", 1000.0, now) + minutes_of("site-b", "home-01", 3000.0, now)))
    model = ExhibitModel(lambda: open_store(store_url), ModelSettings(timezone=awake_timezone(now, 600)), clock=clock)
    snapshot = model.poll()
    assert snapshot.store_ok, snapshot.store_error
    assert snapshot.home_site == "site-a"  # nothing says which is home: the first
    assert [(d.site, d.device, d.power_w) for d in snapshot.devices] == [("site-a", "home-01", 1000.0)]
    assert snapshot.load_now_w == pytest.approx(1000.0)  # the town is the home site's
    assert snapshot.load_today_wh == pytest.approx(1000.0 * 6 / 60)
    model.watch("site-b")  # a visitor taps the other district
    snapshot = model.poll()
    assert snapshot.watched == ("site-a", "site-b")
    assert sorted((d.site, d.device, d.power_w) for d in snapshot.devices) == [
        ("site-a", "home-01", 1000.0), ("site-b", "home-01", 3000.0)]
    assert snapshot.load_now_w == pytest.approx(1000.0)
    sites = {s.site: s for s in snapshot.city.sites}
    assert sites["site-a"].load_now_w == pytest.approx(1000.0) and sites["site-b"].load_now_w == pytest.approx(3000.0)
    assert sites["site-a"].load_today_wh == pytest.approx(100.0)
    assert sites["site-b"].load_today_wh == pytest.approx(300.0)
    assert snapshot.city.load_now_w == pytest.approx(4000.0)
    # the town plan's tap and the engineer view name the device with its site
    assert "Home B1" in str(city_scene.detail(snapshot, "site-b/home-01"))
    assert "Home A1" in str(city_scene.detail(snapshot, "site-a/home-01"))
    assert city_scene.detail(snapshot, "home-01") is None
    page = render(status_data(model))
    assert "site-a/home-01" in page and "site-b/home-01" in page


def test_a_parent_is_in_its_own_site(store_url):
    """site-a's feeder-01 feeds its home-01; site-b's feeder-01 is a shop that feeds nothing and is counted."""
    clock = FakeClock()
    now = clock()
    write(store_url, Batch(
        metas=[DeviceMeta("site-a", "feeder-01", "feeder", "Feeder", "配变"),
               DeviceMeta("site-a", "home-01", "household", "Home", "住户", parent="feeder-01"),
               DeviceMeta("site-b", "feeder-01", "commercial", "Shop", "商铺")],
        readings=minutes_of("site-a", "feeder-01", 1000.0, now) + minutes_of("site-a", "home-01", 1000.0, now)
        + minutes_of("site-b", "feeder-01", 500.0, now)))
    model = ExhibitModel(lambda: open_store(store_url), ModelSettings(timezone=awake_timezone(now, 600)), clock=clock)
    model.watch("site-b")
    snapshot = model.poll()
    counted = {(d.site, d.device): d.counted for d in snapshot.devices}
    assert counted == {("site-a", "feeder-01"): False, ("site-a", "home-01"): True, ("site-b", "feeder-01"): True}
    assert snapshot.load_now_w == pytest.approx(1000.0)  # site-a, the home site
    assert snapshot.load_today_wh == pytest.approx(1000.0 * 6 / 60)
    assert snapshot.city.load_now_w == pytest.approx(1500.0)
    assert snapshot.city.load_today_wh == pytest.approx(1500.0 * 6 / 60)


@pytest.fixture
def no_descriptions(monkeypatch):
    """Simulated towns as a store written before descriptions existed holds them: metadata and readings only."""
    from simulators.engine import Simulation

    if hasattr(Simulation, "places"):
        monkeypatch.setattr(Simulation, "places", lambda self: ([], []))


@pytest.fixture
def two_towns(store_url, no_descriptions):
    """The small town twice in one store, as two districts with the same device ids and different weather."""
    binhai = Filled(store_url, hours=3, seed=2)
    port = Filled(store_url, hours=3, seed=7, site="port")
    write(store_url, Batch(sites=[SiteMeta("port", "port", "Tianjin Port", "天津港", 30.0, -4.0,
                                           ((28.0, -6.0), (32.0, -6.0), (32.0, -2.0)), city_en="Binhai New Area",
                                           city_zh="滨海新区")]))
    binhai.write_now(), port.write_now()  # every meter live
    return binhai, port


def test_the_city_is_the_sum_of_its_districts_and_each_district_the_sum_of_its_meters(two_towns):
    binhai, port = two_towns
    clock = FakeClock()
    model = ExhibitModel(binhai.open, ModelSettings(timezone=awake_timezone(clock())), clock=clock)
    snapshot = model.poll()
    assert snapshot.store_ok, snapshot.store_error
    city = snapshot.city
    sites = {s.site: s for s in city.sites}
    assert set(sites) == {"binhai", "port"}
    assert (sites["port"].kind, sites["port"].name_en, sites["port"].x_km) == ("port", "Tianjin Port", 30.0)
    assert sites["port"].outline_km == ((28.0, -6.0), (32.0, -6.0), (32.0, -2.0))
    assert (sites["binhai"].kind, sites["binhai"].name_zh, sites["binhai"].x_km) == ("town", "binhai", 0.0)
    assert (city.name_en, city.name_zh) == ("Binhai New Area", "滨海新区")

    metas = {(m.site, m.device): m for town in (binhai, port) for m in town.sim.site.metas}
    parents = {(m.site, m.parent) for m in metas.values() if m.parent}

    def counted(site, device):
        meta = metas[(site, device)]
        return counted_kind(meta.kind, (site, device) in parents, bool(meta.parent))

    # now: each district from the store's newest values, meter by meter
    store = binhai.open()
    try:
        latest = store.latest()
    finally:
        store.close()
    now = defaultdict(lambda: defaultdict(float))
    for r in latest:
        if counted(r.site, r.device) and "power_w" in r.metrics:
            for category, w in split(metas[(r.site, r.device)].kind, r.metrics["power_w"]):
                now[r.site][category] += w
    for site, district in sites.items():
        assert district.load_now_w == pytest.approx(sum(now[site][k] for k in LOADS), abs=1e-6), site
        assert district.solar_now_w == pytest.approx(now[site]["pv"], abs=1e-6), site
        assert district.wind_now_w == pytest.approx(now[site]["wind"], abs=1e-6), site
        assert district.grid_import_now_w == pytest.approx(now[site]["grid_import"] - now[site]["grid_export"],
                                                           abs=1e-6), site
        assert district.meters == district.meters_online == len([k for k in metas if k[0] == site])
    assert sites["binhai"].load_now_w != pytest.approx(sites["port"].load_now_w)  # the premise: two different towns
    assert city.load_now_w == pytest.approx(sum(s.load_now_w for s in city.sites), abs=1e-6)
    home = sites[snapshot.home_site]
    assert home.load_now_w == pytest.approx(snapshot.load_now_w, abs=1e-6)  # the town is the home district
    assert {d.site for d in snapshot.devices} == {snapshot.home_site}
    assert city.meters == len(metas) and home.meters_online == snapshot.meters_online == len(snapshot.devices)

    # today: each district from the raw readings, meter by meter (one reading a minute each in these stores)
    day = snapshot.day_start_s
    minutes = defaultdict(lambda: defaultdict(lambda: defaultdict(float)))  # site -> minute -> category -> W
    readings = raw(binhai.url, "power_w", day - 86400, sites=True)
    for site, device, ts, value in readings:
        if counted(site, device):
            for category, w in split(metas[(site, device)].kind, value):
                minutes[site][int(ts // 60) * 60][category] += w
    for site, district in sites.items():
        load = sum(sum(m[k] for k in LOADS) for b, m in minutes[site].items() if b >= day) / 60
        renewable = sum(sum(m[k] for k in RENEWABLE) for b, m in minutes[site].items() if b >= day) / 60
        assert load > 0 and renewable > 0, site  # the premise: the test looks at a day with data
        assert district.load_today_wh == pytest.approx(load, abs=1e-3), site
        assert district.renewable_today_wh == pytest.approx(renewable, abs=1e-3), site
    assert city.load_today_wh == pytest.approx(sum(s.load_today_wh for s in city.sites), abs=1e-6)
    assert home.load_today_wh == pytest.approx(snapshot.load_today_wh, abs=1e-3)
    assert home.renewable_today_wh == pytest.approx(snapshot.renewable_today_wh, abs=1e-3)

    # the city's load per slot, today and yesterday: every district's counted meters, minute by minute
    for start, curve in ((day, city.load_today_w), (day - 86400, city.load_yesterday_w)):
        assert len(curve) == SLOTS
        for slot in range(SLOTS):
            lo, hi = start + slot * SLOT_S, start + (slot + 1) * SLOT_S
            totals = defaultdict(float)
            for site in minutes:
                for b, m in minutes[site].items():
                    if lo <= b < hi:
                        totals[b] += sum(m[k] for k in LOADS)
            expected = sum(totals.values()) / len(totals) if totals else None
            assert (curve[slot] is None) if expected is None else curve[slot] == pytest.approx(expected, rel=1e-9), slot

    # readings taken in today, and per second over the newest complete minutes
    assert city.readings_today == sum(1 for r in readings if r[2] >= day)
    assert snapshot.readings_today == sum(1 for r in readings if r[2] >= day and r[0] == snapshot.home_site)
    end = (clock() // 60) * 60 - 60
    recent = [ts for _, _, ts, _ in readings if end - 300 <= ts < end]
    first = min(int(ts // 60) * 60 for ts in recent)
    assert city.readings_per_s == pytest.approx(len(recent) / (end - first))
    assert city.readings_per_s == pytest.approx(len(metas) / 60, rel=0.25)  # one reading a minute per meter


def test_the_zero_energy_building_is_found_by_its_description_not_by_its_meters(store_url, no_descriptions):
    """Another building with more meters, PV and a battery would win the guess; the description says which
    one it is, in which site, and what it is called."""
    binhai = Filled(store_url, hours=1, seed=2)
    port = Filled(store_url, hours=1, seed=7, site="port")  # has a "zeb" too, the same device ids
    plant = [DeviceMeta("binhai", f"plant-{kind}-{i}", kind, f"Plant {kind} {i}", f"工厂 {i}", building="plant")
             for i in range(8) for kind in ("pv", "battery")]
    write(store_url, Batch(metas=plant))
    clock = FakeClock()
    model = ExhibitModel(binhai.open, ModelSettings(timezone=awake_timezone(clock())), clock=clock)
    guessed = model.poll().building
    assert (guessed.site, guessed.id, guessed.described) == ("binhai", "plant", False)  # the premise: a wrong guess
    assert guessed.produced_today_wh == 0.0  # the plant's meters never reported

    write(store_url, Batch(buildings=[
        BuildingMeta("port", "zeb", "office", "Port Eco Tower", "港口生态大厦", role="zero_energy"),
        BuildingMeta("binhai", "plant", "industrial", "Chemical plant", "化工厂"),
    ]))
    clock.advance(METADATA_EVERY_S + 1)
    snapshot = model.poll()
    building = snapshot.building
    assert (building.site, building.id, building.described) == ("port", "zeb", True)
    assert (building.name_en, building.name_zh) == ("Port Eco Tower", "港口生态大厦")
    members = [d for d in snapshot.devices if d.site == "port" and d.building == "zeb"]
    assert len(members) == len([m for m in port.sim.site.metas if m.building == "zeb"])
    made = sum(d.power_w or 0.0 for d in members if d.kind == "pv")
    assert building.generation_now_w == pytest.approx(made)
    assert building.used_ytd_wh > 0  # the year re-read for the building found, not kept from the guess
    users = {m.device for m in port.sim.site.metas if m.building == "zeb" and KINDS[m.kind].flow is Flow.CONSUMES}
    used_today = sum(max(v, 0.0) for site, device, ts, v in raw(store_url, "power_w", snapshot.day_start_s, sites=True)
                     if site == "port" and device in users) / 60
    assert used_today > 0  # the premise: the building uses something at any hour (its plugs' standby)
    assert building.used_today_wh == pytest.approx(used_today, abs=1e-3)  # today's minutes read again for it
    landmarks = city_scene.landmarks(snapshot, "en")
    assert any("building" in m[2].lower() for m in landmarks)


def test_without_descriptions_the_building_is_guessed_from_its_meters(store_url, no_descriptions):
    """A store with no building described (older data, a meter fleet that publishes none): the building with PV,
    a battery and the most meters, named from its grid meter."""
    filled = Filled(store_url, hours=1)
    building = ExhibitModel(filled.open, ModelSettings()).poll().building
    zeb = filled.sim.scenario.building
    assert (building.site, building.id, building.described) == (filled.sim.site.metas[0].site, zeb.id, False)
    assert (building.name_en, building.name_zh) == (zeb.name_en, zeb.name_zh)


KINDS_SHOWN = ["household", "commercial", "pv", "wind", "battery", "grid_connection", "feeder", "ev_charger", "meter"]


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["home-01", "pv-01", "grid"]),
                          st.sampled_from(KINDS_SHOWN), st.booleans(),
                          st.one_of(st.none(), st.floats(-1e7, 1e7, allow_nan=False)),
                          st.sampled_from(["live", "stale", "offline"])),
                unique_by=lambda t: (t[0], t[1]), max_size=9))
def test_any_city_is_the_sum_of_its_districts(rows):
    """Whatever the meters say, the city's figures now are its districts' summed, and the town's are the same."""
    devices = [DeviceNow(site, device, kind, device, device, 0.0, 0.0, 0.0, "meter", None, counted, power, None, state)
               for site, device, kind, counted, power, state in rows]
    by_site = flows_by_site(devices)
    city = city_now({}, [site_from_devices(site, None, [d for d in devices if d.site == site], by_site.get(site),
                                           (0.0, 0.0)) for site in {d.site for d in devices}], 0, 0.0, [], [])
    direct = defaultdict(lambda: defaultdict(float))
    for d in devices:
        if d.counted and d.power_w is not None and d.state != "offline":
            for category, w in split(d.kind, d.power_w):
                direct[d.site][category] += w
    town = {k: sum(flows.get(k, 0.0) for flows in by_site.values()) for k in LOADS}
    for s in city.sites:
        expected = sum(direct[s.site][k] for k in LOADS) if s.site in direct else None
        assert s.load_now_w == (None if expected is None else pytest.approx(expected))
        assert s.meters == sum(1 for d in devices if d.site == s.site)
        assert s.meters_online == sum(1 for d in devices if d.site == s.site and d.state == "live")
    loads = [s.load_now_w for s in city.sites if s.load_now_w is not None]
    assert city.load_now_w == (pytest.approx(sum(loads)) if loads else None)
    assert sum(town.get(k, 0.0) for k in LOADS) == pytest.approx(sum(loads), abs=1e-6)
    assert city.meters == len(devices) and {s.site for s in city.sites} == {d.site for d in devices}
