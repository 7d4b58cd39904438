"""InfluxDB 1.x with authentication on, as a production server runs it: ingest's user has rights on its
database but is no admin, so it cannot ``CREATE DATABASE``; that must not keep it from writing."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from expo.reading import Reading
from expo.store import Batch, StoreUnavailable, open_store
from testkit.servers import InfluxDB


class AuthInfluxDB(InfluxDB):
    def config_text(self) -> str:
        return super().config_text() + "  auth-enabled = true\n"  # the [http] section is the last


def admin(port: int, q: str) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/query", data=urlencode({"q": q}).encode(),
                                     headers={"Authorization": "Basic " + base64.b64encode(b"admin:adm1n").decode()})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert "error" not in json.loads(response.read())["results"][0]


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    server = AuthInfluxDB(tmp_path_factory.mktemp("influxdb-auth")).start()
    admin(server.port, "CREATE USER admin WITH PASSWORD 'adm1n' WITH ALL PRIVILEGES")  # the first user: no auth yet
    admin(server.port, 'CREATE DATABASE "expo"')
    admin(server.port, "CREATE USER ingest WITH PASSWORD 's3cret'")
    admin(server.port, 'GRANT ALL ON "expo" TO "ingest"')
    yield server
    server.stop()


def test_a_user_without_admin_rights_writes_into_the_database_an_admin_made(secured):
    store = open_store(secured.url(), influx_username="ingest", influx_password="s3cret")
    now = time.time()
    assert store.write(Batch(readings=[Reading("binhai", "home-001", now, {"power_w": 5.0})])) == []
    store.maintain(force=True)
    assert store.count_readings() == 1
    [row] = store.rollups("1m", now - 120, now + 60, "power_w")
    assert row.count == 1
    store.close()


def test_a_wrong_password_is_unavailable_and_says_so(secured):
    store = open_store(secured.url(), influx_username="ingest", influx_password="wrong")
    with pytest.raises(StoreUnavailable, match="not authorised"):
        store.write(Batch(readings=[Reading("binhai", "home-001", time.time(), {"power_w": 5.0})]))
    store.close()
