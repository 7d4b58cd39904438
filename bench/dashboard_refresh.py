"""What one kiosk refresh costs the server as history grows, on both stores, and the browser's heap over time.

Prints figures; it is not a test. Run from the repository root:

    .venv/bin/python bench/dashboard_refresh.py --histories 1h --step 60s     # a quick look, a few minutes
    .venv/bin/python bench/dashboard_refresh.py                               # 1 h, 1 d, 7 d on both stores
    .venv/bin/python bench/dashboard_refresh.py --browser-minutes 60          # and an hour of kiosk rotation

The issue's targets: the refresh callback's server-side time at most 150 ms
at p95 with 2,000 meters, flat as history grows from an hour to a week at
10 s resolution; few bytes per refresh; the browser's JS heap growing less
than 20% after warm-up over an hour of accelerated rotation.

The town is ``bench/town-2000.toml`` (2,026 meters). Each store, an SQLite
file and a private InfluxDB 1.x on a free loopback port, is filled with the
simulator's readings through the store interface (``simulators.backfill``)
newest first, so the same store is measured at each history length: the
newest hour ending now, then the 23 hours before it, then the 6 days before
that (``--histories``). Before each measurement the gap between the newest
filled instant and now is filled too, so the data always ends now. At each
length, per store:

- the model catching up (``ExhibitModel.poll()`` until ``history_complete``:
  today and yesterday read back in 1-minute rollups, a bounded chunk a poll)
  and steady polls, each after one more step of
  every meter is written stamped now, so every poll has new data;
- each scene's refresh callback, called as Dash calls it: a POST to
  ``/_dash-update-component`` through the Flask test client, in-process, so the
  time is the server's own (request parsing, the callback, JSON encoding; no
  network, no browser). A scene's first call gets ``sent={}`` and draws in
  full (as after every rotation); then ``--calls`` calls, each after a write
  and a poll, get back the ``sent`` digest the previous answer returned, and
  send patches. Bytes are the response body as Dash sends it (uncompressed).

Each store query the model makes is timed too, so the output says where a
poll's time goes. A point's steady loops stop early (after at least three,
and the count is printed) once it has used ``--max-measure-minutes``: a store
slow enough to need that has answered the question already.

The refresh callback only reads the poller's newest snapshot; the store is
read by the poll, once a second for all pages. So "flat as history grows" is
asked of both: the callback should not care at all, and the poll reads at most
a day of newest values and two days of minute rollups.

History at 10 s for 2,000 meters is 17.5 million readings a day, more than
either store takes in the time of a bench run on a small machine. So the
newest segment (the newest hour) is always filled at ``--step``, and the
older segments at the finest step whose estimated fill time fits what is
left of ``--max-backfill-minutes`` (per store), newest segment first. The
estimate is a short probe fill at each candidate step into a throw-away store
of the same backend, scaled by how the probe compared with the real fills so
far. Everything chosen is printed, with the estimate and the time it took.
Steps up to 60 s give the same 1-minute rollups (what the poll reads) as 10 s;
coarser history has fewer of them, which understates the catch-up where it
reaches into that history (yesterday 00:00 local onward).

Two things to know when reading the figures:

- Each segment is its own ``Simulation``, so meters' energy counters restart
  at each segment's start: the building's year-to-date energy is not a real
  figure here. Timings do not depend on it.
- The InfluxDB store defers its rollup work by wall time (5 s for minutes,
  60 s for hours), not by size; a fast backfill piles up more dirty minutes
  than one request can carry (InfluxDB's 25 MB body limit, the store's 10 s
  timeout). The fill here calls ``store.maintain(force=True)`` every ~80,000
  rollup lines to keep each recompute small; that is fill setup, not measured.

With ``--browser-minutes N``, ``energy-expo dashboard --kiosk --rotate-s 2``
runs as a subprocess on the SQLite store while a thread writes a step of every
meter each second; headless Chromium at 1920x1080 opens ``?kiosk=1``, warms
up for two minutes, then samples ``performance.memory.usedJSHeapSize`` after
a forced GC every 30 s. Rotating every 2 s instead of every 20 s makes N
minutes as many scene changes as 10 N minutes of a normal kiosk.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from dashboard import scenes as scene_plugins  # noqa: E402
from dashboard.app import KioskSettings, create_app  # noqa: E402
from dashboard.model import ExhibitModel, ModelSettings  # noqa: E402
from expo.reading import Reading  # noqa: E402
from expo.store import Batch, open_store  # noqa: E402
from expo.timeutil import parse_duration_s  # noqa: E402
from simulators import scenario as scenarios  # noqa: E402
from simulators.backfill import BackfillStats, backfill, frame_readings, steps_between  # noqa: E402
from simulators.engine import Simulation  # noqa: E402
from simulators.site import build_site  # noqa: E402
from tests.conftest import InfluxDB, free_port, wait_for_port  # noqa: E402

SCENARIO = Path(__file__).with_name("town-2000.toml")
LADDER_S = (10, 20, 30, 60, 120, 300, 600, 900, 1800, 3600)  # steps older history may fall back to
PROBE_STEPS = 27  # three backfill batches of 2,026 meters
ROLLUP_LINES_PER_FORCE = 80_000  # InfluxDB: force the rollups before a recompute outgrows one request
METRICS_PER_READING = 4.5  # a generous mean (homes and feeders report four or five metrics, most others two)


def log(text: str = "") -> None:
    print(text, flush=True)


def step_name(step_s: float) -> str:
    if step_s < 60:
        return f"{step_s:g} s"
    if step_s < 3600:
        return f"{step_s / 60:g} min"
    return f"{step_s / 3600:g} h"


def span_name(seconds: float) -> str:
    days, rest = divmod(round(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = ([f"{days} d"] if days else []) + ([f"{hours} h"] if hours or days else []) + [f"{minutes} min"]
    return " ".join(parts)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


@dataclass
class Segment:
    what: str  # "1h", "1d", ..., or "catch-up"
    start_s: float
    end_s: float
    step_s: float
    readings: int = 0
    seconds: float = 0.0
    estimate_s: float | None = None


@dataclass
class Measurement:
    store: str
    history: str
    span_s: float
    steps: str  # the resolution of the history, newest first
    size_mb: float
    first_poll_s: float = float("nan")  # the slowest poll while reading today and yesterday back
    catchup_polls: int = 0
    catchup_s: float = float("nan")
    first_times: dict = field(default_factory=dict)  # query -> [seconds] in the first poll
    poll_times: dict = field(default_factory=dict)  # query -> [seconds] over the steady polls
    polls_s: list = field(default_factory=list)
    full: dict = field(default_factory=dict)  # scene -> (seconds, bytes)
    patches: dict = field(default_factory=dict)  # scene -> [(seconds, bytes)]
    snapshot: str = ""


class BenchStore:
    """One backend under test: its address, a writer connection, and the history it holds so far."""

    def __init__(self, name: str, url: str, scenario, seed: int, step_s: float, workdir: Path,
                 influx: InfluxDB | None = None):
        self.name, self.url, self.scenario, self.seed, self.step_s = name, url, scenario, seed, step_s
        self.workdir, self.influx = workdir, influx
        self.writer = open_store(url)
        self.segments: list[Segment] = []
        self.spent_s = 0.0  # time spent filling, probes included: what the budget counts
        self.ratio = 1.0  # real fill time over probe time, from the fills so far (at least 1)
        self._probes: dict[float, float] = {}
        self._live: Simulation | None = None
        self._lock = threading.Lock()

    # -- filling -----------------------------------------------------------------------------------

    def fill(self, sim: Simulation, steps: int, store=None, label: str = "") -> tuple[BackfillStats, float]:
        """``backfill`` with InfluxDB's rollups kept to one request's worth; a progress line every 2 minutes."""
        store = store or self.writer
        influx = self.name == "influxdb"
        lines_per_reading = METRICS_PER_READING * min(1.0, sim.step_s / 60.0)
        since = [0]
        started = time.perf_counter()
        shown = [started]

        def progress(stats: BackfillStats) -> None:
            if influx and (stats.readings - since[0]) * lines_per_reading >= ROLLUP_LINES_PER_FORCE:
                store.maintain(force=True)
                since[0] = stats.readings
            now = time.perf_counter()
            if label and now - shown[0] >= 120:
                shown[0] = now
                log(f"      ... {label}: {stats.steps / steps:4.0%} after {(now - started) / 60:.1f} min, "
                    f"{stats.readings:,} readings")

        with self._lock:
            stats = backfill(sim, steps, store, progress)
        return stats, time.perf_counter() - started

    def fill_segment(self, what: str, start_s: float, end_s: float, step_s: float,
                     estimate_s: float | None = None) -> Segment:
        steps = steps_between(start_s, end_s, step_s)
        sim = Simulation(self.scenario, self.seed, start_s, step_s)
        stats, seconds = self.fill(sim, steps, label=f"{what} at {step_name(step_s)}")
        self.spent_s += seconds
        segment = Segment(what, start_s, start_s + steps * step_s, step_s, stats.readings, seconds, estimate_s)
        self.segments.append(segment)
        probe = self._probes.get(step_s)
        if probe and steps >= 10 * PROBE_STEPS:
            self.ratio = max(self.ratio, seconds / steps / probe)
        return segment

    def catch_up(self) -> Segment | None:
        """Fill from the newest filled instant to now at the requested step: the data always ends now."""
        newest = max(s.end_s for s in self.segments)
        end = math.floor(time.time() / self.step_s) * self.step_s
        if steps_between(newest, end, self.step_s) == 0:
            return None
        segment = self.fill_segment("catch-up", newest, end, self.step_s)
        log(f"    catch-up to now: {span_name(segment.end_s - segment.start_s)} at {step_name(self.step_s)}, "
            f"{segment.readings:,} readings in {segment.seconds:.1f} s")
        return segment

    def probe(self, step_s: float) -> float:
        """Seconds per step of a short fill at ``step_s`` into a throw-away store of the same backend."""
        if step_s in self._probes:
            return self._probes[step_s]
        n = len(self._probes)
        if self.name == "sqlite":
            path = self.workdir / f"probe-{n}.db"
            url = f"sqlite:///{path}"
        else:
            url = self.influx.url(f"probe{n}")
        store = open_store(url)
        try:
            start = math.floor(time.time() / 3600) * 3600 - 60 * 86400
            _, seconds = self.fill(Simulation(self.scenario, self.seed, start, step_s), PROBE_STEPS, store)
        finally:
            store.close()
            if self.name == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        self.spent_s += seconds
        self._probes[step_s] = seconds / PROBE_STEPS
        return self._probes[step_s]

    def estimate_s(self, start_s: float, end_s: float, step_s: float) -> float:
        return steps_between(start_s, end_s, step_s) * self.probe(step_s) * self.ratio

    # -- live data ---------------------------------------------------------------------------------

    def start_live(self) -> None:
        self._live = Simulation(self.scenario, self.seed, time.time() - self.step_s, self.step_s)

    def write_now(self) -> None:
        """One more step of every meter, stamped now (as tests/dashboard/conftest.py's Filled.write_now)."""
        with self._lock:
            frame = self._live.advance(1)
            ts = time.time()
            readings = [Reading(r.site, r.device, ts, r.metrics, r.seq) for r in next(frame_readings(self._live, frame))]
            self.writer.write(Batch(readings=readings))

    # -- facts -------------------------------------------------------------------------------------

    def size_mb(self) -> float:
        if self.name == "sqlite":
            path = Path(self.url[len("sqlite:///"):])
            return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists()) / 2**20
        total = 0
        for directory in ("data", "wal"):
            for dirpath, _, files in os.walk(self.influx.workdir / directory):
                total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
        return total / 2**20

    def resolution(self) -> str:
        """The history's steps, newest first, e.g. '10 s (1 h + catch-ups), 30 s (23 h), 5 min (6 d)'."""
        parts = []
        for s in sorted(self.segments, key=lambda s: -s.end_s):
            if s.what == "catch-up":
                continue
            parts.append(f"{step_name(s.step_s)} for {span_name(s.end_s - s.start_s)}")
        return ", then ".join(parts)

    def close(self) -> None:
        self.writer.close()


def plan_step(bench: BenchStore, what: str, start_s: float, end_s: float, later: list[tuple[float, float]],
              budget_s: float) -> tuple[float, float]:
    """The finest step that fits what is left of the budget, keeping enough for the older segments to come at
    the coarsest step; returns (step, estimate)."""
    candidates = [s for s in LADDER_S if s >= bench.step_s]
    if bench.step_s not in candidates:
        candidates.insert(0, bench.step_s)
    reserve = sum(bench.estimate_s(a, b, candidates[-1]) for a, b in later)
    left = budget_s - bench.spent_s - reserve
    tried = []
    for step in candidates:
        estimate = bench.estimate_s(start_s, end_s, step)
        tried.append(f"{step_name(step)} ~{estimate / 60:.1f} min")
        if estimate <= left or step == candidates[-1]:
            break
    log(f"    plan for {what} ({span_name(end_s - start_s)}): budget {budget_s / 60:.1f} min, spent "
        f"{bench.spent_s / 60:.1f} min (probes included), kept back {reserve / 60:.1f} min for older history; "
        f"estimates (probe x {bench.ratio:.2f}): {', '.join(tried)}")
    if step != bench.step_s:
        first = bench.estimate_s(start_s, end_s, bench.step_s)
        log(f"    OVER BUDGET: {what} at the requested {step_name(bench.step_s)} would take ~{first / 60:.0f} min; "
            f"filling it at {step_name(step)} instead. The newest segment stays at {step_name(bench.step_s)}.")
    return step, estimate


# -- measuring ---------------------------------------------------------------------------------------


class TimedStore:
    """The model's store, with the time of each query kept under a name that says what it asked."""

    QUERIES = ("latest", "rollups", "devices", "health", "rejected")

    def __init__(self, store, times: dict):
        self._store, self.times = store, times

    def __getattr__(self, name):
        attr = getattr(self._store, name)
        if name not in self.QUERIES:
            return attr

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.times.setdefault(self._label(name, args, kwargs), []).append(time.perf_counter() - started)

        return timed

    @staticmethod
    def _label(name: str, args, kwargs) -> str:
        if name == "latest":
            since = kwargs.get("since_s")  # the data here always ends now, so its age tells the window apart
            if since is None:
                return "latest(unbounded)"
            return "latest(1 d window)" if time.time() - since > 3600 else "latest(2 min window)"
        if name == "rollups":
            resolution, start, end = args[:3]
            span = end - start
            window = "5 min" if span <= 900 else "1 h" if span <= 2.5 * 3600 else "since yesterday"
            return f"rollups({resolution}, {window})" if resolution == "1m" else f"rollups({resolution}, year)"
        return f"{name}()"


def breakdown(times: dict, polls_s: list[float]) -> str:
    """Where the polls' time went: each query's share and mean, and the model's own Python."""
    total = sum(polls_s)
    queried = sum(sum(v) for v in times.values())
    parts = [f"{label} {sum(v) / total:.0%} ({len(v)}x, mean {np.mean(v) * 1000:.0f} ms)"
             for label, v in sorted(times.items(), key=lambda kv: -sum(kv[1]))]
    return ", ".join(parts + [f"model's Python {(total - queried) / total:.0%}"])


class Refresh:
    """The kiosk's refresh callback, called as Dash calls it: a POST to /_dash-update-component."""

    def __init__(self, app):
        self.client = app.server.test_client()
        self.key = next(k for k in app.callback_map if k.startswith("..beat.data"))
        self.outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
                        for part in self.key.strip(".").split("...")]
        self.client.get("/_dash-layout")
        self.client.get("/_dash-dependencies")

    def __call__(self, scene: str, lang: str, sent: dict, tick: int, changed: str) -> tuple[float, int, dict]:
        body = {"output": self.key, "outputs": self.outputs, "inputs": [
            {"id": "tick", "property": "n_intervals", "value": tick},
            {"id": "scene", "property": "data", "value": scene},
            {"id": "lang", "property": "data", "value": lang}],
            "state": [{"id": "sent", "property": "data", "value": sent}], "changedPropIds": [changed]}
        started = time.perf_counter()
        response = self.client.post("/_dash-update-component", json=body)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"refresh of {scene} answered {response.status_code}: "
                               f"{response.get_data(as_text=True)[:500]}")
        data = response.get_data()
        return elapsed, len(data), json.loads(data)["response"]["sent"]["data"]


def measure(bench: BenchStore, history: str, polls: int, calls: int, lang: str, cap_s: float) -> Measurement:
    """One point: first poll, steady polls, and each scene's full and patch refreshes; the steady loops stop
    early (after at least 3) if this point has used its share of ``cap_s``, so a slow store cannot hold the run."""
    oldest = min(s.start_s for s in bench.segments)
    bench.catch_up()
    newest = max(s.end_s for s in bench.segments)
    m = Measurement(bench.name, history, newest - oldest, bench.resolution(), bench.size_mb())
    log(f"  measuring {bench.name} with {span_name(m.span_s)} of history ({m.steps}); store {m.size_mb:,.0f} MB")
    bench.start_live()
    times: dict = {}
    model = ExhibitModel(lambda: TimedStore(open_store(bench.url), times), ModelSettings())
    try:
        t0 = time.perf_counter()
        catchup = []
        while not catchup or not model.history_complete:  # today and yesterday, read back a chunk a poll
            bench.write_now()
            started = time.perf_counter()
            snap = model.poll()
            catchup.append(time.perf_counter() - started)
            if not snap.store_ok:
                break
        m.first_poll_s, m.catchup_polls, m.catchup_s = max(catchup), len(catchup), sum(catchup)
        m.first_times = dict(times)
        times.clear()
        if not snap.store_ok:
            log(f"    first poll failed: {snap.store_error}")
        m.snapshot = (f"{len(snap.devices):,} devices, {snap.meters_online:,} live, freshness {snap.freshness}, "
                      f"{snap.readings_today:,} readings today, {sum(v is not None for v in snap.curve_yesterday_w)} "
                      f"of yesterday's 288 slots")
        log(f"    catching up (today and yesterday read back): {m.catchup_polls} polls, {m.catchup_s:,.1f} s, "
            f"slowest {m.first_poll_s * 1000:,.0f} ms; snapshot: {m.snapshot}")
        log(f"      their time: {breakdown(m.first_times, catchup)}")
        for i in range(polls):
            if i >= 3 and time.perf_counter() - t0 > 0.2 * cap_s:
                log(f"    time cap: {i} of {polls} steady polls")
                break
            bench.write_now()
            started = time.perf_counter()
            model.poll()
            m.polls_s.append(time.perf_counter() - started)
        refresh = Refresh(create_app(model, KioskSettings()))
        scenes = [s.SCENE.id for s in scene_plugins.discover()]
        for scene in scenes:  # once, untimed: lazy imports and plotly's validators are a start-up cost
            refresh(scene, lang, {}, 0, "scene.data")
        tick = 1
        for n, scene in enumerate(scenes):
            slot_end = t0 + (0.2 + 0.8 * (n + 1) / len(scenes)) * cap_s
            seconds, size, sent = refresh(scene, lang, {}, tick, "scene.data")
            m.full[scene] = (seconds, size)
            m.patches[scene] = []
            for i in range(calls):
                if i >= 3 and time.perf_counter() > slot_end:
                    log(f"    time cap: {i} of {calls} patches of {scene}")
                    break
                bench.write_now()
                started = time.perf_counter()
                model.poll()
                m.polls_s.append(time.perf_counter() - started)
                tick += 1
                seconds, size, sent = refresh(scene, lang, sent, tick, "tick.n_intervals")
                m.patches[scene].append((seconds, size))
            t = [s for s, _ in m.patches[scene]]
            b = [b for _, b in m.patches[scene]]
            log(f"    {scene:5s}  full {m.full[scene][0] * 1000:6.1f} ms {m.full[scene][1] / 1024:7.1f} KB   "
                f"patch p50 {pct(t, 50) * 1000:6.1f} ms  p95 {pct(t, 95) * 1000:6.1f} ms  max {max(t) * 1000:6.1f} ms"
                f"  mean {np.mean(b) / 1024:6.1f} KB")
        all_calls = [s for s, _ in m.full.values()] + [s for v in m.patches.values() for s, _ in v]
        log(f"    refresh, all {len(all_calls)} calls ({len(m.full)} full draws): p50 {pct(all_calls, 50) * 1000:.1f} ms, "
            f"p95 {pct(all_calls, 95) * 1000:.1f} ms (target <= 150 ms), max {max(all_calls) * 1000:.1f} ms")
        log(f"    steady polls ({len(m.polls_s)}, each after a write of every meter): p50 "
            f"{pct(m.polls_s, 50) * 1000:.0f} ms, p95 {pct(m.polls_s, 95) * 1000:.0f} ms, "
            f"max {max(m.polls_s) * 1000:.0f} ms")
        m.poll_times = dict(times)
        log(f"      their time: {breakdown(m.poll_times, m.polls_s)}")
        if not model.snapshot.store_ok:
            log(f"    the last poll failed: {model.snapshot.store_error}")
    finally:
        model.stop()
    return m


def run_store(bench: BenchStore, histories: list[tuple[str, float]], args) -> list[Measurement]:
    budget_s = args.max_backfill_minutes * 60
    anchor_s = math.floor(time.time() / bench.step_s) * bench.step_s  # history ends now
    out = []
    first_label, first_s = histories[0]
    log(f"\n== {bench.name}: {bench.url}")
    segment = bench.fill_segment(first_label, anchor_s - first_s, anchor_s, bench.step_s)
    bench.probe(bench.step_s)
    bench.ratio = max(1.0, segment.seconds / max(1, steps_between(segment.start_s, segment.end_s, segment.step_s))
                      / bench.probe(bench.step_s))
    log(f"  backfill newest {span_name(first_s)} at {step_name(bench.step_s)}: {segment.readings:,} readings in "
        f"{segment.seconds:.1f} s ({segment.readings / segment.seconds:,.0f}/s)")
    out.append(measure(bench, first_label, args.polls, args.calls, args.lang, args.max_measure_minutes * 60))
    older = []
    for (label, span_s), (_, newer_s) in zip(histories[1:], histories[:-1]):
        older.append((label, anchor_s - span_s, anchor_s - newer_s))
    for i, (label, start, end) in enumerate(older):
        later = [(a, b) for _, a, b in older[i + 1:]]
        step, estimate = plan_step(bench, label, start, end, later, budget_s)
        segment = bench.fill_segment(label, start, end, step, estimate)
        log(f"  backfill {span_name(end - start)} before that at {step_name(step)}: {segment.readings:,} readings in "
            f"{segment.seconds / 60:.1f} min ({segment.readings / segment.seconds:,.0f}/s; estimated "
            f"{estimate / 60:.1f} min); backfill so far {bench.spent_s / 60:.1f} min of the "
            f"{args.max_backfill_minutes:g} min budget")
        out.append(measure(bench, label, args.polls, args.calls, args.lang, args.max_measure_minutes * 60))
    return out


# -- the browser -------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def browser_heap(bench: BenchStore, minutes: float, warmup_minutes: float, workdir: Path) -> dict | None:
    from tests.dashboard.browser import Browser, available

    reason = available()
    if reason:
        log(f"\n== browser: skipped, {reason}")
        return None
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = workdir / "dashboard.log"
    log(f"\n== browser: energy-expo dashboard --kiosk --rotate-s 2 on {url} over the SQLite store, "
        f"a step of every meter written each second; headless Chromium 1920x1080 at {url}?kiosk=1")
    bench.catch_up()
    bench.start_live()
    with open(log_path, "ab") as server_log:
        process = subprocess.Popen(
            [sys.executable, "-m", "energy_expo.cli", "dashboard", "--store", bench.url, "--port", str(port), "--kiosk",
             "--rotate-s", "2"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=server_log)
    stop = threading.Event()
    writes = [0]

    def writer():
        while not stop.is_set():
            try:
                bench.write_now()
                writes[0] += 1
            except Exception as exc:  # noqa: BLE001 - a bench keeps going, and says so
                log(f"    writer: {type(exc).__name__}: {exc}")
            stop.wait(1.0)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    browser = None
    samples = []
    try:
        wait_for_port(port, 60)
        browser = Browser(1920, 1080)
        browser.open(f"{url}?kiosk=1")
        browser.wait_for("document.querySelector('.scene.active .js-plotly-plot') && "
                         "document.querySelector('.scene.active .js-plotly-plot').data && "
                         "document.querySelector('.scene.active .js-plotly-plot').data.length > 0", 60)
        started = time.monotonic()
        log(f"    page up; heap {browser.heap_mb():.1f} MB; warming up {warmup_minutes:g} min")
        time.sleep(warmup_minutes * 60)
        end = time.monotonic() + minutes * 60
        log("    minute   heap MB   scene   server RSS MB")
        while True:
            heap = browser.heap_mb()
            scene = browser.js("var s = document.querySelector('.scene.active'); return s ? JSON.parse(s.id).id : ''")
            t_min = (time.monotonic() - started) / 60
            samples.append((t_min, heap, scene, rss_mb(process.pid)))
            log(f"    {t_min:6.1f}   {heap:7.1f}   {scene:5s}   {samples[-1][3]:7.0f}")
            if time.monotonic() >= end:
                break
            time.sleep(min(30.0, max(0.0, end - time.monotonic())))
        errors = browser.console_errors()
        text = log_path.read_text() if log_path.exists() else ""
        server_errors = [line for line in text.splitlines() if "Traceback" in line or "Exception on" in line]
    finally:
        if browser is not None:
            browser.close()
        stop.set()
        thread.join(10)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    warm, final = samples[0][1], samples[-1][1]
    times = [s[0] for s in samples]
    slope = float(np.polyfit(times, [s[1] for s in samples], 1)[0]) * 60 if len(samples) > 2 else float("nan")
    result = {"minutes": minutes, "warm": warm, "final": final, "max": max(s[1] for s in samples),
              "growth": (final - warm) / warm, "slope_mb_h": slope, "rss0": samples[0][3], "rss1": samples[-1][3],
              "console_errors": len(errors), "server_errors": len(server_errors), "writes": writes[0]}
    log(f"    heap after warm-up {warm:.1f} MB, final {final:.1f} MB, max {result['max']:.1f} MB: growth "
        f"{result['growth']:+.1%} (target < 20%); trend {slope:+.2f} MB/h; server RSS {result['rss0']:.0f} -> "
        f"{result['rss1']:.0f} MB; {len(errors)} console errors, {len(server_errors)} server tracebacks; "
        f"{writes[0]} live writes")
    for e in errors[:5]:
        log(f"      console: {e[:200]}")
    return result


# -- main --------------------------------------------------------------------------------------------


def summary(measurements: list[Measurement], heap: dict | None, args, influx_version: str) -> None:
    log("\n== summary (times in ms, server side, in-process; sizes in KB, uncompressed JSON)")
    log(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {sys.version.split()[0]}, SQLite "
        f"{sqlite3.sqlite_version}, InfluxDB {influx_version or '-'}; "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; other work may share the machine")
    log(f"town: {SCENARIO.name}, {args.meters:,} meters; requested step {step_name(args.step_s)}; "
        f"{args.polls} polls + {args.calls} patches per scene per point; language {args.lang}")
    log("\nhistory actually held at each point (newest first):")
    for m in measurements:
        log(f"  {m.store:8s} {m.history:4s} {span_name(m.span_s):>15s}  {m.size_mb:8,.0f} MB  {m.steps}")
    log("\npolls (the store's work, once a second for all pages):")
    log(f"  {'store':8s} {'hist':4s} {'catch-up polls':>14s} {'slowest':>8s} {'p50':>7s} {'p95':>7s} {'max':>7s}   n")
    for m in measurements:
        log(f"  {m.store:8s} {m.history:4s} {m.catchup_polls:8d} {m.catchup_s:4.0f} s {m.first_poll_s * 1000:8.0f} "
            f"{ms(pct(m.polls_s, 50))} {ms(pct(m.polls_s, 95))} {ms(max(m.polls_s))} {len(m.polls_s):4d}")
    log("\nwhere the steady polls' time went:")
    for m in measurements:
        log(f"  {m.store:8s} {m.history:4s} {breakdown(m.poll_times, m.polls_s)}")
    log("\nrefresh callback per scene (full: first call after a rotation, sent={}; patch: steady ticks):")
    log(f"  {'store':8s} {'hist':4s} {'scene':5s} {'full ms':>8s} {'full KB':>8s} {'patch p50':>9s} "
        f"{'p95':>7s} {'max':>7s} {'mean KB':>8s}   n")
    for m in measurements:
        for scene, (full_s, full_b) in m.full.items():
            t = [s for s, _ in m.patches[scene]]
            b = [b for _, b in m.patches[scene]]
            log(f"  {m.store:8s} {m.history:4s} {scene:5s} {full_s * 1000:8.1f} {full_b / 1024:8.1f} "
                f"{pct(t, 50) * 1000:9.1f} {pct(t, 95) * 1000:7.1f} {max(t) * 1000:7.1f} {np.mean(b) / 1024:8.1f} {len(t):3d}")
    log("\nrefresh callback, all scenes together (the issue's target: p95 <= 150 ms, flat as history grows):")
    log(f"  {'store':8s} {'hist':4s} {'p50':>7s} {'p95':>7s} {'max':>7s}   n  mean KB/refresh")
    for m in measurements:
        calls = [s for s, _ in m.full.values()] + [s for v in m.patches.values() for s, _ in v]
        sizes = [b for _, b in m.full.values()] + [b for v in m.patches.values() for _, b in v]
        log(f"  {m.store:8s} {m.history:4s} {ms(pct(calls, 50))} {ms(pct(calls, 95))} {ms(max(calls))} "
            f"{len(calls):4d}  {np.mean(sizes) / 1024:8.1f}")
    if heap:
        log(f"\nbrowser JS heap over {heap['minutes']:g} min of 2 s rotation after warm-up: {heap['warm']:.1f} -> "
            f"{heap['final']:.1f} MB ({heap['growth']:+.1%}, target < 20%), max {heap['max']:.1f} MB, trend "
            f"{heap['slope_mb_h']:+.2f} MB/h; dashboard RSS {heap['rss0']:.0f} -> {heap['rss1']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--histories", default="1h,1d,7d",
                        help="history lengths to measure at, shortest first (default 1h,1d,7d)")
    parser.add_argument("--step", default="10s", help="time between readings of each meter (default 10s)")
    parser.add_argument("--max-backfill-minutes", type=float, default=20.0,
                        help="per store: older history falls back to a coarser step to fill within this (default 20)")
    parser.add_argument("--max-measure-minutes", type=float, default=5.0,
                        help="per store and history: steady loops stop early (n is printed) after this (default 5)")
    parser.add_argument("--stores", default="sqlite,influxdb", help="which stores (default sqlite,influxdb)")
    parser.add_argument("--polls", type=int, default=30, help="steady polls per point (default 30)")
    parser.add_argument("--calls", type=int, default=30, help="steady refreshes per scene per point (default 30)")
    parser.add_argument("--lang", default="zh", choices=["zh", "en"], help="the kiosk's language (default zh)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--browser-minutes", type=float, default=0.0,
                        help="sample the browser's JS heap this long after warm-up (default 0: skip; the issue: 60)")
    parser.add_argument("--browser-warmup-minutes", type=float, default=2.0, help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the stores' working folder")
    args = parser.parse_args()

    args.step_s = parse_duration_s(args.step, "--step")
    histories = [(h.strip(), parse_duration_s(h.strip(), "--histories")) for h in args.histories.split(",") if h.strip()]
    if [s for _, s in histories] != sorted({s for _, s in histories}):
        parser.error("--histories must be distinct and shortest first, e.g. 1h,1d,7d")
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not stores or set(stores) - {"sqlite", "influxdb"}:
        parser.error("--stores takes sqlite, influxdb or both")
    if args.browser_minutes and "sqlite" not in stores:
        parser.error("the browser part runs on the SQLite store: include sqlite in --stores")
    scenario = scenarios.load(str(SCENARIO))
    args.meters = build_site(scenario, args.seed).count
    log(f"dashboard refresh bench: {args.meters:,} meters ({SCENARIO.name}), histories {args.histories} at "
        f"{step_name(args.step_s)}, stores {', '.join(stores)}, backfill budget {args.max_backfill_minutes:g} min "
        f"per store; {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    workdir = Path(tempfile.mkdtemp(prefix="dashboard-refresh-"))
    measurements: list[Measurement] = []
    heap = None
    influx_version = ""
    sqlite_bench = None
    started = time.monotonic()
    try:
        for name in stores:
            if name == "sqlite":
                bench = sqlite_bench = BenchStore(name, f"sqlite:///{workdir / 'expo.db'}", scenario, args.seed,
                                                  args.step_s, workdir)
                measurements += run_store(bench, histories, args)
            else:
                (workdir / "influx").mkdir()
                influx = InfluxDB(workdir / "influx").start()
                try:
                    bench = BenchStore(name, influx.url("expo"), scenario, args.seed, args.step_s, workdir, influx)
                    influx_version = bench.writer.version or ""
                    measurements += run_store(bench, histories, args)
                    bench.close()
                finally:
                    influx.stop()
        if args.browser_minutes and sqlite_bench is not None:
            heap = browser_heap(sqlite_bench, args.browser_minutes, args.browser_warmup_minutes, workdir)
        summary(measurements, heap, args, influx_version)
        log(f"\nrun took {(time.monotonic() - started) / 60:.1f} min; working folder {workdir}"
            f"{' (kept)' if args.keep else ' (removed)'}")
    finally:
        if sqlite_bench is not None:
            sqlite_bench.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
