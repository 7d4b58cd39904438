"""The data: each store filled with the simulator's readings, newest history first, within a time budget.

The newest segment is filled at the requested step; older ones at the finest
step a short probe fill says fits what is left of the budget (see
bench/dashboard_refresh.py for why and for how to read the figures).
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from expo.reading import Reading
from expo.store import Batch, StoreUnavailable, open_store
from refresh.figures import log, span_name, step_name
from refresh.totals import WithTotals
from simulators import load
from simulators.backfill import BackfillStats, backfill, frame_readings, steps_between
from testkit.servers import InfluxDB

SCENARIO = Path(__file__).resolve().parents[1] / "town-2000.toml"
LADDER_S = (10, 20, 30, 60, 120, 300, 600, 900, 1800, 3600)  # steps older history may fall back to
PROBE_READINGS = 54_702  # about three backfill batches (27 steps of the bench's 2,026-meter town)


def probe_steps(meters: int) -> int:
    """Steps of a probe fill: about ``PROBE_READINGS`` readings whatever the size (a city step is 19,879), at
    least three, so the probe times the same work per reading as the fill it predicts."""
    return max(3, math.ceil(PROBE_READINGS / max(1, meters)))


@dataclass
class Segment:
    what: str  # "1h", "1d", ..., or "catch-up"
    start_s: float
    end_s: float
    step_s: float
    readings: int = 0
    seconds: float = 0.0
    estimate_s: float | None = None


class BenchStore:
    """One backend under test: its address, a writer connection, and the history it holds so far.

    ``scenario`` is what ``simulators.load.load`` gives: one site, or a city whose districts are each a site,
    simulated together (``simulators.load.simulation``) and backfilled with their site and building
    descriptions, as ``energy-expo backfill --scenario city`` does."""

    def __init__(self, name: str, url: str, scenario, seed: int, step_s: float, workdir: Path,
                 influx: InfluxDB | None = None):
        self.name, self.url, self.scenario, self.seed, self.step_s = name, url, scenario, seed, step_s
        self.workdir, self.influx = workdir, influx
        self.probe_steps = probe_steps(load.meter_count(scenario, seed))
        self.writer = open_store(url)
        self.segments: list[Segment] = []
        self.spent_s = 0.0  # time spent filling, probes included: what the budget counts
        self.ratio = 1.0  # real fill time over probe time, from the fills so far (at least 1)
        self._probes: dict[float, float] = {}
        self._live = None  # the simulation write_now steps: one site's or a city's
        self._live_writer: WithTotals | None = None
        self._lock = threading.Lock()

    # -- filling -----------------------------------------------------------------------------------

    def fill(self, sim, steps: int, store=None, label: str = "") -> tuple[BackfillStats, float]:
        """``backfill`` with the site totals ingest would make (``WithTotals``), then the store's rollups written
        out; a progress line every 2 minutes.

        The store bounds what it holds itself (InfluxDB: at most 50,000 rollup buckets before it writes)."""
        store = WithTotals(store or self.writer)
        started = time.perf_counter()
        shown = [started]

        def progress(stats: BackfillStats) -> None:
            now = time.perf_counter()
            if label and now - shown[0] >= 120:
                shown[0] = now
                log(f"      ... {label}: {stats.steps / steps:4.0%} after {(now - started) / 60:.1f} min, "
                    f"{stats.readings:,} readings")

        with self._lock:
            stats = backfill(sim, steps, store, progress)
            for attempt in range(5):  # a server still compacting what it was just given may answer slowly
                try:
                    store.maintain(force=True)
                    break
                except StoreUnavailable as exc:
                    log(f"      ... rollups not written yet ({exc}); again in 5 s")
                    time.sleep(5)
        return stats, time.perf_counter() - started

    def fill_segment(self, what: str, start_s: float, end_s: float, step_s: float,
                     estimate_s: float | None = None) -> Segment:
        steps = steps_between(start_s, end_s, step_s)
        sim = load.simulation(self.scenario, self.seed, start_s, step_s)
        stats, seconds = self.fill(sim, steps, label=f"{what} at {step_name(step_s)}")
        self.spent_s += seconds
        segment = Segment(what, start_s, start_s + steps * step_s, step_s, stats.readings, seconds, estimate_s)
        self.segments.append(segment)
        probe = self._probes.get(step_s)
        if probe and steps >= 10 * self.probe_steps:
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
            _, seconds = self.fill(load.simulation(self.scenario, self.seed, start, step_s), self.probe_steps, store)
        finally:
            store.close()
            if self.name == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        self.spent_s += seconds
        self._probes[step_s] = seconds / self.probe_steps
        return self._probes[step_s]

    def estimate_s(self, start_s: float, end_s: float, step_s: float) -> float:
        return steps_between(start_s, end_s, step_s) * self.probe(step_s) * self.ratio

    # -- live data ---------------------------------------------------------------------------------

    def start_live(self) -> None:
        self._live = load.simulation(self.scenario, self.seed, time.time() - self.step_s, self.step_s)
        self._live_writer = WithTotals(self.writer, self._live.metas)  # the metadata is stored by the fill

    def write_now(self) -> None:
        """One more step of every meter, stamped now (as tests/dashboard/conftest.py's Filled.write_now)."""
        with self._lock:
            frame = self._live.advance(1)
            ts = time.time()
            readings = [Reading(r.site, r.device, ts, r.metrics, r.seq) for r in next(frame_readings(self._live, frame))]
            self._live_writer.write(Batch(readings=readings))

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
