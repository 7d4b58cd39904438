"""Fill the store with simulated history, as fast as the store takes it.

A new exhibit has nothing to show for "yesterday" or "this month" until it has
run that long. ``energy-expo backfill --days 30`` writes the scenario's
readings for the last 30 days (ending now, on round instants) straight into
the store, with a progress bar on stderr. Run it before ``ingest`` and the
simulators take over from the present; running it twice overwrites the same
points (writes are idempotent), it never duplicates them.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time

from expo import config as settings
from expo.errors import UserError
from expo.reading import format_ts
from expo.store import StoreUnavailable, open_store
from expo.timeutil import parse_duration_s

NAME = "backfill"
HELP = "fill the store with simulated history (e.g. the last 30 days) so the dashboard has a past"
log = logging.getLogger("expo.backfill")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_flags(parser, ("scenario", "seed", "store", *settings.STORE_CREDENTIALS))
    parser.add_argument("--days", type=float, default=7.0, help="how many days of history, ending now (default 7)")
    parser.add_argument("--step", default="60s",
                        help="simulated time between readings (default 60s; 10s is what live runs use, 6x slower)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (it is off anyway without a terminal)")


class ProgressBar:
    """One line on stderr, redrawn at most 5 times a second; silent when stderr is not a terminal."""

    def __init__(self, total_steps: int, enabled: bool):
        self.total = max(1, total_steps)
        self.enabled = enabled
        self.started = time.monotonic()
        self._drawn = 0.0

    def __call__(self, stats) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._drawn < 0.2 and stats.steps < self.total):
            return
        self._drawn = now
        done = stats.steps / self.total
        rate = stats.readings / max(now - self.started, 1e-9)
        left_s = (self.total - stats.steps) * (now - self.started) / max(stats.steps, 1)
        bar = "#" * int(done * 30)
        sys.stderr.write(f"\r[{bar:<30}] {done:6.1%}  {stats.readings:,} readings  {rate:,.0f}/s  "
                         f"{left_s:4.0f} s left ")
        if stats.steps >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from ingest.totals_store import TotalsStore
    from simulators import load as scenarios
    from simulators.backfill import backfill, steps_between

    cfg = settings.from_args(args)
    if not (args.days > 0 and math.isfinite(args.days)):
        raise UserError(f"--days must be a positive number, got {args.days}")
    step_s = parse_duration_s(args.step, "--step")
    scenario = scenarios.load(cfg.scenario)
    end_s = math.floor(time.time() / step_s) * step_s
    start_s = end_s - args.days * 86400
    sim = scenarios.simulation(scenario, cfg.seed, start_s, step_s)  # one site, or a city of districts
    # A city's last district reports late in the step (its phase): its last reading must not be in the future.
    steps = steps_between(start_s, end_s - float(sim.offsets_s.max(initial=0.0)), step_s)
    # With the site totals ingest would have made of the same readings: a reader of a city takes those.
    store = TotalsStore(open_store(cfg.store, **settings.store_options(cfg)))
    log.info("backfilling %s (%d meters) from %s to %s every %gs into %s",
             sim.name, sim.count, format_ts(start_s + step_s), format_ts(end_s), step_s, cfg.store)
    bar = ProgressBar(steps, sys.stderr.isatty() and not args.no_progress)
    started = time.monotonic()
    try:
        stats = backfill(sim, steps, store, bar)
    except StoreUnavailable as exc:
        raise UserError(f"the store {cfg.store} is not reachable: {exc}") from None
    finally:
        store.close()
    elapsed = time.monotonic() - started
    log.info("wrote %d readings over %d steps in %.1f s (%.0f readings/s)",
             stats.readings, stats.steps, elapsed, stats.readings / max(elapsed, 1e-9))
    return 0
