import pytest

from expo.addresses import parse_broker
from expo.store import parse_store
from expo.errors import UserError


def test_broker_addresses():
    b = parse_broker("mqtts://ingest:s%40cret@broker.local")
    assert (b.host, b.port, b.tls, b.username, b.password) == ("broker.local", 8883, True, "ingest", "s@cret")
    assert str(b) == "mqtts://ingest:***@broker.local:8883"  # the password never reaches a log
    assert parse_broker("mqtt://127.0.0.1:18830").port == 18830


def test_store_addresses():
    assert parse_store("sqlite:////var/lib/expo/expo.db").path == "/var/lib/expo/expo.db"
    assert parse_store("sqlite:///data/expo.db").path == "data/expo.db"  # relative, as in SQLAlchemy
    s = parse_store("influxdbs://influx.local/expo")
    assert (s.host, s.port, s.database, s.tls) == ("influx.local", 8086, "expo", True)


@pytest.mark.parametrize(
    "url, message",
    [
        ("localhost:1883", "not a URL"),
        ("http://localhost", "must start with mqtt"),
        ("mqtt://:1883", "no host"),
        ("mqtt://host:99999", "invalid port"),
        ("mqtt://host/topic", "path"),
    ],
)
def test_bad_broker_addresses_explain_themselves(url, message):
    with pytest.raises(UserError, match=message):
        parse_broker(url)


@pytest.mark.parametrize(
    "url, message",
    [
        ("sqlite://expo.db", "three slashes"),
        ("influxdb://host:8086", "one bucket"),
        ("postgres://host/db", "must start with"),
    ],
)
def test_bad_store_addresses_explain_themselves(url, message):
    with pytest.raises(UserError, match=message):
        parse_store(url)
