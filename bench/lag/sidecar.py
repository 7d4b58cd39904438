"""A bare paho subscriber on up's broker that notes, per sampled meter, the wall time it saw each reading.

On loopback the broker forwards a reading to every subscriber in the same pass, so the moment this
client sees it is a fair proxy for the moment it was published (and for the moment ingest could first
have it). Only the sample's topics are subscribed, one filter each, so the broker sends this process a
few hundred messages a step instead of the scenario's ten or twenty thousand, and the measurement stays
light beside the exhibit it measures. A meter is (site, device), read from the topic: a city's districts
reuse device ids.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import paho.mqtt.client as mqtt

from expo.reading import parse_ts
from expo.topics import MessageType, topic

TS_KEY = b'"ts":"'
Meter = tuple[str, str]  # (site, device)


class Sidecar:
    """``pending[(site, device)]``: a deque of (reading ts_s, wall time seen), oldest first; the poller drains it."""

    def __init__(self, host: str, port: int, meters: list[Meter], mqtt_protocol: str = "5"):
        self.host, self.port = host, port
        self.meters = list(meters)
        self.pending: dict[Meter, deque] = {m: deque() for m in self.meters}
        self.seen = 0
        self.unparsed = 0
        self.subscribed = threading.Event()
        protocol = mqtt.MQTTv5 if mqtt_protocol == "5" else mqtt.MQTTv311
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"city-lag-sidecar-{time.time_ns()}",
                                  protocol=protocol)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message

    def _on_connect(self, client, userdata, flags, reason_code, properties=None):
        client.subscribe([(topic(site, device, MessageType.READING), 0) for site, device in self.meters])

    def _on_message(self, client, userdata, message):
        now = time.time()
        payload = message.payload
        start = payload.find(TS_KEY)
        parts = message.topic.split("/")  # expo/<site>/<device>/reading
        queue = self.pending.get((parts[1], parts[2])) if len(parts) == 4 else None
        if start < 0 or queue is None:
            self.unparsed += 1
            return
        start += len(TS_KEY)
        end = payload.find(b'"', start)
        queue.append((parse_ts(payload[start:end].decode()), now))
        self.seen += 1

    def start(self, timeout_s: float = 15.0) -> Sidecar:
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self.subscribed.wait(timeout_s):
            raise RuntimeError(f"the sidecar did not subscribe on {self.host}:{self.port} within {timeout_s:.0f} s")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
