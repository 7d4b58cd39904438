"""A test subscriber that records everything it receives from a real broker."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class Recorder:
    def __init__(self, port: int, topic_filter: str, client_id: str = "", clean_session: bool = True):
        self.messages: list[mqtt.MQTTMessage] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.topic_filter = topic_filter
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session
        )
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic_filter, qos=1)
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.port = port

    def _on_message(self, client, userdata, message):
        with self._lock:
            self.messages.append(message)

    def start(self, timeout_s: float = 10.0) -> "Recorder":
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        if not self._subscribed.wait(timeout_s):
            raise TimeoutError("subscription not acknowledged")
        return self

    def wait_for(self, count: int, timeout_s: float = 30.0) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    break
            time.sleep(0.05)
        time.sleep(0.3)  # anything beyond the expected count (duplicates) arrives too
        with self._lock:
            return len(self.messages)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_one(port: int, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
    """Publish one message to the broker on loopback and wait for it to be acknowledged."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()
