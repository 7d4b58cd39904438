"""Ingest throughput into a real InfluxDB, against two baselines measured in the same run.

Prints figures; it is not a test. Run from the repository root:

    .venv/bin/python bench/ingest_throughput.py               # 100,000 readings, about two minutes
    .venv/bin/python bench/ingest_throughput.py --profile     # and where ingest's own time goes

Each run starts a private Mosquitto (with a queue deep enough that a momentary
backlog is not dropped: Mosquitto's default ``max_queued_messages`` of 1000
silently drops QoS 1 messages for a subscriber that falls behind) and a private
InfluxDB 1.x on free loopback ports, and publishes native payloads from 500
devices at QoS 1 as fast as one paho client can. Each figure is readings per
second from the first publish to the last reading stored (or, for the bare
subscriber, received):

- bare subscriber: a paho client that only counts messages, the most this
  machine's MQTT path delivers to one Python process;
- energy-expo ingest: the real ``energy-expo ingest`` process, counted in
  InfluxDB with ``SELECT count(power_w)``;
- naive ingester: one HTTP write per message, as most tutorials do.
- floor ingester: the least any Python ingester on paho can do and still land every reading in
  InfluxDB (parse JSON, batch line protocol, one POST per batch; no validation, no acks held
  back). Its ratio to the bare subscriber is this machine's ceiling for the same path.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from energy_expo.children import stop_process  # noqa: E402
from testkit.ports import free_port  # noqa: E402
from testkit.servers import InfluxDB, Mosquitto  # noqa: E402  (the servers' types)
from testkit.procfs import cpu_s, peak_rss_mb  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from burst.shared import RoleProcess, influx_count, private_servers, publish_all, wait_until  # noqa: E402

DEVICES = 500
T0_S = 1782835200


def messages(count: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(count):
        device, step = i % DEVICES, i // DEVICES
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0_S + step * 10))
        body = {"v": 1, "ts": ts, "seq": step, "metrics": {
            "power_w": 100.0 + device + step % 7, "energy_wh": 1000.0 + step * 0.3 + device,
            "voltage_v": 221.5, "current_a": 0.45}}
        out.append((f"expo/bench/dev-{device:03d}/reading", json.dumps(body, separators=(",", ":")).encode()))
    return out


def bench_baseline(role: str, broker: Mosquitto, payloads, influx_port: int = 0) -> float:
    consumer = RoleProcess(role, broker.port, len(payloads), influx_port)
    first_wall = time.time()
    publish_all(broker.port, payloads)
    return len(payloads) / (consumer.finish().last_wall - first_wall)


def bench_ingest(broker: Mosquitto, influx: InfluxDB, payloads, workdir: Path) -> tuple[float, float]:
    health = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "energy_expo.cli", "--log-level", "warning", "ingest", "--broker", broker.url,
         "--store", influx.url("ingest"), "--state-dir", str(workdir / "ingest-state"),
         "--mqtt-client-id", "bench-ingest", "--health", f"127.0.0.1:{health}"],
        cwd=ROOT,
    )
    try:
        def connected():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{health}/health", timeout=1) as r:
                    return json.loads(r.read()).get("connected") == 1.0
            except OSError:
                return False

        wait_until(connected, 30)
        first = time.perf_counter()
        publish_all(broker.port, payloads)
        last = wait_until(lambda: influx_count(influx.port, "ingest") >= len(payloads), interval_s=0.1)
        rss = peak_rss_mb(process.pid) or float("nan")
        for name, pid in (("ingest", process.pid), ("influxd", influx.process.pid),
                          ("mosquitto", broker.process.pid)):
            print(f"    cpu of {name}: {cpu_s(pid):.1f} s over the {last - first:.1f} s run (cumulative since start)")
    finally:
        stop_process(process, timeout_s=60, name="ingest")
    return len(payloads) / (last - first), rss


def profile_processing(influx: InfluxDB, payloads) -> str:
    """Ingest's own work, decode to store, in one thread under cProfile (no MQTT: that is the bare figure)."""
    from expo.store import Batch, open_store
    from ingest.checks import Checks
    from ingest.counters import CounterState
    from ingest.process import Incoming, Processor
    from ingest.routes import build_routes

    processor = Processor(build_routes([], True), "bench", Checks(), CounterState())
    store = open_store(influx.url("profile"))
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for start in range(0, len(payloads), 2000):
        batch = Batch()
        for topic, payload in payloads[start:start + 2000]:
            processor.add(Incoming(topic, payload, time.time()), batch)
        store.write(batch)
    profiler.disable()
    elapsed = time.perf_counter() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(18)
    return f"single thread, decode to store: {len(payloads) / elapsed:,.0f} readings/s\n" + out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--naive-readings", type=int, default=10_000, help="the naive ingester is slow; fewer")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    payloads = messages(args.readings)
    with private_servers() as (workdir, broker, influx):
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {DEVICES} devices, QoS 1, "
              f"{args.readings:,} native readings (4 metrics each)")
        bare = bench_baseline("bare", broker, payloads)
        print(f"  bare subscriber (counts only):  {bare:10,.0f} readings/s")
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{influx.port}/query?" + urlencode({"q": 'CREATE DATABASE "floor"'}), method="POST"))
        floor = bench_baseline("floor", broker, payloads, influx.port)
        print(f"  floor ingester (parse + batch): {floor:10,.0f} readings/s   {floor / bare:.0%} of bare "
              f"(this machine's ceiling for any Python ingester on paho)")
        rate, rss = bench_ingest(broker, influx, payloads, workdir)
        print(f"  energy-expo ingest -> InfluxDB: {rate:10,.0f} readings/s   {rate / bare:.0%} of bare   "
              f"{rate / floor:.0%} of floor   peak RSS {rss:.0f} MB")
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{influx.port}/query?" + urlencode({"q": 'CREATE DATABASE "naive"'}), method="POST"))
        naive = bench_baseline("naive", broker, payloads[: args.naive_readings], influx.port)
        print(f"  naive, one HTTP write per msg:  {naive:10,.0f} readings/s   ingest is {rate / naive:.1f}x faster")
        if args.profile:
            print(profile_processing(influx, payloads))


if __name__ == "__main__":
    main()
