"""paho's MQTT 5 properties for received packets, without rebuilding paho's tables for every message.

Why: for every PUBLISH it receives, paho makes a ``Properties`` object whose
constructor builds two tables of some forty entries and whose ``unpack``
first walks all forty names to clear them. That was 10 µs a message here and
a third of paho's network thread in a district's burst, for packets that
almost never carry a property (a meter's PUBLISH has a property length of 0).
The tables never change, so the class below shares one copy and answers an
empty property list at once; anything else is paho's own code.
"""

from __future__ import annotations

from paho.mqtt import _packet
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
