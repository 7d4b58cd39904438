"""The MQTT broker ``energy-expo up`` starts when none is given: Mosquitto if installed, else amqtt.

Mosquitto is the broker of choice (fast, MQTT 5, the one the tests and the
compose stack use). A laptop or kiosk PC with nothing but the Python package
gets amqtt, a pure-Python broker, run in its own process by
``energy_expo.amqtt_broker``; it speaks MQTT 3.1.1 only, so ingest is told to use
that. Either listens on 127.0.0.1 only, on a free port. Mosquitto keeps its
persistent sessions on disk beside the store, so messages queued for ingest
survive a restart of ``up``; amqtt keeps them in memory only (``up`` stops
the simulator and lets ingest catch up before it stops the broker, so a clean
stop loses nothing either way).
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from energy_expo.children import Child, child_env
from expo.errors import UserError

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto")


@dataclass
class EmbeddedBroker:
    kind: str  # mosquitto | amqtt
    port: int
    child: Child

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def mqtt_protocol(self) -> str:
        return "5" if self.kind == "mosquitto" else "3.1.1"


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel's choice); the broker, ingest's health page and
    the test servers all take theirs here."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections there yet: how a started server is known to be ready."""
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


def wait_listening(port: int, timeout_s: float, alive=lambda: True, step_s: float = 0.05) -> bool:
    """Until a server we started listens on 127.0.0.1:``port`` (True), it dies (``alive()`` false) or the time
    is up (both False): the one start-up wait, for ``up``'s broker and the tests' servers alike."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive():
        if listening(port):
            return True
        time.sleep(step_s)
    return False


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next((p for p in MOSQUITTO_PATHS if os.path.exists(p)), None)


def mosquitto_conf(port: int, data_dir: Path) -> str:
    run_as = "user root\n" if os.geteuid() == 0 else ""  # as root it would switch to an account that cannot write here
    return (
        run_as
        + f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"  # loopback only: nothing off this machine can connect
        "persistence true\n"
        f"persistence_location {data_dir}/\n"
        "autosave_interval 30\n"
        "max_queued_messages 1000000\n"  # the default 1000 drops QoS 1 messages for a subscriber that falls behind
        "max_inflight_messages 0\n"
        "log_dest stderr\n"
        "log_type error\nlog_type warning\nlog_type notice\n"
    )


def start_broker(choice: str, data_dir: Path, log_dir: Path, timeout_s: float = 15.0) -> EmbeddedBroker:
    """``choice``: auto (Mosquitto if installed, else amqtt), mosquitto, or amqtt."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    mosquitto = find_mosquitto() if choice in ("auto", "mosquitto") else None
    if choice == "mosquitto" and mosquitto is None:
        raise UserError("mosquitto is not installed (Debian/Ubuntu: apt-get install mosquitto); "
                        "use --embedded-broker amqtt for the built-in Python broker")
    if mosquitto:
        conf = data_dir / "mosquitto.conf"
        conf.write_text(mosquitto_conf(port, data_dir))
        broker = EmbeddedBroker("mosquitto", port, Child("broker", [mosquitto, "-c", str(conf)], log_dir))
    else:
        import sys

        args = [sys.executable, "-m", "energy_expo.amqtt_broker", "--port", str(port), "--data-dir", str(data_dir)]
        broker = EmbeddedBroker("amqtt", port, Child("broker", args, log_dir, env=child_env()))
    broker.child.start()
    if wait_listening(port, timeout_s, lambda: broker.child.alive):
        return broker
    if not broker.child.alive:
        raise UserError(f"the {broker.kind} broker stopped at start: {broker.child.tail()}")
    broker.child.stop()
    raise UserError(f"the {broker.kind} broker did not start listening within {timeout_s:.0f} s: {broker.child.tail()}")
