"""A soak run of ``energy-expo up``: every process's memory sampled over an accelerated day.

Used by the quick soak test (tests/faults/test_faults.py) and by ``bench/soak.py`` (24
simulated hours in about 10 minutes, with a kiosk tab in headless Chromium).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from energy_expo.children import stop_process
from testkit.procfs import children_of, command_of, rss_mb


def name_of(pid: int) -> str:
    """The role of one of ``up``'s children, from its command line: broker, ingest, dashboard or simulate."""
    words = command_of(pid)
    if not words:
        return str(pid)
    for role in ("ingest", "dashboard", "simulate"):
        if role in words:
            return role
    return "broker" if any("mosquitto" in w or "amqtt" in w for w in words) else words[0].rsplit("/", 1)[-1]


@dataclass
class Soak:
    """``energy-expo up`` in ``workdir``; ``sample()`` records the RSS of up and each child."""

    workdir: Path
    port: int
    speed: float
    scenario: str = "tianjin-demo"
    rotate_s: float = 20.0  # the kiosk's rotation; shorter packs more scene changes into the run
    samples: list[dict] = field(default_factory=list)
    process: subprocess.Popen | None = None

    def start(self) -> "Soak":
        with open(self.workdir / "up.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "energy_expo.cli", "up", "--port", str(self.port), "--scenario", self.scenario,
                 "--demo-speed", str(self.speed), "--rotate-s", str(self.rotate_s)],
                cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/status.json", timeout=2) as r:
                    if json.loads(r.read())["newest_reading_s"]:
                        return self
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        stop_process(self.process, signal.SIGINT, timeout_s=60, name="energy-expo up")
        raise TimeoutError(f"energy-expo up showed no data within 60 s; see {self.workdir / 'up.log'}")

    def sample(self) -> dict:
        pids = {self.process.pid} | children_of(self.process.pid)
        figures = {"t_s": time.monotonic()}
        for pid in pids:
            value = rss_mb(pid)
            if value is not None:
                figures["up" if pid == self.process.pid else name_of(pid)] = value
        self.samples.append(figures)
        return figures

    def growth(self, after_s: float) -> dict[str, tuple[float, float, float]]:
        """Per process: (RSS at the first sample after warm-up, at the end, growth in %)."""
        t0 = self.samples[0]["t_s"]
        warm = [s for s in self.samples if s["t_s"] - t0 >= after_s]
        first, last = warm[0], self.samples[-1]
        return {name: (first[name], last[name], 100.0 * (last[name] - first[name]) / first[name])
                for name in first if name != "t_s" and name in last}

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(120)
