"""Frames to native payloads and JSON lines, fast.

``json.dumps`` per reading caps the simulator at a few tens of thousands of
readings a second. A reading's shape is fixed by its device kind, so each kind
gets one printf-style template and a step of a few thousand devices is
formatted with one ``%`` per reading. Tests check the output against the
contract's own parser (``expo.reading.Reading.from_payload``).

A city's districts report at their own phase within the step (``Frame``), so
groups are split by phase too: every group has one instant per step, and the
runner publishes a phase's groups when that phase is due.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import repeat
from typing import Iterator

import numpy as np

from expo.kinds import KINDS
from expo.metadata import DeviceMeta
from expo.reading import PAYLOAD_VERSION, format_ts
from expo.topics import MessageType, topic
from simulators.engine import Frame

# Decimal places per metric: enough to keep energy = integral of power to well under 0.1 %.
PRECISION = {
    "power_w": 1,
    "energy_wh": 3,
    "energy_import_wh": 3,
    "energy_export_wh": 3,
    "soc_pct": 2,
    "voltage_v": 1,
    "current_a": 2,
    "irradiance_wm2": 1,
    "temperature_c": 2,
    "wind_speed_mps": 2,
    "cloud_cover_pct": 1,
    "heat_w": 1,
    "cop": 3,
}


@dataclass(frozen=True)
class KindGroup:
    """Devices of one kind: their rows in the frame, their topics and one template for all of them."""

    kind: str
    rows: np.ndarray
    topics: list[str]
    metrics: tuple[str, ...]
    payload_template: str
    line_template: str
    offset_s: float = 0.0  # the phase within the step these devices report at


def kind_groups(metas: list[DeviceMeta], offsets_s: np.ndarray | None = None) -> list[KindGroup]:
    """Groups by phase (``offsets_s``, one per row; none: all 0), then kind: within a step, in time order."""
    offsets = np.zeros(len(metas)) if offsets_s is None else np.asarray(offsets_s, dtype=np.float64)
    kinds = np.array([m.kind for m in metas])
    groups = []
    for offset_s in np.unique(offsets).tolist():
        for name, spec in KINDS.items():
            rows = np.flatnonzero((kinds == name) & (offsets == offset_s)).astype(np.int64)
            if len(rows) == 0:
                continue
            body = ",".join(f'"{m}":%.{PRECISION.get(m, 3)}f' for m in spec.metrics)
            payload = '{"v":%d,"ts":"%%s","seq":%%d,"metrics":{%s}}' % (PAYLOAD_VERSION, body)
            topics = [topic(metas[r].site, metas[r].device, MessageType.READING) for r in rows]
            line = '{"topic":"%s","payload":' + payload + "}"
            groups.append(KindGroup(name, rows, topics, spec.metrics, payload, line, float(offset_s)))
    return groups


def phases(groups: list[KindGroup]) -> list[tuple[float, list[KindGroup]]]:
    """The groups by phase, earliest first: what is published together, and its offset within the step."""
    by_offset: dict[float, list[KindGroup]] = {}
    for g in groups:
        by_offset.setdefault(g.offset_s, []).append(g)
    return sorted(by_offset.items())


def _columns(frame: Frame, group: KindGroup, step: int) -> list[list[float]]:
    return [frame.metrics[m][group.rows, step].tolist() for m in group.metrics]


def jsonl_lines(frame: Frame, groups: list[KindGroup]) -> Iterator[str]:
    """One JSON object per reading, ``{"topic": ..., "payload": {...}}``, in time then device order."""
    for step in range(frame.steps):
        seq = frame.first_seq + step
        for g in groups:
            ts = format_ts(frame.times_s[step] + g.offset_s)
            template = g.line_template
            yield from (template % row for row in zip(g.topics, repeat(ts), repeat(seq), *_columns(frame, g, step)))


def messages(frame: Frame, groups: list[KindGroup], step: int) -> Iterator[tuple[int, str, str]]:
    """(row, topic, payload) for every reading of one step, for publishing or fault injection."""
    seq = frame.first_seq + step
    for g in groups:
        ts = format_ts(frame.times_s[step] + g.offset_s)
        template = g.payload_template
        payloads = (template % row for row in zip(repeat(ts), repeat(seq), *_columns(frame, g, step)))
        yield from zip(g.rows.tolist(), g.topics, payloads)


def meta_messages(metas: list[DeviceMeta]) -> list[tuple[str, str]]:
    return [(topic(m.site, m.device, MessageType.META), m.to_json()) for m in metas]


def meta_lines(metas: list[DeviceMeta]) -> list[str]:
    """Metadata as JSON lines, marked retained so a replay into a broker keeps them retained."""
    return retained_lines(meta_messages(metas))


def retained_lines(messages: list[tuple[str, str]]) -> list[str]:
    """(topic, JSON payload) pairs as JSON lines marked retained: metadata, site and building descriptions."""
    return [
        json.dumps({"topic": t, "retain": True, "payload": json.loads(p)}, ensure_ascii=False, separators=(",", ":"))
        for t, p in messages
    ]
