"""Ingest partitioned by site: one process for two sites against two processes with one site each, same run.

Prints figures; it is not a test. Run from the repository root:

    .venv/bin/python bench/ingest_sites.py                 # 60,000 readings of 2 sites x 500 meters
    .venv/bin/python bench/ingest_sites.py --readings 120000

Why a drain and not a live stream: one paho publisher in Python is slower than
two ingest processes, so a live stream would measure the publisher. Here each
configuration's ingest processes first make their persistent sessions, go
away, and the whole stream is published while they are away (the broker
queues it: ``max_queued_messages`` is far above the stream); then they start
again and the figure is readings per second from the moment they are
connected to the moment InfluxDB counts the last reading. Each configuration
writes a database of its own on the same private Mosquitto and InfluxDB.

Beside each figure: the CPU seconds per 1,000 readings of the ingest
processes, of Mosquitto and of InfluxDB over the same drain, which is what the
model in docs/deploy.md extrapolates from. A bare subscriber (counts only, a
live stream) gives the same-run reference of what one Python MQTT client
receives on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from energy_expo.children import stop_process  # noqa: E402
from ingest.health import read_health  # noqa: E402
from testkit.ports import free_port  # noqa: E402
from testkit.servers import InfluxDB, Mosquitto  # noqa: E402  (the servers' types)
from testkit.procfs import cpu_s  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from burst.shared import RoleProcess, influx_count, private_servers, publish_all, wait_until  # noqa: E402

SITES = ("north", "south")
DEVICES_PER_SITE = 500
T0_S = 1782835200


def messages(count: int) -> list[tuple[str, bytes]]:
    """Both sites interleaved, every meter once a step: power and an energy counter, as the simulator sends."""
    out = []
    per_step = len(SITES) * DEVICES_PER_SITE
    for i in range(count):
        step, slot = divmod(i, per_step)
        site, device = SITES[slot % len(SITES)], slot // len(SITES)
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0_S + step * 10))
        body = {"v": 1, "ts": ts, "metrics": {"power_w": 100.0 + device + step % 7,
                                              "energy_wh": 1000.0 + step * 0.3 + device}}
        out.append((f"expo/{site}/m-{device:03d}/reading", json.dumps(body, separators=(",", ":")).encode()))
    return out


class IngestProcess:
    def __init__(self, broker: Mosquitto, store: str, client_id: str, workdir: Path, *extra: str):
        self.health = f"127.0.0.1:{free_port()}"
        self.args = [sys.executable, "-m", "energy_expo.cli", "--log-level", "warning", "ingest", "--broker",
                     broker.url, "--store", store, "--state-dir", str(workdir / "state"), "--mqtt-client-id",
                     client_id, "--health", self.health, *extra]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.args, cwd=ROOT)

    def connected(self) -> bool:
        return (read_health(self.health) or {}).get("connected") == 1.0

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout_s=60, name="ingest")
        self.process = None


def drain(broker: Mosquitto, influx: InfluxDB, payloads, workdir: Path, name: str,
          sites: list[tuple[str, ...] | None]) -> dict:
    """Sessions made, the stream queued while away, then the drain timed (see the module's docstring)."""
    processes = [IngestProcess(broker, influx.url(name), f"{name}-{i}", workdir / f"{name}-{i}",
                               *(["--sites", ",".join(s)] if s else []))
                 for i, s in enumerate(sites)]
    try:
        for p in processes:
            p.start()
        wait_until(lambda: all(p.connected() for p in processes), 60)
        for p in processes:
            p.stop()
        servers_before = cpu_s(broker.process.pid), cpu_s(influx.process.pid)
        publish_all(broker.port, payloads)  # the broker's cost of taking the stream in counts too
        for p in processes:
            p.start()
        first = wait_until(lambda: all(p.connected() for p in processes), 60, interval_s=0.02)
        ingest_before = sum(cpu_s(p.process.pid) or 0.0 for p in processes)  # start-up is not ingesting
        last = wait_until(lambda: influx_count(influx.port, name) >= len(payloads), 600, interval_s=0.1)
        ingest_cpu = sum(cpu_s(p.process.pid) or 0.0 for p in processes) - ingest_before
        mosquitto_cpu = cpu_s(broker.process.pid) - servers_before[0]
        influx_cpu = cpu_s(influx.process.pid) - servers_before[1]
    finally:
        for p in processes:
            p.stop()
    ms_per_k = 1000.0 * 1000.0 / len(payloads)
    return {"rate": len(payloads) / (last - first), "ingest_ms": ingest_cpu * ms_per_k,
            "mosquitto_ms": mosquitto_cpu * ms_per_k, "influx_ms": influx_cpu * ms_per_k, "seconds": last - first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=2, help="each configuration this many times, alternating")
    args = parser.parse_args()
    payloads = messages(args.readings)
    with private_servers() as (workdir, broker, influx):
        load = os.getloadavg()[0]
        print(f"machine: {os.cpu_count()} cores (shared by broker, database and ingest), Python "
              f"{sys.version.split()[0]}, load average {load:.1f} at start; {len(SITES)} sites x "
              f"{DEVICES_PER_SITE} meters, QoS 1, {args.readings:,} native readings (power + energy counter)")
        bare = RoleProcess("bare", broker.port, len(payloads), topics="expo/+/+/reading")
        first_wall = time.time()
        publish_all(broker.port, payloads)
        bare_rate = len(payloads) / (bare.finish().last_wall - first_wall)
        print(f"  bare subscriber, live (counts only):   {bare_rate:9,.0f} readings/s")
        results: dict[str, list[dict]] = {"one": [], "two": []}
        for round_ in range(args.rounds):
            for name, sites in (("one", [None]), ("two", [SITES[:1], SITES[1:]])):
                results[name].append(drain(broker, influx, payloads, workdir, f"{name}{round_}", sites))
        for name, label in (("one", "1 ingest process, both sites"), ("two", "2 ingest processes, a site each")):
            for r in results[name]:
                print(f"  {label}: {r['rate']:9,.0f} readings/s ({r['seconds']:.1f} s)   CPU per 1,000 readings: "
                      f"ingest {r['ingest_ms']:.0f} ms (all its processes), "
                      f"mosquitto {r['mosquitto_ms']:.0f} ms (in and out), influxd {r['influx_ms']:.0f} ms")
        best = {name: max(r["rate"] for r in rs) for name, rs in results.items()}
        print(f"  two processes / one: {best['two'] / best['one']:.2f}x (best of {args.rounds} each)")
        every = [r for rs in results.values() for r in rs]
        for part in ("ingest", "mosquitto", "influx"):
            ms = min(r[f"{part}_ms"] for r in every)
            print(f"  one core's worth of {part}: {1e6 / ms:9,.0f} readings/s ({ms:.1f} ms CPU per 1,000, least seen)")


if __name__ == "__main__":
    main()
