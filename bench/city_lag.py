"""Lag from a reading's timestamp to its arrival in the store, in a real `up`, on SQLite and on InfluxDB.

Prints figures; it is not a test. Run from the repository root:

    .venv/bin/python bench/city_lag.py --scenario city                  # 10 minutes per store, up's paced default
    .venv/bin/python bench/city_lag.py --scenario city --duration 60s --stores sqlite
    .venv/bin/python bench/city_lag.py --stores influxdb --demo-speed 6 --sample-devices 500   # `large`

For each store it runs the real ``energy-expo up --scenario <name>`` in a temp data dir, on the broker
``up`` starts itself (free loopback ports; SQLite is up's default store, InfluxDB is a private
``influxd`` started here and given as ``--store influxdb://...``), for ``--duration``, and stops it by
PID (SIGTERM: up stops its children in order). The scenario is either kind ``up`` takes: one site
(``large``, 10,197 meters, the default) or a city of districts (``city``, 8 districts, 19,879 meters),
loaded as up loads it (``simulators.load``). With no ``--demo-speed`` up paces the scenario to its
``max_readings_per_s`` (city: 6x with a 60 s step, 1,988 readings/s, one burst every 10 s).

A fixed random sample of ``--sample-devices`` meters, (site, device) pairs since a city's districts
reuse device ids, is watched at both ends: a sidecar subscriber on up's broker notes when it sees each
of their readings, and a poller reads those meters' newest instant from the store every ``--poll-s``; a
reading has arrived at the first poll that shows its meter at or past it (bench/lag/). Two lags:

- timestamp -> store, the issue's figure: arrival minus the wall time the reading was due. At real time
  that is its timestamp. At a demo speed the simulated clock runs through history faster than the wall
  clock, so the timestamp is placed on the simulator's paced clock (wall = offset + ts / speed, the
  speed and step from the simulator's log, the offset from the most punctual sampled reading): this
  adds how late the simulator published a reading (its step's computing and its burst) to the next lag.
- publication -> store: arrival minus when the sidecar saw it, which sees a reading within milliseconds
  of the broker.

The resolution of both is the poll interval plus the poll's own duration, both printed.

Besides the lags and their trend: the simulator's rate (readings made, acknowledged by the broker,
dropped from its queue when the broker cannot take them as fast) and its own worst lateness, ingest's
rate from its /health, the backlog (readings acknowledged by the broker minus readings stored) at each
of the simulator's once-a-minute reports and its trend, each process's CPU, and the load average (the
machine's two cores are shared).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lag import report
from lag.arrivals import ArrivalPoller, InfluxNewest, SQLiteNewest
from lag.exhibit import Monitor, Up, sim_done, sim_pace
from lag.sample import Sample, sample_meters
from lag.sidecar import Sidecar

from expo.errors import UserError
from expo.timeutil import parse_duration_s

SEED = 1  # up's --seed here, and the simulator seed the sample is drawn at


def run_store(store: str, args, sample: Sample) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"city-lag-{store}-"))
    influx = None
    extra_pids: dict[str, int] = {}
    meters = list(sample.meters)
    if store == "influxdb":
        from testkit.servers import InfluxDB

        influx = InfluxDB(work / "influxdb").start()
        url = influx.url("expo")
        newest = InfluxNewest("127.0.0.1", influx.port, "expo", meters)
        extra_pids["influxd"] = influx.process.pid
    else:
        url = f"sqlite:///{work / 'data' / 'expo.db'}"
        newest = SQLiteNewest(work / "data" / "expo.db", meters)
    (work / "data").mkdir(exist_ok=True)
    up = Up(work / "data", url, args.demo_speed, args.scenario)
    extra_pids["bench"] = os.getpid()
    load_before = os.getloadavg()
    print(f"\n== {store}: {' '.join(up.args[2:])}", flush=True)
    start = window_end = drained_at = time.time()
    sidecar = poller = monitor = None
    unarrived: list = []
    final_health: dict = {}
    try:
        up.start()
        extra_pids["up"] = up.process.pid
        sidecar = Sidecar("127.0.0.1", up.broker_port, meters, up.mqtt_protocol).start()
        poller = ArrivalPoller(newest, sidecar, args.poll_s)
        monitor = Monitor(up, extra_pids)
        start = time.time()
        monitor.sample()
        poller.start()
        monitor.start()
        end = start + args.duration_s
        while time.time() < end:
            time.sleep(min(30.0, end - time.time()))
            s = monitor.samples[-1]
            print(f"  {(time.time() - start) / 60:5.1f} min: sidecar saw {sidecar.seen:,}, measured "
                  f"{len(poller.arrivals):,}; ingest written {int(s.health.get('readings_written', 0)):,}; "
                  f"load {s.load1:.2f}", flush=True)
        monitor.sample()
        window_end = time.time()
        sidecar.stop()  # nothing new is noted; what was seen may still arrive
        drain_deadline = time.time() + args.drain_s
        while poller.unarrived() and time.time() < drain_deadline:
            time.sleep(0.5)
        poller.stop_event.set()
        poller.join(10)
        unarrived = poller.unarrived()
        drained_at = time.time()
        monitor.stop_event.set()
        monitor.join(10)
        final_health = up.health()
    finally:
        for thread in (poller, monitor):
            if thread is not None:
                thread.stop_event.set()
        stop_started = time.time()
        code = up.stop()
        stop_s = time.time() - stop_started
        newest.close()
        if influx is not None:
            influx.stop()
        if sidecar is None or poller is None:  # up did not start: its log says why
            print(f"  up did not start; its log: {up.data_dir / 'up.log'}", flush=True)
            args.keep = True
    result = {"store": store, "start": start, "window_end": window_end, "drained_at": drained_at,
              "arrivals": poller.arrivals, "unarrived": unarrived, "poll_s": poller.poll_s,
              "poll_failures": poller.failures, "samples": monitor.samples, "sim_reports": monitor.sim_reports,
              "sim_max_lag_s": monitor.sim_max_lag_s, "final_health": final_health,
              "done": sim_done(up.log("simulate")), "pace": sim_pace(up.log("simulate")), "up_exit": code,
              "stop_s": stop_s, "seen": sidecar.seen, "unparsed": sidecar.unparsed, "load_before": load_before,
              "load_after": os.getloadavg(), "sample": sample, "work": work}
    print_result(result, args)
    (work / "lags.json").write_text(json.dumps({"start": start, "drained_at": drained_at, "pace": result["pace"],
                                                "arrivals": poller.arrivals, "unarrived": unarrived}))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"  kept {work}")
    return result


def print_result(r: dict, args) -> None:
    start, sample = r["start"], r["sample"]
    pace = r["pace"]  # (meters, step_s, speed) as the simulator said it
    speed = pace[2] if pace else 1.0
    seen_all = [(ts, seen) for ts, seen, _ in r["arrivals"]] + list(r["unarrived"])
    offset = report.due_offset_s(seen_all, speed)
    # (wall seen, timestamp -> store, publication -> store) of every sampled reading that arrived
    lags = [(seen, arrived - report.due_s(ts, seen, speed, offset), arrived - seen)
            for ts, seen, arrived in r["arrivals"]]
    due = [d for _, d, _ in lags]
    published = [p for _, _, p in lags]
    settled = [d for seen, d, _ in lags if seen - start >= 60]
    print(f"\n-- {r['store']}: {args.duration_s / 60:g} min of up --scenario {args.scenario}, "
          + (f"{speed:g}x with a {pace[1]:g} s step ({pace[0]:,} meters, {pace[0] * speed / pace[1]:,.0f} readings/s; "
             f"demo speed {args.demo_speed if args.demo_speed is not None else UP_DEFAULT_SPEED})" if pace else
             "the simulator's pace not found in its log")
          + f"; {sample.describe()}")
    if speed != 1 and offset is not None:
        print(f"  a reading's due time: its timestamp on the simulator's clock at {speed:g}x (wall = offset + ts / "
              f"{speed:g}, offset from the most punctual of {len(seen_all):,} sampled readings)")
    print(f"  lag timestamp -> store, all:            {report.lag_line(due)}")
    print(f"  lag timestamp -> store, after minute 1: {report.lag_line(settled)}")
    print(f"  lag publication -> store, all:          {report.lag_line(published)}")
    floor = [r["drained_at"] - report.due_s(ts, seen, speed, offset) for ts, seen in r["unarrived"]]
    if floor:  # arrived-only figures flatter a store that falls behind: the missing ones are the slowest
        print(f"  ... timestamp -> store, every reading seen, those not arrived at their lower bound (>=): "
              f"{report.lag_line(due + floor)}")
    trend = report.slope_per_min([(seen, d) for seen, d, _ in lags if seen - start >= 60])
    print("  lag trend after minute 1: " + (f"{trend:+.3f} s per minute (least squares, timestamp -> store)"
                                          if math.isfinite(trend) else "none yet (a run longer than a minute)"))
    if args.duration_s >= 20 * 60:  # a cold store's first half hour creeps as its tables grow; what of the run's end
        late = [(seen, d) for seen, d, _ in lags if seen - start >= args.duration_s - 600]
        print(f"  lag over the last 10 minutes: {report.lag_line([d for _, d in late])}, "
              f"trend {report.slope_per_min(late):+.3f} s per minute")
    negatives = sum(1 for lag in published if lag < 0)
    polls = r["poll_s"]
    print(f"  resolution: poll every {args.poll_s:g} s, a poll took p50 {report.percentile(polls, 50) * 1000:.0f} ms, "
          f"max {max(polls, default=math.nan) * 1000:.0f} ms ({len(polls):,} polls, {r['poll_failures']} failed); "
          f"{negatives:,} lags < 0 (the store had it before the sidecar noted it)")
    un = r["unarrived"]
    if un:
        ages = [r["drained_at"] - seen for _, seen in un]
        print(f"  NOT ARRIVED {args.drain_s:g} s after the window: {len(un):,} sampled readings, "
              f"oldest seen {max(ages):.0f} s before (their lag is at least that)")
    else:
        print(f"  every sampled reading the sidecar saw arrived ({r['seen']:,} seen, {r['unparsed']} unparsed)")
    print("  per minute (by wall time seen): minute  arrived  timestamp->store p50  p95  max  publication->store p95"
          "  not-arrived")
    missing: dict[int, int] = {}
    for _, seen in un:
        missing[int((seen - start) // 60)] = missing.get(int((seen - start) // 60), 0) + 1
    by_due = dict(report.per_minute([(seen, d) for seen, d, _ in lags], start))
    by_pub = dict(report.per_minute([(seen, p) for seen, _, p in lags], start))
    for minute in sorted(set(by_due) | set(missing)):
        values = by_due.get(minute, [])
        print(f"    {minute:3d}  {len(values):7,}  {report.percentile(values, 50):6.2f}  "
              f"{report.percentile(values, 95):6.2f}  {max(values, default=math.nan):6.2f}  "
              f"{report.percentile(by_pub.get(minute, []), 95):6.2f}  {missing.get(minute, 0):7,}")
    samples = [s for s in r["samples"] if s.health]
    points = report.backlog_points(samples, r["sim_reports"], sample.retained_count)
    reports = r["sim_reports"]
    if len(reports) >= 2:
        (w0, a), (w1, b) = reports[0], reports[-1]
        dt = w1 - w0
        print(f"  simulator, between its reports at {(w0 - start) / 60:.1f} and {(w1 - start) / 60:.1f} min: "
              f"made {(b[1] - a[1]) / dt:,.0f} readings/s, broker acknowledged {(b[2] - a[2]) / dt:,.0f}/s, "
              f"dropped {(b[4] - a[4]) / dt:,.0f}/s ({b[0] - a[0]} steps, {(b[0] - a[0]) / dt:.2f} steps/s)")
    done = r["done"]
    if done:
        print(f"  simulator at its stop: steps={done[0]:,} made={done[1]:,} acknowledged={done[2]:,} "
              f"dropped={done[3]:,} ({100 * done[3] / max(1, done[1]):.1f}% dropped)")
    if r["sim_max_lag_s"] is not None:
        print(f"  simulator's own worst lateness against its schedule (its newest report): {r['sim_max_lag_s']:.2f} s")
    print(f"  ingest (its /health, whole window): written {report.rate(samples, 'readings_written'):,.0f} readings/s, "
          f"received {report.rate(samples, 'received'):,.0f} messages/s")
    if points:
        print("  backlog at each simulator report: min  acknowledged-readings  stored  backlog  (of it in the broker)")
        for wall, acked, stored, in_broker in points:
            print(f"    {(wall - start) / 60:5.1f}  {acked:12,}  {stored:12,}  {acked - stored:9,}  {in_broker:9,}")
        trend = report.slope_per_min([(w, a - s) for w, a, s, _ in points])
        step = f", one step is {sample.meter_count:,} readings" if pace else ""
        print(f"  backlog trend: {trend:+,.0f} readings per minute (least squares over {len(points)} reports{step})"
              if math.isfinite(trend) else "  backlog trend: none yet (two simulator reports: a run of 3 min or more)")
    else:
        print("  backlog: no simulator report in the window (it reports once a minute)")
    h = r["final_health"]
    print(f"  ingest at the window's end: queue_length={h.get('queue_length')} spool_readings={h.get('spool_readings')} "
          f"store_busy={h.get('store_busy')} store_failures={h.get('store_failures')} rejected={h.get('rejected')}")
    names = sorted({n for s in samples for n in s.cpu_s})
    print("  CPU (cores, whole window): " + ", ".join(f"{n} {report.cores(samples, n):.2f}" for n in names))
    loads = [s.load1 for s in samples]
    print(f"  load average (1 min): before {r['load_before'][0]:.2f}, during p50 {report.percentile(loads, 50):.2f} "
          f"max {max(loads, default=math.nan):.2f}, after {r['load_after'][0]:.2f} (2 cores)")
    print(f"  up stopped in {r['stop_s']:.0f} s, exit {r['up_exit']}")


UP_DEFAULT_SPEED = "up's default, paced to its max_readings_per_s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     epilog="The issue's figure (issue 12, deliverable 6): --scenario city, 10 minutes "
                                            "per store, lag timestamp -> store p95 under 5 s, no upward trend.")
    parser.add_argument("--scenario", default="large",
                        help="a scenario up takes, one site or a city of districts (default large; the city: city)")
    parser.add_argument("--duration", default="10m", help="how long up runs per store, e.g. 60s, 10m (default 10m)")
    parser.add_argument("--minutes", type=float, default=None, help=argparse.SUPPRESS)  # the flag before --duration
    parser.add_argument("--stores", default="sqlite,influxdb", help="sqlite, influxdb or both (default both, in turn)")
    parser.add_argument("--demo-speed", type=float, default=None, help=f"default: {UP_DEFAULT_SPEED}")
    parser.add_argument("--sample-devices", type=int, default=500,
                        help="how many meters, (site, device) pairs, are watched (default 500)")
    parser.add_argument("--poll-s", type=float, default=0.5, help="how often the store is asked (default 0.5)")
    parser.add_argument("--drain-s", type=float, default=60.0,
                        help="after the window, how long the poller waits for what the sidecar saw (default 60)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir (logs, store, lags.json)")
    args = parser.parse_args(argv)
    try:
        args.duration_s = args.minutes * 60 if args.minutes is not None else parse_duration_s(args.duration,
                                                                                              "--duration")
        if args.minutes is not None and not args.minutes > 0:
            raise UserError(f"--minutes must be above zero, got {args.minutes:g}")
        sample = sample_meters(args.scenario, args.sample_devices, SEED)
    except UserError as exc:
        parser.error(str(exc))
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not stores or set(stores) - {"sqlite", "influxdb"}:
        parser.error(f"--stores takes sqlite, influxdb or both, got {args.stores!r}")
    print(f"city_lag {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}; {sample.describe()}")
    for store in stores:
        run_store(store, args, sample)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
