"""Sites and buildings: descriptions round-trip exactly, and a wrong one is refused with a reason and where."""

import pytest
from hypothesis import given, strategies as st

from expo.places import BUILDING_KINDS, BUILDING_ROLES, SITE_KINDS, BuildingMeta, SiteMeta
from expo.reading import ContractError

finite = st.floats(-1e6, 1e6, allow_nan=False)
names = st.text(max_size=40)
outlines = st.one_of(st.just(()), st.lists(st.tuples(finite, finite), min_size=3, max_size=20).map(tuple))


globes = st.one_of(st.just((None, None)), st.tuples(st.floats(-90, 90), st.floats(-180, 180)))


@given(st.sampled_from(SITE_KINDS), names, names, finite, finite, outlines,
       st.sampled_from(["Asia/Shanghai", "UTC", "Europe/Berlin"]), names, names, globes)
def test_a_site_round_trips(kind, en, zh, x, y, outline, zone, city_en, city_zh, globe):
    site = SiteMeta("binhai-port", kind, en, zh, x, y, outline, zone, city_en, city_zh, *globe)
    assert SiteMeta.from_payload("binhai-port", site.to_json()) == site


@given(st.sampled_from(BUILDING_KINDS), names, names, st.sampled_from(BUILDING_ROLES), finite, finite)
def test_a_building_round_trips(kind, en, zh, role, x, y):
    building = BuildingMeta("binhai", "zeb", kind, en, zh, role, x, y)
    assert BuildingMeta.from_payload("binhai", "zeb", building.to_json()) == building


GOOD_SITE = {"v": 1, "kind": "port", "name": {"en": "Port", "zh": "港区"}}


@pytest.mark.parametrize("change, reason, words", [
    ({"v": 2}, "unsupported_version", "site version 2"),
    ({"kind": "moon_base"}, "invalid", "site kind 'moon_base'"),
    ({"name": "Port"}, "invalid", "site needs name"),
    ({"place": {"x_km": "east"}}, "wrong_type", "place.x_km must be a finite number"),
    ({"place": {"x_km": float("nan")}}, "wrong_type", "place.x_km"),
    ({"outline_km": [[0, 0], [1, 1]]}, "invalid", "at least three corners"),
    ({"outline_km": [[0, 0], [1], [2, 2]]}, "invalid", "outline_km[1]"),
    ({"outline_km": [[0, 0]] * 300}, "invalid", "at most 256"),
    ({"timezone": "Mars/Olympus"}, "invalid", "not an IANA time zone"),
    ({"city": "Binhai"}, "invalid", "site city"),
    ({"place": {"latitude_deg": 39.0}}, "wrong_type", "place.longitude_deg must be a finite number"),
    ({"place": {"latitude_deg": 91.0, "longitude_deg": 117.7}}, "invalid", "off the globe"),
    ({"place": {"latitude_deg": 39.0, "longitude_deg": "117E"}}, "wrong_type", "place.longitude_deg"),
])
def test_a_wrong_site_is_refused_saying_what(change, reason, words):
    with pytest.raises(ContractError) as caught:
        SiteMeta.from_payload("port", {**GOOD_SITE, **change})
    assert caught.value.reason == reason and words in caught.value.detail


def test_a_site_says_only_what_it_must():
    site = SiteMeta.from_payload("port", GOOD_SITE)
    assert (site.x_km, site.y_km, site.outline_km, site.timezone) == (0.0, 0.0, (), "Asia/Shanghai")
    assert (site.latitude_deg, site.longitude_deg) == (None, None)  # nowhere on the globe: no sun to forecast
    assert "latitude_deg" not in site.to_json()


@pytest.mark.parametrize("change, words", [
    ({"kind": "castle"}, "building kind 'castle'"),
    ({"role": "hero"}, "building role 'hero'"),
    ({"position": {"x_m": True}}, "position.x_m"),
])
def test_a_wrong_building_is_refused_saying_what(change, words):
    good = {"v": 1, "kind": "office", "name": {"en": "ZEB", "zh": "零能耗建筑"}}
    assert BuildingMeta.from_payload("binhai", "zeb", good).role == "ordinary"
    with pytest.raises(ContractError) as caught:
        BuildingMeta.from_payload("binhai", "zeb", {**good, **change})
    assert words in caught.value.detail
