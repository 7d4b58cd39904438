"""`energy-expo ingest` as a consumer of the burst: the real CLI process, counted in InfluxDB, its /health read.

Runs the code of the working tree (whatever is on disk, committed or not) or, with ``tree``, of another
directory, e.g. one commit exported with ``git archive``; ``source_label`` says which for the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from burst.shared import influx_writes
from burst.watch import Progress, watch_store
from energy_expo.children import stop_process
from testkit.ports import free_port
from testkit.procfs import cpu_s, peak_rss_mb

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "ingest"


@dataclass
class IngestRun:
    progress: Progress
    cpu_s: float
    peak_rss_mb: float
    influxd_cpu_s: float = 0.0  # InfluxDB's CPU seconds from the first publish to the last reading stored
    influxd_writes: tuple[int, int] = (0, 0)  # points and write requests InfluxDB took over the same span
    health: dict = field(default_factory=dict)
    log_tail: list[str] = field(default_factory=list)
    stop_note: str = ""


def read_health(port: int) -> dict:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 503 carries the same figures (store down, broker away)
        try:
            return json.loads(exc.read())
        except ValueError:
            return {}
    except (OSError, ValueError):
        return {}


def health_summary(health: dict) -> str:
    """The figures that tell where readings went: quarantined by reason, spooled, replayed, store trouble."""
    if not health:
        return "health: no answer"
    keys = ("received", "readings_accepted", "readings_written", "readings_spooled", "spool_readings",
            "batches_replayed", "store_failures", "store_down", "queue_length", "batch_ms_max")
    parts = [f"{k}={health[k]:,.0f}" for k in keys if k in health]
    rejected = {k[len("rejected_"):]: v for k, v in sorted(health.items()) if k.startswith("rejected_") and v}
    parts.append("quarantined: " + (", ".join(f"{k}={v:,.0f}" for k, v in rejected.items()) or "none"))
    return "health: " + " ".join(parts)


def run(burst, broker, influx, workdir: Path, extra_args: list[str], publish, fields: tuple[str, ...],
        timeout_s: float, stall_s: float, tree: Path | None = None) -> IngestRun:
    """Start ingest, wait until it is connected, publish the burst, watch InfluxDB until done or stalled."""
    health_port = free_port()
    log_path = workdir / "ingest.log"
    cwd = tree or ROOT
    env = dict(os.environ, PYTHONPATH=str(cwd))
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "energy_expo.cli", "--log-level", "warning", "ingest", "--broker", broker.url,
             "--store", influx.url(DATABASE), "--state-dir", str(workdir / "ingest-state"),
             "--mqtt-client-id", "bench-ingest", "--health", f"127.0.0.1:{health_port}", *extra_args],
            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while read_health(health_port).get("connected") != 1.0:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace").splitlines()[-5:]
                raise RuntimeError("energy-expo ingest did not connect: " + " | ".join(tail))
            time.sleep(0.1)
        total = len(burst.messages)
        latest: dict = {}

        def settled() -> bool:  # every message received and nothing waiting: what is not stored never will be
            latest.update(read_health(health_port))
            return (latest.get("received", 0) >= total and latest.get("queue_length", 1) == 0
                    and latest.get("spool_readings", 1) == 0)

        cpu_before = cpu_s(process.pid) or 0.0
        influxd_before = cpu_s(influx.process.pid) or 0.0
        writes_before = influx_writes(influx.port)
        first_wall = time.time()
        publish(broker.port, burst.messages)
        progress = watch_store(influx.port, DATABASE, fields, len(burst.readings), first_wall, timeout_s, stall_s,
                               settled)
        influxd_s = (cpu_s(influx.process.pid) or 0.0) - influxd_before  # not what it does after (rollups, close)
        writes = tuple(after - before for after, before in zip(influx_writes(influx.port), writes_before))
        health = read_health(health_port) or latest
        result = IngestRun(progress, (cpu_s(process.pid) or 0.0) - cpu_before, peak_rss_mb(process.pid) or 0.0,
                           influxd_s, writes, health)
    finally:
        code = stop_process(process, timeout_s=30, name="ingest")
    if code == -9:
        result.stop_note = "did not stop within 30 s of SIGTERM; killed"
    result.log_tail = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()][-3:]
    return result
