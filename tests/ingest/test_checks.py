"""Plausibility checks: clocks in the future, consumers that produce, floods of new devices."""

import pytest

from expo.reading import Reading
from expo.errors import Refused
from ingest.checks import Checks, Limits

NOW = 1795579200.0


def reading(device="plug-1", ts=NOW, **metrics):
    return Reading("binhai", device, ts, metrics or {"power_w": 10.0})


def test_a_clock_more_than_five_minutes_ahead_is_refused():
    checks = Checks()
    checks.check(reading(ts=NOW + 299), None, NOW)
    with pytest.raises(Refused) as failed:
        checks.check(reading(ts=NOW + 301), None, NOW)
    assert failed.value.reason == "future_timestamp"


@pytest.mark.parametrize("kind, refused", [("household", True), ("pv", True), ("grid_connection", False),
                                           ("battery", False), (None, False)])
def test_negative_power_is_refused_only_where_it_is_impossible(kind, refused):
    checks = Checks()
    if refused:
        with pytest.raises(Refused, match="cannot be negative"):
            checks.check(reading(power_w=-50.0), kind, NOW)
    else:
        checks.check(reading(power_w=-50.0), kind, NOW)
    checks.check(reading(device="plug-2", power_w=-0.5), kind, NOW)  # no-load jitter is fine anywhere


def test_a_flood_of_new_devices_is_held_at_the_cap_and_known_devices_pass():
    checks = Checks(Limits(max_new_devices_per_minute=100))
    admitted = refused = 0
    for i in range(10_000):
        try:
            checks.check(reading(device=f"bogus-{i}"), None, NOW + i * 0.006)  # 10,000 in one minute
            admitted += 1
        except Refused as exc:
            assert exc.reason == "new_device_flood"
            refused += 1
    assert admitted == 100 and refused == 9_900
    checks.check(reading(device="bogus-0"), None, NOW + 61)  # already known: never capped
    checks.check(reading(device="late-newcomer"), None, NOW + 200)  # a minute later there is room again


def test_now_is_the_injected_clock_when_the_caller_gives_none():
    now = [NOW]
    checks = Checks(clock=lambda: now[0])
    checks.check(reading(ts=NOW + 299), None)
    now[0] -= 10  # the same reading, ten seconds earlier, is too far ahead
    with pytest.raises(Refused) as failed:
        checks.check(reading(ts=NOW + 299), None)
    assert failed.value.reason == "future_timestamp"
