"""Shelly Gen2 and later (Plus, Pro, Mini, Gen3/Gen4): RPC notifications and component status, JSON.

Two ways a device publishes under its MQTT prefix (by default its id, e.g.
``shellypro3em-a8032ab12345``):

- ``<prefix>/events/rpc`` carries ``NotifyStatus`` (only what changed) and
  ``NotifyFullStatus`` (everything) with ``params.ts``, the device's clock in
  epoch seconds, which times the readings. Other methods (``NotifyEvent``:
  button presses, alarms) and components that measure nothing (``sys``,
  ``wifi``...) decode to nothing, without an error.
- ``<prefix>/status/<component>`` ("Generic status update over MQTT") carries
  one component's status, timed at delivery. A component this module does not
  know is an ``unknown_topic`` error, because ``+/status/+`` also matches other
  families' topics and those should be counted, not guessed at; components a
  Shelly publishes that measure nothing (``status/sys``) decode to nothing.

``<prefix>/online`` (the device's last will, ``true``/``false``) is the state
of each of its components, and ``NotifyFullStatus`` also says who the device
is (``Discovered``: its id, model from the id, address from ``wifi``/``eth``).

Each measuring component is its own device: ``<src or prefix>-<component>``
with the colon dropped (``shellypro3em-a8032ab12345-em0``), except that a
meter's counter store is the meter itself: ``emdata:0`` is device ``...-em0``
and ``em1data:1`` is ``...-em11``, so power and energy of one meter share a
device. The RPC ``src`` is
the device id whatever the prefix; on status topics the prefix is used, its
levels joined by ``-``, so keep the default prefix if both are subscribed.

Components: ``em`` (three phases a/b/c, plus totals) and ``emdata`` (its
counters) of the Pro 3EM; ``em1``/``em1data`` of the Pro EM, EM Gen3 and the
3EM's monophase profile; ``pm1`` of the PM Mini; ``switch`` of relays that
measure (Plus 1PM, Plug S...). Phases a/b/c become ``_l1``/``_l2``/``_l3``.
Energy counters are Wh and follow the device's kind: meters (``em*``) are
grid_connection with ``energy_import_wh``/``energy_export_wh``; ``pm1`` is a
consuming ``meter`` and ``switch`` a ``plug_load``, both with ``energy_wh``
(their returned-energy counter is kept only if the route sets a
bidirectional ``kind``). Per-phase power factors have no unit to end a name
in and are left out; a single channel's ``pf`` is ``power_factor``. A field
that is ``null`` (the 3EM's ``n_current`` without a neutral sensor) is absent.
"""

from __future__ import annotations

import re
from typing import Any

from expo.errors import Refused
from expo.reading import Reading
from expo.store import Discovered
from ingest.decoders import (
    DecodeContext, Decoded, device_id, energy_counters, epoch_seconds, load_json_object, meter_meta, number,
    online_state, route_kind, text,
)
from ingest.units import normalise

DEFAULT_TOPICS = ["+/events/rpc", "+/status/+", "+/online"]

FORWARD, REVERSE = "forward", "reverse"  # energy counters, named by the device's kind (energy_counters)
_PHASES = (("a", "l1"), ("b", "l2"), ("c", "l3"))

# component type -> (default kind, [(path in its status, quantity, unit, channel)])
COMPONENTS: dict[str, tuple[str, list[tuple[str, str, str, str]]]] = {
    "em": ("grid_connection", [
        ("total_act_power", "power", "W", ""),
        ("total_aprt_power", "apparent_power", "VA", ""),
        ("total_current", "current", "A", ""),
        ("n_current", "current", "A", "n"),
        *((f"{p}_{key}", quantity, unit, phase) for p, phase in _PHASES for key, quantity, unit in (
            ("act_power", "power", "W"), ("aprt_power", "apparent_power", "VA"),
            ("voltage", "voltage", "V"), ("current", "current", "A"), ("freq", "frequency", "Hz"))),
    ]),
    "emdata": ("grid_connection", [
        ("total_act", FORWARD, "Wh", ""),
        ("total_act_ret", REVERSE, "Wh", ""),
        *((f"{p}_{key}", direction, "Wh", phase) for p, phase in _PHASES for key, direction in (
            ("total_act_energy", FORWARD), ("total_act_ret_energy", REVERSE))),
    ]),
    "em1": ("grid_connection", [
        ("act_power", "power", "W", ""), ("aprt_power", "apparent_power", "VA", ""),
        ("voltage", "voltage", "V", ""), ("current", "current", "A", ""),
        ("freq", "frequency", "Hz", ""), ("pf", "power_factor", "1", ""),
    ]),
    "em1data": ("grid_connection", [
        ("total_act_energy", FORWARD, "Wh", ""), ("total_act_ret_energy", REVERSE, "Wh", ""),
    ]),
    "pm1": ("meter", [
        ("apower", "power", "W", ""), ("voltage", "voltage", "V", ""), ("current", "current", "A", ""),
        ("freq", "frequency", "Hz", ""), ("pf", "power_factor", "1", ""),
        ("aenergy.total", FORWARD, "Wh", ""), ("ret_aenergy.total", REVERSE, "Wh", ""),
    ]),
    "switch": ("plug_load", [
        ("apower", "power", "W", ""), ("voltage", "voltage", "V", ""), ("current", "current", "A", ""),
        ("freq", "frequency", "Hz", ""), ("pf", "power_factor", "1", ""),
        ("aenergy.total", FORWARD, "Wh", ""), ("ret_aenergy.total", REVERSE, "Wh", ""),
        ("temperature.tC", "temperature", "C", ""),
    ]),
}
# A meter's counters live in a component of their own; they are the same device as its power.
SAME_METER = {"emdata": "em", "em1data": "em1"}
# Components a Shelly publishes that measure no energy: nothing to decode, nothing wrong.
QUIET = frozenset({
    "sys", "wifi", "eth", "cloud", "mqtt", "ble", "ws", "input", "script", "ui", "modbus", "knx", "matter",
    "zigbee", "bthome", "bthomedevice", "bthomesensor", "temperature", "humidity", "devicepower", "illuminance",
    "voltmeter", "smoke", "cover", "light", "rgb", "rgbw", "cct", "plugs_ui", "wd", "boolean", "number", "text",
    "enum", "button", "group", "virtual", "pro_output_add_on", "sensoraddon", "ht_ui",
})
NOTIFY_METHODS = ("NotifyStatus", "NotifyFullStatus")
_COMPONENT = re.compile(r"^([a-z0-9_]{1,32})(?::([0-9]{1,3}))?$")


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    levels = topic.split("/")
    if len(levels) >= 3 and levels[-2:] == ["events", "rpc"]:
        return _notification(levels[:-2], payload, ctx)
    if len(levels) >= 3 and levels[-2] == "status":
        return _status(levels[:-2], levels[-1], payload, ctx)
    if len(levels) >= 2 and levels[-1] == "online":
        return _online(levels[:-1], payload, ctx)
    raise Refused("unknown_topic", f"{topic!r} is not <prefix>/events/rpc or <prefix>/status/<component>")


def _notification(prefix: list[str], payload: bytes, ctx: DecodeContext) -> Decoded:
    body = load_json_object(payload)
    if body.get("method") not in NOTIFY_METHODS:
        return Decoded()
    params = body.get("params")
    if not isinstance(params, dict):
        raise Refused("malformed", f"{body['method']} needs a params object")
    src = body.get("src")
    if src is not None and not isinstance(src, str):
        raise Refused("wrong_type", f"src is {type(src).__name__}, not a device id")
    base = device_id(src if src else "-".join(prefix), "Shelly src")
    ts_s = epoch_seconds(params["ts"], "params.ts") if params.get("ts") is not None else ctx.received_s
    measured = [_measure(base, match, status, ctx) for key, status in params.items()
                if (match := _COMPONENT.match(key)) and match.group(1) in COMPONENTS]
    decoded = _decoded(measured, ts_s, ctx)
    if body["method"] == "NotifyFullStatus":  # who it is, as a Gen2 device says it on connect
        wifi, eth = (params.get(k) if isinstance(params.get(k), dict) else {} for k in ("wifi", "eth"))
        decoded.discovered.append(Discovered(ctx.site, "shelly_gen2", base, device=base, name=base,
                                             model=base.rsplit("-", 1)[0] if "-" in base else "",
                                             address=text(wifi.get("sta_ip")) or text(eth.get("ip")),
                                             seen_s=ctx.received_s))
    return decoded


def _online(prefix: list[str], payload: bytes, ctx: DecodeContext) -> Decoded:
    """``<prefix>/online``, the device's last will (``true``/``false``, retained): the state of each of its
    components, and a sign of life for the engineer view. Another payload on a matching topic says nothing."""
    state = online_state(payload)
    if state is None:
        return Decoded()
    base = device_id("-".join(prefix), "Shelly MQTT prefix")
    return Decoded(status={base: state}, discovered=[Discovered(ctx.site, "shelly_gen2", base, device=base,
                                                                name=base, seen_s=ctx.received_s)])


def _status(prefix: list[str], component: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    match = _COMPONENT.match(component)
    if match and match.group(1) in QUIET:
        return Decoded()
    if not match or match.group(1) not in COMPONENTS:
        raise Refused("unknown_topic", f"status/{component[:40]} is not a Shelly component measured here "
                          f"({', '.join(sorted(COMPONENTS))})")
    base = device_id("-".join(prefix), "Shelly MQTT prefix")
    return _decoded([_measure(base, match, load_json_object(payload), ctx)], ctx.received_s, ctx)


def _measure(base: str, match: re.Match, status: Any, ctx: DecodeContext) -> tuple[str, str, str, dict[str, float]]:
    """(device, kind, display name, metrics) of one component's status; metrics may be empty."""
    component_type, index = match.group(1), match.group(2)
    if not isinstance(status, dict):
        raise Refused("malformed", f"{match.group(0)} must be an object, got {type(status).__name__}")
    default_kind, fields = COMPONENTS[component_type]
    kind = route_kind(ctx, default_kind)
    counters = dict(zip((FORWARD, REVERSE), energy_counters(kind)))
    metrics: dict[str, float] = {}
    for path, quantity, unit, channel in fields:
        raw = _lookup(status, path, match.group(0))
        if raw is None:
            continue
        quantity = counters.get(quantity, quantity)
        if quantity is None:  # energy returned, on a kind that only consumes
            continue
        metric, value = normalise(quantity, unit, number(raw, f"{match.group(0)}.{path}"), channel)
        metrics[metric] = value
    meter = SAME_METER.get(component_type, component_type)
    device = device_id(f"{base}-{meter}{index or ''}", "Shelly device and component")
    return device, kind, f"{base} {meter}" + (f":{index}" if index else ""), metrics


def _decoded(measured: list[tuple[str, str, str, dict[str, float]]], ts_s: float, ctx: DecodeContext) -> Decoded:
    """One reading and one meta per device: a meter's power and its counters arrive as two components."""
    by_device: dict[str, dict[str, float]] = {}
    metas = {}
    for device, kind, name, metrics in measured:
        if metrics:
            by_device.setdefault(device, {}).update(metrics)
            metas.setdefault(device, meter_meta(ctx, device, kind, name))
    return Decoded(readings=[Reading(ctx.site, device, ts_s, metrics) for device, metrics in by_device.items()],
                   metas=list(metas.values()))


def _lookup(status: dict, path: str, where: str) -> Any:
    value: Any = status
    for part in path.split("."):
        if value is None:
            return None
        if not isinstance(value, dict):
            raise Refused("wrong_type", f"{where}.{path} expects an object at {part!r}")
        value = value.get(part)
    return value
