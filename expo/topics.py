"""MQTT topic scheme of the native contract: ``expo/<site>/<device>/<message type>``, and ``expo/<site>/<type>``
for a site's own messages (``site``, ``whatif``, ``control``).

A device's messages are ``reading``, ``meta`` and ``status``; a building's
description is ``expo/<site>/<building>/building`` and a site's own
``expo/<site>/site`` (``expo.places``).

Identifiers are restricted to lower-case letters, digits, ``-`` and ``_`` so
that a site or device id can travel unescaped through an MQTT topic, an
InfluxDB tag and a URL, and can never smuggle a wildcard, a separator or a
quote into any of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from enum import Enum

ROOT = "expo"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class MessageType(str, Enum):
    READING = "reading"  # one timestamped set of metrics, QoS 1, not retained
    META = "meta"  # who the device is, retained so a late subscriber learns it at once
    STATUS = "status"  # "online"/"offline", retained; also a publisher's last will
    BUILDING = "building"  # a building's description, retained; the device level holds the building's id
    SITE = "site"  # the site's description, retained, on expo/<site>/site (no device level)
    WHATIF = "whatif"  # the span of a visitor's what-if, retained, on expo/<site>/whatif (expo.whatif)
    CONTROL = "control"  # a what-if command to the site's simulator, on expo/<site>/control (simulators.control)


SITE_LEVEL = (MessageType.SITE, MessageType.WHATIF, MessageType.CONTROL)  # expo/<site>/<type>: no device level
_SITE_LEVEL_NAMES = frozenset(m.value for m in SITE_LEVEL)


def is_valid_id(value: str) -> bool:
    return bool(_ID.match(value))


def check_id(value: str, what: str = "id") -> str:
    if not isinstance(value, str) or not is_valid_id(value):
        raise ValueError(
            f"invalid {what} {value!r}: use 1-64 characters of a-z, 0-9, '-' or '_', starting with a letter or digit"
        )
    return value


def topic(site: str, device: str, message: MessageType | str) -> str:
    message = MessageType(message)
    if message in SITE_LEVEL:
        raise ValueError(f"a site's {message.value} message has no device level: use site_topic(site, message)")
    return f"{ROOT}/{check_id(site, 'site id')}/{check_id(device, 'device id')}/{message.value}"


def site_topic(site: str, message: MessageType | str = MessageType.SITE) -> str:
    message = MessageType(message)
    if message not in SITE_LEVEL:
        raise ValueError(f"{message.value} is a device's message: use topic(site, device, message)")
    return f"{ROOT}/{check_id(site, 'site id')}/{message.value}"


def subscription(site: str = "+", message: MessageType | str | None = None) -> str:
    """A subscription filter for one site (or all, with ``+``) and one message type (or all)."""
    if site != "+":
        check_id(site, "site id")
    if message is not None and MessageType(message) in SITE_LEVEL:
        return f"{ROOT}/{site}/{MessageType(message).value}"
    kind = "+" if message is None else MessageType(message).value
    return f"{ROOT}/{site}/+/{kind}"


@dataclass(frozen=True)
class TopicParts:
    site: str
    device: str  # the building's id for BUILDING; "" for SITE
    message: MessageType


@lru_cache(maxsize=65_536)  # a city's meters each publish on a few topics, over and over
def parse(value: str) -> TopicParts:
    """Split a native topic; raises ValueError naming what is wrong."""
    parts = value.split("/")
    if len(parts) == 3 and parts[0] == ROOT and parts[2] in _SITE_LEVEL_NAMES:
        return TopicParts(check_id(parts[1], "site id"), "", MessageType(parts[2]))
    if len(parts) != 4 or parts[0] != ROOT:
        raise ValueError(f"not a native topic {value!r}: expected {ROOT}/<site>/<device>/<reading|meta|status>"
                         f" or {ROOT}/<site>/<site|whatif|control>")
    _, site, device, message = parts
    check_id(site, "site id")
    check_id(device, "device id")
    try:
        kind = MessageType(message)
    except ValueError:
        kind = None
    if kind is None or kind in SITE_LEVEL:
        raise ValueError(f"unknown message type {message!r} in topic {value!r}") from None
    return TopicParts(site, device, kind)
