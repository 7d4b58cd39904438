"""Running ingest as its own process, and reading what it stored, for the end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from expo.places import TOTALS_DEVICE
from ingest.health import read_health
from tests.cli import energy_expo
from testkit.ports import free_port

SIM_RUN = ["--start", "2026-07-01T12:00", "--step", "10s", "--seed", "3"]


class Ingest:
    def __init__(self, workdir: Path, broker_url: str, client_id: str = "test-ingest", *extra: str,
                 db: Path | None = None, store: str | None = None, state_dir: Path | str | None = None,
                 cwd: Path | None = None, env: dict[str, str] | None = None, command: list[str] | None = None,
                 health_host: str = "127.0.0.1"):
        """``state_dir``: None for a folder of its own in ``workdir``, "default" to give none;
        ``cwd`` and ``env``: the process's own; ``command`` and ``health_host``: a test host's (testkit.netns)."""
        self.workdir = workdir
        self.db = db or workdir / "expo.db"
        self.store = store or f"sqlite:///{self.db}"
        self.health_port = free_port()
        self.health_host = health_host
        state = ["--state-dir", str(state_dir or workdir / f"state-{client_id}")] if state_dir != "default" else []
        self.args = [
            *(command or []), sys.executable, "-m", "energy_expo.cli", "ingest", "--broker", broker_url, "--store", self.store,
            *state, "--mqtt-client-id", client_id, "--health", f"{health_host}:{self.health_port}", *extra,
        ]
        self.cwd = cwd
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log = workdir / f"ingest-{client_id}.log"

    def start(self, timeout_s: float = 20.0) -> "Ingest":
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"),
                                        cwd=self.cwd, env=self.env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            health = self.health()
            if health and health.get("connected") == 1.0:
                return self
            assert self.process.poll() is None, self.log.read_text()
            time.sleep(0.1)
        raise TimeoutError(f"ingest did not connect: {self.log.read_text()}")

    def health(self) -> dict | None:
        return read_health(f"{self.health_host}:{self.health_port}")

    def stop(self, sig=signal.SIGTERM, timeout_s: float = 30.0) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout_s)
        self.process = None
        return code

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


def stored_values(db: Path, totals: bool = False) -> dict[tuple[str, str, int], float]:
    """(device, metric, ts_ms) -> value, read the way another process (the dashboard) would; the site totals
    ingest makes (device ``site-totals``) only with ``totals``, as they are not what a meter sent."""
    if not db.exists():
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute(
            "SELECT s.device, s.metric, r.ts_ms, r.value FROM readings r JOIN series s ON s.id = r.series"
        ).fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        con.close()
    return {(d, m, ts): v for d, m, ts, v in rows if totals or d != TOTALS_DEVICE}


def expected_values(duration: str) -> dict[tuple[str, str, int], float]:
    """What the simulator sends for SIM_RUN over ``duration``, from its jsonl output."""
    from expo.reading import parse_ts

    result = energy_expo("simulate", "--output", "jsonl", "--no-meta", "--duration", duration, *SIM_RUN)
    assert result.returncode == 0, result.stderr
    values = {}
    for line in result.stdout.splitlines():
        message = json.loads(line)
        device = message["topic"].split("/")[2]
        ts_ms = round(parse_ts(message["payload"]["ts"]) * 1000)
        for metric, value in message["payload"]["metrics"].items():
            values[(device, metric, ts_ms)] = value
    return values


def wait_for_values(db: Path, count: int, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    values = {}
    while time.monotonic() < deadline:
        values = stored_values(db)
        if len(values) >= count:
            return values
        time.sleep(0.25)
    return values


def influx_values(port: int, database: str = "expo", totals: bool = False) -> dict[tuple[str, str, int], float]:
    """(device, metric, ts_ms) -> value straight from InfluxDB's HTTP API, as any InfluxQL client would see it;
    the site totals only with ``totals`` (as ``stored_values``)."""
    from urllib.parse import urlencode
    from urllib.request import urlopen

    query = urlencode({"db": database, "q": 'SELECT * FROM "reading" GROUP BY "device"', "epoch": "ms"})
    try:
        with urlopen(f"http://127.0.0.1:{port}/query?{query}", timeout=10) as response:
            body = json.loads(response.read())
    except OSError:
        return {}
    values = {}
    for result in body.get("results", []):
        for series in result.get("series", []):
            device = series["tags"]["device"]
            if device == TOTALS_DEVICE and not totals:
                continue
            columns = series["columns"]
            for row in series["values"]:
                for column, value in zip(columns, row):
                    if column not in ("time", "site") and value is not None:
                        values[(device, column, row[0])] = value
    return values


def wait_for(read, count: int, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    values = {}
    while time.monotonic() < deadline:
        values = read()
        if len(values) >= count:
            return values
        time.sleep(0.25)
    return values


def wait_health(ingest: "Ingest", done, timeout_s: float = 60.0) -> dict:
    """Ingest's health once ``done(health)`` holds (bounded; the last seen otherwise, for the assertion to show)."""
    deadline = time.monotonic() + timeout_s
    health = {}
    while time.monotonic() < deadline:
        health = ingest.health() or {}
        if done(health):
            return health
        time.sleep(0.2)
    return health
