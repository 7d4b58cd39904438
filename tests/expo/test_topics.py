import pytest
from hypothesis import given, strategies as st

from expo import topics
from expo.topics import MessageType

ids = st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,63}\Z")


@given(ids, ids, st.sampled_from([m for m in MessageType if m not in topics.SITE_LEVEL]))
def test_topic_round_trips(site, device, message):
    parts = topics.parse(topics.topic(site, device, message))
    assert (parts.site, parts.device, parts.message) == (site, device, message)


@pytest.mark.parametrize("bad", ["", "Home-1", "home 1", "a/b", "+", "#", "-lead", "x" * 65, 'q"uote', "ünï"])
def test_ids_that_could_break_a_topic_tag_or_query_are_refused(bad):
    with pytest.raises(ValueError, match="invalid device id"):
        topics.topic("binhai", bad, MessageType.READING)


@given(st.text(max_size=80))
def test_parse_accepts_only_native_topics(text):
    try:
        parts = topics.parse(text)
    except ValueError:
        return
    if parts.message in topics.SITE_LEVEL:
        assert text == topics.site_topic(parts.site, parts.message)
    else:
        assert text == topics.topic(parts.site, parts.device, parts.message)


@given(ids, st.sampled_from(topics.SITE_LEVEL))
def test_a_sites_own_messages_have_topics_without_a_device_level(site, message):
    parts = topics.parse(topics.site_topic(site, message))
    assert (parts.site, parts.device, parts.message) == (site, "", message)
    assert topics.subscription(site, message) == topics.site_topic(site, message)
    with pytest.raises(ValueError, match="no device level"):
        topics.topic(site, "home-1", MessageType.SITE)
    with pytest.raises(ValueError, match="unknown message type"):
        topics.parse(f"expo/{site}/home-1/site")


def test_subscription_filters():
    assert topics.subscription() == "expo/+/+/+"
    assert topics.subscription("binhai", MessageType.META) == "expo/binhai/+/meta"
    assert topics.subscription("binhai", MessageType.SITE) == "expo/binhai/site"
    assert topics.subscription(message=MessageType.SITE) == "expo/+/site"
