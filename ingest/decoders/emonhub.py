"""OpenEnergyMonitor emonhub (emonPi, emonTx, emonBase): ``emon/<node>/<input>`` with a plain number.

emonhub's MQTT interfacer publishes each input of each node on its own topic
(``nodevar_format_enable = 1``), or, with ``node_JSON_enable = 1``, one JSON
object per node on ``emon/<node>`` (``{"P1": 120, "E1": 5400, "time": ...}``),
timed by its ``time`` (epoch seconds). A payload that starts with ``{`` is
read as the JSON form, so a custom base topic works for both.

Inputs are named by the node's firmware; both generations are understood,
without regard to case:

- ``P<n>`` / ``power<n>``: CT channel n, device ``<node>-<n>``, ``power_w``;
- ``E<n>`` / ``energy<n>``: the same channel's counter, Wh, ``energy_wh``
  (``energy_import_wh`` if the route's ``kind`` is bidirectional);
- ``Vrms`` / ``V``: device ``<node>``, ``voltage_v``; ``V<n>`` (three-phase
  firmware) ``voltage_l<n>_v``;
- ``T<n>`` / ``temp<n>``: device ``<node>``, ``temperature_<n>_c``. The probes
  stay metrics of the node, not devices of their own: a pipe or tank probe is
  not an energy meter, and the contract allows extra metrics on a device.

``MSG`` (a packet counter), ``rssi``, ``analog``, ``pulse``/``pulse<n>``/
``pulsecount`` (pulses, whose Wh per pulse only the meter's label knows) and
the emonPi's derived ``power1pluspower2`` decode to nothing. Any other name is
an ``unknown_field`` error: rename the input in emonhub.conf's ``[nodes]``.
Devices are kind meter unless the route sets ``kind``.
"""

from __future__ import annotations

import re

from expo.errors import Refused
from expo.reading import Reading
from ingest.decoders import (
    DecodeContext, Decoded, device_id, energy_counters, epoch_seconds, load_json_object, meter_meta, number,
    route_kind,
)
from ingest.units import normalise

DEFAULT_TOPICS = ["emon/+/+", "emon/+"]

FORWARD = "forward"  # the channel's energy counter, named by the device's kind (energy_counters)
# input name pattern -> (quantity, unit, whether the channel number makes its own device)
INPUTS = [
    (re.compile(r"^(?:p|power)([0-9]{1,2})$"), "power", "W", True),
    (re.compile(r"^(?:e|energy)([0-9]{1,2})$"), FORWARD, "Wh", True),
    (re.compile(r"^(?:vrms|v)()$"), "voltage", "V", False),
    (re.compile(r"^v([0-9])$"), "voltage", "V", False),
    (re.compile(r"^(?:t|temp)([0-9]{1,2})$"), "temperature", "C", False),
]
IGNORED = re.compile(r"^(?:msg|rssi|analog|pulse[0-9]*|pulsecount|power1pluspower2)$")


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    levels = topic.split("/")
    kind = route_kind(ctx, "meter")
    if bytes(payload).lstrip()[:1] == b"{":
        if len(levels) < 2:
            raise Refused("unknown_topic", f"{topic!r} is not emon/<node>")
        body = load_json_object(payload)
        node = device_id(levels[-1], "emonhub node name")
        ts_s = epoch_seconds(body["time"], "time") if body.get("time") is not None else ctx.received_s
        inputs = {key: value for key, value in body.items() if key != "time"}
    else:
        if len(levels) < 3:
            raise Refused("unknown_topic", f"{topic!r} is not emon/<node>/<input>")
        node = device_id(levels[-2], "emonhub node name")
        ts_s, inputs = ctx.received_s, {levels[-1]: payload}

    by_device: dict[str, dict[str, float]] = {}
    for name, raw in inputs.items():
        placed = _place(node, name, kind)
        if placed is None:
            continue
        device, quantity, unit, channel = placed
        metric, value = normalise(quantity, unit, number(raw, f"{node} {name}"), channel)
        by_device.setdefault(device, {})[metric] = value
    return Decoded(
        readings=[Reading(ctx.site, device, ts_s, metrics) for device, metrics in by_device.items()],
        metas=[meter_meta(ctx, device, kind, device) for device in by_device],
    )


def _place(node: str, name: str, kind: str) -> tuple[str, str, str, str] | None:
    """(device, quantity, unit, channel) of one input; None for inputs that carry no energy data."""
    key = name.lower()
    if IGNORED.match(key):
        return None
    for pattern, quantity, unit, own_device in INPUTS:
        match = pattern.match(key)
        if not match:
            continue
        number_ = match.group(1)
        if quantity == FORWARD:
            quantity = energy_counters(kind)[0]
        if own_device:
            return device_id(f"{node}-{int(number_)}", "emonhub node and channel"), quantity, unit, ""
        channel = "" if not number_ else (f"l{number_}" if quantity == "voltage" else number_)
        return node, quantity, unit, channel
    raise Refused("unknown_field", f"emonhub input {name[:40]!r} is not P<n>, E<n>, Vrms, V<n> or T<n>")
