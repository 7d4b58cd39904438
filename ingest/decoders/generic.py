"""Any meter that publishes one number per message: the mapping is written in the route, not in code.

::

    [[routes]]
    topic = "home/+/power"     # the route's filter: + levels are {1}, {2}, ... in order
    decoder = "generic"
    device = "{1}"             # template of the device id, or a fixed id
    metric = "power"           # a quantity: power, energy, energy_import, voltage, ...
    unit = "kW"                # the unit the meter sends; converted by ingest.units
    field = "ENERGY.Power"     # optional: a dotted path into a JSON payload (a number
                               #  in a path indexes a list); without it the payload is the number
    kind = "meter"             # optional, the device's kind; meter by default

A ``#`` at the end of the filter is one more placeholder holding the rest of
the topic, slashes and all, which a device id cannot contain; it is there for
completeness, not use. Each message is one reading of one metric, timed at
delivery. A route with an option missing or wrong fails every message with
``bad_route`` (the configuration is checked when ingest starts, but not what
each decoder needs from it), so a typo shows up as a count, not silence.
"""

from __future__ import annotations

import re
from typing import Any

from expo.errors import Refused
from expo.reading import Reading
from ingest.decoders import DecodeContext, Decoded, device_id, load_json, meter_meta, number, route_kind
from ingest.units import normalise

DEFAULT_TOPICS: list[str] = []

REQUIRED = ("topic", "device", "metric", "unit")
_PLACEHOLDER = re.compile(r"\{([0-9]{1,3})\}")


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    options = ctx.options
    for key in REQUIRED:
        if not isinstance(options.get(key), str):
            raise Refused("bad_route", f'a generic route needs {key} = "..." (see docs/meters.md)')
    field = options.get("field")
    if field is not None and (not isinstance(field, str) or not field):
        raise Refused("bad_route", 'field must be a dotted path such as "ENERGY.Power"')
    kind = route_kind(ctx, "meter")
    device = device_id(_fill(options["device"], _captures(options["topic"], topic)), "device from the route")
    raw = payload if field is None else _lookup(load_json(payload), field)
    metric, value = normalise(options["metric"], options["unit"], number(raw, field or "payload"))
    return Decoded(
        readings=[Reading(ctx.site, device, ctx.received_s, {metric: value})],
        metas=[meter_meta(ctx, device, kind, device)],
    )


def _captures(route_filter: str, topic: str) -> list[str]:
    """What each wildcard of the filter matched in the topic, in order."""
    wanted, levels = route_filter.split("/"), topic.split("/")
    captures = []
    for i, level in enumerate(wanted):
        if level == "#":
            captures.append("/".join(levels[i:]))
            return captures
        if i >= len(levels) or (level != "+" and level != levels[i]):
            raise Refused("unknown_topic", f"{topic[:200]!r} does not match the route's {route_filter!r}")
        if level == "+":
            captures.append(levels[i])
    if len(levels) != len(wanted):
        raise Refused("unknown_topic", f"{topic[:200]!r} does not match the route's {route_filter!r}")
    return captures


def _fill(template: str, captures: list[str]) -> str:
    def level(match: re.Match) -> str:
        n = int(match.group(1))
        if not 1 <= n <= len(captures):
            raise Refused("bad_route", f"device {template!r} uses {{{n}}} but the route's filter has "
                              f"{len(captures)} wildcard(s)")
        return captures[n - 1]

    return _PLACEHOLDER.sub(level, template)


def _lookup(body: Any, path: str) -> Any:
    value = body
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and re.fullmatch(r"[0-9]{1,6}", part) and int(part) < len(value):
            value = value[int(part)]
        else:
            raise Refused("missing_field", f"payload has no {path!r} (stopped at {part!r})")
    return value
