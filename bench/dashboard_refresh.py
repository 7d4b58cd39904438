"""What one kiosk refresh costs the server as history grows, on both stores, and the browser's heap over time.

Prints figures; it is not a test. Run from the repository root:

    .venv/bin/python bench/dashboard_refresh.py --histories 1h --step 60s     # a quick look, a few minutes
    .venv/bin/python bench/dashboard_refresh.py                               # 1 h, 1 d, 7 d on both stores
    .venv/bin/python bench/dashboard_refresh.py --browser-minutes 60          # and an hour of kiosk rotation
    .venv/bin/python bench/dashboard_refresh.py --scenario city --histories 1h,7d --step 60s   # the city

The issue's targets: the refresh callback's server-side time at most 150 ms
at p95 with 2,000 meters, flat as history grows from an hour to a week at
10 s resolution; few bytes per refresh; the browser's JS heap growing less
than 10% after warm-up over two hours of accelerated rotation (12 minutes at a
rotation every 2 s), and the browser's CPU under 30% of one core at 1080p.

The town is ``bench/town-2000.toml`` (2,026 meters) unless ``--scenario`` names
another: any scenario ``up`` takes, by name or path, one site or a city of
districts (``city``: 8 districts, each a site, 19,879 meters; issue 12 asks of
it a refresh p95 of at most 150 ms and at most 30 KB a tick, flat from 1 h to
7 d of history). A city is simulated and filled as ``energy-expo backfill
--scenario city`` fills it: every district with its site and building
descriptions, the meters of each as (site, device). Every batch the bench
writes carries the site totals ingest would add to it (ingest's own
``SiteTotals``, bench/refresh/totals.py), since the dashboard reads a district
from its totals device and reads meters only for the home site. Each store, an SQLite
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
- The InfluxDB store keeps its rollups from what it writes and writes them
  out in a pause of the stream, or once it holds 50,000 buckets; the fill
  writes them out at the end of each segment (``store.maintain(force=True)``),
  which is fill setup, not measured.

With ``--browser-minutes N``, ``energy-expo dashboard --kiosk --rotate-s 2``
runs as a subprocess on the SQLite store while a thread writes a step of every
meter each second; headless Chromium at 1920x1080 opens ``?kiosk=1``, warms
up for two minutes, then samples ``performance.memory.usedJSHeapSize`` after
a forced GC every 30 s, and the CPU seconds of the browser's processes over the
same minutes. Rotating every 2 s instead of every 20 s makes N minutes as many
scene changes as 10 N minutes of a normal kiosk (so its CPU is an upper bound).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refresh.browser import browser_heap  # noqa: E402
from refresh.figures import log, step_name  # noqa: E402
from refresh.fill import SCENARIO, BenchStore  # noqa: E402
from refresh.measure import Measurement, run_store  # noqa: E402
from refresh.summary import summary  # noqa: E402

from expo.errors import UserError  # noqa: E402
from expo.timeutil import parse_duration_s  # noqa: E402
from simulators import load  # noqa: E402
from testkit.servers import InfluxDB  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--histories", default="1h,1d,7d",
                        help="history lengths to measure at, shortest first (default 1h,1d,7d)")
    parser.add_argument("--scenario", default=str(SCENARIO),
                        help="a scenario by name or path, one site or a city of districts, e.g. city "
                             "(default bench/town-2000.toml, 2,026 meters)")
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
    parser.add_argument("--browser-rotate-s", type=float, default=2.0,
                        help="the kiosk's rotation in the browser part (default 2: ten times a kiosk's 20 s, for the "
                             "heap over many rotations; 20 for the browser's CPU as a kiosk runs)")
    parser.add_argument("--keep", action="store_true", help="keep the stores' working folder")
    args = parser.parse_args()

    try:
        args.step_s = parse_duration_s(args.step, "--step")
        histories = [(h.strip(), parse_duration_s(h.strip(), "--histories"))
                     for h in args.histories.split(",") if h.strip()]
        scenario = load.load(args.scenario)  # one site, or a city of districts
    except UserError as exc:
        parser.error(str(exc))
    if not histories:
        parser.error("--histories needs at least one length, e.g. 1h")
    if [s for _, s in histories] != sorted({s for _, s in histories}):
        parser.error("--histories must be distinct and shortest first, e.g. 1h,1d,7d")
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not stores or set(stores) - {"sqlite", "influxdb"}:
        parser.error("--stores takes sqlite, influxdb or both")
    if args.browser_minutes and "sqlite" not in stores:
        parser.error("the browser part runs on the SQLite store: include sqlite in --stores")
    args.meters = load.meter_count(scenario, args.seed)
    args.sites = load.site_ids(scenario)
    args.scenario_name = Path(args.scenario).name if args.scenario.endswith(".toml") else args.scenario
    log(f"dashboard refresh bench: {args.meters:,} meters of {len(args.sites)} site{'s' * (len(args.sites) > 1)} "
        f"({args.scenario_name}), histories {args.histories} at "
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
            heap = browser_heap(sqlite_bench, args.browser_minutes, args.browser_warmup_minutes, workdir,
                                args.browser_rotate_s)
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
