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
  paho's own path.
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


class LeanReceiveClient(mqtt.Client):
    """A paho client whose QoS 0 and 1 PUBLISH packets go to ``on_publish_received(topic, payload, mid, qos)``
    (set it before connecting) instead of ``on_message``."""

    on_publish_received: Callable[[str, bytes, int, int], None] | None = None

    def _handle_publish(self) -> MQTTErrorCode:
        packet = self._in_packet
        handler = self.on_publish_received
        if handler is None or not self._manual_ack or (packet["command"] & 0x06) == 0x04:  # QoS 2: paho's
            return super()._handle_publish()
        result = _packet.decode_publish(packet["command"], packet["packet"], self._protocol)
        try:
            topic = result.topic.decode("utf-8")
        except UnicodeDecodeError:
            return super()._handle_publish()
        handler(topic, bytes(result.payload), result.mid, result.qos)
        return MQTTErrorCode.MQTT_ERR_SUCCESS
