"""The compose stack's Mosquitto users and ACL, exercised on a real Mosquitto with the same files.

The test runs deploy/mosquitto/init.sh to make the password file (as the
mqtt-init service does) and deploy/mosquitto/mosquitto.conf with only the
listener and paths moved to a private loopback port and directory.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from testkit.ports import free_port
from testkit.servers import Mosquitto

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
PASSWORDS = {"simulator": "sim-pw-1", "meters": "met-pw-2", "ingest": "ing-pw-3", "healthcheck": "hc-pw-4",
             "dashboard": "dash-pw-5"}


def stack_config(tmp_path: Path, port: int) -> str:
    """The compose stack's mosquitto.conf on a free loopback port, its files (passwords, conf.d, data) in
    ``tmp_path`` as init.sh wrote them there."""
    conf = (DEPLOY / "mosquitto.conf").read_text()
    conf = re.sub(r"^listener 1883$", f"listener {port} 127.0.0.1", conf, flags=re.M)
    conf = conf.replace("/mosquitto/secrets/passwd", str(tmp_path / "passwd"))
    conf = conf.replace("/mosquitto/config/acl", str(DEPLOY / "acl"))
    conf = conf.replace("/mosquitto/data/", f"{tmp_path}/")
    return conf.replace("/mosquitto/secrets/conf.d", str(tmp_path / "conf.d"))


@pytest.fixture
def stack_broker(tmp_path):
    env = {**os.environ, "PASSWD_FILE": str(tmp_path / "passwd"), "TLS_SOURCE": str(tmp_path / "no-tls"),
           "CONF_D": str(tmp_path / "conf.d"),
           **{f"MQTT_{role.upper()}_PASSWORD": pw for role, pw in PASSWORDS.items()}}
    subprocess.run(["sh", str(DEPLOY / "init.sh")], env=env, check=True, capture_output=True)
    port = free_port()
    broker = Mosquitto(tmp_path, port, config=stack_config(tmp_path, port)).start()
    yield port
    broker.stop()


class Client:
    """An MQTT 5 client that records CONNACK, SUBACK and PUBACK reason codes and what it receives."""

    def __init__(self, port: int, user: str | None, password: str | None = None):
        self.connack, self.subacks, self.pubacks, self.messages = None, [], {}, []
        self.connected = threading.Event()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                                  client_id=f"test-{user}-{time.monotonic_ns()}")
        if user:
            self.client.username_pw_set(user, password if password is not None else PASSWORDS[user])
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda c, u, mid, codes, p: self.subacks.append([int(x.value) for x in codes])
        self.client.on_publish = lambda c, u, mid, code, p: self.pubacks.__setitem__(mid, int(code.value))
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.connected.wait(5)

    def _on_connect(self, c, u, flags, code, properties):
        self.connack = int(code.value)
        self.connected.set()

    def subscribe(self, topic: str) -> list[int]:
        before = len(self.subacks)
        self.client.subscribe(topic, qos=1)
        deadline = time.monotonic() + 5
        while len(self.subacks) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.subacks[-1]

    def publish(self, topic: str, payload: bytes = b"{}") -> int:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(5)
        deadline = time.monotonic() + 5
        while info.mid not in self.pubacks and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.pubacks.get(info.mid)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


GRANTED_QOS1, NOT_AUTHORISED = 1, 0x87
ALLOWED = (0, 0x10)  # success, or "no matching subscribers" (MQTT 5): taken, nobody listening


def test_no_anonymous_and_no_wrong_password(stack_broker):
    anonymous = Client(stack_broker, None)
    wrong = Client(stack_broker, "ingest", "guess")
    assert anonymous.connack not in (None, 0) and wrong.connack not in (None, 0)
    anonymous.close(), wrong.close()


def test_each_role_can_do_its_job_and_nothing_else(stack_broker):
    ingest = Client(stack_broker, "ingest")
    simulator = Client(stack_broker, "simulator")
    meters = Client(stack_broker, "meters")
    try:
        assert ingest.connack == simulator.connack == meters.connack == 0
        for topic in ("expo/+/+/+", "tele/+/SENSOR", "shellies/#", "emon/#"):
            assert ingest.subscribe(f"$share/ingest/{topic}") == [GRANTED_QOS1], topic
        # the simulator and meters may try to listen (Mosquitto grants the filter and then checks read
        # access message by message): they must receive nothing at all
        for spy, topic in ((simulator, "expo/#"), (meters, "tele/#"), (simulator, "#")):
            assert spy.subscribe(topic)[0] in (GRANTED_QOS1, NOT_AUTHORISED)
        # allowed: the simulator under its own site, meters under theirs
        assert simulator.publish("expo/binhai/home-1/reading", b"sim") == 0
        assert meters.publish("tele/plug-1/SENSOR", b"tasmota") == 0
        assert meters.publish("expo/factory/meter-9/reading", b"meter") == 0
        # refused: the simulator outside its subtree, ingest publishing at all
        assert simulator.publish("expo/othersite/x/reading", b"no") == NOT_AUTHORISED
        assert simulator.publish("tele/plug-1/SENSOR", b"no") == NOT_AUTHORISED
        assert ingest.publish("expo/binhai/home-1/reading", b"no") == NOT_AUTHORISED
        time.sleep(1.0)
        received = sorted(payload for _, payload in ingest.messages)
        assert received == [b"meter", b"sim", b"tasmota"]
        assert simulator.messages == [] and meters.messages == []
    finally:
        for c in (ingest, simulator, meters):
            c.close()


def test_meters_announce_themselves_and_ingests_survey_hears_every_topic(stack_broker):
    """The families' other topics (Tasmota's %topic%/%prefix% order and discovery, a Shelly's online) are open
    to meters; ingest's survey session on # hears them and a topic no route takes, the simulator hears nothing."""
    survey, meters, simulator = (Client(stack_broker, u) for u in ("ingest", "meters", "simulator"))
    try:
        assert survey.subscribe("#") == [GRANTED_QOS1]
        simulator.subscribe("#")
        said = {"tasmota_49a3bc/tele/SENSOR": b"1", "tasmota/discovery/A4CF12B3C4D5/config": b"2",
                "shellyplus1pm-a8032ab12345/online": b"true", "shellies/announce": b"3"}
        for topic, payload in said.items():
            assert meters.publish(topic, payload) == 0, topic
        assert meters.publish("zigbee2mqtt/plug", b"4") == NOT_AUTHORISED  # not a meter family's topic
        deadline = time.monotonic() + 10
        while len(survey.messages) < len(said) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert dict(survey.messages) == said
        assert [t for t, _ in simulator.messages] == []
    finally:
        for c in (survey, meters, simulator):
            c.close()


def test_only_the_dashboard_may_send_a_what_if_and_only_the_simulator_hears_it(stack_broker):
    """The control path: the dashboard writes expo/<site>/control and nothing else; the demo site's simulator
    reads its own control topic and says the span on expo/binhai/whatif; a meter cannot command the town."""
    dashboard, simulator, meters, ingest = (Client(stack_broker, u) for u in ("dashboard", "simulator", "meters",
                                                                               "ingest"))
    try:
        assert simulator.subscribe("expo/binhai/control") == [GRANTED_QOS1]
        command = b'{"v": 1, "action": "cloud"}'
        assert dashboard.publish("expo/binhai/control", command) == 0
        assert meters.publish("expo/binhai/control", b'{"v": 1, "action": "calm"}') == NOT_AUTHORISED
        assert ingest.publish("expo/binhai/control", b'{"v": 1, "action": "calm"}') == NOT_AUTHORISED
        assert dashboard.publish("expo/binhai/home-1/reading", b"{}") == NOT_AUTHORISED  # commands only
        assert simulator.publish("expo/binhai/whatif", b"{}") in ALLOWED and simulator.publish("expo/binhai/site") in ALLOWED
        deadline = time.monotonic() + 10
        while not simulator.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert simulator.messages == [("expo/binhai/control", command)]
    finally:
        for c in (dashboard, simulator, meters, ingest):
            c.close()


def test_the_healthcheck_user_reads_uptime_only(stack_broker):
    health = Client(stack_broker, "healthcheck")
    try:
        assert health.subscribe("$SYS/broker/uptime") == [GRANTED_QOS1]
        health.subscribe("expo/#")  # granted as a filter, but nothing under it may be read
        assert health.publish("expo/binhai/x/reading") == NOT_AUTHORISED
        meters = Client(stack_broker, "meters")
        assert meters.publish("expo/binhai/x/reading", b"private") == 0
        meters.close()
        deadline = time.monotonic() + 15
        while not health.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        assert health.messages and {topic for topic, _ in health.messages} == {"$SYS/broker/uptime"}
    finally:
        health.close()


def test_the_password_script_refuses_a_missing_password(tmp_path):
    env = {**os.environ, "PASSWD_FILE": str(tmp_path / "passwd"),
           **{f"MQTT_{role.upper()}_PASSWORD": pw for role, pw in PASSWORDS.items() if role != "ingest"}}
    result = subprocess.run(["sh", str(DEPLOY / "init.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and "MQTT_INGEST_PASSWORD is not set" in result.stderr
    assert not (tmp_path / "passwd").exists()
