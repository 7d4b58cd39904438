"""The load: the model polling each store, and each scene's refresh callback called as Dash calls it, timed."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

import numpy as np

from dashboard import scenes as scene_plugins
from dashboard.app import KioskSettings, create_app
from dashboard.model import ExhibitModel, ModelSettings
from expo.store import open_store
from refresh.figures import breakdown, log, pct, span_name, step_name
from refresh.fill import BenchStore, plan_step
from simulators.backfill import steps_between


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
    poll_parts: list = field(default_factory=list)  # (seconds, {query: seconds}) of each steady poll
    full: dict = field(default_factory=dict)  # scene -> (seconds, bytes)
    patches: dict = field(default_factory=dict)  # scene -> [(seconds, bytes)]
    snapshot: str = ""


class TimedStore:
    """The model's store, with the time of each query kept under a name that says what it asked."""

    QUERIES = ("latest", "rollups", "devices", "sites", "buildings", "health", "rejected")

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


class Refresh:
    """The kiosk's refresh callback, called as Dash calls it: a POST to /_dash-update-component.

    Its inputs and state are read from the callback's own declaration, so an input added to the kiosk (the
    big-data scene's tapped district, ``bigdata-focus``) is sent too, as the browser sends it: ``None``
    until something sets it."""

    def __init__(self, app):
        self.client = app.server.test_client()
        self.key = next(k for k in app.callback_map if k.startswith("..beat.data"))
        self.outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
                        for part in self.key.strip(".").split("...")]
        declared = app.callback_map[self.key]
        self.inputs = [(i["id"], i["property"]) for i in declared["inputs"]]
        self.state = [(s["id"], s["property"]) for s in declared["state"]]
        self.client.get("/_dash-layout")
        self.client.get("/_dash-dependencies")

    def __call__(self, scene: str, lang: str, sent: dict, tick: int, changed: str) -> tuple[float, int, dict]:
        values = {("tick", "n_intervals"): tick, ("scene", "data"): scene, ("lang", "data"): lang,
                  ("sent", "data"): sent}
        body = {"output": self.key, "outputs": self.outputs,
                "inputs": [{"id": i, "property": p, "value": values.get((i, p))} for i, p in self.inputs],
                "state": [{"id": i, "property": p, "value": values.get((i, p))} for i, p in self.state],
                "changedPropIds": [changed]}
        started = time.perf_counter()
        response = self.client.post("/_dash-update-component", json=body)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"refresh of {scene} answered {response.status_code}: "
                               f"{response.get_data(as_text=True)[:500]}")
        data = response.get_data()
        return elapsed, len(data), json.loads(data)["response"]["sent"]["data"]



def timed_poll(bench, model, m, times: dict) -> None:
    """One more step of every meter written, then one poll of the model, timed: a steady poll under write load.
    What each query of this poll took is kept with it, so the slowest polls can say where their time went."""
    bench.write_now()
    counts = {k: len(v) for k, v in times.items()}
    started = time.perf_counter()
    model.poll()
    took = time.perf_counter() - started
    m.polls_s.append(took)
    m.poll_parts.append((took, {k: sum(v[counts.get(k, 0):]) for k, v in times.items() if len(v) > counts.get(k, 0)}))


def slowest_polls(m, n: int = 5) -> list[str]:
    """The ``n`` slowest steady polls, each with its queries' time and the rest (the model's Python)."""
    lines = []
    for took, parts in sorted(m.poll_parts, key=lambda p: -p[0])[:n]:
        queries = ", ".join(f"{k} {s * 1000:,.0f}" for k, s in sorted(parts.items(), key=lambda kv: -kv[1]))
        lines.append(f"{took * 1000:,.0f} ms: {queries}, the rest {(took - sum(parts.values())) * 1000:,.0f}")
    return lines

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
        sites = len(snap.city.sites) if snap.city is not None else 0
        m.snapshot = (f"{len(snap.devices):,} devices in {sites} site{'s' * (sites != 1)}, "
                      f"{snap.meters_online:,} live, freshness {snap.freshness}, "
                      f"{snap.readings_today:,} readings today, {sum(v is not None for v in snap.curve_yesterday_w)} "
                      f"of yesterday's 288 slots")
        log(f"    catching up (today and yesterday read back): {m.catchup_polls} polls, {m.catchup_s:,.1f} s, "
            f"slowest {m.first_poll_s * 1000:,.0f} ms; snapshot: {m.snapshot}")
        log(f"      their time: {breakdown(m.first_times, catchup)}")
        for i in range(polls):
            if i >= 3 and time.perf_counter() - t0 > 0.2 * cap_s:
                log(f"    time cap: {i} of {polls} steady polls")
                break
            timed_poll(bench, model, m, times)
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
                timed_poll(bench, model, m, times)
                tick += 1
                seconds, size, sent = refresh(scene, lang, sent, tick, "tick.n_intervals")
                m.patches[scene].append((seconds, size))
            t = [s for s, _ in m.patches[scene]]
            b = [b for _, b in m.patches[scene]]
            log(f"    {scene:7s}  full {m.full[scene][0] * 1000:6.1f} ms {m.full[scene][1] / 1024:7.1f} KB   "
                f"patch p50 {pct(t, 50) * 1000:6.1f} ms  p95 {pct(t, 95) * 1000:6.1f} ms  max {max(t) * 1000:6.1f} ms"
                f"  mean {np.mean(b) / 1024:6.1f} KB  max {max(b) / 1024:6.1f} KB")
        all_calls = [s for s, _ in m.full.values()] + [s for v in m.patches.values() for s, _ in v]
        log(f"    refresh, all {len(all_calls)} calls ({len(m.full)} full draws): p50 {pct(all_calls, 50) * 1000:.1f} ms, "
            f"p95 {pct(all_calls, 95) * 1000:.1f} ms (target <= 150 ms), max {max(all_calls) * 1000:.1f} ms")
        log(f"    steady polls ({len(m.polls_s)}, each after a write of every meter): p50 "
            f"{pct(m.polls_s, 50) * 1000:.0f} ms, p95 {pct(m.polls_s, 95) * 1000:.0f} ms, "
            f"max {max(m.polls_s) * 1000:.0f} ms")
        m.poll_times = dict(times)
        log(f"      their time: {breakdown(m.poll_times, m.polls_s)}")
        for line in slowest_polls(m):
            log(f"      a slowest poll, {line}")
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
