"""The browser: headless Chromium on a kiosk over the SQLite store, its JS heap sampled over rotations, and the
CPU its processes (the driver, the browser, its renderer and GPU processes) used meanwhile."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from energy_expo.children import stop_process
from refresh.figures import log
from refresh.fill import BenchStore
from testkit.ports import free_port, wait_for_port
from testkit.procfs import children_of, cpu_s, rss_mb

ROOT = Path(__file__).resolve().parents[2]


def tree_cpu_s(root_pid: int) -> float:
    """CPU seconds used so far by ``root_pid`` and every process below it (a browser is many processes)."""
    total, todo, seen = 0.0, [root_pid], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += cpu_s(pid) or 0.0
        todo.extend(children_of(pid))
    return total


def browser_heap(bench: BenchStore, minutes: float, warmup_minutes: float, workdir: Path,
                 rotate_s: float = 2.0) -> dict | None:
    from testkit.browser import Browser, available

    reason = available()
    if reason:
        log(f"\n== browser: skipped, {reason}")
        return None
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = workdir / "dashboard.log"
    log(f"\n== browser: energy-expo dashboard --kiosk --rotate-s {rotate_s:g} on {url} over the SQLite store, "
        f"a step of every meter written each second; headless Chromium 1920x1080 at {url}?kiosk=1")
    bench.catch_up()
    bench.start_live()
    with open(log_path, "ab") as server_log:
        process = subprocess.Popen(
            [sys.executable, "-m", "energy_expo.cli", "dashboard", "--store", bench.url, "--port", str(port), "--kiosk",
             "--rotate-s", str(rotate_s)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=server_log)
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
        root = browser.driver.service.process.pid  # chromedriver: the browser's processes are below it
        cpu0, wall0 = tree_cpu_s(root), time.monotonic()
        log("    minute   heap MB   scene   server RSS MB")
        while True:
            heap = browser.heap_mb()
            scene = browser.js("var s = document.querySelector('.scene.active'); return s ? JSON.parse(s.id).id : ''")
            t_min = (time.monotonic() - started) / 60
            rss = rss_mb(process.pid)
            samples.append((t_min, heap, scene, float("nan") if rss is None else rss))
            log(f"    {t_min:6.1f}   {heap:7.1f}   {scene:5s}   {samples[-1][3]:7.0f}")
            if time.monotonic() >= end:
                break
            time.sleep(min(30.0, max(0.0, end - time.monotonic())))
        browser_cpu = (tree_cpu_s(root) - cpu0) / max(1e-9, time.monotonic() - wall0)
        errors = browser.console_errors()
        text = log_path.read_text() if log_path.exists() else ""
        server_errors = [line for line in text.splitlines() if "Traceback" in line or "Exception on" in line]
    finally:
        if browser is not None:
            browser.close()
        stop.set()
        thread.join(10)
        stop_process(process, signal.SIGTERM, timeout_s=15, name="dashboard")
    warm, final = samples[0][1], samples[-1][1]
    times = [s[0] for s in samples]
    slope = float(np.polyfit(times, [s[1] for s in samples], 1)[0]) * 60 if len(samples) > 2 else float("nan")
    result = {"minutes": minutes, "warm": warm, "final": final, "max": max(s[1] for s in samples),
              "growth": (final - warm) / warm, "slope_mb_h": slope, "rss0": samples[0][3], "rss1": samples[-1][3],
              "console_errors": len(errors), "server_errors": len(server_errors), "writes": writes[0],
              "browser_cpu": browser_cpu, "rotate_s": rotate_s}
    log(f"    heap after warm-up {warm:.1f} MB, final {final:.1f} MB, max {result['max']:.1f} MB: growth "
        f"{result['growth']:+.1%} (target < 10%); trend {slope:+.2f} MB/h; server RSS {result['rss0']:.0f} -> "
        f"{result['rss1']:.0f} MB; {len(errors)} console errors, {len(server_errors)} server tracebacks; "
        f"{writes[0]} live writes")
    log(f"    browser CPU {browser_cpu:.1%} of one core over the sampled minutes, with a rotation every {rotate_s:g} s "
        f"(target < 30% at 1080p and a kiosk's 20 s)")
    for e in errors[:5]:
        log(f"      console: {e[:200]}")
    return result
