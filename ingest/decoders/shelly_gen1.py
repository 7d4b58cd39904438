"""Shelly Gen1 (Shelly 1PM, 2.5, Plug S, EM, 3EM): one value per topic, as plain text.

``shellies/<id>/emeter/<i>/<field>`` comes from the EM and 3EM energy meters,
``shellies/<id>/relay/<i>/<field>`` from relays that measure their load. Each
message becomes one reading with one metric, timed at delivery (the payload
has no time). A custom MQTT prefix replaces ``shellies/<id>``; its last level
is then taken as the id.

Emeter channels measure at a grid connection or a feeder and see power flow
both ways (``power`` is negative when returning), so they are kind
grid_connection: ``total`` (Wh, kept across reboots) is ``energy_import_wh``
and ``total_returned`` is ``energy_export_wh``. The emeter's ``energy`` and
``returned_energy`` are Watt-minutes since the last report or reboot: they
duplicate the totals, badly, so they decode to nothing (no error).

Relays consume: kind plug_load, ``power`` in W and ``energy`` in Watt-minutes
since boot, converted to ``energy_wh`` (ingest continues the counter across
reboots). A route option ``kind`` overrides either kind; energy counters
follow it (a consuming kind gets ``total`` as ``energy_wh`` and drops
``total_returned``, a bidirectional relay gets ``energy_import_wh``). A relay's ``command``
topic (what a controller sends) and ``overpower_value`` decode to nothing;
``shellies/announce`` is a ``Discovered`` (id, model, address) and
``shellies/<id>/online`` (its last will) the state of every channel of it;
any other field is an ``unknown_field`` error. The relay's on/off state
(``shellies/<id>/relay/0``) is not subscribed.
"""

from __future__ import annotations

import re

from expo.errors import Refused
from expo.reading import Reading
from expo.store import Discovered
from ingest.decoders import (
    DecodeContext, Decoded, device_id, energy_counters, load_json_object, meter_meta, number, online_state,
    route_kind, text,
)
from ingest.units import normalise

DEFAULT_TOPICS = ["shellies/+/emeter/+/+", "shellies/+/relay/+/+", "shellies/announce", "shellies/+/announce",
                  "shellies/+/online"]

FORWARD, REVERSE = "forward", "reverse"  # energy counters, named by the device's kind (energy_counters)
# channel type -> (device id suffix, default kind, field -> (quantity, unit), fields that carry nothing for us)
CHANNELS = {
    "emeter": ("em", "grid_connection", {
        "power": ("power", "W"),
        "reactive_power": ("reactive_power", "var"),
        "voltage": ("voltage", "V"),
        "current": ("current", "A"),
        "pf": ("power_factor", "1"),
        "total": (FORWARD, "Wh"),
        "total_returned": (REVERSE, "Wh"),
    }, {"energy", "returned_energy"}),
    "relay": ("relay", "plug_load", {
        "power": ("power", "W"),
        "energy": (FORWARD, "Wmin"),
    }, {"command", "overpower_value"}),
}
_INDEX = re.compile(r"^[0-9]{1,2}$")


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    levels = topic.split("/")
    if levels[-1] == "announce" and len(levels) in (2, 3):
        return _announce(payload, ctx)
    if levels[-1] == "online" and len(levels) >= 3:
        state = online_state(payload)  # its last will: every channel of the device goes with it
        return Decoded(status={device_id(levels[-2], "Shelly id"): state}) if state else Decoded()
    if len(levels) < 4 or levels[-3] not in CHANNELS or not _INDEX.match(levels[-2]):
        raise Refused("unknown_topic", f"{topic!r} is not shellies/<id>/emeter|relay/<i>/<field>")
    raw_id, channel, index, field = levels[-4], levels[-3], int(levels[-2]), levels[-1]
    suffix, default_kind, fields, ignored = CHANNELS[channel]
    if field in ignored:
        return Decoded()
    if field not in fields:
        raise Refused("unknown_field", f"{channel} field {field!r} is not one of {', '.join(sorted(fields))}")
    device = device_id(f"{raw_id}-{suffix}{index}", "Shelly id and channel")
    kind = route_kind(ctx, default_kind)
    quantity, unit = fields[field]
    if quantity in (FORWARD, REVERSE):
        quantity = dict(zip((FORWARD, REVERSE), energy_counters(kind)))[quantity]
        if quantity is None:  # energy returned, on a kind that only consumes
            return Decoded()
    metric, value = normalise(quantity, unit, number(payload, f"{channel}/{index}/{field}"))
    return Decoded(
        readings=[Reading(ctx.site, device, ctx.received_s, {metric: value})],
        metas=[meter_meta(ctx, device, kind, f"{raw_id} {channel} {index}")],
    )


def _announce(payload: bytes, ctx: DecodeContext) -> Decoded:
    """``shellies/announce`` (to everyone, on connect and on ``shellies/command announce``) and its per-device
    twin: id, model, MAC and address. The id is the prefix of its channels' device ids (``<id>-relay0``)."""
    body = load_json_object(payload)
    key = device_id(text(body.get("id")) or "-", "Shelly announce id")
    return Decoded(discovered=[Discovered(ctx.site, "shelly_gen1", key, device=key, name=key,
                                          model=text(body.get("model")), address=text(body.get("ip")),
                                          seen_s=ctx.received_s)])
