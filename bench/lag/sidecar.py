"""A bare paho subscriber on up's broker that notes, per sampled meter, the wall time it saw each reading.

On loopback the broker forwards a reading to every subscriber in the same pass, so the moment this
client sees it is a fair proxy for the moment it was published (and for the moment ingest could first
have it). Only the sample's topics are subscribed, one filter each, so the broker sends this process a
few hundred messages a step instead of the whole district's ten thousand, and the measurement stays
light beside the exhibit it measures.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import paho.mqtt.client as mqtt

from expo.reading import parse_ts
from expo.topics import MessageType, topic

TS_KEY = b'"ts":"'


class Sidecar:
    """``pending[device]``: a deque of (reading ts_s, wall time seen), oldest first; the poller drains it."""

    def __init__(self, host: str, port: int, site: str, devices: list[str], mqtt_protocol: str = "5"):
        self.host, self.port, self.site = host, port, site
        self.devices = devices
        self.pending: dict[str, deque] = {d: deque() for d in devices}
        self.seen = 0
        self.unparsed = 0
        self.subscribed = threading.Event()
        protocol = mqtt.MQTTv5 if mqtt_protocol == "5" else mqtt.MQTTv311
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"city-lag-sidecar-{time.time_ns()}",
                                  protocol=protocol)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self._prefix_len = len(f"expo/{site}/")

    def _on_connect(self, client, userdata, flags, reason_code, properties=None):
        client.subscribe([(topic(self.site, d, MessageType.READING), 0) for d in self.devices])

    def _on_message(self, client, userdata, message):
        now = time.time()
        payload = message.payload
        start = payload.find(TS_KEY)
        if start < 0:
            self.unparsed += 1
            return
        start += len(TS_KEY)
        end = payload.find(b'"', start)
        device = message.topic[self._prefix_len:].split("/", 1)[0]
        queue = self.pending.get(device)
        if queue is None:
            self.unparsed += 1
            return
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
