"""One InfluxDB server per test module of the store tests: each test makes its own database on it."""

from __future__ import annotations

import pytest

from testkit.servers import InfluxDB


@pytest.fixture(scope="module")
def influx_server(tmp_path_factory):
    server = InfluxDB(tmp_path_factory.mktemp("influxdb")).start()
    yield server
    server.stop()
