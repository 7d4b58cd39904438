"""paho's receive path for ingest, without the objects ingest never reads. Everything else is paho's own.

Why: per PUBLISH received, paho builds objects for a general application.
Two of them cost ingest a third of paho's network thread in a district's
burst:

- MQTT 5 properties: a ``Properties`` object whose constructor builds two
  tables of some forty entries and whose ``unpack`` first walks all forty
  names to clear them (10 µs a message here), for packets that almost never
  carry a property (a meter's PUBLISH has a property length of 0). The
  tables never change: ``LeanProperties`` shares one copy and answers an
  empty property list at once.
- a message object (``MQTTMessage``) with, for each received message, an
  ``MQTTMessageInfo`` holding a ``threading.Condition`` (used only for
  messages one publishes), then a look through the per-topic callbacks under
  two locks. ``LeanReceiveClient`` hands a QoS 0 or 1 PUBLISH straight to
  one function (``on_publish_received``) as topic, payload, packet id and
  QoS; QoS 2, automatic acknowledgements and a topic that is not UTF-8 take
  paho's own path. It reads the PUBLISH's few fields by index, not by
  paho's ``decode_publish`` (a ``struct`` format string built for each
  packet, then a named tuple); anything unusual (properties, a short packet)
  goes to paho's decoder, which says what is wrong with it.
- three ``recv`` system calls a packet (its type byte, its length, its
  body), each after a ``select``: paho reads a packet at a time from the
  socket. ``LeanReceiveClient`` reads what the socket holds (up to
  ``RECV_BYTES``) and hands paho's reader its bytes from there, then goes on
  reading the packets it already holds before it waits on the socket again.
"""

from __future__ import annotations

from typing import Callable

import paho.mqtt.client as mqtt
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

_TABLES = Properties(PacketTypes.PUBLISH)


class LeanProperties(Properties):
    types = _TABLES.types
    names = _TABLES.names
    properties = _TABLES.properties

    def __init__(self, packetType):  # noqa: N803 (paho's name)
        object.__setattr__(self, "packetType", packetType)

    def unpack(self, buffer):
        if buffer[:1] == b"\x00":  # no properties: the length (a variable byte integer) is one zero byte
            return self, 1
        return super().unpack(buffer)


def install() -> bool:
    """Received packets' properties as ``LeanProperties``; False, leaving paho as it is, if this paho
    decodes them some other way."""
    if _packet.__dict__.get("Properties") not in (Properties, LeanProperties) or \
            not hasattr(_packet, "decode_publish"):
        return False
    _packet.Properties = LeanProperties
    return True


RECV_BYTES = 65_536  # a read from the socket: about 500 of a meter's PUBLISH packets


class LeanReceiveClient(mqtt.Client):
    """A paho client whose QoS 0 and 1 PUBLISH packets go to ``on_publish_received(topic, payload, mid, qos)``
    (set it before connecting) instead of ``on_message``, and which reads the socket a buffer at a time."""

    on_publish_received: Callable[[str, bytes, int, int], None] | None = None
    _held: bytes = b""  # read from the socket, not yet given to paho's reader: from _at on
    _at: int = 0

    def _sock_recv(self, bufsize: int) -> bytes:
        held, at = self._held, self._at
        if at >= len(held):
            data = super()._sock_recv(max(bufsize, RECV_BYTES))  # BlockingIOError when the socket has nothing
            if len(data) <= bufsize:
                self._held, self._at = b"", 0
                return data
            held, at = self._held, self._at = data, 0
        self._at = at + bufsize
        return held[at:at + bufsize]

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """The packets already read from the socket go to paho's reader now: ``select`` would not wake for them."""
        rc = super().loop_read(max_packets)
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._at < len(self._held) and self._sock is not None:
            rc = super().loop_read(1)
        return rc

    def _sock_close(self) -> None:
        self._held, self._at = b"", 0  # a connection's bytes never reach the next one
        super()._sock_close()

    def _handle_publish(self) -> MQTTErrorCode:
        packet = self._in_packet
        handler = self.on_publish_received
        if handler is None or not self._manual_ack or (packet["command"] & 0x06) == 0x04:  # QoS 2: paho's
            return super()._handle_publish()
        body, qos = packet["packet"], (packet["command"] & 0x06) >> 1
        try:
            end = 2 + ((body[0] << 8) | body[1])
            topic = body[2:end].decode("utf-8")
            mid = 0
            if qos:
                mid = (body[end] << 8) | body[end + 1]
                end += 2
            if self._protocol == mqtt.MQTTv5:
                if body[end] != 0:  # properties: paho's decoder reads them
                    return super()._handle_publish()
                end += 1
        except (IndexError, UnicodeDecodeError):  # paho's decoder says what is wrong
            return super()._handle_publish()
        if end > len(body) or (not topic and self._protocol != mqtt.MQTTv5):
            return super()._handle_publish()
        handler(topic, bytes(body[end:]), mid, qos)
        return MQTTErrorCode.MQTT_ERR_SUCCESS
