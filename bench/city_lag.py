"""The city end to end: lag from a reading's publication to its arrival in the store, in a real `up`.

Prints figures; it is not a test. Run from the repository root:

    .venv/bin/python bench/city_lag.py                                  # 10 minutes per store, up's demo speed
    .venv/bin/python bench/city_lag.py --minutes 2 --stores sqlite
    .venv/bin/python bench/city_lag.py --stores influxdb --demo-speed 6 --sample-devices 500

For each store it runs the real ``energy-expo up --scenario large`` (10,197 meters) in a temp data dir,
on the broker ``up`` starts itself (free loopback ports; SQLite is up's default store, InfluxDB is a
private ``influxd`` started here and given as ``--store influxdb://...``), for ``--minutes``, and stops
it by PID (SIGTERM: up stops its children in order).

At demo speed the simulated clock runs ahead of the wall clock, so the lag is wall time of arrival in
the store minus wall time of publication: a sidecar subscriber on up's broker notes when it sees each
reading of ``--sample-devices`` meters (a fixed random sample, seed 1), and a poller reads each sampled
meter's newest instant from the store every ``--poll-s`` (SQLite: the store's ``latest()``; InfluxDB:
the ``latest`` measurement); a reading has arrived at the first poll that shows its meter at or past
it (bench/lag/). The sidecar sees a reading within milliseconds of the broker, so there is no
meaningful "broker alone" baseline; the resolution of the figures is the poll interval plus the poll's
own duration, both printed.

Besides the lag: the simulator's rate (readings made, acknowledged by the broker, dropped from its
queue when the broker cannot take them as fast), ingest's rate from its /health, the backlog (readings
acknowledged by the broker minus readings stored) at each of the simulator's once-a-minute reports and
its trend, each process's CPU, and the load average (the machine's two cores are shared).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
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
from lag.exhibit import Monitor, Up, sim_done
from lag.sidecar import Sidecar


def sample_devices(scenario: str, count: int, seed: int = 1) -> tuple[str, list[str], float]:
    from simulators import scenario as scenarios
    from simulators.site import build_site

    spec = scenarios.load(scenario)
    site = build_site(spec, 1)
    ids = [m.device for m in site.metas]
    return site.site_id, sorted(random.Random(seed).sample(ids, min(count, len(ids)))), len(ids)


def run_store(store: str, args, site: str, devices: list[str], meter_count: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"city-lag-{store}-"))
    influx = None
    extra_pids: dict[str, int] = {}
    if store == "influxdb":
        from testkit.servers import InfluxDB

        influx = InfluxDB(work / "influxdb").start()
        url = influx.url("expo")
        newest = InfluxNewest("127.0.0.1", influx.port, "expo", site, devices)
        extra_pids["influxd"] = influx.process.pid
    else:
        url = f"sqlite:///{work / 'data' / 'expo.db'}"
        newest = SQLiteNewest(url, site, devices)
    (work / "data").mkdir(exist_ok=True)
    up = Up(work / "data", url, args.demo_speed, args.scenario)
    extra_pids["bench"] = os.getpid()
    load_before = os.getloadavg()
    print(f"\n== {store}: {' '.join(up.args[2:])}", flush=True)
    try:
        up.start()
        extra_pids["up"] = up.process.pid
        sidecar = Sidecar("127.0.0.1", up.broker_port, site, devices, up.mqtt_protocol).start()
        poller = ArrivalPoller(newest, sidecar, args.poll_s)
        monitor = Monitor(up, extra_pids)
        start = time.time()
        monitor.sample()
        poller.start()
        monitor.start()
        end = start + args.minutes * 60
        while time.time() < end:
            time.sleep(min(30.0, end - time.time()))
            s = monitor.samples[-1]
            print(f"  {(time.time() - start) / 60:5.1f} min: sidecar saw {sidecar.seen:,}, measured "
                  f"{len(poller.lags):,}; ingest written {int(s.health.get('readings_written', 0)):,}; "
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
        stop_started = time.time()
        code = up.stop()
        stop_s = time.time() - stop_started
        newest.close()
        if influx is not None:
            influx.stop()
    done = sim_done(up.log("simulate"))
    result = {"store": store, "start": start, "window_end": window_end, "drained_at": drained_at,
              "lags": poller.lags, "unarrived": unarrived, "poll_s": poller.poll_s, "poll_failures": poller.failures,
              "samples": monitor.samples, "sim_reports": monitor.sim_reports, "final_health": final_health,
              "done": done, "up_exit": code, "stop_s": stop_s, "seen": sidecar.seen, "unparsed": sidecar.unparsed,
              "load_before": load_before, "load_after": os.getloadavg(), "meter_count": meter_count, "work": work}
    print_result(result, args)
    (work / "lags.json").write_text(json.dumps({"start": start, "drained_at": drained_at, "lags": poller.lags,
                                                "unarrived": unarrived}))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"  kept {work}")
    return result


def print_result(r: dict, args) -> None:
    start = r["start"]
    lags = [lag for _, lag in r["lags"]]
    settled = [lag for seen, lag in r["lags"] if seen - start >= 60]
    print(f"\n-- {r['store']}: {args.minutes:g} min of up --scenario {args.scenario}, demo speed "
          f"{args.demo_speed if args.demo_speed is not None else UP_DEFAULT_SPEED}, "
          f"{args.sample_devices} of {r['meter_count']:,} meters sampled")
    print(f"  lag publish -> store, all:            {report.lag_line(lags)}")
    print(f"  lag publish -> store, after minute 1: {report.lag_line(settled)}")
    floor = [r["drained_at"] - seen for _, seen in r["unarrived"]]
    if floor:  # arrived-only figures flatter a store that falls behind: the missing ones are the slowest
        print(f"  ... every reading seen, those not arrived at their lower bound (>=): "
              f"{report.lag_line(lags + floor)}")
    negatives = sum(1 for lag in lags if lag < 0)
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
    print("  per minute (by wall time seen):  minute  arrived  p50  p95  max  not-arrived")
    missing: dict[int, int] = {}
    for _, seen in r["unarrived"]:
        missing[int((seen - start) // 60)] = missing.get(int((seen - start) // 60), 0) + 1
    arrived = dict(report.per_minute(r["lags"], start))
    for minute in sorted(set(arrived) | set(missing)):
        values = arrived.get(minute, [])
        print(f"    {minute:3d}  {len(values):7,}  {report.percentile(values, 50):6.2f}  "
              f"{report.percentile(values, 95):6.2f}  {max(values, default=math.nan):6.2f}  {missing.get(minute, 0):7,}")
    samples = [s for s in r["samples"] if s.health]
    points = report.backlog_points(samples, r["sim_reports"], r["meter_count"])
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
    print(f"  ingest (its /health, whole window): written {report.rate(samples, 'readings_written'):,.0f} readings/s, "
          f"received {report.rate(samples, 'received'):,.0f} messages/s")
    if points:
        print("  backlog at each simulator report: min  acknowledged-readings  stored  backlog  (of it in the broker)")
        for wall, acked, stored, in_broker in points:
            print(f"    {(wall - start) / 60:5.1f}  {acked:12,}  {stored:12,}  {acked - stored:9,}  {in_broker:9,}")
        trend = report.slope_per_min([(w, a - s) for w, a, s, _ in points])
        print(f"  backlog trend: {trend:+,.0f} readings per minute (least squares over {len(points)} reports)")
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--stores", default="sqlite,influxdb")
    parser.add_argument("--demo-speed", type=float, default=None, help=f"default: {UP_DEFAULT_SPEED}")
    parser.add_argument("--sample-devices", type=int, default=500)
    parser.add_argument("--scenario", default="large")
    parser.add_argument("--poll-s", type=float, default=0.5)
    parser.add_argument("--drain-s", type=float, default=60.0,
                        help="after the window, how long the poller waits for what the sidecar saw")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir (logs, store)")
    args = parser.parse_args(argv)
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    site, devices, meters = sample_devices(args.scenario, args.sample_devices)
    print(f"city_lag {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}; site {site}, {len(devices)} of {meters:,} meters sampled")
    for store in stores:
        if store not in ("sqlite", "influxdb"):
            parser.error(f"unknown store {store!r}: sqlite or influxdb")
        run_store(store, args, site, devices, meters)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
