"""The MQTT side of ingest: one persistent session, messages into a bounded queue, acknowledgements on request.

Acknowledgements are manual: paho holds each QoS 1 message's PUBACK until the
service calls ``ack`` for it, which it does only once the batch holding it
is in the store or the spool. A crash before that leaves the message with
the broker, which delivers it again to our persistent session (stable client
id, no clean start), and idempotent writes make the redelivery harmless.

Flow control: when the queue is full, paho's network thread waits in
``_on_message``, the socket is not read, and TCP holds the broker back. That
is the only flow control MQTT 3.1.1 has (no Receive Maximum), and a guard for
MQTT 5 (a soak at overload saw a broker send far past it), so memory stays bounded.
"""

from __future__ import annotations

import logging
import queue
import socket
import struct
import threading
import time
from typing import Callable

from paho.mqtt.client import PUBACK
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from expo.addresses import BrokerAddress
from expo.errors import UserError
from expo.mqtt import PROTOCOLS, make_client, report_connect_failure
from ingest import lean_receive
from ingest.process import Incoming

log = logging.getLogger("expo.ingest")

# QoS 1 messages the broker may send before our acknowledgements (MQTT 5). Several batches' worth: a
# batch is acknowledged only once it is stored, and with a window of two or three batches the broker
# had to wait for each write (5,000 here held a district's burst to ~5,000 readings a second).
RECEIVE_MAXIMUM = 20_000
QUEUE_MAX_MESSAGES = RECEIVE_MAXIMUM  # messages waiting for the collector: a bound for brokers that send past it
QUEUE_FULL_WAIT_S = 0.005
_PUBACK = struct.Struct("!BBH")  # fixed header (type 4), remaining length 2, packet id


def default_client_id() -> str:
    return f"energy-expo-ingest-{socket.gethostname().lower()}"[:64]


class Subscriber:
    def __init__(self, broker: BrokerAddress, client_id: str, filters: list[str], protocol: str = "5",
                 ca_file: str | None = None, session_expiry_s: int = 86_400, clock: Callable[[], float] = time.time):
        if protocol not in PROTOCOLS:
            raise UserError(f"MQTT protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        self.broker = broker
        self.client_id = client_id
        self.filters = filters
        self.protocol = protocol
        self.ca_file = ca_file
        self.session_expiry_s = session_expiry_s
        self.previous_filters: list[str] = []  # what the session subscribed to last time (from the state file)
        # SimpleQueue is C: a put and a get cost a fraction of queue.Queue's, whose locks and conditions
        # were a few microseconds a message. Its bound is kept here, by waiting on qsize.
        self.queue: queue.SimpleQueue[Incoming] = queue.SimpleQueue()
        self.received = 0
        self.queue_full_waits = 0
        self.connected = threading.Event()
        self._clock = clock
        self._stopping = threading.Event()
        self._failed_connects = 0
        self._client = None

    def start(self) -> None:
        lean_receive.install()
        client = make_client(self.broker, self.client_id, self.ca_file, clean_session=False, protocol=self.protocol,
                             client_class=lean_receive.LeanReceiveClient)
        client.manual_ack_set(True)
        client.on_publish_received = self._on_publish_received
        client.reconnect_delay_set(min_delay=1, max_delay=60)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        try:
            if self.protocol == "5":
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = self.session_expiry_s
                props.ReceiveMaximum = RECEIVE_MAXIMUM
                client.connect_async(self.broker.host, self.broker.port, keepalive=30, clean_start=False,
                                     properties=props)
            else:
                client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot connect to broker {self.broker}: {exc}") from None
        self._client = client
        client.loop_start()

    def stop_taking(self) -> None:
        """From now on a message is not queued, so never acknowledged: the broker sends it again next session."""
        self._stopping.set()

    def ack(self, messages: list[Incoming]) -> None:
        """Acknowledge a batch's QoS 1 messages in one write to the socket.

        paho sends each ``ack()`` as a packet of its own: a wake-up of its network thread and a ``send``
        for every 4-byte PUBACK, thousands a second. A PUBACK is the same 4 bytes in MQTT 3.1.1 and 5
        (reason "success", no properties), so the batch's are packed together and queued once. Anything
        else (QoS 2, a paho without that queue) takes paho's own ``ack``."""
        client = self._client
        queue_packet = getattr(client, "_packet_queue", None)
        pubacks = [m.mid for m in messages if m.qos == 1]
        if queue_packet is not None and pubacks:
            queue_packet(PUBACK, b"".join([_PUBACK.pack(PUBACK, 2, mid) for mid in pubacks]), 0, 1)
        elif pubacks:
            for mid in pubacks:
                client.ack(mid, 1)
        for message in messages:
            if message.qos == 2:
                client.ack(message.mid, 2)

    def follow(self, filters: list[str]) -> None:
        """Subscribe to filters added while running (the meter registry's routes), leave those taken away.
        A reconnect subscribes to ``self.filters``, so a change made while the broker is away is not lost."""
        added = [f for f in filters if f not in self.filters]
        gone = [f for f in self.filters if f not in filters]
        self.filters = list(filters)
        client = self._client
        if client is None or not self.connected.is_set():
            return
        if added:
            client.subscribe([(f, 1) for f in added])
        if gone:
            client.unsubscribe(gone)
        self.previous_filters = list(filters)
        log.info("subscriptions follow the meter registry: +%s -%s", ",".join(added) or "none",
                 ",".join(gone) or "none")

    def close(self) -> None:
        self._stopping.set()
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()

    # -- paho's callbacks, on its network thread ------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker %s refused ingest: %s", self.broker, reason_code)
            return
        resumed = bool(getattr(flags, "session_present", False))
        log.info("connected to %s as %s (%s session)", self.broker, self.client_id,
                 "resumed persistent" if resumed else "new persistent")
        stale = [f for f in self.previous_filters if f not in self.filters]
        if stale and resumed:  # routes removed from the config must not keep delivering into this session
            client.unsubscribe(stale)
            log.info("unsubscribed from filters no longer configured: %s", ", ".join(stale))
        client.subscribe([(f, 1) for f in self.filters])
        self.previous_filters = list(self.filters)
        self.connected.set()

    def _on_connect_fail(self, client, userdata) -> None:
        self._failed_connects += 1
        report_connect_failure(log, self.broker, self._failed_connects, self.ca_file, "")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if not self._stopping.is_set():
            log.warning("disconnected from %s (%s); reconnecting", self.broker, reason_code)

    def _on_message(self, client, userdata, message) -> None:
        """What paho's own path delivers (QoS 2; see ``lean_receive``)."""
        self._on_publish_received(message.topic, bytes(message.payload), message.mid, message.qos)

    def _on_publish_received(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        incoming = Incoming(topic, payload, self._clock(), mid, qos)
        while self.queue.qsize() >= QUEUE_MAX_MESSAGES:  # the writer is behind: wait here, so the broker waits too
            if self._stopping.wait(QUEUE_FULL_WAIT_S):
                return
            self.queue_full_waits += 1
        if self._stopping.is_set():
            return
        self.queue.put(incoming)
        self.received += 1
