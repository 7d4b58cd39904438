"""The baseline consumers, each run as a process of its own (as ingest is): ``python bench/burst/roles.py ROLE``.

- bare: a paho client that only counts messages, the most this machine's MQTT path delivers to one Python process;
- floor: the least any Python ingester on paho can do and still land every reading in InfluxDB (parse JSON, batch
  line protocol, one POST per batch; no validation, no acknowledgements held back, no rollups);
- naive: one HTTP write per message, as most tutorials do.

Protocol with the parent (bench/burst/shared.py): ``ready`` once subscribed, then one line
``done <wall time of the last message handled> <messages handled> <cpu s since ready> <peak rss MB>``, also when
``--timeout-s`` runs out first (so a lost message shows as a short count, never as a hang).
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import resource
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


CPU_AT_READY = [0.0]


def peak_rss_mb() -> float:
    """VmHWM of this process image (getrusage's ru_maxrss would include the parent's before exec)."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def report(last_wall: float, handled: int) -> None:
    """CPU from subscribed to done, as the parent measures the other consumers from the first publish."""
    print(f"done {last_wall} {handled} {cpu_s() - CPU_AT_READY[0]:.3f} {peak_rss_mb():.1f}", flush=True)


def on_ready(*_args) -> None:
    CPU_AT_READY[0] = cpu_s()
    print("ready", flush=True)


def subscriber(role: str, port: int, topics: str, on_message) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"bench-{role}")
    client.on_message = on_message
    client.on_subscribe = on_ready
    client.connect("127.0.0.1", port)
    client.subscribe(topics, qos=1)
    client.loop_start()
    return client


def run_counting(role: str, port: int, count: int, topics: str, influx_port: int, database: str,
                 timeout_s: float) -> None:
    """bare (counts) or naive (parses each message and POSTs it on its own), in paho's thread."""
    done = threading.Event()
    seen = [0, 0.0]
    conn = http.client.HTTPConnection("127.0.0.1", influx_port, timeout=10) if role == "naive" else None

    def on_message(client, userdata, message):
        if conn is not None:
            body = json.loads(message.payload)
            device = message.topic.split("/")[2]
            fields = ",".join(f"{k}={v}" for k, v in body["metrics"].items())
            ts_ms = int(time.mktime(time.strptime(body["ts"], "%Y-%m-%dT%H:%M:%SZ")) * 1000)
            conn.request("POST", f"/write?db={database}&precision=ms", f"reading,device={device} {fields} {ts_ms}")
            conn.getresponse().read()
        seen[0] += 1
        seen[1] = time.time()
        if seen[0] >= count:
            done.set()

    client = subscriber(role, port, topics, on_message)
    done.wait(timeout_s)
    report(seen[1], seen[0])
    client.disconnect()
    client.loop_stop()


def run_floor(port: int, count: int, topics: str, influx_port: int, database: str, timeout_s: float) -> None:
    """Receive in paho's thread, parse and POST in batches in another: the cheapest honest ingester."""
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    client = subscriber("floor", port, topics, lambda c, u, m: inbox.put((m.topic, m.payload)))
    conn = http.client.HTTPConnection("127.0.0.1", influx_port, timeout=10)
    written, last_wall = 0, 0.0
    deadline = time.monotonic() + timeout_s
    while written < count:
        try:
            lines = [inbox.get(timeout=max(0.01, deadline - time.monotonic()))]
        except queue.Empty:
            break
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
        conn.request("POST", f"/write?db={database}&precision=ms", "\n".join(body))
        conn.getresponse().read()
        written += len(lines)
        last_wall = time.time()
    report(last_wall, written)
    client.disconnect()
    client.loop_stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", choices=["bare", "naive", "floor"])
    parser.add_argument("--port", type=int, required=True, help="the broker's port")
    parser.add_argument("--readings", type=int, required=True, help="messages to wait for")
    parser.add_argument("--topics", default="expo/bench/+/reading", help="MQTT topic filter")
    parser.add_argument("--influx-port", type=int, default=0)
    parser.add_argument("--database", default="", help="InfluxDB database (default: the role's name)")
    parser.add_argument("--timeout-s", type=float, default=600.0)
    args = parser.parse_args()
    database = args.database or args.role
    if args.role == "floor":
        run_floor(args.port, args.readings, args.topics, args.influx_port, database, args.timeout_s)
    else:
        run_counting(args.role, args.port, args.readings, args.topics, args.influx_port, database, args.timeout_s)


if __name__ == "__main__":
    main()
