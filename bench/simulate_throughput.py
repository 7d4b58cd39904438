"""How fast the simulator makes readings, and whether real-time publishing keeps up.

Prints figures; it is not a test. Run from the repository root:

    .venv/bin/python bench/simulate_throughput.py            # both parts, a few minutes
    .venv/bin/python bench/simulate_throughput.py --only jsonl

1. jsonl mode, ``large`` scenario: readings per second written to a sink, on
   one core, against a same-run baseline of the same readings encoded with
   ``json.dumps`` (the obvious implementation).
2. Real-time mode, ``large`` scenario at a 1 s step, publishing QoS 1 to a
   private Mosquitto on a free loopback port: how late each step is, how many
   messages wait unacknowledged, against a same-run baseline of paho's raw
   QoS 1 throughput on the same broker.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from expo.addresses import parse_broker  # noqa: E402
from simulators import encode  # noqa: E402
from simulators.engine import Simulation  # noqa: E402
from simulators.faults import FaultRates  # noqa: E402
from simulators.publish import Publisher  # noqa: E402
from simulators.runner import run_jsonl, run_realtime  # noqa: E402
from simulators.scenario import load  # noqa: E402
from testkit.servers import Mosquitto  # noqa: E402

START_S = 1782835200 + 6 * 3600  # 2026-07-01 06:00 local


class Sink(io.TextIOBase):
    """Counts what is written, like /dev/null but in-process so the figure is the simulator's alone."""

    def __init__(self):
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_jsonl(steps: int) -> None:
    scenario = load("large")
    sim = Simulation(scenario, 1, START_S, 10)
    sink = Sink()
    wall, cpu = time.perf_counter(), cpu_s()
    stats = run_jsonl(sim, steps, sink, FaultRates(), with_meta=False)
    wall, cpu = time.perf_counter() - wall, cpu_s() - cpu
    ours = stats.readings / wall

    # Baseline: the same readings through json.dumps, one dict per reading.
    sim = Simulation(scenario, 1, START_S, 10)
    groups = encode.kind_groups(sim.site.metas)
    base_steps = max(1, steps // 5)
    frame = sim.advance(base_steps)
    t = time.perf_counter()
    count = 0
    for step in range(frame.steps):
        ts = "2026-07-01T00:00:00Z"
        for g in groups:
            columns = [frame.metrics[m][g.rows, step].tolist() for m in g.metrics]
            for topic_name, *values in zip(g.topics, *columns):
                payload = {"v": 1, "ts": ts, "seq": step, "metrics": dict(zip(g.metrics, values))}
                sink.write(json.dumps({"topic": topic_name, "payload": payload}) + "\n")
                count += 1
    baseline = count / (time.perf_counter() - t)

    engine_sim = Simulation(scenario, 1, START_S, 10)
    t = time.perf_counter()
    engine_sim.advance(steps)
    engine = steps * engine_sim.site.count / (time.perf_counter() - t)

    print(f"jsonl, large scenario ({sim.site.count} meters), {steps} steps of 10 s:")
    print(f"  readings: {stats.readings:,}  wall: {wall:.2f} s  cpu: {cpu:.2f} s  ({cpu / wall:.2f} cores)")
    print(f"  ours: {ours:,.0f} readings/s   json.dumps baseline: {baseline:,.0f} readings/s   ratio {ours / baseline:.1f}x")
    print(f"  engine alone (no encoding): {engine:,.0f} readings/s")
    print(f"  output: {sink.chars / stats.readings:.0f} characters per reading")


def paho_capacity(port: int, count: int = 60_000) -> float:
    """Raw paho: QoS 1 publishes of a typical payload, acknowledged per second, nothing else running."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    done = threading.Event()
    acked = [0]

    def on_publish(*_):
        acked[0] += 1
        if acked[0] >= count:
            done.set()

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.on_publish = on_publish
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", port)
    client.loop_start()
    payload = b'{"v":1,"ts":"2026-07-01T04:00:10Z","seq":1,"metrics":{"power_w":903.3,"energy_wh":12284220.343}}'
    t = time.perf_counter()
    for i in range(count):
        client.publish(f"expo/b/home-{i % 8000:04d}/reading", payload, qos=1)
    done.wait(120)
    rate = acked[0] / (time.perf_counter() - t)
    client.disconnect()
    client.loop_stop()
    return rate


def bench_realtime(duration_s: int) -> None:
    workdir = tempfile.mkdtemp()
    broker = Mosquitto(Path(workdir)).start()
    port = broker.port
    try:
        capacity = paho_capacity(port)
        scenario = load("large")
        sim = Simulation(scenario, 1, START_S, 1)
        publisher = Publisher(parse_broker(f"mqtt://127.0.0.1:{port}"), sim.site.site_id, queue_limit=1_000_000)
        publisher.start(wait_s=5)
        pending = []
        stop = threading.Event()

        def sample():
            while not stop.wait(1.0):
                pending.append(publisher.pending)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        wall, cpu = time.perf_counter(), cpu_s()
        stats = run_realtime(sim, publisher, 1.0, duration_s, FaultRates(), threading.Event(), report_every_s=1e9)
        wall, cpu = time.perf_counter() - wall, cpu_s() - cpu
        stop.set()
        unsent = publisher.stop(30)
        needed = sim.site.count / 1.0
        print(f"real time, large scenario ({sim.site.count} meters) at a 1 s step for {duration_s} s, QoS 1:")
        print(f"  readings published: {stats.readings:,}  unsent at exit: {unsent}  dropped: {publisher.stats.dropped}")
        print(f"  step lateness: max {stats.max_lag_s * 1000:.0f} ms (first step, with metadata), "
              f"{stats.max_steady_lag_s * 1000:.0f} ms after it; steps later than one interval: {stats.late_steps}")
        print(f"  unacknowledged, sampled each second: max {max(pending or [0]):,}, last {pending[-1] if pending else 0:,}")
        print(f"  cpu: {cpu / wall:.2f} cores over {wall:.1f} s")
        print(f"  needed {needed:,.0f} msg/s; paho raw QoS 1 capacity on this broker {capacity:,.0f} msg/s "
              f"(load {needed / capacity:.0%})")
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["jsonl", "realtime"])
    parser.add_argument("--steps", type=int, default=60, help="jsonl: steps of the large scenario (default 60)")
    parser.add_argument("--seconds", type=int, default=60, help="real time: seconds to run (default 60)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    if args.only in (None, "jsonl"):
        bench_jsonl(args.steps)
    if args.only in (None, "realtime"):
        bench_realtime(args.seconds)


if __name__ == "__main__":
    main()
