"""What the ingest benchmarks share: one fast QoS 1 publisher, InfluxDB counts, and the baseline consumers' processes.

Moved here from bench/ingest_throughput.py so that it and bench/ingest_burst.py measure with the same code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROLES_SCRIPT = Path(__file__).resolve().with_name("roles.py")


def publish_all(port: int, payloads) -> float:
    """Publish at QoS 1 as fast as one client can; returns the (perf_counter) instant of the first publish.

    ``payloads`` holds (topic, payload) or (topic, payload, retain). At most 30,000 messages wait
    unacknowledged: MQTT message ids are 16-bit, so paho cannot hold 65,536.
    """
    acked = [0]
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.on_publish = lambda *a: acked.__setitem__(0, acked[0] + 1)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    first = time.perf_counter()
    for i, message in enumerate(payloads):
        while i - acked[0] > 30_000:
            time.sleep(0.001)
        client.publish(message[0], message[1], qos=1, retain=len(message) > 2 and bool(message[2]))
    while acked[0] < len(payloads):
        time.sleep(0.005)
    client.disconnect()
    client.loop_stop()
    return first


def influx_query(port: int, database: str, q: str, timeout_s: float = 10.0) -> list[dict]:
    """The series of the first statement's result (empty when there are none or the server does not answer)."""
    query = urlencode({"db": database, "q": q})
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/query?{query}", timeout=timeout_s) as response:
            return json.loads(response.read())["results"][0].get("series") or []
    except (OSError, ValueError, KeyError, IndexError):
        return []


def influx_count(port: int, database: str, fields: tuple[str, ...] = ("power_w",)) -> int:
    """Points of measurement ``reading`` that have one of ``fields``: with fields no kind shares, the readings."""
    select = ", ".join(f'count("{f}")' for f in fields)
    series = influx_query(port, database, f'SELECT {select} FROM "reading"')
    return int(sum(v or 0 for v in series[0]["values"][0][1:])) if series else 0


def influx_writes(port: int) -> tuple[int, int]:
    """Points and write requests the server has taken since it started (its own counters, ``/debug/vars``):
    what a consumer made InfluxDB do, beside its CPU."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/debug/vars", timeout=10) as response:
            write = json.loads(response.read()).get("write", {}).get("values", {})
    except (OSError, ValueError):
        return 0, 0
    return int(write.get("pointReq", 0)), int(write.get("req", 0))


def create_database(port: int, database: str) -> None:
    urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{port}/query?" + urlencode({"q": f'CREATE DATABASE "{database}"'}), method="POST"),
        timeout=10).read()


def wait_until(predicate, timeout_s: float = 300.0, interval_s: float = 0.05) -> float:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if predicate():
            return time.perf_counter()
        time.sleep(interval_s)
    raise TimeoutError("the benchmark did not finish in time")


@dataclass
class RoleResult:
    last_wall: float  # time.time() of the last message handled
    handled: int
    cpu_s: float  # the consumer's own CPU from start to end, start-up included
    peak_rss_mb: float


class RoleProcess:
    """One baseline consumer of bench/burst/roles.py, started and subscribed; ``finish`` waits for its report."""

    def __init__(self, role: str, broker_port: int, count: int, influx_port: int = 0,
                 topics: str = "expo/bench/+/reading", database: str = "", timeout_s: float = 600.0):
        self.process = subprocess.Popen(
            [sys.executable, str(ROLES_SCRIPT), role, "--port", str(broker_port), "--readings", str(count),
             "--topics", topics, "--influx-port", str(influx_port), "--database", database,
             "--timeout-s", str(timeout_s)],
            stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline().strip()
        if line != "ready":
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"the {role} consumer did not start: {line!r}")

    def finish(self) -> RoleResult:
        words = self.process.stdout.readline().split()
        self.process.wait(60)
        if len(words) != 5 or words[0] != "done":
            raise RuntimeError(f"a baseline consumer ended without its report ({words!r})")
        return RoleResult(float(words[1]), int(words[2]), float(words[3]), float(words[4]))


@contextmanager
def private_servers():
    """A Mosquitto and an InfluxDB of the bench's own on free loopback ports, in a folder removed afterwards.

    Mosquitto takes any number of messages in flight (``max_inflight_messages 0``), so a consumer's own
    acknowledgements pace it, not the broker's window."""
    from testkit.servers import InfluxDB, Mosquitto

    workdir = Path(tempfile.mkdtemp())
    broker = Mosquitto(workdir / "mq", persistence=False, extra="max_inflight_messages 0\n")
    influx = InfluxDB(workdir / "influx")
    broker.start()
    influx.start()
    try:
        yield workdir, broker, influx
    finally:
        broker.stop()
        influx.stop()
        shutil.rmtree(workdir, ignore_errors=True)
