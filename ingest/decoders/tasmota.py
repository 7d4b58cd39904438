"""Tasmota: ``tele/<topic>/SENSOR`` telemetry and ``tele/<topic>/LWT`` availability.

SENSOR is JSON. Its ``ENERGY`` object is the device's own energy monitor (a
smart plug, a PZEM module): kWh, W, V, A, VA, var, Hz and a power factor. A
value is an array when the device measures several phases or channels
(``"Power":[100,200,300]``); then each gets ``power_l1_w``, ``power_l2_w``, ...
and the powers are also summed into ``power_w``. Voltage, current and
frequency stay per phase: their sum means nothing. A power factor has no unit
to end a per-phase name in, so an array of them is left out rather than renamed.
``energy_wh`` comes from ``Total`` only (summed when it is per phase, with
``SetOption129 1``); ``Today`` and ``Yesterday`` restart daily and would
look like counter resets. The device is kind plug_load unless the route says
``kind = ...``; for a bidirectional kind ``Total`` is ``energy_import_wh`` and
``ExportActive`` (kWh) is ``energy_export_wh``. Other fields (``Period``,
``TotalStartTime``) are ignored so that a newer firmware does not break ingest.

A smart-meter reader script (Tasmota SML) publishes its own object beside
``ENERGY``, named by the script (``"SML"``, ``"Haus"``...), with ``Total_in`` and
``Total_out`` in kWh and a signed ``Power_curr`` in W. That is the building's
grid connection, not the plug, so it becomes a second device
``<topic>-<object>`` of kind grid_connection (route option ``sml_kind`` to
change it; ``kind`` is the plug's).

Tasmota's ``Time`` has no UTC offset (it is whatever the device's timezone
says), so the reading is timed by the broker's delivery instead.
A SENSOR message with no energy in it (a temperature-only device) is valid
Tasmota that says nothing to us: it decodes to nothing, without an error.
"""

from __future__ import annotations

from typing import Any

from expo.errors import Refused
from expo.reading import Reading
from ingest.decoders import (
    DecodeContext, Decoded, device_id, energy_counters, load_json_object, meter_meta, number, route_kind,
)
from ingest.units import normalise

DEFAULT_TOPICS = ["tele/+/SENSOR", "tele/+/LWT"]

# ENERGY field -> (quantity, unit Tasmota reports it in, whether phases add up to a total)
ENERGY_FIELDS = {
    "Power": ("power", "W", True),
    "ApparentPower": ("apparent_power", "VA", True),
    "ReactivePower": ("reactive_power", "var", True),
    "Voltage": ("voltage", "V", False),
    "Current": ("current", "A", False),
    "Frequency": ("frequency", "Hz", False),
    "Factor": ("power_factor", "1", False),
}
FORWARD, REVERSE = "forward", "reverse"  # energy counters, named by the device's kind (energy_counters)
COUNTER_FIELDS = {"Total": FORWARD, "ExportActive": REVERSE}  # kWh, summed over phases
SML_FIELDS = {"Total_in": FORWARD, "Total_out": REVERSE, "Power_curr": "power"}  # kWh, kWh, W
MAX_PHASES = 8  # Tasmota's own limit; also keeps a reading well under the contract's 64 metrics
LWT_STATES = {"online": "online", "offline": "offline"}


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    levels = topic.split("/")
    if len(levels) < 2 or levels[-1] not in ("SENSOR", "LWT"):
        raise Refused("unknown_topic", f"{topic!r} is not tele/<topic>/SENSOR or tele/<topic>/LWT")
    name = levels[-2]
    device = device_id(name, "Tasmota topic")
    if levels[-1] == "LWT":
        return Decoded(status={device: _lwt_state(payload)})

    body = load_json_object(payload)
    decoded = Decoded()
    energy = body.get("ENERGY")
    if energy is not None:
        if not isinstance(energy, dict):
            raise Refused("malformed", f"ENERGY must be an object, got {type(energy).__name__}")
        kind = route_kind(ctx, "plug_load")
        metrics = _energy_metrics(energy, kind)
        if metrics:
            decoded.readings.append(Reading(ctx.site, device, ctx.received_s, metrics))
            decoded.metas.append(meter_meta(ctx, device, kind, name))
    for key, value in body.items():
        if key == "ENERGY" or not isinstance(value, dict) or not SML_FIELDS.keys() & value.keys():
            continue
        meter = device_id(f"{name}-{key}", f"Tasmota topic and meter object {name}-{key}")
        kind = route_kind(ctx, "grid_connection", "sml_kind")
        metrics = _sml_metrics(value, key, kind)
        if metrics:
            decoded.readings.append(Reading(ctx.site, meter, ctx.received_s, metrics))
            decoded.metas.append(meter_meta(ctx, meter, kind, f"{name} {key}"))
    return decoded


def _energy_metrics(energy: dict, kind: str) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for field, direction in COUNTER_FIELDS.items():
        quantity = _counter(direction, kind)
        if energy.get(field) is not None and quantity:
            metric, value = normalise(quantity, "kWh", sum(_phases(energy[field], f"ENERGY.{field}")))
            metrics[metric] = value
    for field, (quantity, unit, summed) in ENERGY_FIELDS.items():
        if energy.get(field) is None:
            continue
        values = _phases(energy[field], f"ENERGY.{field}")
        if len(values) == 1:
            metric, value = normalise(quantity, unit, values[0])
            metrics[metric] = value
            continue
        if quantity == "power_factor":
            continue
        for phase, raw in enumerate(values, start=1):
            metric, value = normalise(quantity, unit, raw, f"l{phase}")
            metrics[metric] = value
        if summed:
            metric, value = normalise(quantity, unit, sum(values))
            metrics[metric] = value
    return metrics


def _sml_metrics(meter: dict, key: str, kind: str) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for field, role in SML_FIELDS.items():
        quantity, unit = ("power", "W") if role == "power" else (_counter(role, kind), "kWh")
        if meter.get(field) is not None and quantity:
            metric, value = normalise(quantity, unit, number(meter[field], f"{key}.{field}"))
            metrics[metric] = value
    return metrics


def _counter(direction: str, kind: str) -> str | None:
    forward, reverse = energy_counters(kind)
    return forward if direction == FORWARD else reverse


def _phases(value: Any, where: str) -> list[float]:
    """One value per phase or channel; a scalar is one phase."""
    if not isinstance(value, list):
        return [number(value, where)]
    if not 1 <= len(value) <= MAX_PHASES:
        raise Refused("malformed", f"{where} has {len(value)} phases; 1 to {MAX_PHASES} are possible")
    return [number(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _lwt_state(payload: bytes) -> str:
    text = bytes(payload).decode("utf-8", errors="replace").strip()
    state = LWT_STATES.get(text.lower())
    if state is None:
        raise Refused("malformed", f"LWT payload must be Online or Offline, got {text[:40]!r}")
    return state
