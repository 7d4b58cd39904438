"""Ingest of a `large`-scenario burst into a real InfluxDB, beside every baseline, all measured in the same run.

Prints figures; it is not a test. Run from the repository root:

    .venv/bin/python bench/ingest_burst.py                       # every consumer once, about 5-10 minutes
    .venv/bin/python bench/ingest_burst.py --runs 3
    .venv/bin/python bench/ingest_burst.py --only floor,ingest-unguarded,node-red
    .venv/bin/python bench/ingest_burst.py --at-commit HEAD~3    # energy-expo ingest of another commit

The burst is what the simulator publishes for the bundled `large` scenario (10,197 meters): every meter's
retained metadata, then the first ``--readings`` readings (60,000 by default, about 6 steps of 10 s), built
with the simulator's own engine and encoder. It is published at QoS 1 as fast as one paho client can. Each
consumer gets its own private Mosquitto and InfluxDB 1.x on free loopback ports, runs in a process of its
own, and is timed from the first publish to the last reading stored, counted in InfluxDB (the bare
subscriber: received):

- bare: a paho subscriber that only counts, the most this machine's MQTT path gives one Python process;
- floor: parse + batched line-protocol POST, acknowledgement on receipt, no checks, no rollups;
- naive: one HTTP write per message, on the first ``--naive-readings`` readings (it is slow);
- ingest: the real ``energy-expo ingest`` with its defaults, and ingest-unguarded: the same with
  ``--max-new-devices-per-minute`` lifted; each reports what its /health says;
- node-red: the flow in bench/node-red/ (mqtt in -> json -> function -> join of 1,000 -> influxdb batch).

Columns besides the rate: stored/sent (nothing lost?), the ratio to the bare subscriber, the floor and
Node-RED of the same run, the consumer's peak RSS, its CPU seconds from the first publish on, InfluxDB's CPU
seconds from the first publish until the last reading is stored (what ingest writes after a burst, its
rollups and at its close, is not the burst's time), and how long the one publisher took for the whole burst (every consumer's
ceiling: a consumer can finish no sooner).

A consumer that stops storing is given up on after ``--stall-s`` without progress or ``--timeout-s`` in
all; the table then shows how many were stored and when progress stopped. Runs share this machine's two
cores with whatever else runs: compare the ratios, which come from one run.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from burst import expo_ingest, nodered, workload  # noqa: E402
from burst.table import LABELS, Row, print_table  # noqa: E402
from burst.watch import watch_store  # noqa: E402
from burst.shared import RoleProcess, create_database, influx_count, influx_writes, publish_all  # noqa: E402
from testkit.procfs import cpu_s  # noqa: E402
from testkit.servers import InfluxDB, Mosquitto  # noqa: E402

CONSUMERS = ("bare", "floor", "naive", "ingest", "ingest-unguarded", "node-red")
TOPICS = "expo/+/+/reading"
UNGUARDED = ["--max-new-devices-per-minute", "1000000000"]


@contextmanager
def servers(workdir: Path, with_influx: bool = True):
    """A fresh broker and InfluxDB for each consumer: none inherits another's retained messages, data or load."""
    broker = Mosquitto(workdir / "mq", persistence=False, extra="max_inflight_messages 0\n").start()
    influx = None
    try:
        influx = InfluxDB(workdir / "influx").start() if with_influx else None
        yield broker, influx
    finally:
        broker.stop()
        if influx is not None:
            influx.stop()


class TimedPublish:
    """publish_all, remembering how long the burst took to publish (all acknowledged by the broker)."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, port: int, messages) -> None:
        started = time.perf_counter()
        publish_all(port, messages)
        self.seconds = time.perf_counter() - started


def influxd_cpu(influx) -> float:
    return (cpu_s(influx.process.pid) or 0.0) if influx is not None else 0.0


def broker_cpu(broker) -> float:
    return cpu_s(broker.process.pid) or 0.0


def run_role(name: str, burst, workdir: Path, timeout_s: float) -> Row:
    with servers(workdir, with_influx=name != "bare") as (broker, influx):
        port = influx.port if influx else 0
        if influx:
            create_database(port, name)
        consumer = RoleProcess(name, broker.port, len(burst.readings), port, TOPICS, name, timeout_s)
        influx_before, broker_before = influxd_cpu(influx), broker_cpu(broker)
        writes_before = influx_writes(port) if influx else (0, 0)
        first_wall = time.time()
        publish = TimedPublish()
        publish(broker.port, burst.messages)
        seconds = None
        if name == "floor":  # timed as ingest and Node-RED are: by the first poll of InfluxDB that counts them all
            seconds = watch_store(port, name, workload.COUNT_FIELDS, len(burst.readings), first_wall, timeout_s,
                                  timeout_s).seconds
        result = consumer.finish()
        stored = influx_count(port, name, workload.COUNT_FIELDS) if influx else result.handled
        seconds = seconds if seconds is not None else max(result.last_wall - first_wall, 1e-9)
        row = Row(name, len(burst.readings), stored, seconds, result.cpu_s,
                  influxd_cpu(influx) - influx_before if influx else None, result.peak_rss_mb,
                  publish_s=publish.seconds, broker_cpu_s=broker_cpu(broker) - broker_before)
        if influx:
            row.notes.append(writes_note(name, influx_writes(port), writes_before))
        if stored < len(burst.readings):
            row.notes.append(f"{name}: {stored:,} of {len(burst.readings):,} in {timeout_s:.0f} s")
        return row


def writes_note(name: str, after: tuple[int, int], before: tuple[int, int]) -> str:
    points, requests = (a - b for a, b in zip(after, before))
    return f"{name}: InfluxDB took {points:,} points in {requests:,} write requests"


def progress_notes(name: str, progress, sent: int) -> list[str]:
    if progress.stored >= sent:
        return []
    return [f"{name}: {progress.ended}; {progress.stored:,} of {sent:,} stored, the last of them "
            f"{progress.seconds:.0f} s after the first publish; "
            f"stored over time: {progress.timeline()}"]


def run_ingest(name: str, burst, workdir: Path, args) -> Row:
    with servers(workdir) as (broker, influx):
        publish, broker_before = TimedPublish(), broker_cpu(broker)
        extra = (UNGUARDED if name == "ingest-unguarded" else []) + shlex.split(args.ingest_args)
        run = expo_ingest.run(burst, broker, influx, workdir, extra, publish, workload.COUNT_FIELDS,
                              args.timeout_s, args.stall_s, args.tree)
        p = run.progress
        row = Row(name, len(burst.readings), p.stored, p.seconds, run.cpu_s, run.influxd_cpu_s,
                  run.peak_rss_mb, publish_s=publish.seconds, broker_cpu_s=broker_cpu(broker) - broker_before)
        row.notes += progress_notes(name, p, len(burst.readings))
        if p.stored >= len(burst.readings):  # the tail after the publisher is done: where the time went
            row.notes.append(f"{name}: stored over time: {p.timeline(1.0)} (publisher done at {publish.seconds:.1f}s)")
        row.notes.append(writes_note(name, run.influxd_writes, (0, 0)))
        row.notes.append(f"{name}: " + expo_ingest.health_summary(run.health))
        row.notes += [f"{name} log: {line[:200]}" for line in run.log_tail]
        if run.stop_note:
            row.notes.append(f"{name}: {run.stop_note}")
        return row


def run_node_red(burst, workdir: Path, args) -> Row | str:
    missing = nodered.ensure_installed()
    if missing:
        return f"Node-RED baseline skipped: {missing}"
    with servers(workdir) as (broker, influx):
        create_database(influx.port, nodered.DATABASE)
        before, publish, broker_before = influxd_cpu(influx), TimedPublish(), broker_cpu(broker)
        writes_before = influx_writes(influx.port)
        run = nodered.run(burst, broker, influx, workdir, publish, workload.COUNT_FIELDS, args.timeout_s,
                          args.stall_s)
        row = Row("node-red", len(burst.readings), run.progress.stored, run.progress.seconds, run.cpu_s,
                  influxd_cpu(influx) - before, run.peak_rss_mb, [f"node-red: Node-RED {run.version}"],
                  publish.seconds, broker_cpu_s=broker_cpu(broker) - broker_before)
        row.notes.append(writes_note("node-red", influx_writes(influx.port), writes_before))
        row.notes += progress_notes("node-red", run.progress, len(burst.readings))
        return row


def code_label(tree: Path | None, at_commit: str | None) -> str:
    def git(*words: str) -> str:
        return subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    if tree is not None:
        return f"energy-expo at commit {git('rev-parse', '--short', at_commit)} (exported)"
    dirty = git("status", "--porcelain", "--", "ingest", "expo", "energy_expo")
    return (f"energy-expo of the working tree at {git('rev-parse', '--short', 'HEAD')}"
            + (" with uncommitted changes in ingest/ expo/ energy_expo/" if dirty else ""))


def export_commit(rev: str, into: Path) -> Path:
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=int, default=60_000, help="readings in the burst (default 60,000)")
    parser.add_argument("--naive-readings", type=int, default=10_000, help="the naive ingester's subset")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", default=",".join(CONSUMERS), help="comma-separated: " + ",".join(CONSUMERS))
    parser.add_argument("--timeout-s", type=float, default=240.0, help="longest one consumer is waited for")
    parser.add_argument("--stall-s", type=float, default=120.0, help="give up after this long with nothing stored")
    parser.add_argument("--at-commit", help="run energy-expo ingest from this commit (git archive) instead")
    parser.add_argument("--ingest-args", default="", help="more options for energy-expo ingest, e.g. "
                        "\"--batch-size 1000\" (an experiment: the table's label stays the same)")
    args = parser.parse_args()
    only = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = sorted(set(only) - set(CONSUMERS))
    if unknown:
        parser.error(f"unknown consumer(s) {', '.join(unknown)}; pick from {', '.join(CONSUMERS)}")
    top = Path(tempfile.mkdtemp(prefix="ingest-burst-"))
    try:
        args.tree = export_commit(args.at_commit, top / "tree") if args.at_commit else None
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "unknown CPU")
        print(f"machine: {os.cpu_count()} cores ({cpu}), Python {sys.version.split()[0]}; "
              f"{code_label(args.tree, args.at_commit)}")
        history: dict[str, list[float]] = {}
        for run in range(1, args.runs + 1):
            burst = workload.build(args.readings)
            size = sum(len(p) for _, p in burst.readings) / len(burst.readings)
            print(f"run {run}/{args.runs}: `{burst.scenario}` burst, {burst.meters:,} meters: {len(burst.meta):,} "
                  f"retained metadata then {len(burst.readings):,} readings ({size:.0f} bytes each), QoS 1; "
                  f"load average {os.getloadavg()[0]:.2f}", flush=True)
            rows: list[Row] = []
            for name in [c for c in CONSUMERS if c in only]:
                workdir = top / f"run{run}-{name}"
                load = os.getloadavg()[0]  # others' work on the same cores: the one thing the ratios cannot remove
                try:
                    if name in ("bare", "floor", "naive"):
                        sub = burst.subset(args.naive_readings) if name == "naive" else burst
                        row = run_role(name, sub, workdir, args.timeout_s)
                    elif name == "node-red":
                        row = run_node_red(burst, workdir, args)
                    else:
                        row = run_ingest(name, burst, workdir, args)
                except (RuntimeError, TimeoutError, OSError) as exc:  # one consumer's failure, not the run's
                    row = f"{LABELS[name]} failed: {exc}"
                if isinstance(row, str):
                    print(f"  {row}", flush=True)
                    continue
                print(f"  {LABELS[name]}: {row.rate:,.0f} readings/s, {row.stored:,}/{row.sent:,} stored "
                      f"(load average before it {load:.2f})", flush=True)
                rows.append(row)
                history.setdefault(name, []).append(row.rate)
            print_table(rows)
        if args.runs > 1:
            print("over all runs, readings/s (min-max): " + "; ".join(
                f"{LABELS[n]} {min(v):,.0f}-{max(v):,.0f}" for n, v in history.items()))
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
