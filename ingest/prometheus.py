"""Ingest's counters in the Prometheus text format (``GET /metrics``), since that is how operators already watch
services: a Prometheus, a Grafana Agent or Telegraf's ``inputs.prometheus`` can scrape ingest with no adapter.

The figures are ``ingest.health.figures``, the same table ``/health`` serves as JSON; here each becomes
``energy_expo_ingest_<name>`` with the process (its MQTT client id) as a label, so the replicas of a
scaled-out ingest stay apart in one scrape. ``rejected_<reason>`` becomes one family,
``energy_expo_ingest_rejected_by_reason_total{reason="..."}``. Written by hand, not with prometheus_client:
the format is a dozen lines of text, and ingest keeps its own counters already.
"""

from __future__ import annotations

import math

PREFIX = "energy_expo_ingest_"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# what can go down as well as up; every other figure only counts up
GAUGES = {"spool_batches", "spool_readings", "spool_bytes", "spool_oldest_reading_age_s", "store_down",
          "batch_ms_last", "batch_ms_max", "queue_length", "connected"}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def text(figures: dict[str, float], process: str) -> str:
    """The exposition of ``figures`` for the ingest process ``process``."""
    me = f'process="{_label(process)}"'
    lines = []
    reasons = {name[len("rejected_"):]: v for name, v in figures.items() if name.startswith("rejected_")}
    for name in sorted(n for n in figures if not n.startswith("rejected_")):
        kind = "gauge" if name in GAUGES else "counter"
        metric = PREFIX + name + ("" if kind == "gauge" or name.endswith("_total") else "_total")
        lines += [f"# TYPE {metric} {kind}", f"{metric}{{{me}}} {_number(figures[name])}"]
    if reasons:
        metric = PREFIX + "rejected_by_reason_total"
        lines.append(f"# TYPE {metric} counter")
        lines += [f'{metric}{{{me},reason="{_label(r)}"}} {_number(v)}' for r, v in sorted(reasons.items())]
    return "".join(line + "\n" for line in lines)
