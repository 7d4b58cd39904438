"""The compose broker's TLS listener, made as docs/deploy.md says (make-certs.sh, then mqtt-init's init.sh), on a
real Mosquitto: a meter with the exhibit's CA publishes over TLS, one that trusts only the system's CAs cannot
connect, the plain listener still serves meters that cannot do TLS, and a renewed certificate keeps the CA."""

from __future__ import annotations

import os
import ssl
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from testkit.servers import Mosquitto, free_port
from tests.cli import energy_expo
from tests.deploy.test_mqtt_acl import PASSWORDS, stack_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"


def init(tmp_path: Path, tls_port: int, source: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PASSWD_FILE": str(tmp_path / "passwd"), "TLS_SOURCE": str(source),
           "TLS_TARGET": str(tmp_path / "secrets" / "tls"), "CONF_D": str(tmp_path / "conf.d"),
           "MQTT_TLS_PORT": str(tls_port), "MQTT_TLS_HOST": "127.0.0.1",
           **{f"MQTT_{role.upper()}_PASSWORD": pw for role, pw in PASSWORDS.items()}}
    return subprocess.run(["sh", str(DEPLOY / "init.sh")], env=env, check=True, capture_output=True, text=True)


SYSTEM_CAS = "system"  # TLS trusting only the machine's own CAs, as a meter given no CA would


def connect(port: int, user: str, ca_file: Path | str | None) -> tuple[mqtt.Client, int | str]:
    """(client, CONNACK code) or the TLS failure's text; ``ca_file`` None: plain MQTT."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, PASSWORDS[user])
    if ca_file is not None:
        client.tls_set_context(ssl.create_default_context(cafile=None if ca_file == SYSTEM_CAS else str(ca_file)))
    connected, code = threading.Event(), []
    client.on_connect = lambda c, u, f, rc, p: (code.append(int(rc.value)), connected.set())
    try:
        client.connect("127.0.0.1", port)
    except (ssl.SSLError, OSError) as exc:
        return client, str(exc)
    client.loop_start()
    connected.wait(5)
    return client, code[0] if code else "no CONNACK"


@pytest.fixture
def certified(tmp_path):
    tls = tmp_path / "tls"
    made = subprocess.run(["sh", str(DEPLOY / "make-certs.sh"), "127.0.0.1", "localhost"],
                          env={**os.environ, "TLS_DIR": str(tls), "TLS_DAYS": "2"}, check=True, capture_output=True,
                          text=True)
    assert "new certificate authority" in made.stdout
    return tls


def test_a_meter_with_the_exhibits_ca_publishes_over_tls_beside_the_plain_listener(tmp_path, certified):
    port, tls_port = free_port(), free_port()
    said = init(tmp_path, tls_port, certified)
    assert f"TLS listener on {tls_port}" in said.stdout
    assert oct((tmp_path / "secrets" / "tls" / "server.key").stat().st_mode & 0o777) == "0o600"
    broker = Mosquitto(tmp_path, port, config=stack_config(tmp_path, port)).start()
    clients = []
    try:
        ingest, code = connect(port, "ingest", None)  # plain listener, as inside the stack
        clients.append(ingest)
        assert code == 0
        got = []
        ingest.on_message = lambda c, u, m: got.append((m.topic, m.payload))
        ingest.subscribe("tele/+/SENSOR", qos=1)
        meter, code = connect(tls_port, "meters", certified / "ca.crt")
        clients.append(meter)
        assert code == 0
        meter.publish("tele/secure-plug/SENSOR", b'{"ENERGY":{"Power":5}}', qos=1).wait_for_publish(5)
        plain, code = connect(port, "meters", None)  # a meter that cannot do TLS
        clients.append(plain)
        assert code == 0
        plain.publish("tele/old-plug/SENSOR", b'{"ENERGY":{"Power":6}}', qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(t for t, _ in got) == ["tele/old-plug/SENSOR", "tele/secure-plug/SENSOR"]
        stranger, failure = connect(tls_port, "meters", SYSTEM_CAS)
        clients.append(stranger)
        assert "certificate verify failed" in str(failure)
        checked = energy_expo("check", "--broker", f"mqtts://127.0.0.1:{tls_port}", "--mqtt-username", "meters",
                              "--mqtt-ca-file", str(certified / "ca.crt"), "--no-store",
                              env={**os.environ, "EXPO_MQTT_PASSWORD": PASSWORDS["meters"]}, cwd=tmp_path)
        assert checked.returncode == 0 and "ok" in checked.stdout, checked.stdout + checked.stderr
    finally:
        for client in clients:
            client.disconnect()
            client.loop_stop()
        broker.stop()


def test_a_renewed_certificate_keeps_the_ca_and_without_one_the_broker_serves_plain_only(tmp_path, certified):
    ca = (certified / "ca.crt").read_bytes()
    first = (certified / "server.crt").read_bytes()
    again = subprocess.run(["sh", str(DEPLOY / "make-certs.sh"), "192.168.10.2"],
                           env={**os.environ, "TLS_DIR": str(certified)}, check=True, capture_output=True, text=True)
    assert "reusing the certificate authority" in again.stdout
    assert (certified / "ca.crt").read_bytes() == ca and (certified / "server.crt").read_bytes() != first
    renewed = subprocess.run(["openssl", "x509", "-in", str(certified / "server.crt"), "-noout", "-text"],
                             check=True, capture_output=True, text=True).stdout
    assert "IP Address:192.168.10.2" in renewed
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(certified / "ca.crt"),
                               str(certified / "server.crt")], capture_output=True, text=True)
    assert verified.returncode == 0  # meters that trust the CA go on trusting the renewed certificate

    port, tls_port = free_port(), free_port()
    init(tmp_path, tls_port, certified)
    empty = tmp_path / "no-certs"
    empty.mkdir()
    said = init(tmp_path, tls_port, empty)  # the certificate taken away: TLS off again, not a broken broker
    assert "plain listener only" in said.stdout and not (tmp_path / "conf.d" / "tls.conf").exists()
    broker = Mosquitto(tmp_path, port, config=stack_config(tmp_path, port)).start()
    try:
        client, code = connect(port, "meters", None)
        assert code == 0
        client.disconnect()
        _, failure = connect(tls_port, "meters", certified / "ca.crt")
        assert "refused" in str(failure).lower()
    finally:
        broker.stop()
