"""A stream of several sites for the scale-out tests, and what ingest must make of it, computed here.

Each device in it needs per-device state to be stored right: plugs report
power only (ingest integrates ``energy_wh`` from it), meters' counters reset
to zero mid-stream (ingest continues them), and one late reading of each kind
arrives after the stream (its minute's rollup must be corrected). A step has
an odd number of devices, so a broker that hands messages out round-robin to
two processes alternates every device between them: what a per-message split
breaks shows in the numbers.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from expo.places import TOTALS_DEVICE
from expo.reading import format_ts

SITES = ("eco-city", "port", "airport")
PLUGS = ("plug-1", "plug-2", "plug-3")  # power only
METERS = {"meter-1": 40, "meter-2": 85}  # energy counter, and the step at which it resets to zero
STEP_S = 10
START_S = 1782877800  # 2026-07-01T03:50Z: the stream crosses an hour at step 60
Point = tuple[str, str, str, int]  # site, device, metric, ts (s)


def _power_w(site: int, device: int, step: int) -> float:
    return float(100 + 37 * ((step * 7 + device * 13 + site * 5) % 11))


def _message(site: str, device: str, ts_s: float, metrics: dict) -> tuple[str, bytes]:
    body = {"v": 1, "ts": format_ts(ts_s), "metrics": metrics}
    return f"expo/{site}/{device}/reading", json.dumps(body).encode()


class Stream:
    """The messages in publishing order, and the points (with values) one ingest process stores from them."""

    def __init__(self, steps: int = 120, sites: tuple[str, ...] = SITES):
        self.steps = steps
        self.sites = sites
        self.messages: list[tuple[str, bytes]] = []
        self.expected: dict[Point, float] = {}
        self.offsets: dict[tuple[str, str], float] = {}  # a meter's count before its reset
        raw: dict[tuple[str, str], list[float]] = {}
        for step in range(steps):
            ts_s = START_S + step * STEP_S
            for s, site in enumerate(sites):
                for d, plug in enumerate(PLUGS):
                    self._plug(site, plug, ts_s, _power_w(s, d, step), step)
                for d, (meter, reset_step) in enumerate(METERS.items()):
                    power_w = _power_w(s, d + len(PLUGS), step)
                    history = raw.setdefault((site, meter), [])
                    if step == 0:
                        value = 10_000.0 + 1_000 * s
                    elif step == reset_step:
                        self.offsets[(site, meter)] = history[-1]
                        value = 0.5  # the meter lost its memory and counts again from zero
                    else:
                        value = round(history[-1] + power_w * STEP_S / 3600.0, 3)
                    history.append(value)
                    self._meter(site, meter, ts_s, power_w, value)
        self._late(raw)

    def _plug(self, site: str, plug: str, ts_s: float, power_w: float, step: int) -> None:
        """Left-rectangle integration, in the order and with the expression ingest.counters uses."""
        self.messages.append(_message(site, plug, ts_s, {"power_w": power_w}))
        self.expected[(site, plug, "power_w", ts_s)] = power_w
        if step == 0:
            energy_wh = 0.0
        else:
            previous = ts_s - STEP_S
            energy_wh = (self.expected[(site, plug, "energy_wh", previous)]
                         + max(self.expected[(site, plug, "power_w", previous)], 0.0) * float(STEP_S) / 3600.0)
        self.expected[(site, plug, "energy_wh", ts_s)] = energy_wh

    def _meter(self, site: str, meter: str, ts_s: float, power_w: float, raw_wh: float) -> None:
        """The stored counter goes on from what the meter had counted before its reset."""
        self.messages.append(_message(site, meter, ts_s, {"power_w": power_w, "energy_wh": raw_wh}))
        self.expected[(site, meter, "power_w", ts_s)] = power_w
        self.expected[(site, meter, "energy_wh", ts_s)] = raw_wh + self.offsets.get((site, meter), 0.0)

    def _late(self, raw: dict[tuple[str, str], list[float]]) -> None:
        """A plug's reading between two steps (power only: no energy is added for the past) and a meter's
        reading after its reset (continued with the offset of its time)."""
        for site in self.sites:
            ts_s = START_S + (self.steps // 2) * STEP_S + 5
            self.messages.append(_message(site, "plug-1", ts_s, {"power_w": 999.0}))
            self.expected[(site, "plug-1", "power_w", ts_s)] = 999.0
            step = min(self.steps - 2, METERS["meter-1"] + 10)
            ts_s = START_S + step * STEP_S + 5
            value = raw[(site, "meter-1")][step] + 0.001
            self.messages.append(_message(site, "meter-1", ts_s, {"power_w": 1.0, "energy_wh": value}))
            self.expected[(site, "meter-1", "power_w", ts_s)] = 1.0
            self.expected[(site, "meter-1", "energy_wh", ts_s)] = value + self.offsets[(site, "meter-1")]

    # -- what a store must hold -----------------------------------------------------------------------

    def readings(self, sites: tuple[str, ...] | None = None) -> int:
        """Messages (each one reading) of these sites, or of all."""
        return sum(1 for topic, _ in self.messages if sites is None or topic.split("/")[1] in sites)

    def rollups(self, width_s: int, metric: str) -> dict[tuple[str, str, int], tuple[int, float, float, float, float]]:
        """(site, device, bucket start s) -> (count, mean, min, max, last) of the expected points."""
        points: dict[tuple[str, str, int], list[tuple[int, float]]] = defaultdict(list)
        for (site, device, m, ts_s), value in self.expected.items():
            if m == metric:
                points[(site, device, ts_s // width_s * width_s)].append((ts_s, value))
        result = {}
        for key, items in points.items():
            values = [v for _, v in sorted(items)]
            result[key] = (len(values), sum(values) / len(values), min(values), max(values), values[-1])
        return result


def publish(host: str, port: int, messages: list[tuple[str, bytes]], client_id: str = "site-stream",
            timeout_s: float = 60.0) -> None:
    """Publish at QoS 1 from one client, in order, and return once the broker has acknowledged every one."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(200)
    client.max_queued_messages_set(0)
    client.connect(host, port, keepalive=10)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        deadline = time.monotonic() + timeout_s
        for info in infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            if not info.is_published():
                raise TimeoutError(f"the broker at {host}:{port} did not acknowledge the stream in {timeout_s:.0f} s")
    finally:
        client.disconnect()
        client.loop_stop()


def stored(host: str, port: int, database: str, totals: bool = False) -> dict[Point, float]:
    """Every raw point in an InfluxDB database, keyed like ``Stream.expected``, as any InfluxQL client sees it;
    the site totals ingest makes (device ``site-totals``) only with ``totals``."""
    from urllib.parse import urlencode
    from urllib.request import urlopen

    query = urlencode({"db": database, "q": 'SELECT * FROM "reading" GROUP BY "site", "device"', "epoch": "s"})
    try:
        with urlopen(f"http://{host}:{port}/query?{query}", timeout=10) as response:
            body = json.loads(response.read())
    except OSError:
        return {}
    points = {}
    for result in body.get("results", []):
        for series in result.get("series", []):
            site, device = series["tags"]["site"], series["tags"]["device"]
            if device == TOTALS_DEVICE and not totals:
                continue
            for row in series["values"]:
                for column, value in zip(series["columns"], row):
                    if column != "time" and value is not None:
                        points[(site, device, column, row[0])] = value
    return points


def wait_stored(host: str, port: int, database: str, count: int, timeout_s: float = 60.0) -> dict[Point, float]:
    """Until the database holds ``count`` points (or the time is up: what it holds then)."""
    deadline = time.monotonic() + timeout_s
    points: dict[Point, float] = {}
    while time.monotonic() < deadline:
        points = stored(host, port, database)
        if len(points) >= count:
            break
        time.sleep(0.25)
    return points
