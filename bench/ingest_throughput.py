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
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from energy_expo.children import stop_process  # noqa: E402
from testkit.ports import free_port  # noqa: E402
from testkit.procfs import cpu_s, peak_rss_mb  # noqa: E402
from testkit.servers import InfluxDB, Mosquitto  # noqa: E402

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


def publish_all(port: int, payloads: list[tuple[str, bytes]]) -> float:
    """Publish at QoS 1 as fast as one client can; returns the (perf_counter) instant of the first publish.

    At most 30,000 messages wait unacknowledged: MQTT message ids are 16-bit, so paho cannot hold 65,536.
    """
    acked = [0]
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.on_publish = lambda *a: acked.__setitem__(0, acked[0] + 1)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    first = time.perf_counter()
    for i, (topic, payload) in enumerate(payloads):
        while i - acked[0] > 30_000:
            time.sleep(0.001)
        client.publish(topic, payload, qos=1)
    while acked[0] < len(payloads):
        time.sleep(0.005)
    client.disconnect()
    client.loop_stop()
    return first


def influx_count(port: int, database: str) -> int:
    query = urlencode({"db": database, "q": 'SELECT count("power_w") FROM "reading"'})
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/query?{query}", timeout=10) as response:
            results = json.loads(response.read())["results"][0]
    except OSError:
        return 0
    series = results.get("series")
    return int(series[0]["values"][0][1]) if series else 0


def wait_until(predicate, timeout_s: float = 300.0, interval_s: float = 0.05) -> float:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if predicate():
            return time.perf_counter()
        time.sleep(interval_s)
    raise TimeoutError("the benchmark did not finish in time")


def run_role(role: str, port: int, count: int, influx_port: int = 0) -> None:
    """A baseline consumer in its own process (as ingest is), printing the wall time of its last message."""
    import http.client

    done = threading.Event()
    seen = [0]
    conn = http.client.HTTPConnection("127.0.0.1", influx_port, timeout=10) if role == "naive" else None

    if role == "floor":
        run_floor(client_port=port, count=count, influx_port=influx_port)
        return

    def on_message(client, userdata, message):
        if conn is not None:  # the tutorial ingester: parse each message and POST it on its own
            body = json.loads(message.payload)
            device = message.topic.split("/")[2]
            fields = ",".join(f"{k}={v}" for k, v in body["metrics"].items())
            ts_ms = int(time.mktime(time.strptime(body["ts"], "%Y-%m-%dT%H:%M:%SZ")) * 1000)
            conn.request("POST", "/write?db=naive&precision=ms", f"reading,device={device} {fields} {ts_ms}")
            conn.getresponse().read()
        seen[0] += 1
        if seen[0] >= count:
            print(time.time(), flush=True)
            done.set()

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"bench-{role}")
    client.on_message = on_message
    client.on_subscribe = lambda *a: print("ready", flush=True)
    client.connect("127.0.0.1", port)
    client.subscribe("expo/bench/+/reading", qos=1)
    client.loop_start()
    done.wait(600)
    client.disconnect()
    client.loop_stop()


def run_floor(client_port: int, count: int, influx_port: int) -> None:
    """Receive in paho's thread, parse and POST in batches in another: the cheapest honest ingester."""
    import http.client
    import queue

    inbox: queue.SimpleQueue = queue.SimpleQueue()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-floor")
    client.on_message = lambda c, u, m: inbox.put((m.topic, m.payload))
    client.on_subscribe = lambda *a: print("ready", flush=True)
    client.connect("127.0.0.1", client_port)
    client.subscribe("expo/bench/+/reading", qos=1)
    client.loop_start()
    conn = http.client.HTTPConnection("127.0.0.1", influx_port, timeout=10)
    written = 0
    while written < count:
        lines = [inbox.get()]
        while len(lines) < 5000:
            try:
                lines.append(inbox.get_nowait())
            except queue.Empty:
                break
        body = []
        for topic, payload in lines:
            doc = json.loads(payload)
            fields = ",".join(f"{k}={v}" for k, v in doc["metrics"].items())
            body.append(f"reading,device={topic.split('/')[2]} {fields} {doc['seq']}")
        conn.request("POST", "/write?db=floor&precision=ms", "\n".join(body))
        conn.getresponse().read()
        written += len(lines)
    print(time.time(), flush=True)
    client.disconnect()
    client.loop_stop()


def bench_baseline(role: str, broker: Mosquitto, payloads, influx_port: int = 0) -> float:
    process = subprocess.Popen(
        [sys.executable, __file__, "--role", role, "--port", str(broker.port), "--readings", str(len(payloads)),
         "--influx-port", str(influx_port)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert process.stdout.readline().strip() == "ready"
    first_wall = time.time()
    publish_all(broker.port, payloads)
    last_wall = float(process.stdout.readline())
    process.wait(60)
    return len(payloads) / (last_wall - first_wall)


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
    parser.add_argument("--role", choices=["bare", "naive", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--influx-port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        run_role(args.role, args.port, args.readings, args.influx_port)
        return
    payloads = messages(args.readings)
    workdir = Path(tempfile.mkdtemp())
    broker = Mosquitto(workdir / "mq", persistence=False, extra="max_inflight_messages 0\n")
    influx = InfluxDB(workdir / "influx")
    broker.start()
    influx.start()
    try:
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
    finally:
        broker.stop()
        influx.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
