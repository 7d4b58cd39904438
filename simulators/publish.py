"""Publishing to an MQTT broker with a bounded queue: never unbounded memory, never a silent drop.

paho keeps QoS 1 messages queued while the broker is away and sends them on
reconnect; ``max_queued_messages_set`` bounds that queue, and every message
refused because it is full is counted in ``stats.dropped`` and logged.
Reconnects back off from 1 s to 60 s.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from paho.mqtt.enums import MQTTErrorCode

from expo.addresses import BrokerAddress
from expo.errors import UserError
from expo.logthrottle import LogThrottle
from expo.mqtt import make_client, report_connect_failure
from expo.reading import format_ts
from expo.topics import MessageType, topic

log = logging.getLogger("expo.simulate.publish")

# The simulator's own status (online, and offline as its last will) is published under ONE site, a city's
# first district. Why not one per district: it describes the publishing process and its MQTT connection,
# not a site, and a connection has exactly one last will, so only one status topic is sure to say
# "offline" when the process dies; "online" under eight sites would leave seven saying online after a
# crash. Nothing reads it per site (ingest keeps it in memory only; the dashboard does not read it).
STATUS_DEVICE = "simulator"


@dataclass
class PublishStats:
    queued: int = 0
    acknowledged: int = 0
    dropped: int = 0
    connects: int = 0
    disconnects: int = 0
    failed_connects: int = 0


class Publisher:
    """``start()`` connects in the background, ``publish()`` queues, ``stop()`` drains then disconnects."""

    def __init__(
        self,
        broker: BrokerAddress,
        site: str,
        client_id: str | None = None,
        ca_file: str | None = None,
        queue_limit: int = 100_000,
        qos: int = 1,
        max_inflight: int = 100,
    ):
        if qos not in (0, 1, 2):
            raise UserError(f"QoS must be 0, 1 or 2, got {qos}")
        if queue_limit < 1:
            raise UserError("publish queue limit must be at least 1")
        self.broker = broker
        self.qos = qos
        self.stats = PublishStats()
        self._dropped_log = LogThrottle(marks=(1, 10, 100, 1000), every=10_000)
        self._connected = threading.Event()
        self._first_attempt = threading.Event()  # the first connection attempt has an answer, yes or no
        self._last_refusal: str | None = None
        self._stopping = False
        self._status_topic = topic(site, STATUS_DEVICE, MessageType.STATUS)
        self._ca_file = ca_file
        self._client = make_client(broker, client_id, ca_file)
        self._client.max_queued_messages_set(queue_limit)
        self._client.max_inflight_messages_set(max_inflight)
        self._client.reconnect_delay_set(min_delay=1, max_delay=60)
        self._client.will_set(self._status_topic, self._status("offline"), qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_publish = self._on_publish
        self._listen: list[str] = []

    def _status(self, state: str) -> str:
        return json.dumps({"v": 1, "state": state, "ts": format_ts(time.time())})

    def listen(self, filters: list[str], on_message: Callable[[str, bytes], object]) -> None:
        """Also take messages on ``filters`` (the sites' control topics), subscribed at every connect, handed to
        ``on_message(topic, payload)`` on paho's thread. Before ``start``."""
        self._listen = list(filters)
        self._client.on_message = lambda client, userdata, message: on_message(message.topic,
                                                                               bytes(message.payload))

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self._first_attempt.set()
        if reason_code.is_failure:
            self._last_refusal = str(reason_code)
            log.error("broker %s refused the connection: %s", self.broker, reason_code)
            return
        self.stats.connects += 1
        self._connected.set()
        client.publish(self._status_topic, self._status("online"), qos=1, retain=True)
        if self._listen:
            client.subscribe([(f, 1) for f in self._listen])
        log.info("connected to %s", self.broker)

    def _on_connect_fail(self, client, userdata) -> None:
        self._first_attempt.set()
        self.stats.failed_connects += 1
        report_connect_failure(log, self.broker, self.stats.failed_connects, self._ca_file, ", readings are queued")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        if self._stopping:
            return
        self.stats.disconnects += 1
        log.warning("disconnected from %s (%s); reconnecting with backoff", self.broker, reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self.stats.acknowledged += 1

    def start(self, wait_s: float = 0.0) -> bool:
        """Connect in the background; with ``wait_s`` wait up to that long for the first attempt's answer.

        Once the first attempt has failed (refused, unreachable, untrusted) waiting on gains nothing:
        the next try is the reconnect backoff's, and readings queue until then either way.
        """
        try:
            self._client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot connect to broker {self.broker}: {exc}") from None
        self._client.loop_start()
        if wait_s > 0:
            self._first_attempt.wait(wait_s)
        if wait_s > 0 and not self._connected.is_set():
            detail = f": {self._last_refusal}" if self._last_refusal else ""
            log.warning("broker %s not reachable yet%s; readings are queued and sent when it is", self.broker, detail)
        return self._connected.is_set()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def pending(self) -> int:
        """Messages queued or in flight, not yet acknowledged by the broker."""
        return len(self._client._out_messages)  # paho has no public accessor for its queue length

    def publish(self, topic_name: str, payload: bytes | str, retain: bool = False) -> bool:
        info = self._client.publish(topic_name, payload, qos=self.qos, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            self.stats.dropped += 1
            if self._dropped_log.count():
                cause = ("the broker is away" if not self._client.is_connected()
                         else "the broker takes readings slower than they are made; lower --speed or use a longer --step")
                log.warning("publish queue full (%s): %d readings dropped so far", cause, self.stats.dropped)
            return False
        self.stats.queued += 1
        return True

    def stop(self, drain_s: float = 10.0) -> int:
        """Wait up to ``drain_s`` for queued messages to be acknowledged, mark offline, disconnect.

        Returns how many readings were still unacknowledged, so the caller can say they were lost.
        """
        deadline = time.monotonic() + drain_s
        while self.qos > 0 and self.pending and time.monotonic() < deadline:  # the broker may yet come back
            time.sleep(0.02)
        unsent = self.pending if self.qos > 0 else 0
        self._stopping = True
        if self.connected:
            info = self._client.publish(self._status_topic, self._status("offline"), qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2.0)
            except RuntimeError:
                pass
        self._client.disconnect()
        self._client.loop_stop()
        return unsent
