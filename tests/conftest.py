"""Shared fixtures: a real Mosquitto broker on a free loopback port, started and stopped by PID."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="also run slow checks (years of simulation, deep fuzzing)")


def pytest_configure(config):
    if config.getoption("--slow"):
        os.environ.setdefault("EXPO_HYPOTHESIS_PROFILE", "slow")
    from hypothesis import HealthCheck, settings

    settings.register_profile("quick", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("slow", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get("EXPO_HYPOTHESIS_PROFILE", "quick"))


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout_s}s")


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if os.path.exists(p)), None
    )
    if not found:
        pytest.fail("Mosquitto is not installed; ./scripts/test.sh installs it (Debian package 'mosquitto')")
    return found


class Mosquitto:
    """A private broker: its own config, port and data directory; stopped by the PID we started."""

    def __init__(self, workdir: Path, port: int | None = None, persistence: bool = False, extra: str = ""):
        self.workdir = workdir
        self.port = port or free_port()
        self.persistence = persistence
        self.extra = extra  # more configuration, e.g. a second listener with TLS or a password file
        self.process: subprocess.Popen | None = None
        self.log = workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> "Mosquitto":
        conf = self.workdir / "mosquitto.conf"
        # As root, mosquitto would drop to user 'mosquitto', which cannot read pytest's private tmp dirs.
        run_as = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(
            "per_listener_settings true\n"
            + run_as
            + f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            f"persistence {'true' if self.persistence else 'false'}\n"
            f"persistence_location {self.workdir}/\n"
            "max_queued_messages 1000000\n"
            "log_dest stderr\n" + self.extra
        )
        self.process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=open(self.log, "ab")
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture
def mosquitto(tmp_path):
    broker = Mosquitto(tmp_path).start()
    yield broker
    broker.stop()


def make_tls_files(directory: Path) -> dict[str, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1, made with openssl for one test."""
    files = {name: directory / f"{name}.pem" for name in ("ca", "ca-key", "server", "server-key")}
    csr, ext = directory / "server.csr", directory / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=energy-expo test CA",
            "-keyout", str(files["ca-key"]), "-out", str(files["ca"]))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", str(files["server-key"]), "-out", str(csr))
    openssl("x509", "-req", "-in", str(csr), "-CA", str(files["ca"]), "-CAkey", str(files["ca-key"]),
            "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(files["server"]))
    return files


class InfluxDB:
    """A private InfluxDB 1.x server (Debian's influxd): its own config, ports and data, stopped by PID."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.rpc_port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = workdir / "influxd.log"

    def url(self, database: str = "expo") -> str:
        return f"influxdb://127.0.0.1:{self.port}/{database}"

    def start(self) -> "InfluxDB":
        binary = shutil.which("influxd") or "/usr/bin/influxd"
        if not os.path.exists(binary):
            pytest.fail("InfluxDB is not installed; ./scripts/test.sh installs it (Debian package 'influxdb')")
        conf = self.workdir / "influxdb.conf"
        conf.write_text(
            "reporting-enabled = false\n"
            f'bind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{self.workdir}/meta"\n  logging-enabled = false\n'
            f'[data]\n  dir = "{self.workdir}/data"\n  wal-dir = "{self.workdir}/wal"\n  query-log-enabled = false\n'
            "[monitor]\n  store-enabled = false\n"
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
        )
        self.process = subprocess.Popen([binary, "run", "-config", str(conf)], stdout=subprocess.DEVNULL,
                                        stderr=open(self.log, "ab"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                import urllib.request

                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ping", timeout=0.5):
                    return self
            except OSError:
                assert self.process.poll() is None, self.log.read_text()[-2000:]
                time.sleep(0.1)
        raise TimeoutError("influxd did not answer /ping")

    def stop(self, sig: int = 15) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture
def influxdb(tmp_path):
    server = InfluxDB(tmp_path).start()
    yield server
    server.stop()
