"""The native contract (docs/telemetry.md): ``expo/<site>/<device>/reading|meta|status``."""

from __future__ import annotations

import json

from expo import topics
from expo.metadata import DeviceMeta
from expo.reading import ContractError, Reading
from expo.topics import MessageType
from ingest.decoders import DecodeContext, DecodeError, Decoded

NAME = "native"
DEFAULT_TOPICS = [topics.subscription()]


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    try:
        parts = topics.parse(topic)
    except ValueError as exc:
        raise DecodeError("unknown_topic", str(exc)) from None
    try:
        if parts.message is MessageType.READING:
            return Decoded(readings=[Reading.from_payload(parts.site, parts.device, payload)])
        if parts.message is MessageType.META:
            return Decoded(metas=[DeviceMeta.from_payload(parts.site, parts.device, payload)])
        body = json.loads(payload)
        state = body.get("state") if isinstance(body, dict) else None
        if state not in ("online", "offline"):
            raise DecodeError("malformed", f"status must be {{'state': 'online'|'offline'}}, got {payload[:80]!r}")
        return Decoded(status={parts.device: state})
    except ContractError as exc:
        raise DecodeError(_reason(str(exc)), str(exc)) from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise DecodeError("malformed", "status payload is not JSON") from None


def _reason(message: str) -> str:
    """Countable reasons from the contract's messages, so the engineer view can group them."""
    for needle, reason in (
        ("not UTF-8", "not_utf8"),
        ("not JSON", "malformed"),
        ("nested too deeply", "malformed"),
        ("must be a JSON object", "malformed"),
        ("version", "unsupported_version"),
        ("not finite", "not_finite"),
        ("must be a number", "wrong_type"),
        ("unit", "unknown_metric"),
        ("ts", "bad_timestamp"),
    ):
        if needle in message:
            return reason
    return "invalid"
