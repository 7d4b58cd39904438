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
``ENERGY``, named by the script (``"SML"``, ``"Haus"``...), with fields the
script names too: Tasmota's examples say ``Total_in`` and ``Total_out`` in kWh
and a signed ``Power_curr`` in W; German scripts say ``Verbrauch_Summe``,
``Einspeisung_Summe`` and ``Watt_Summe``. A field is recognised by its words
(``sml_role``): import (Verbrauch, Bezug, Import, In, Consumption), export
(Einspeisung, Lieferung, Export, Out, Feed-in), power (Watt, Power, Leistung,
P); per-phase fields (``_L1``) are kept as ``power_l1_w`` and the power summed
from them when the meter gives no total (Summe, Total, Curr, Sum). Energy is
kWh unless the name says Wh; power W unless it says kW. The route option
``sml_fields`` (``{"Zaehler_A" = "import", ...}``: import, export, power or
ignore) overrides the words for a meter whose script names its fields
otherwise. That is the building's grid connection, not the plug, so it
becomes a second device ``<topic>-<object>`` of kind grid_connection (route
option ``sml_kind`` to change it; ``kind`` is the plug's).

Tasmota's discovery topics (``tasmota/discovery/<mac>/config`` and ``/sensors``)
say who the device is before anyone described it; they become a ``Discovered``
for the engineer view's "discovered, not yet placed".

Both of Tasmota's full-topic orders are subscribed: ``tele/<topic>/SENSOR``
(``%prefix%/%topic%/``, its default) and ``<topic>/tele/SENSOR``
(``%topic%/%prefix%/``, which Home Assistant set-ups often use).

Tasmota's ``Time`` has no UTC offset (it is whatever the device's timezone
says), so the reading is timed by the broker's delivery instead.
A SENSOR message with no energy in it (a temperature-only device) is valid
Tasmota that says nothing to us: it decodes to nothing, without an error
(``ingest.process`` counts it and keeps one an hour per topic for the engineer).
"""

from __future__ import annotations

import re
from typing import Any

from expo.errors import Refused
from expo.reading import Reading
from expo.store import Discovered
from ingest.decoders import (
    DecodeContext, Decoded, device_id, energy_counters, load_json_object, meter_meta, number, route_kind, text,
)
from ingest.units import normalise

DEFAULT_TOPICS = ["tele/+/SENSOR", "tele/+/LWT", "+/tele/SENSOR", "+/tele/LWT", "tasmota/discovery/+/config",
                  "tasmota/discovery/+/sensors"]

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
POWER = "power"
# an SML script's field, by its words (lower-cased, split at "_", "-", spaces and case changes): what it counts
SML_WORDS = {
    REVERSE: {"einspeisung", "lieferung", "export", "feedin", "returned", "erzeugung"},
    FORWARD: {"verbrauch", "bezug", "import", "consumption", "consumed", "delivered"},
    POWER: {"watt", "power", "leistung", "p", "w", "kw"},
}
# "in" and "out" say a direction only beside a word of energy ("Total_in", "E_out"), never alone ("Temp_in")
SML_WEAK_WORDS = {REVERSE: {"out", "feed"}, FORWARD: {"in"}}
SML_ENERGY_WORDS = {"total", "e", "energy", "energie", "kwh", "wh", "zaehler", "zahler", "counter", "meter"}
SML_TOTAL_WORDS = {"summe", "sum", "total", "curr", "current", "aktuell", "gesamt", "all"}
PHASE = re.compile(r"^[lp]([1-3])$")
SML_ROLES = (FORWARD, REVERSE, POWER, "ignore")  # what ``sml_fields`` may say of a field
MAX_PHASES = 8  # Tasmota's own limit; also keeps a reading well under the contract's 64 metrics
LWT_STATES = {"online": "online", "offline": "offline"}


def decode(topic: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    levels = topic.split("/")
    if len(levels) == 4 and levels[:2] == ["tasmota", "discovery"] and levels[3] in ("config", "sensors"):
        return _discovery(levels[2], levels[3], payload, ctx)
    if len(levels) < 2 or levels[-1] not in ("SENSOR", "LWT"):
        raise Refused("unknown_topic", f"{topic!r} is not tele/<topic>/SENSOR or tele/<topic>/LWT")
    # %prefix%/%topic%/ (tele/plug/SENSOR) or %topic%/%prefix%/ (plug/tele/SENSOR): the topic is the level
    # beside "tele"
    name = levels[-3] if len(levels) >= 3 and levels[-2] == "tele" and levels[-3] != "tele" else levels[-2]
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
    chosen = _sml_overrides(ctx)
    for key, value in body.items():
        if key == "ENERGY" or not isinstance(value, dict):
            continue
        roles = {field: chosen.get(field) or sml_role(field) for field in value}
        if not any(role in (FORWARD, REVERSE, POWER) for role in roles.values()):
            continue  # a sensor of another kind (a thermometer): not a meter
        meter = device_id(f"{name}-{key}", f"Tasmota topic and meter object {name}-{key}")
        kind = route_kind(ctx, "grid_connection", "sml_kind")
        metrics = _sml_metrics(value, roles, key, kind)
        if metrics:
            decoded.readings.append(Reading(ctx.site, meter, ctx.received_s, metrics))
            decoded.metas.append(meter_meta(ctx, meter, kind, f"{name} {key}"))
    return decoded


def _discovery(mac: str, part: str, payload: bytes, ctx: DecodeContext) -> Decoded:
    """Tasmota's own discovery (``SetOption19 0``, the default since 9.2), retained: ``config`` says the device's
    name (``dn``, else its first friendly name), model (``md``), address (``ip``) and topic (``t``: the id its
    readings carry); ``sensors`` what it measures (``sn``). Both keyed by the MAC in the topic."""
    body = load_json_object(payload)
    key = device_id(mac, "Tasmota discovery MAC")
    if part == "sensors":
        sensors = body.get("sn")
        measures = ",".join(sorted(k for k, v in sensors.items() if isinstance(v, dict))) if isinstance(
            sensors, dict) else ""
        return Decoded(discovered=[Discovered(ctx.site, "tasmota", key, measures=measures[:120],
                                              seen_s=ctx.received_s)])
    names = body.get("fn") if isinstance(body.get("fn"), list) else []
    name = text(body.get("dn")) or next((text(n) for n in names if text(n)), "")
    topic = text(body.get("t"))
    return Decoded(discovered=[Discovered(ctx.site, "tasmota", key, device=device_id(topic, "Tasmota topic")
                                          if topic else "", name=name, model=text(body.get("md")),
                                          address=text(body.get("ip")), seen_s=ctx.received_s)])


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


def sml_role(field: str) -> str | None:
    """What an SML script's field counts, by the words in its name: import, export, power, or None."""
    words = _words(field)
    for role in (REVERSE, FORWARD, POWER):  # export before import, before power
        if words & SML_WORDS[role] or (words & SML_WEAK_WORDS.get(role, set()) and words & SML_ENERGY_WORDS):
            return role
    return None


def _words(field: str) -> set[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", field)  # PowerCurr -> Power_Curr
    return {w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w}


def _sml_overrides(ctx: DecodeContext) -> dict[str, str]:
    """The route's ``sml_fields``: field name -> import, export, power or ignore."""
    chosen = ctx.options.get("sml_fields") or {}
    if not isinstance(chosen, dict):
        raise Refused("invalid", "route option sml_fields must be a table of field = \"import\" | \"export\" | "
                                 "\"power\" | \"ignore\"")
    roles = {"import": FORWARD, "export": REVERSE, "power": POWER, "ignore": "ignore"}
    out = {}
    for field, role in chosen.items():
        if role not in roles:
            raise Refused("invalid", f"sml_fields.{field} is {role!r}; it must be import, export, power or ignore")
        out[field] = roles[role]
    return out


def _sml_metrics(meter: dict, roles: dict[str, str | None], key: str, kind: str) -> dict[str, float]:
    metrics: dict[str, float] = {}
    counters: dict[str, list[tuple[bool, float]]] = {}
    phases: dict[int, float] = {}
    total_power = None
    for field, role in roles.items():
        if role not in (FORWARD, REVERSE, POWER) or meter.get(field) is None:
            continue
        words = _words(field)
        value = number(meter[field], f"{key}.{field}")
        if role == POWER:
            unit = "kW" if "kw" in words else "W"
            phase = next((int(m.group(1)) for w in words if (m := PHASE.match(w))), None)
            if phase is not None and not words & SML_TOTAL_WORDS:
                metric, value = normalise("power", unit, value, f"l{phase}")
                metrics[metric] = value
                phases[phase] = value
            elif total_power is None:
                total_power = normalise("power", unit, value)[1]
            continue
        quantity = _counter(role, kind)
        if quantity:
            metric, value = normalise(quantity, "Wh" if "wh" in words else "kWh", value)
            counters.setdefault(metric, []).append((bool(words & SML_TOTAL_WORDS), value))
    for metric, found in counters.items():  # the meter's total if it names one, else its tariffs' (T1 + T2) sum
        totals = [v for is_total, v in found if is_total]
        metrics[metric] = totals[0] if totals else sum(v for _, v in found)
    if total_power is not None or phases:
        metrics["power_w"] = total_power if total_power is not None else sum(phases.values())
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
