"""Shared fixtures and hooks: real Mosquitto and InfluxDB servers from testkit, the --slow switch, hypothesis
profiles."""

from __future__ import annotations

import os

import pytest

from testkit.servers import InfluxDB, Mosquitto, ServerMissing


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="also run slow checks (years of simulation, deep fuzzing)")


def pytest_configure(config):
    if config.getoption("--slow"):
        os.environ.setdefault("EXPO_HYPOTHESIS_PROFILE", "slow")
    from hypothesis import HealthCheck, settings

    settings.register_profile("quick", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("slow", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get("EXPO_HYPOTHESIS_PROFILE", "quick"))


def _long_first(item) -> int:
    """0 for a module of browser or fault tests (minutes each), 1 for the rest."""
    if "browser" in getattr(item, "fixturenames", ()) or "/faults/" in item.nodeid.replace("\\", "/"):
        return 0
    return 1


def pytest_collection_modifyitems(config, items):
    # The workers take whole modules in collection order (--dist loadfile): the long modules go out first, the
    # one with the most tests first among them, so the run does not end with one worker alone on a browser
    # module while the others wait. A module's tests keep their order; the sort is stable, the same on every
    # worker.
    rank, count = {}, {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        rank[module] = min(rank.get(module, 1), _long_first(item))
        count[module] = count.get(module, 0) + 1

    def order(item):
        module = item.nodeid.split("::", 1)[0]
        return (rank[module], -count[module] if rank[module] == 0 else 0)

    items.sort(key=order)
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A server that is not installed is one line saying how to get it, not a traceback into testkit."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and call.excinfo.errisinstance(ServerMissing):
        report.longrepr = str(call.excinfo.value)


@pytest.fixture
def mosquitto(tmp_path):
    broker = Mosquitto(tmp_path).start()
    yield broker
    broker.stop()


@pytest.fixture
def influxdb(tmp_path):
    server = InfluxDB(tmp_path).start()
    yield server
    server.stop()
