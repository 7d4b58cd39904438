"""The ``sites`` setting: which topics a process of a site-partitioned set subscribes to, and what it refuses."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from expo import config
from expo.errors import UserError
from expo.places import TOTALS_DEVICE
from expo.store import Batch
from expo.topics import is_valid_id
from ingest.checks import Checks, Limits
from ingest.counters import CounterState
from ingest.process import Incoming, Processor
from ingest.routes import build_routes, route_for, subscriptions

NOW = 1795579200.0
TS = "2026-11-25T04:00:00Z"
FAMILY_TOPICS = {"tele/+/SENSOR", "tele/+/LWT", "shellies/+/emeter/+/+", "+/status/+", "emon/+/+"}


def test_sites_come_from_a_flag_the_environment_or_a_toml_array(tmp_path):
    assert config.load({"sites": "eco-city, port"}, {}).sites == ("eco-city", "port")
    assert config.load({}, {"EXPO_SITES": "port,port,airport"}).sites == ("port", "airport")  # once each
    path = tmp_path / "energy-expo.toml"
    path.write_text('sites = ["eco-city", "port"]\n')
    cfg = config.load({}, {}, path)
    assert cfg.sites == ("eco-city", "port") and cfg.default_routes is None  # not said: follows sites
    assert config.load({}, {}).sites is None
    for bad in ("Port", "eco city", ",", ""):
        with pytest.raises(UserError, match="sites from environment EXPO_SITES"):
            config.load({}, {"EXPO_SITES": bad} if bad else {"EXPO_SITES": " "})
    path.write_text("sites = [1, 2]\n")
    with pytest.raises(UserError, match="must be a list of ids"):
        config.load({}, {}, path)


@given(st.text(max_size=40))
def test_any_sites_text_is_a_tuple_of_valid_ids_or_one_error(text):
    try:
        sites = config.load({"sites": text}, {}).sites
    except UserError as exc:
        assert str(exc).startswith("sites from flag --sites")
    else:
        assert sites and all(is_valid_id(s) for s in sites) and len(set(sites)) == len(sites)


def test_with_sites_only_those_sites_native_topics_are_subscribed():
    routes = build_routes([], None, sites=("eco-city", "port"), site="binhai")
    assert sorted(subscriptions(routes)) == ["expo/eco-city/+/+", "expo/eco-city/site", "expo/eco-city/whatif",
                                             "expo/port/+/+", "expo/port/site", "expo/port/whatif"]
    assert route_for("expo/port/meter-1/reading", routes).decoder == "native"
    assert route_for("expo/port/site", routes).decoder == "native"  # the site's own description
    assert route_for("expo/port/crane-depot/building", routes).decoder == "native"
    assert route_for("expo/airport/site", routes) is None
    assert route_for("expo/airport/meter-1/reading", routes) is None  # another process's
    assert route_for("tele/plug/SENSOR", routes) is None  # the families are left to one process


def test_without_sites_every_decoder_keeps_its_usual_topics():
    filters = set(subscriptions(build_routes([], None)))
    assert {"expo/+/+/+", "expo/+/site"} <= filters and FAMILY_TOPICS <= filters
    assert subscriptions(build_routes([], None)) == subscriptions(build_routes([], True))


def test_default_routes_true_with_sites_takes_the_families_as_well_in_the_process_that_has_their_site():
    filters = subscriptions(build_routes([], True, sites=("binhai", "port"), site="binhai"))
    assert "expo/+/+/+" not in filters and {"expo/binhai/+/+", "expo/port/+/+"} <= set(filters)
    assert FAMILY_TOPICS <= set(filters)
    with pytest.raises(UserError, match="belong to site 'binhai'.*not in sites"):
        build_routes([], True, sites=("port",), site="binhai")
    only = build_routes([{"topic": "lp/#", "decoder": "line_protocol"}], False, sites=("port",), site="binhai")
    assert subscriptions(only) == ["lp/#"]


def processor(sites: tuple[str, ...] | None) -> Processor:
    routes = build_routes([{"topic": "lp/#", "decoder": "line_protocol", "precision": "s"}], None, sites=sites,
                          site="port")
    checks = Checks(Limits(sites=frozenset(sites) if sites else None), clock=lambda: NOW)
    return Processor(routes, "port", checks, CounterState())


def test_a_reading_of_another_site_that_arrives_anyway_is_quarantined_and_leaves_no_state():
    """A configured route can bring any site (a line-protocol ``site`` tag here): its readings belong to the
    process that has that site, which derives their energy; kept here they would be a second writer."""
    owner, other = processor(("port",)), processor(None)
    for p in (owner, other):
        batch = Batch()
        p.add(Incoming("lp/a", b"e,device=plug-1,site=eco-city power_w=100 1795579000", NOW), batch)
        p.add(Incoming("lp/a", b"e,device=plug-2 power_w=50 1795579000", NOW), batch)  # the route's site: port
        p.add(Incoming("expo/port/plug-3/reading",
                       json.dumps({"v": 1, "ts": TS, "metrics": {"power_w": 7}}).encode(), NOW), batch)
        p.batch = batch
    assert [(r.site, r.device) for r in owner.batch.readings] == [("port", "plug-2"), ("port", "plug-3"),
                                                                  ("port", TOTALS_DEVICE)]  # plug-3 passed 04:00
    assert [(q.reason, q.topic) for q in owner.batch.rejected] == [("other_site", "lp/a")]
    assert "eco-city" in owner.batch.rejected[0].detail and owner.batch.rejected[0].payload.startswith(b"e,")
    assert owner.rejected_by_reason == {"other_site": 1}
    assert ("eco-city", "plug-1") not in owner.counters.derived  # no energy begun for it here
    assert ("eco-city", "plug-1") not in owner.checks.known  # nor a place in the new-device window
    assert not other.batch.rejected  # without sites: every site is ours (plug-3 ends port's first 10 s)
    assert [(r.site, r.device) for r in other.batch.readings] == [("eco-city", "plug-1"), ("port", "plug-2"),
                                                                  ("port", "plug-3"), ("port", TOTALS_DEVICE)]


_levels = st.sampled_from(["a", "b", "", "$SYS", "tele", "+", "#"])


@given(st.lists(_levels, min_size=1, max_size=5), st.lists(_levels.filter(lambda s: s not in "+#"), min_size=1,
                                                            max_size=5))
def test_route_filters_match_exactly_as_mqtt_and_paho_say(filter_levels, topic_levels):
    from paho.mqtt.client import topic_matches_sub

    from ingest.routes import filter_matches

    topic_filter = "/".join(filter_levels)
    if "#" in filter_levels[:-1]:
        return  # not a valid filter: routes refuse it when the config is read
    topic = "/".join(topic_levels)
    assert filter_matches(topic_filter, topic.split("/")) == topic_matches_sub(topic_filter, topic)
