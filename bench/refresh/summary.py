"""The report: every point's figures side by side, after the run."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from datetime import UTC, datetime

import numpy as np

from refresh.figures import breakdown, log, ms, pct, span_name, step_name
from refresh.measure import Measurement


def summary(measurements: list[Measurement], heap: dict | None, args, influx_version: str) -> None:
    log("\n== summary (times in ms, server side, in-process; sizes in KB, uncompressed JSON)")
    log(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {sys.version.split()[0]}, SQLite "
        f"{sqlite3.sqlite_version}, InfluxDB {influx_version or '-'}; "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; other work may share the machine")
    log(f"scenario: {args.scenario_name}, {args.meters:,} meters in {len(args.sites)} site"
        f"{'s' * (len(args.sites) > 1)}; requested step {step_name(args.step_s)}; "
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
    log(f"  {'store':8s} {'hist':4s} {'scene':7s} {'full ms':>8s} {'full KB':>8s} {'patch p50':>9s} "
        f"{'p95':>7s} {'max':>7s} {'mean KB':>8s} {'max KB':>7s}   n")
    for m in measurements:
        for scene, (full_s, full_b) in m.full.items():
            t = [s for s, _ in m.patches[scene]]
            b = [b for _, b in m.patches[scene]]
            log(f"  {m.store:8s} {m.history:4s} {scene:7s} {full_s * 1000:8.1f} {full_b / 1024:8.1f} "
                f"{pct(t, 50) * 1000:9.1f} {pct(t, 95) * 1000:7.1f} {max(t) * 1000:7.1f} {np.mean(b) / 1024:8.1f} "
                f"{max(b) / 1024:7.1f} {len(t):3d}")
    log("\nrefresh callback, all scenes together (the targets: p95 <= 150 ms, at most 30 KB a tick on the city, "
        "flat as history grows):")
    log(f"  {'store':8s} {'hist':4s} {'p50':>7s} {'p95':>7s} {'max':>7s}   n  mean KB/refresh  "
        "max KB: patch  full draw")
    for m in measurements:
        calls = [s for s, _ in m.full.values()] + [s for v in m.patches.values() for s, _ in v]
        sizes = [b for _, b in m.full.values()] + [b for v in m.patches.values() for _, b in v]
        patches = [b for v in m.patches.values() for _, b in v]
        fulls = [b for _, b in m.full.values()]
        log(f"  {m.store:8s} {m.history:4s} {ms(pct(calls, 50))} {ms(pct(calls, 95))} {ms(max(calls))} "
            f"{len(calls):4d}  {np.mean(sizes) / 1024:8.1f}       {max(patches, default=0) / 1024:12.1f} "
            f"{max(fulls, default=0) / 1024:10.1f}")
    if heap:
        log(f"\nbrowser JS heap over {heap['minutes']:g} min of {heap['rotate_s']:g} s rotation after warm-up: "
            f"{heap['warm']:.1f} -> {heap['final']:.1f} MB ({heap['growth']:+.1%}, target < 10%), max {heap['max']:.1f} MB, trend "
            f"{heap['slope_mb_h']:+.2f} MB/h; dashboard RSS {heap['rss0']:.0f} -> {heap['rss1']:.0f} MB; "
            f"browser CPU {heap['browser_cpu']:.1%} of one core (target < 30%)")
