"""The real ``energy-expo up --scenario <name>``, started in a temp data dir, watched, and stopped by PID.

``up`` chooses its broker's and ingest's health ports itself and prints neither on stdout, so they are
read from the command line of its ingest child (``--broker mqtt://127.0.0.1:PORT``, ``--health
127.0.0.1:PORT``) in /proc. While it runs, ``Monitor`` samples ingest's /health and the simulator's
own once-a-minute report (readings made, acknowledged by the broker, dropped from its full queue, its
worst lateness against its own schedule), and every process's CPU seconds, so the rates and the backlog
come from the same clock. The simulator's first line says the speed and step up chose for it (``pace``):
with them a reading's timestamp says when it was due.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from energy_expo.children import stop_process
from energy_expo.embedded_broker import free_port
from ingest.health import read_health
from testkit import procfs

ROOT = Path(__file__).resolve().parents[2]
SIM_REPORT = re.compile(r"steps=(\d+) readings=(\d+) acknowledged=(\d+) pending=(\d+) dropped=(\d+)")
SIM_DONE = re.compile(r"done: steps=(\d+) readings=(\d+) acknowledged=(\d+) dropped=(\d+)")
SIM_MAX_LAG = re.compile(r"max_lag_s=([0-9.]+)")
SIM_PACE = re.compile(r"simulating \S+ \((\d+) meters\) every ([0-9.e+]+)s at ([0-9.e+]+)x")


class Up:
    def __init__(self, data_dir: Path, store_url: str, demo_speed: float | None, scenario: str = "large"):
        self.data_dir = data_dir
        self.store_url = store_url
        self.args = [sys.executable, "-m", "energy_expo.cli", "up", "--scenario", scenario, "--store", store_url,
                     "--data-dir", str(data_dir), "--dashboard-port", str(free_port()), "--seed", "1"]
        if demo_speed is not None:
            self.args += ["--demo-speed", str(demo_speed)]
        self.process: subprocess.Popen | None = None
        self.broker_port: int | None = None
        self.health_address: str | None = None
        self.pids: dict[str, int] = {}

    def start(self, timeout_s: float = 60.0) -> Up:
        with open(self.data_dir / "up.log", "ab") as out:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            cwd=self.data_dir, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            self._find_children()
            if self.health_address and (read_health(self.health_address) or {}).get("connected") == 1.0:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"up did not start within {timeout_s:.0f} s: {(self.data_dir / 'up.log').read_text()[-2000:]}")

    def _find_children(self) -> None:
        for pid in procfs.children_of(self.process.pid):
            words = procfs.command_of(pid)
            if "ingest" in words and "--health" in words:
                self.pids["ingest"] = pid
                self.health_address = words[words.index("--health") + 1]
                self.broker_port = int(words[words.index("--broker") + 1].rsplit(":", 1)[1])
            elif words and words[0].endswith("mosquitto"):
                self.pids["broker"] = pid
            elif "simulate" in words:
                self.pids["simulate"] = pid
            elif "dashboard" in words:
                self.pids["dashboard"] = pid

    def refresh_children(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self._find_children()

    @property
    def mqtt_protocol(self) -> str:
        return "5" if "broker" in self.pids else "3.1.1"

    def health(self) -> dict:
        return read_health(self.health_address) or {}

    def stop(self, timeout_s: float = 240.0) -> int | None:
        """SIGTERM to up alone: it stops its children in order (simulator, ingest once caught up, dashboard,
        broker)."""
        if self.process is None:
            return None
        return stop_process(self.process, signal.SIGTERM, timeout_s, "energy-expo up")

    def log(self, name: str) -> Path:
        return self.data_dir / "logs" / f"{name}.log"


@dataclass
class Sample:
    wall: float
    health: dict
    sim: tuple[int, int, int, int, int] | None  # steps, made, acknowledged, pending, dropped (the newest report)
    cpu_s: dict[str, float] = field(default_factory=dict)
    load1: float = 0.0


class Monitor(threading.Thread):
    """Every ``every_s``: ingest's /health, the simulator's newest report, each process's CPU seconds."""

    def __init__(self, up: Up, extra_pids: dict[str, int], every_s: float = 2.0):
        super().__init__(name="monitor", daemon=True)
        self.up, self.extra_pids, self.every_s = up, extra_pids, every_s
        self.samples: list[Sample] = []
        self.sim_reports: list[tuple[float, tuple[int, ...]]] = []  # (wall seen, report)
        self.sim_max_lag_s: float | None = None  # the simulator's worst step lateness so far, from its newest report
        self.stop_event = threading.Event()
        self._log_offset = 0

    def _read_sim_log(self) -> None:
        path = self.up.log("simulate")
        try:
            with open(path, "rb") as f:
                f.seek(self._log_offset)
                chunk = f.read()
        except OSError:
            return
        cut = chunk.rfind(b"\n") + 1
        self._log_offset += cut
        for line in chunk[:cut].decode(errors="replace").splitlines():
            found = SIM_REPORT.search(line)
            if found:
                self.sim_reports.append((time.time(), tuple(int(x) for x in found.groups())))
                late = SIM_MAX_LAG.search(line)
                if late:
                    self.sim_max_lag_s = float(late.group(1))

    def sample(self) -> Sample:
        self.up.refresh_children()
        self._read_sim_log()
        pids = {**self.up.pids, **self.extra_pids}
        cpu = {name: procfs.cpu_s(pid) for name, pid in pids.items()}
        s = Sample(time.time(), self.up.health(), self.sim_reports[-1][1] if self.sim_reports else None,
                   {k: v for k, v in cpu.items() if v is not None}, os.getloadavg()[0])
        self.samples.append(s)
        return s

    def run(self) -> None:
        while not self.stop_event.wait(self.every_s):
            self.sample()


def sim_done(log_path: Path) -> tuple[int, int, int, int] | None:
    """The simulator's closing line: steps, readings made, acknowledged by the broker, dropped."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return None
    found = SIM_DONE.findall(text)
    return tuple(int(x) for x in found[-1]) if found else None


def sim_pace(log_path: Path) -> tuple[int, float, float] | None:
    """From the simulator's first line: meters, step (simulated s) and speed (simulated s per wall s)."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return None
    found = SIM_PACE.search(text)
    return (int(found.group(1)), float(found.group(2)), float(found.group(3))) if found else None
