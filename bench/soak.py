"""Soak: `energy-expo up` over 24 simulated hours in about 10 minutes, with a kiosk tab open on it.

Samples the resident memory of every process (up, broker, ingest, dashboard,
simulator) every 15 s, and the kiosk tab's JS heap (after a forced garbage
collection) every 30 s, and prints the growth after a warm-up. Targets: RSS
grows less than 10 %, the JS heap less than 20 %. The quick version runs in
the test suite (tests/faults/test_faults.py).

    .venv/bin/python bench/soak.py --minutes 10 --speed 144
    .venv/bin/python bench/soak.py --scenario tests/dashboard/small.toml --minutes 20 --warmup-minutes 10 --rotate-s 2

The second is the run recorded in docs/reliability.md: a town the machine keeps up with at 144x
(a backlog would grow the broker's memory for a reason that is not a leak), two simulated days so
the dashboard's today-and-yesterday tables are full before measuring, and a kiosk rotating every
2 s (ten times the scene changes of a normal one).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testkit.ports import free_port  # noqa: E402
from testkit.soak import Soak  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--speed", type=float, default=144.0, help="simulated seconds per second (144: a day in 10 min)")
    parser.add_argument("--scenario", default="tianjin-demo")
    parser.add_argument("--warmup-minutes", type=float, default=2.0)
    parser.add_argument("--rotate-s", type=float, default=20.0,
                        help="kiosk rotation in seconds (2: ten times the scene changes of a normal kiosk)")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    if Path(args.scenario).is_file():  # up runs in a working folder of its own
        args.scenario = str(Path(args.scenario).resolve())
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    soak = Soak(workdir, free_port(), args.speed, args.scenario, args.rotate_s).start()
    heap: list[tuple[float, float]] = []
    browser = None
    if not args.no_browser:
        from testkit.browser import Browser

        browser = Browser(1920, 1080)
        browser.open(f"http://127.0.0.1:{soak.port}/?kiosk=1")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {args.scenario} at {args.speed:g}x "
          f"for {args.minutes:g} min ({args.minutes * 60 * args.speed / 3600:.1f} simulated hours)", flush=True)
    started = time.monotonic()
    try:
        next_heap = started
        while time.monotonic() - started < args.minutes * 60:
            figures = soak.sample()
            line = "  ".join(f"{k} {v:5.0f}" for k, v in sorted(figures.items()) if k != "t_s")
            if browser is not None and time.monotonic() >= next_heap:
                heap.append((time.monotonic() - started, browser.heap_mb()))
                next_heap += 30
                line += f"  js-heap {heap[-1][1]:5.1f}"
            print(f"{(time.monotonic() - started) / 60:5.1f} min  RSS MB: {line}", flush=True)
            time.sleep(15)
    finally:
        if browser is not None:
            browser.close()
        code = soak.stop()
    print(f"\nup exited {code}")
    print(f"after a {args.warmup_minutes:g} min warm-up:")
    for name, (first, last, growth) in sorted(soak.growth(args.warmup_minutes * 60).items()):
        verdict = "ok" if growth < 10 else "OVER the 10% target"
        print(f"  {name:10s} RSS {first:6.1f} -> {last:6.1f} MB  {growth:+6.1f}%  {verdict}")
    warm = [h for t, h in heap if t >= args.warmup_minutes * 60]
    if warm:
        growth = 100 * (warm[-1] - warm[0]) / warm[0]
        print(f"  {'js heap':10s}     {warm[0]:6.1f} -> {warm[-1]:6.1f} MB  {growth:+6.1f}%  "
              f"{'ok' if growth < 20 else 'OVER the 20% target'}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
