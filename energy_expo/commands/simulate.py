"""Simulate the zero-energy building and the smart energy town, or a city of districts (``--scenario city``).

Publishes every meter's readings to an MQTT broker on the clock (``--speed``
to accelerate), or with ``--output jsonl`` writes them to stdout as fast as
possible, one JSON object per line, for a ``--start``, ``--duration`` and
``--step``.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
import threading
import time

from expo import config as settings
from expo.errors import UserError
from expo.reading import format_ts
from expo.timeutil import parse_duration_s, parse_instant_s

ACCELERATED_HISTORY_S = 7 * 86400
NAME = "simulate"
HELP = "publish simulated meter readings to MQTT, or write them as JSON lines"
log = logging.getLogger("expo.simulate")


def _bundled_scenarios() -> list[str]:
    """The bundled scenario names, read from the package's folder: no need to import the physics for --help."""
    from importlib.resources import files

    return sorted(p.name[:-5] for p in files("simulators").joinpath("scenarios").iterdir() if p.name.endswith(".toml"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    s = settings.SETTINGS
    parser.add_argument("--config", help="TOML settings file (default: $EXPO_CONFIG or ./energy-expo.toml)")
    parser.add_argument(
        "--scenario", help=f"{s['scenario'].help} (bundled: {', '.join(_bundled_scenarios())})"
    )
    parser.add_argument("--seed", help=s["seed"].help)
    parser.add_argument("--output", choices=["mqtt", "jsonl"], default="mqtt", help="where readings go (default mqtt)")
    parser.add_argument("--start", help="first instant: now, today, 2026-07-01 or 2026-07-01T06:00 "
                        "(site local time unless an offset is given); default: today for jsonl; for mqtt, now, or "
                        "7 days ago when --speed is above 1 (the simulated clock never runs ahead of the real one)")
    parser.add_argument("--duration", help="how much simulated time, e.g. 1d or 6h; default: forever for mqtt, 1h for jsonl")
    parser.add_argument("--step", default="10s", help="simulated time between readings of a meter (default 10s)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall-clock second (mqtt only)")
    parser.add_argument("--continue-from", metavar="STORE",
                        help="carry on where this store's newest readings of the site leave off: the clock, every "
                        "meter's counters and the battery's charge (what energy-expo up does on a restart)")
    parser.add_argument("--faults", help="inject meter faults, e.g. offline=0.01,spike=0.001,stuck=0.005,skew=0.02,malformed=0.001")
    parser.add_argument("--report-every", default="30s", help="mqtt: how often to log a summary of the site (default 30s)")
    parser.add_argument("--no-meta", action="store_true", help="jsonl: leave out the device metadata lines")
    mqtt = parser.add_argument_group("MQTT")
    mqtt.add_argument("--broker", help=s["broker"].help)
    mqtt.add_argument("--mqtt-username", help=s["mqtt_username"].help)
    mqtt.add_argument("--mqtt-password", help=s["mqtt_password"].help)
    mqtt.add_argument("--mqtt-ca-file", help=s["mqtt_ca_file"].help)
    mqtt.add_argument("--mqtt-client-id", help=s["mqtt_client_id"].help)
    mqtt.add_argument("--qos", type=int, default=1, choices=[0, 1, 2], help="MQTT QoS of readings (default 1)")
    mqtt.add_argument("--publish-queue", help=s["publish_queue"].help)
    mqtt.add_argument("--drain", default="10s", help="at exit, how long to wait for the broker to take what is queued")


def run(args: argparse.Namespace) -> int:
    from simulators import load as scenarios
    from simulators.faults import FaultRates

    cfg = settings.from_args(args)
    scenario = scenarios.load(cfg.scenario)  # one site, or a city of districts
    step_s = parse_duration_s(args.step, "--step")
    offset_h = scenario.climate.utc_offset_h
    if args.output == "jsonl":
        start_s = parse_instant_s(args.start or "today", offset_h)
        duration_s = parse_duration_s(args.duration or "1h", "--duration")
    else:
        if not args.speed > 0 or not math.isfinite(args.speed):
            raise UserError(f"--speed must be a positive number, got {args.speed}")
        # Accelerated with no --start: begin in the past, so there is history to speed through before the
        # simulated clock reaches the present (it never runs ahead of it).
        if args.start:
            start_s = parse_instant_s(args.start, offset_h)
        else:
            start_s = time.time() - (ACCELERATED_HISTORY_S if args.speed > 1 else 0.0)
        start_s = math.floor(start_s / step_s) * step_s  # readings on round instants
        duration_s = parse_duration_s(args.duration, "--duration") if args.duration else None
    faults = FaultRates.parse(args.faults)
    carried = None
    if args.continue_from:
        newest_s, carried = _previous_run(args.continue_from, cfg, scenarios.site_ids(scenario))
        if newest_s is not None and not args.start:
            start_s = math.floor(min(newest_s, time.time()) / step_s) * step_s  # first reading: one step later
    steps = None if duration_s is None else max(1, int(duration_s // step_s))
    sim = scenarios.simulation(scenario, cfg.seed, start_s, step_s)
    if carried:
        log.info("continuing %d meters from %s: counters and battery carried over, clock from %s",
                 sim.resume_sites(carried), args.continue_from, format_ts(start_s))

    if args.output == "jsonl":
        return _jsonl(sim, steps, faults, not args.no_meta)
    return _mqtt(args, cfg, sim, steps, faults)


def _previous_run(store_url: str, cfg, sites: list[str]) -> tuple[float | None, dict]:
    """The newest instant of ``sites`` in a store (none if it is empty), and each device's newest metrics by site."""
    from expo.store import StoreUnavailable, open_store

    try:
        store = open_store(store_url, **settings.store_options(cfg))
        try:
            latest = {site: store.latest(site) for site in sites}
        finally:
            store.close()
    except StoreUnavailable as exc:
        raise UserError(f"--continue-from {store_url}: the store is not reachable: {exc}") from None
    newest = max((r.ts_s for readings in latest.values() for r in readings), default=None)
    return newest, {site: {r.device: r.metrics for r in readings} for site, readings in latest.items()}


def _jsonl(sim, steps: int, faults, with_meta: bool) -> int:
    from simulators.runner import run_jsonl

    try:
        stats = run_jsonl(sim, steps, sys.stdout, faults, with_meta)
    except BrokenPipeError:  # e.g. piped into `head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    log.debug("wrote %d readings over %d steps; faults %s", stats.readings, stats.steps, stats.faults)
    return 0


def _mqtt(args, cfg, sim, steps: int | None, faults) -> int:
    from simulators.publish import Publisher
    from simulators.runner import run_realtime
    from simulators.whatif_driver import WhatIfDriver, sims_by_site

    broker = settings.broker_address(cfg)
    publisher = Publisher(
        broker,
        sim.site_ids[0],  # one process, one last will: a city's status is its first district's (publish.py)
        client_id=cfg.mqtt_client_id,
        ca_file=cfg.mqtt_ca_file,
        queue_limit=cfg.publish_queue,
        qos=args.qos,
    )
    whatifs = WhatIfDriver(sims_by_site(sim), args.speed)  # visitors' what-ifs on expo/<site>/control
    publisher.listen(whatifs.filters, whatifs.command)
    drain_s = parse_duration_s(args.drain, "--drain")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    log.info(
        "simulating %s (%d meters) every %gs at %gx from %s to %s",
        sim.name, sim.count, sim.step_s, args.speed, format_ts(sim.start_s), broker,
    )
    try:
        publisher.start(wait_s=5.0)
        report_s = parse_duration_s(args.report_every, "--report-every")
        stats = run_realtime(sim, publisher, args.speed, steps, faults, stop, report_s, whatifs=whatifs)
    finally:
        unsent = publisher.stop(drain_s)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    p = publisher.stats
    log.info(
        "done: steps=%d readings=%d acknowledged=%d dropped=%d unsent=%d late_steps=%d max_lag_s=%.3f faults=%s "
        "(published %d; connected %d times, lost the broker %d times)",
        stats.steps, stats.readings, p.acknowledged, p.dropped, unsent, stats.late_steps, stats.max_lag_s, stats.faults,
        p.queued, p.connects, p.disconnects,
    )
    if whatifs.control.accepted or whatifs.control.refused:
        log.info("what-if commands: %d taken, refused %s", whatifs.control.accepted,
                 dict(whatifs.control.refused) or "none")
    if p.dropped or unsent:
        log.error(
            "%d messages were not delivered to %s (%d dropped from the full queue, %d unsent at exit)",
            p.dropped + unsent, broker, p.dropped, unsent,
        )
        return 1
    return 0
