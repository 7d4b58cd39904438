"""The native contract (docs/telemetry.md): ``expo/<site>/<device>/reading|meta|status``, a building's
``expo/<site>/<building>/building``, a site's ``expo/<site>/site`` and its what-ifs' ``expo/<site>/whatif``.

The contract's own parsers validate readings, metadata and descriptions and refuse with a
countable reason themselves; this module only adds what ingest reads from a
meta message beyond ``DeviceMeta``: ``replaced_s``, the instant the device's
meter was swapped, which tells the counters to continue the series from the
new meter's first value instead of taking its jump (or drop) as energy.
"""

from __future__ import annotations

import json

from expo import topics
from expo.errors import Refused
from expo.metadata import DeviceMeta
from expo.places import BuildingMeta, SiteMeta
from expo.reading import Reading, load_json_object
from expo.topics import MessageType
from expo.whatif import WhatIfSpan
from ingest.decoders import DecodeContext, Decoded, epoch_seconds

DEFAULT_TOPICS = [topics.subscription(), topics.subscription(message=MessageType.SITE),
                  topics.subscription(message=MessageType.WHATIF)]


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    try:
        parts = topics.parse(topic)
    except ValueError as exc:
        raise Refused("unknown_topic", str(exc)) from None
    if parts.message is MessageType.READING:
        return Decoded(readings=[Reading.from_payload(parts.site, parts.device, payload)])
    if parts.message is MessageType.SITE:
        return Decoded(sites=[SiteMeta.from_payload(parts.site, payload)])
    if parts.message is MessageType.WHATIF:
        return Decoded(whatifs=[WhatIfSpan.from_payload(parts.site, payload)])
    if parts.message is MessageType.CONTROL:  # a command to a simulator: not ingest's to store
        raise Refused("unknown_topic", "a control topic is the simulator's (simulators.control), not data")
    if parts.message is MessageType.BUILDING:
        return Decoded(buildings=[BuildingMeta.from_payload(parts.site, parts.device, payload)])
    if parts.message is MessageType.META:
        body = load_json_object(payload)
        meta = DeviceMeta.from_payload(parts.site, parts.device, body)
        replaced = body.get("replaced_s")
        if replaced is None:
            return Decoded(metas=[meta], announced=True)
        return Decoded(metas=[meta], replaced={parts.device: epoch_seconds(replaced, "meta replaced_s")},
                       announced=True)
    try:
        body = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise Refused("malformed", "status payload is not JSON") from None
    state = body.get("state") if isinstance(body, dict) else None
    if state not in ("online", "offline"):
        raise Refused("malformed", f"status must be {{'state': 'online'|'offline'}}, got {payload[:80]!r}")
    return Decoded(status={parts.device: state})
