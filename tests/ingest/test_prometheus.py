"""Ingest's counters as a Prometheus scrape sees them: every figure, its type, the process and reason labels."""

from __future__ import annotations

import re
import urllib.request

from hypothesis import given, strategies as st

from ingest import prometheus
from ingest.health import HealthServer
from testkit.ports import free_port

SAMPLE = re.compile(r'^(energy_expo_ingest_[a-z0-9_]+)\{process="((?:[^"\\]|\\.)*)"(?:,reason="((?:[^"\\]|\\.)*)")?\} '
                    r'(\S+)$')
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True).filter(lambda n: not n.startswith("rejected_"))


def parse(exposition: str) -> tuple[dict, dict]:
    """(samples by (metric, reason), types by metric), every line checked against the text format."""
    samples, types = {}, {}
    assert exposition == "" or exposition.endswith("\n")
    for line in exposition.split("\n")[:-1]:  # the format's lines end in \n alone (a label may hold a \r)
        if line.startswith("# TYPE "):
            _, _, metric, kind = line.split(" ")
            assert kind in ("counter", "gauge") and metric not in types
            types[metric] = kind
            continue
        match = SAMPLE.match(line)
        assert match, line
        metric, process, reason, value = match.groups()
        assert metric in types, f"{metric} has no TYPE line before it"
        samples[(metric, reason, process)] = float(value)
    return samples, types


@given(figures=st.dictionaries(NAMES, st.floats(0, 1e12)), reasons=st.dictionaries(
    st.from_regex(r"[a-z_]{1,12}", fullmatch=True), st.integers(0, 10**9)),
    process=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30))
def test_every_figure_is_one_sample_with_its_type_and_the_process_label(figures, reasons, process):
    table = {**figures, **{f"rejected_{r}": float(n) for r, n in reasons.items()}}
    samples, types = parse(prometheus.text(table, process))
    assert len(samples) == len(table)
    escaped = process.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    for name, value in figures.items():
        gauge = name in prometheus.GAUGES
        metric = f"energy_expo_ingest_{name}" + ("" if gauge or name.endswith("_total") else "_total")
        assert samples[(metric, None, escaped)] == value and types[metric] == ("gauge" if gauge else "counter")
    for reason, n in reasons.items():
        assert samples[("energy_expo_ingest_rejected_by_reason_total", reason, escaped)] == n


def test_a_running_endpoint_serves_the_scrape_beside_the_json():
    figures = {"received": 12.0, "readings_written": 10.0, "queue_length": 3.0, "connected": 1.0, "store_down": 0.0,
               "rejected_malformed": 2.0}
    port = free_port()
    server = HealthServer(f"127.0.0.1:{port}", lambda: figures, "ingest-a")
    server.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            samples, types = parse(response.read().decode())
    finally:
        server.stop()
    assert samples[("energy_expo_ingest_received_total", None, "ingest-a")] == 12.0
    assert types["energy_expo_ingest_queue_length"] == "gauge"
    assert samples[("energy_expo_ingest_rejected_by_reason_total", "malformed", "ingest-a")] == 2.0
