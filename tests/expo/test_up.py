"""`energy-expo up` as a newcomer runs it: live within 30 s, clean stops, no orphans, nothing lost."""

from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from expo.places import TOTALS_DEVICE
from testkit.ports import free_port
from testkit.procfs import alive, children_of

SMALL = str(Path(__file__).resolve().parents[1] / "dashboard" / "small.toml")


def start_up(workdir: Path, port: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "energy_expo.cli", "up", "--port", str(port), "--scenario", SMALL, *extra],
        cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def status(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status.json", timeout=2) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def wait_live(port: int, timeout_s: float = 30.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        data = status(port)
        if data and data["newest_reading_s"] and any(d["last_seen_s"] for d in data["devices"]):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                assert page.status == 200
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"no live data on the dashboard within {timeout_s} s")


def wait_flowing(port: int, timeout_s: float = 30.0) -> None:
    """Until the dashboard shows a newer reading than it does now: the stream is running, not just started."""
    first = status(port)["newest_reading_s"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        data = status(port)
        if data and data["newest_reading_s"] and data["newest_reading_s"] > first:
            return
        time.sleep(0.1)
    raise AssertionError(f"no newer reading on the dashboard within {timeout_s} s")


def stored_messages(workdir: Path, totals: bool = False) -> int:
    """The meters' readings stored; with ``totals``, the site totals ingest made instead."""
    with sqlite3.connect(workdir / "energy-expo-data" / "expo.db") as db:
        return db.execute("SELECT count(*) FROM (SELECT DISTINCT s.device, r.ts_ms FROM readings r "
                          f"JOIN series s ON s.id = r.series WHERE s.device {'=' if totals else '!='} ?)",
                          (TOTALS_DEVICE,)).fetchone()[0]


def simulated_messages(workdir: Path) -> int:
    log = (workdir / "energy-expo-data" / "logs" / "simulate.log").read_text()
    done = re.findall(r"done: steps=\d+ readings=(\d+) acknowledged=\d+ dropped=(\d+) unsent=(\d+)", log)
    assert done, log[-2000:]
    return sum(int(r) for r, dropped, unsent in done if dropped == unsent == "0")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_up_is_live_within_30_s_and_stops_cleanly_with_nothing_lost(tmp_path, sig):
    port = free_port()
    up = start_up(tmp_path, port)
    try:
        took = wait_live(port)
        assert took < 30
        kids = children_of(up.pid)
        assert len(kids) == 4  # broker, ingest, dashboard, simulator
        wait_flowing(port)  # stopped mid-stream, with readings on their way
    finally:
        up.send_signal(sig)
        out, err = up.communicate(timeout=120)
    assert up.returncode == 0, err[-3000:]
    assert "energy-expo is up: open http://127.0.0.1:" in out
    assert "Traceback" not in err
    assert not [pid for pid in kids if alive(pid)], "orphaned child processes"
    assert stored_messages(tmp_path) == simulated_messages(tmp_path) > 0
    assert stored_messages(tmp_path, totals=True) > 0  # and the town's totals, one device beside its meters


def newest_stored_ms(workdir: Path) -> int | None:
    try:
        with sqlite3.connect(workdir / "energy-expo-data" / "expo.db") as db:
            return db.execute("SELECT max(ts_ms) FROM readings").fetchone()[0]
    except sqlite3.Error:  # not made yet, or its tables not yet
        return None


def run_up_until_stored_after(workdir: Path, port: int, after_ms: int | None, timeout_s: float = 60.0) -> str:
    """One ``up``, stopped by SIGINT once the store holds a reading newer than ``after_ms``: a run judged by what
    it stored, not by a duration a loaded machine may spend starting up. Returns what it logged."""
    up = start_up(workdir, port)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and up.poll() is None:
            newest = newest_stored_ms(workdir)
            if newest is not None and (after_ms is None or newest > after_ms):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"nothing newer than {after_ms} stored within {timeout_s} s")
    finally:
        up.send_signal(signal.SIGINT)
        _, err = up.communicate(timeout=120)
    assert up.returncode == 0, err[-2000:]
    return err


def test_a_second_up_resumes_the_town_where_the_store_left_off(tmp_path):
    port = free_port()
    first_err = run_up_until_stored_after(tmp_path, port, None)
    assert "resuming the simulated town" not in first_err  # an empty store: a new town
    newest_before = newest_stored_ms(tmp_path)
    err = run_up_until_stored_after(tmp_path, port, newest_before)
    assert "resuming the simulated town" in err
    with sqlite3.connect(tmp_path / "energy-expo-data" / "expo.db") as db:
        first_of_second = db.execute("SELECT min(ts_ms) FROM readings WHERE ts_ms > ?", (newest_before,)).fetchone()[0]
    assert first_of_second - newest_before == 10_000  # the next 10 s step: no gap, no overlap
    assert stored_messages(tmp_path) == simulated_messages(tmp_path)


def test_up_on_a_busy_port_says_so_and_starts_nothing(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        up = start_up(tmp_path, port)
        out, err = up.communicate(timeout=60)
    assert up.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in err and "Traceback" not in err
    assert not (tmp_path / "energy-expo-data" / "logs").exists()


def test_killing_up_outright_leaves_no_orphans(tmp_path):
    port = free_port()
    up = start_up(tmp_path, port)
    try:
        wait_live(port)
        kids = children_of(up.pid)
        assert kids
    finally:
        up.kill()
        up.communicate(timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and [pid for pid in kids if alive(pid)]:
        time.sleep(0.2)
    assert not [pid for pid in kids if alive(pid)]


def test_up_runs_on_the_built_in_python_broker(tmp_path):
    """No Mosquitto on the machine: the amqtt broker, MQTT 3.1.1, and still nothing lost."""
    port = free_port()
    up = start_up(tmp_path, port, "--embedded-broker", "amqtt", "--demo-speed", "10")
    try:
        wait_live(port, 45)
        wait_flowing(port)
    finally:
        up.send_signal(signal.SIGINT)
        _, err = up.communicate(timeout=120)
    assert up.returncode == 0, err[-3000:]
    assert "started the amqtt broker" in err
    assert stored_messages(tmp_path) == simulated_messages(tmp_path) > 0


def test_up_passes_its_config_file_to_every_process_it_starts(tmp_path):
    """``--config FILE`` from another folder: ingest's limits and the dashboard's settings come from FILE."""
    elsewhere = tmp_path / "settings"
    elsewhere.mkdir()
    config = elsewhere / "hall.toml"
    config.write_text('max_payload_bytes = 100\ndashboard_password = "hall-secret"\n')
    workdir = tmp_path / "run"
    workdir.mkdir()
    port = free_port()
    up = start_up(workdir, port, "--config", str(config), "--duration", "3s")
    _, err = up.communicate(timeout=120)
    assert up.returncode == 0, err[-3000:]
    with sqlite3.connect(workdir / "energy-expo-data" / "expo.db") as db:
        too_large = db.execute("SELECT count(*) FROM rejected WHERE reason = 'too_large'").fetchone()[0]
    assert too_large > 0  # ingest held the file's limit of 100 bytes a message (the default is 64 KiB)
    ingest_log = (workdir / "energy-expo-data" / "logs" / "ingest.log").read_text()
    dashboard_log = (workdir / "energy-expo-data" / "logs" / "dashboard.log").read_text()
    assert "too_large" in ingest_log
    assert "password protected" in dashboard_log, dashboard_log[-2000:]


def test_port_0_means_any_free_port_and_the_address_printed_is_the_one_served(tmp_path):
    """``--port 0`` (a script that must not collide with anything): up chooses the port, and prints the one the
    kiosk really serves, not 0."""
    import re

    up = start_up(tmp_path, 0, "--duration", "20s")
    try:
        line = up.stdout.readline()
        found = re.search(r"open http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        port = int(found.group(1))
        assert port != 0
        wait_live(port)
        assert status(port) is not None
    finally:
        up.send_signal(signal.SIGINT)
        _, err = up.communicate(timeout=120)
    assert up.returncode == 0, err[-3000:]


def test_a_town_too_big_for_the_budget_runs_slower_with_a_longer_step_and_says_so(tmp_path):
    """The default demo speed within ``max_readings_per_s``: the simulator gets the step and speed chosen, and
    the user is told, in the lines printed with the address."""
    from energy_expo import demo_pace
    from simulators import scenario as scenarios
    from simulators.site import build_site

    meters = build_site(scenarios.load(SMALL), 1).count
    budget = meters * 60 / 60 / 2  # at 60x even a minute's step is twice too much
    want = demo_pace.choose(meters, 60.0, False, budget)
    assert want.step_s == 60 and want.speed < 60
    up = start_up(tmp_path, free_port(), "--max-readings-per-s", f"{budget:g}", "--duration", "3s")
    out, err = up.communicate(timeout=120)
    assert up.returncode == 0, err[-3000:]
    assert f"running at {want.speed:g}x, not 60x" in out, out
    simulate_log = (tmp_path / "energy-expo-data" / "logs" / "simulate.log").read_text()
    assert f"every 60s at {want.speed:g}x" in simulate_log, simulate_log[-2000:]
