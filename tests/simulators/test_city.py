"""The city scenario: Binhai New Area as districts, each a site, under one weather field.

What a city engineer would check first: the size, that every district's own
meter tree still adds up and its counters integrate its power, that the
city's figures are the sum of its districts', that a cloud crosses from west
to east, that the coast is windier — and that a wrong district file is
refused naming the file and the field.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from energy_expo import demo_pace
from expo import topics
from expo.kinds import KINDS, Flow
from expo.places import BuildingMeta, SiteMeta, SITE_KINDS
from expo.reading import Reading
from simulators import city as cities
from simulators import load as scenarios
from simulators.city_sim import CitySimulation, district_seed
from simulators.engine import Simulation
from simulators.scenario import BUNDLED, ScenarioError
from tests.cli import energy_expo

from .conftest import JULY_1_LOCAL_S

NOON = JULY_1_LOCAL_S + 12 * 3600


@pytest.fixture(scope="module")
def city():
    return cities.load("city")


def district_of(sim: CitySimulation, site: str) -> Simulation:
    return next(d for d in sim.districts if d.site.site_id == site)


def test_the_city_has_about_eight_districts_and_twenty_thousand_meters(city):
    sim = CitySimulation(city, 1, NOON, 10)
    assert 7 <= len(city.districts) <= 9
    assert 19_000 <= sim.count <= 21_000
    assert scenarios.meter_count(scenarios.load("city"), 1) == sim.count
    sites = [d.site.site for d in city.districts]
    assert len(sites) == len(set(sites))
    for d in sim.districts:  # device ids are unique within a site; (site, device) across the city
        devices = [m.device for m in d.metas]
        assert len(devices) == len(set(devices)) and {m.site for m in d.metas} == {d.site.site_id}
    assert len({(m.site, m.device) for m in sim.metas}) == sim.count
    kinds = {d.site.site: d.site.kind for d in city.districts}
    assert set(kinds.values()) <= set(SITE_KINDS) and len(set(kinds.values())) >= 7
    kinds_in = {s: {m.kind for m in district_of(sim, s).metas} for s in sites}
    assert {"shore_power", "crane"} <= kinds_in["port"] and "process_load" in kinds_in["teda"]
    wind = {s: sum(m.kind == "wind" for m in district_of(sim, s).metas) for s in sites}
    assert max(wind, key=wind.get) == "dagang-wind"
    chargers = {s: sum(m.kind == "ev_charger" for m in district_of(sim, s).metas) for s in sites}
    assert max(chargers, key=chargers.get) == "ev-hub"


def test_every_district_is_described_and_only_the_eco_city_has_the_zero_energy_building(city):
    sim = CitySimulation(city, 1, NOON, 10)
    sites, buildings = [], []
    for topic_name, payload in sim.descriptions():
        parts = topics.parse(topic_name)
        if parts.message is topics.MessageType.SITE:
            sites.append(SiteMeta.from_payload(parts.site, payload))
        else:
            buildings.append(BuildingMeta.from_payload(parts.site, parts.device, payload))
    assert [s.site for s in sites] == [d.site.site for d in city.districts]
    for s in sites:
        xs, ys = [p[0] for p in s.outline_km], [p[1] for p in s.outline_km]
        assert min(xs) < s.x_km < max(xs) and min(ys) < s.y_km < max(ys), s.site  # its place is inside its outline
        assert s.city_en == "Binhai New Area" and s.city_zh == "滨海新区" and s.timezone == "Asia/Shanghai"
    zero = [(b.site, b.building) for b in buildings if b.role == "zero_energy"]
    assert zero == [("eco-city", "zeb")]
    named = {(m.site, m.building) for m in sim.metas if m.building}
    assert {(b.site, b.building) for b in buildings} == named
    assert {b.kind for b in buildings if b.site == "teda"} >= {"industrial", "office", "commercial"}
    assert (sim.places()[0], len(sim.places()[1])) == (sites, len(buildings))


def test_each_district_adds_up_and_the_city_is_the_sum_of_its_districts_over_an_hour(city):
    """Every parent meter equals its children, every counter integrates its power, in every district, for a
    simulated hour at 10 s; and the city's net import, load and generation are its districts' to the watt."""
    sim = CitySimulation(city, 4, NOON, 10)
    districts = [(d, sim.rows[d.site.site_id], d.site.parent_rows(), d.site.load_signs()) for d in sim.districts]
    flows = [KINDS[m.kind].flow for m in sim.metas]
    bidir = np.array([f is Flow.BIDIRECTIONAL for f in flows])
    uni = np.array([f in (Flow.CONSUMES, Flow.PRODUCES) for f in flows])
    before = sim.advance(1).metrics
    for _ in range(6):  # an hour in minutes' chunks, as the runner advances it
        frame = sim.advance(60)
        power = frame.metrics["power_w"]
        city_net = 0.0
        for d, rows, parents, signs in districts:
            p = power[rows]
            for parent in np.unique(parents[parents >= 0]):
                children = np.flatnonzero(parents == parent)
                np.testing.assert_allclose(p[parent], (p[children] * signs[children, None]).sum(axis=0),
                                           rtol=1e-9, atol=1e-6, err_msg=f"{d.site.site_id} {d.metas[parent].device}")
            leaves = np.setdiff1d(np.arange(len(parents)), parents)
            grid = d.site.group("grid")[0]
            np.testing.assert_allclose(p[grid], (p[leaves] * signs[leaves, None]).sum(axis=0), rtol=1e-9, atol=1e-3)
            city_net = city_net + p[grid]
        signs_all = np.concatenate([signs for *_, signs in districts])
        roots = np.concatenate([parents for *_, parents, _ in districts]) < 0
        np.testing.assert_allclose(city_net, (power[roots] * signs_all[roots, None]).sum(axis=0), rtol=1e-12)
        step_h = 10 / 3600
        for counter, flow_w, mask in (("energy_wh", power, uni), ("energy_import_wh", np.maximum(power, 0), bidir),
                                      ("energy_export_wh", np.maximum(-power, 0), bidir)):
            series = np.concatenate([before[counter][:, -1:], frame.metrics[counter]], axis=1)[mask]
            assert np.all(np.diff(series, axis=1) >= -1e-9), counter
            np.testing.assert_allclose(series[:, -1] - series[:, 0], flow_w[mask].sum(axis=1) * step_h,
                                       rtol=1e-9, atol=1e-6, err_msg=counter)
        before = frame.metrics


def test_a_district_in_the_city_is_the_district_simulated_alone(city):
    """Stacking the districts mixes no rows: each block equals its district run on its own, at its phase."""
    sim = CitySimulation(city, 9, NOON, 60)
    frame = sim.advance(3)
    for d, phase_s in zip(city.districts, sim.phases_s):
        alone = Simulation(d, district_seed(9, d.site.site), NOON + phase_s, 60, weather_seed=9).advance(3)
        np.testing.assert_array_equal(frame.times_s + phase_s, alone.times_s)
        rows = sim.rows[d.site.site]
        assert set(frame.offsets_s[rows]) == {phase_s}
        for name, values in alone.metrics.items():
            np.testing.assert_array_equal(frame.metrics[name][rows], values, err_msg=f"{d.site.site} {name}")
    other = CitySimulation(city, 9, NOON, 60).advance(3)
    np.testing.assert_array_equal(other.metrics["power_w"], frame.metrics["power_w"])  # same seed, same city


def _weather_city(tmp_path: Path) -> cities.City:
    """The bundled city's places and weather field, each district one tiny town: a day of weather is cheap."""
    data = tomllib.loads((BUNDLED / "city.toml").read_text(encoding="utf-8"))
    for entry in data["districts"]:
        entry["type"] = "tiny"
        entry.pop("town", None)
    (tmp_path / "districts").mkdir()
    (tmp_path / "districts" / "tiny.toml").write_text(
        "[town]\nfeeders = 1\nhouseholds = 1\nrooftop_pv = 1\nshops = 0\noffices = 0\nstreet_light_circuits = 0\n"
        "public_ev_chargers = 0\nwind_turbines = 1\n")
    return cities.from_dict(data, "<city>", tmp_path / "districts")


def test_a_cloud_shadow_crosses_the_districts_west_to_east(tmp_path):
    weather_city = _weather_city(tmp_path)
    sim = CitySimulation(weather_city, 11, JULY_1_LOCAL_S, 60)
    frame = sim.advance(1440)
    order = sorted(sim.districts, key=lambda d: d.scenario.district.x_km)
    station = {d.site.site_id: sim.rows[d.site.site_id].start + d.site.group("weather")[0] for d in order}
    cover = {s: frame.metrics["cloud_cover_pct"][r] for s, r in station.items()}
    ghi = {s: frame.metrics["irradiance_wm2"][r] for s, r in station.items()}
    west = order[0]
    delays = {d.site.site_id: d.scenario.district.cloud_delay_s - west.scenario.district.cloud_delay_s for d in order}
    assert delays[order[-1].site.site_id] > 30 * 60  # the shadow takes over half an hour to cross the city
    # The clear-sky index (what PV sees): its deepest dip in the west between 09:00 and 15:00 local ...
    day = slice(9 * 60, 15 * 60 - 80)
    clear = {s: ghi[s] / np.maximum(ghi[s].max(), 1) for s in ghi}
    t_dip = day.start + int(np.argmin(cover[west.site.site_id][day] * -1))  # the cloudiest minute in the west
    # ... reaches each district east of it that much later, in west-to-east order.
    arrivals = []
    for d in order:
        lag = int(round(delays[d.site.site_id] / 60))
        np.testing.assert_allclose(cover[d.site.site_id][t_dip + lag], cover[west.site.site_id][t_dip], atol=0.6)
        arrivals.append(t_dip + lag)
    assert arrivals == sorted(arrivals) and arrivals[0] < arrivals[-1]
    # The whole pattern, not one minute: each district's cloud cover best matches the west's shifted by its delay.
    for d in order[1:]:
        s = d.site.site_id
        a, b = cover[west.site.site_id], cover[s]
        lags = range(0, 120)
        best = min(lags, key=lambda k: np.abs(b[k:] - a[:len(a) - k]).mean())
        assert abs(best - delays[s] / 60) <= 1, s
    pv = {d.site.site_id: sim.rows[d.site.site_id].start + d.site.group("rooftop_pv")[0] for d in order}
    for s, r in pv.items():  # PV follows its district's own sky: none at night, dips where its clouds are
        p = frame.metrics["power_w"][r]
        assert p[:4 * 60].max() == 0 and p[day].max() > 0
        assert np.corrcoef(p[day], clear[s][day])[0, 1] > 0.9


def test_the_coast_is_windier_than_inland(city):
    """At the same instants (districts report at their own phase; a district in the city is the district
    alone at its phase, as tested above), so what differs is the place, not the gust."""
    alone = [Simulation(d, district_seed(2, d.site.site), NOON, 600, weather_seed=2) for d in city.districts]
    speed = {d.site.site_id: d.advance(144).metrics["wind_speed_mps"][d.site.group("weather")[0]] for d in alone}
    assert np.all(speed["port"] > speed["teda"]) and np.all(speed["teda"] > speed["ev-hub"])
    assert np.all(speed["dagang-wind"] > speed["tanggu"])
    assert 1.3 < speed["port"].mean() / speed["ev-hub"].mean() < 1.45


def _write_city(tmp_path: Path, town: str, entry_extra: str = "") -> Path:
    (tmp_path / "districts").mkdir(exist_ok=True)
    (tmp_path / "districts" / "mine.toml").write_text(f"[district]\nkind = 'residential'\n\n[town]\n{town}")
    path = tmp_path / "my-city.toml"
    path.write_text("[city]\nname = 'mine'\n\n[[districts]]\nsite = 'a'\ntype = 'mine'\nname_en = 'A'\nname_zh = '甲'\n"
                    f"x_km = 1.0\ny_km = 2.0\n{entry_extra}")
    return path


@pytest.mark.parametrize("town, extra, where", [
    ("householdz = 3\n", "", r"districts/mine.toml: unknown field \[town\].householdz"),
    ("households = 'many'\n", "", r"districts/mine.toml: \[town\].households must be an integer"),
    ("households = 3\nrooftop_pv = 5\n", "", r"districts/mine.toml: \[town\].rooftop_pv"),
    ("", "sitee = 'b'\n", r"my-city.toml \(district a\): unknown field \[districts\].sitee"),
    ("", "[districts.town]\nhouseholdz = 3\n", r"my-city.toml \(district a\): unknown field \[districts.town\].householdz"),
    ("", "outline_km = [[0.0, 0.0], [1.0, 1.0]]\n", r"my-city.toml \(district a\): \[districts\].outline_km"),
    ("", "[districts.building]\nroof_pv_kwp = -1.0\n", r"\[districts.building\].roof_pv_kwp must be between"),
])
def test_a_wrong_district_file_or_entry_is_refused_naming_file_and_field(tmp_path, town, extra, where):
    path = _write_city(tmp_path, town, extra)
    with pytest.raises(ScenarioError, match=where):
        scenarios.load(str(path))


def test_unknown_types_kinds_and_repeated_sites_are_refused(tmp_path):
    path = _write_city(tmp_path, "households = 3\nrooftop_pv = 0\n")
    text = path.read_text()
    path.write_text(text.replace("type = 'mine'", "type = 'mien'"))
    with pytest.raises(ScenarioError, match=r"no district type 'mien'; known: .*business_district.*mine"):
        scenarios.load(str(path))
    path.write_text(text + "\n[[districts]]\nsite = 'a'\ntype = 'mine'\nname_en = 'B'\nname_zh = '乙'\n")
    with pytest.raises(ScenarioError, match="two districts have the site id 'a'"):
        scenarios.load(str(path))
    (tmp_path / "districts" / "mine.toml").write_text("[district]\nkind = 'village'\n")
    path.write_text(text)
    with pytest.raises(ScenarioError, match=r"districts/mine.toml: \[district\].kind 'village'"):
        scenarios.load(str(path))
    path.write_text(text.replace("name = 'mine'", "name = 'mine'\ntimezone = 'Binhai/Standard'"))
    with pytest.raises(ScenarioError, match=r"my-city.toml: \[city\].timezone 'Binhai/Standard'"):
        scenarios.load(str(path))
    path.write_text(text)
    (tmp_path / "districts" / "mine.toml").write_text("[distrikt]\n")
    with pytest.raises(ScenarioError, match=r"districts/mine.toml: unknown section \[distrikt\]"):
        scenarios.load(str(path))


def test_the_cli_refuses_a_broken_district_type_in_one_line(tmp_path):
    path = _write_city(tmp_path, "householdz = 3\n")
    result = energy_expo("simulate", "--output", "jsonl", "--scenario", str(path))
    assert result.returncode == 2
    assert "mine.toml" in result.stderr and "[town].householdz" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_simulate_city_jsonl_is_every_district_in_the_contract():
    result = energy_expo("simulate", "--scenario", "city", "--output", "jsonl", "--start", "2026-07-01T12:00",
                         "--duration", "20s", "--step", "10s", "--seed", "5", timeout=300)
    assert result.returncode == 0, result.stderr
    sites, metas, readings = set(), set(), 0
    for line in result.stdout.splitlines():
        message = json.loads(line)
        parts = topics.parse(message["topic"])
        if parts.message is topics.MessageType.SITE:
            sites.add(SiteMeta.from_payload(parts.site, message["payload"]).site)
        elif parts.message is topics.MessageType.META:
            metas.add((parts.site, parts.device))
        elif parts.message is topics.MessageType.READING:
            Reading.from_payload(parts.site, parts.device, message["payload"])
            readings += 1
    assert len(sites) == 8 and {s for s, _ in metas} == sites
    assert 19_000 <= len(metas) <= 21_000 and readings == 2 * len(metas)


def test_up_paces_the_city_within_what_one_machine_carries():
    meters = scenarios.meter_count(scenarios.load("city"), 1)
    pace = demo_pace.choose(meters, 60.0, False, 2000.0)  # up's defaults: 60x asked for, 2,000 readings/s
    assert pace.readings_per_s <= 2000 and pace.speed >= 1 and pace.step_s == 60
    assert pace.note and "running at" in pace.note


scalars = st.one_of(st.integers(-10**6, 10**6), st.floats(), st.text(max_size=6), st.booleans(),
                    st.lists(st.lists(st.floats(-50, 50), max_size=3), max_size=4))
entries = st.dictionaries(
    st.sampled_from(["site", "type", "name_en", "name_zh", "x_km", "y_km", "outline_km", "town", "building", "x"]),
    st.one_of(scalars, st.sampled_from(["port", "wind_farm", "a-1", "../x"]),
              st.dictionaries(st.sampled_from(["households", "feeders", "roof_pv_kwp", "cranes", "y"]), scalars,
                              max_size=3)),
    max_size=9)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(
    st.sampled_from(["city", "climate", "weather_field", "districts", "extra"]),
    st.one_of(st.lists(entries, max_size=3),
              st.dictionaries(st.sampled_from(["name", "timezone", "cloud_drift_mps", "coast_wind_gain", "z"]),
                              scalars, max_size=3)),
    max_size=4))
def test_any_city_table_loads_or_fails_with_a_scenario_error(data):
    try:
        loaded = cities.from_dict(data, "fuzz.toml")
    except ScenarioError as exc:
        assert "fuzz.toml" in str(exc) or "districts/" in str(exc)
        return
    for d in loaded.districts:
        assert np.isfinite(d.district.cloud_delay_s) and d.district.wind_factor >= 1.0
