"""Private Mosquitto and InfluxDB servers for one test or one benchmark run.

Each has its own configuration, data directory and free loopback port(s),
listens on 127.0.0.1 only (or, given ``host`` and a ``command`` prefix from
testkit.netns, on a test host's address inside its namespace), and is
stopped by the PID we started (SIGTERM, then SIGKILL if it will not go),
never by name: other runs on the same machine keep theirs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from energy_expo.children import stop_process
from energy_expo.embedded_broker import find_mosquitto
from testkit.ports import free_port, wait_for_port


class ServerMissing(RuntimeError):
    """A server the run needs is not installed: said in one line (tests/conftest.py shows it without a traceback)."""


def mosquitto_binary() -> str:
    found = find_mosquitto() or next((p for p in ("/usr/bin/mosquitto",) if os.path.exists(p)), None)
    if not found:
        raise ServerMissing("Mosquitto is not installed; ./scripts/test.sh installs it (Debian package 'mosquitto')")
    return found


def influxd_binary() -> str:
    found = shutil.which("influxd") or ("/usr/bin/influxd" if os.path.exists("/usr/bin/influxd") else None)
    if not found:
        raise ServerMissing("InfluxDB is not installed; ./scripts/test.sh installs it (Debian package 'influxdb')")
    return found


def run_as_root_line() -> str:
    """As root Mosquitto would drop to user 'mosquitto', which cannot read pytest's private tmp dirs."""
    return "user root\n" if os.geteuid() == 0 else ""


class Mosquitto:
    """A private broker: its own config, port and data directory; stopped by the PID we started.

    ``extra`` adds configuration (a second listener with TLS, a password file); ``config`` replaces the
    generated file whole (e.g. the compose stack's own mosquitto.conf, moved to ``port``).
    """

    def __init__(self, workdir: Path, port: int | None = None, persistence: bool = False, extra: str = "",
                 config: str | None = None, host: str = "127.0.0.1", command: list[str] | None = None):
        self.workdir = workdir
        self.host = host
        self.command = command or []  # e.g. ["ip", "netns", "exec", NAME]: run inside a test host
        self.port = port or free_port()
        self.persistence = persistence
        self.extra = extra
        self.config = config
        self.process: subprocess.Popen | None = None
        self.log = workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def config_text(self) -> str:
        if self.config is not None:
            return run_as_root_line() + self.config
        return (
            "per_listener_settings true\n"
            + run_as_root_line()
            + f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            f"persistence {'true' if self.persistence else 'false'}\n"
            f"persistence_location {self.workdir}/\n"
            "max_queued_messages 1000000\n"  # the default 1000 drops QoS 1 messages for a subscriber that lags
            "log_dest stderr\n" + self.extra
        )

    def start(self, timeout_s: float = 10.0) -> "Mosquitto":
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.config_text())
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([*self.command, mosquitto_binary(), "-c", str(conf)], stdout=log,
                                            stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port, timeout_s, self.host)
        except TimeoutError:
            self.stop()
            raise TimeoutError(f"mosquitto did not listen on {self.port}: {self.log.read_text()[-2000:]}") from None
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None:
            stop_process(self.process, sig, timeout_s=10, name="mosquitto")
        self.process = None


class InfluxDB:
    """A private InfluxDB 1.x server (Debian's influxd): its own config, ports and data, stopped by PID."""

    def __init__(self, workdir: Path, host: str = "127.0.0.1", command: list[str] | None = None):
        self.workdir = workdir
        self.host = host
        self.command = command or []
        self.port = free_port()
        self.rpc_port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = workdir / "influxd.log"

    def url(self, database: str = "expo") -> str:
        return f"influxdb://{self.host}:{self.port}/{database}"

    def config_text(self) -> str:
        return (
            "reporting-enabled = false\n"
            f'bind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{self.workdir}/meta"\n  logging-enabled = false\n'
            f'[data]\n  dir = "{self.workdir}/data"\n  wal-dir = "{self.workdir}/wal"\n  query-log-enabled = false\n'
            "[monitor]\n  store-enabled = false\n"
            f'[http]\n  bind-address = "{self.host}:{self.port}"\n  log-enabled = false\n'
        )

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.port}/ping", timeout=0.5):
                return True
        except OSError:
            return False

    def start(self, timeout_s: float = 30.0) -> "InfluxDB":
        binary = influxd_binary()
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "influxdb.conf"
        conf.write_text(self.config_text())
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([*self.command, binary, "run", "-config", str(conf)],
                                            stdout=subprocess.DEVNULL,
                                            stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.ready():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"influxd stopped at start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"influxd did not answer /ping within {timeout_s:.0f} s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None:
            stop_process(self.process, sig, timeout_s=15, name="influxd")
        self.process = None
