"""Which decoder reads which topic: the configured routes first, then each decoder's usual topics.

A route is a TOML table: ``topic`` (an MQTT filter), ``decoder`` (a decoder's
NAME) and any further keys, which are that decoder's options. Configured
routes come before the defaults, so a route can claim a topic a default would
have taken (say, ``tele/+/SENSOR`` with ``kind = "heat_pump"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paho.mqtt.client import topic_matches_sub

from expo.errors import UserError
from ingest.decoders import registry


@dataclass(frozen=True)
class Route:
    topic: str
    decoder: str
    options: dict[str, Any] = field(default_factory=dict)


def build_routes(configured: list[dict], include_defaults: bool = True, source: str = "config") -> list[Route]:
    decoders = registry()
    routes = []
    for i, table in enumerate(configured, start=1):
        topic, name = table.get("topic"), table.get("decoder")
        if not isinstance(topic, str) or not topic:
            raise UserError(f"{source}: route {i} needs topic = \"an/mqtt/+/filter\"")
        if name not in decoders:
            raise UserError(f"{source}: route {i} ({topic}) names decoder {name!r}; known: {', '.join(sorted(decoders))}")
        _check_filter(topic, f"{source}: route {i}")
        options = {k: v for k, v in table.items() if k != "decoder"}
        routes.append(Route(topic, name, options))
    if include_defaults:
        for name, module in sorted(decoders.items()):
            routes.extend(Route(t, name, {"topic": t}) for t in module.DEFAULT_TOPICS)
    if not routes:
        raise UserError(f"{source}: no routes: with default_routes = false, configure at least one [[routes]]")
    return routes


def subscriptions(routes: list[Route]) -> list[str]:
    """Distinct filters to subscribe to, in route order."""
    return list(dict.fromkeys(r.topic for r in routes))


def route_for(topic: str, routes: list[Route]) -> Route | None:
    for route in routes:
        if topic_matches_sub(route.topic, topic):
            return route
    return None


def _check_filter(topic: str, where: str) -> None:
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if ("+" in level and level != "+") or ("#" in level and (level != "#" or i != len(levels) - 1)):
            raise UserError(f"{where}: {topic!r} is not a valid MQTT filter (+ and # must fill a whole level)")
