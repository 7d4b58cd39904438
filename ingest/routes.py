"""Which decoder reads which topic: the configured routes first, then each decoder's usual topics.

A route is a TOML table: ``topic`` (an MQTT filter), ``decoder`` (a decoder's
module name) and any further keys, which are that decoder's options.
Configured routes come first, in the order written, so a route can claim a
topic a default would have taken (say, ``tele/+/SENSOR`` with
``kind = "heat_pump"``). The decoders' default topics follow, the most
specific filter first (``default_order``): a new decoder with a broad default
such as ``+/+/SENSOR`` cannot take messages that another family's narrower
``tele/+/SENSOR`` names, whatever the decoders are called.

With ``sites`` a process takes only those sites' native topics
(``expo/<site>/+/+`` and the site's description, ``expo/<site>/site``): the
scale-out design keeps every device's messages in one process, in order,
because what ingest derives per device (energy from power, counters across
resets, the writer's rollups) needs all of them. The meter families' topics
carry no site, so they would reach every process; with
``sites`` they are subscribed only where ``default_routes = true`` is said,
which one process of the set does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from expo import topics
from expo.topics import MessageType
from expo.errors import UserError
from ingest.decoders import registry


@dataclass(frozen=True)
class Route:
    topic: str
    decoder: str
    options: dict[str, Any] = field(default_factory=dict)


def build_routes(configured: list[dict], include_defaults: bool | None = True, source: str = "config",
                 sites: tuple[str, ...] | None = None, site: str | None = None) -> list[Route]:
    """``include_defaults`` None: every decoder's usual topics without ``sites``, only those sites' with them.

    ``site`` (the one family readings are given) must be one of ``sites`` when the families' topics are
    taken, or every reading they bring would be another process's (``other_site``)."""
    decoders = registry()
    routes = []
    for i, table in enumerate(configured, start=1):
        topic, name = table.get("topic"), table.get("decoder")
        if not isinstance(topic, str) or not topic:
            raise UserError(f"{source}: route {i} needs topic = \"an/mqtt/+/filter\"")
        if name not in decoders:
            raise UserError(f"{source}: route {i} ({topic}) names decoder {name!r}; "
                            f"known: {', '.join(sorted(decoders))}")
        _check_filter(topic, f"{source}: route {i}")
        options = {k: v for k, v in table.items() if k != "decoder"}
        routes.append(Route(topic, name, options))
    routes.extend(default_order(_defaults(decoders, include_defaults, sites, site, source)))
    if not routes:
        raise UserError(f"{source}: no routes: with default_routes = false, configure at least one [[routes]]")
    return routes


def _defaults(decoders: dict, include: bool | None, sites: tuple[str, ...] | None, site: str | None,
              source: str) -> list[Route]:
    """Each decoder's usual topics; with ``sites``, the native ones of those sites alone, and the families'
    only when said (``include`` True): they carry no site, so one process of a partitioned set takes them."""
    if include is False:
        return []
    if sites is None:
        return [Route(t, name, {"topic": t}) for name, module in decoders.items() for t in module.DEFAULT_TOPICS]
    if include is True and site is not None and site not in sites:
        raise UserError(f"{source}: default_routes = true with sites takes the meter families' topics, whose "
                        f"readings belong to site {site!r} (the site setting), which is not in sites "
                        f"({', '.join(sites)}): add it, or leave the families to the process that has it")
    native = [topics.subscription(s, m) for s in sites for m in (None, MessageType.SITE, MessageType.WHATIF)]
    routes = [Route(t, "native", {"topic": t}) for t in native]
    if include is True:
        routes += [Route(t, name, {"topic": t}) for name, module in decoders.items() if name != "native"
                   for t in module.DEFAULT_TOPICS]
    return routes


def default_order(routes: list[Route]) -> list[Route]:
    """Most specific filter first: level by level from the left, a literal level before ``+``, ``+`` before ``#``.

    Where one filter matches a subset of another's topics, the narrower one
    always comes first. Where two merely overlap (``emon/+/+`` and
    ``+/status/+`` both match ``emon/status/x``), the one with the left-most
    literal level wins; equal filters keep the decoders' name order.
    """
    def key(route: Route) -> tuple:
        return tuple(2 if level == "#" else 1 if level == "+" else 0 for level in route.topic.split("/"))

    return sorted(routes, key=key)  # stable: equal keys stay in name order


def subscriptions(routes: list[Route]) -> list[str]:
    """Distinct filters to subscribe to, in route order."""
    return list(dict.fromkeys(r.topic for r in routes))


def route_for(topic: str, routes: list[Route]) -> Route | None:
    levels = topic.split("/")
    for route in routes:
        if filter_matches(route.topic, levels):
            return route
    return None


def filter_matches(topic_filter: str, levels: list[str]) -> bool:
    """MQTT filter matching (a topic split at "/"), as paho's ``topic_matches_sub`` decides it.

    Ours because paho's builds a topic tree for every call: tried against every route for each new topic,
    a district of 10,000 meters coming up cost it seconds. ``#`` matches the level above it too
    (``a/#`` takes ``a``); wildcards in the first level never match a ``$`` topic."""
    if levels[0].startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    parts = _filter_levels(topic_filter)
    for i, part in enumerate(parts):
        if part == "#":
            return True
        if i >= len(levels) or (part != "+" and part != levels[i]):
            return False
    return len(levels) == len(parts)


@lru_cache(maxsize=1024)
def _filter_levels(topic_filter: str) -> tuple[str, ...]:
    return tuple(topic_filter.split("/"))


def _check_filter(topic: str, where: str) -> None:
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if ("+" in level and level != "+") or ("#" in level and (level != "#" or i != len(levels) - 1)):
            raise UserError(f"{where}: {topic!r} is not a valid MQTT filter (+ and # must fill a whole level)")
