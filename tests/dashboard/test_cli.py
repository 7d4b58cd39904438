"""`energy-expo dashboard` and `energy-expo backfill` as a user runs them: clear errors, real results."""

from __future__ import annotations

import socket
import sqlite3

from tests.cli import energy_expo


def test_dashboard_on_a_busy_port_says_so_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = energy_expo("dashboard", "--store", f"sqlite:///{tmp_path / 'x.db'}", "--port", str(port), timeout=60)
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_dashboard_refuses_an_unknown_time_zone(tmp_path):
    result = energy_expo("dashboard", "--store", f"sqlite:///{tmp_path / 'x.db'}", "--timezone", "Mars/Olympus",
                         timeout=60)
    assert result.returncode == 2 and "Mars/Olympus" in result.stderr and "Traceback" not in result.stderr


def test_dashboard_refuses_a_bad_boolean_from_the_environment(tmp_path):
    import os

    result = energy_expo("dashboard", "--store", f"sqlite:///{tmp_path / 'x.db'}", timeout=60,
                         env={**os.environ, "EXPO_KIOSK": "perhaps"})
    assert result.returncode == 2 and "kiosk from environment EXPO_KIOSK must be true or false" in result.stderr


def test_backfill_writes_every_meter_every_step_and_twice_changes_nothing(tmp_path):
    db = tmp_path / "expo.db"
    args = ("backfill", "--days", "0.05", "--step", "5m", "--scenario", "tests/dashboard/small.toml",
            "--store", f"sqlite:///{db}")
    first = energy_expo(*args)
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(db) as con:
        devices = con.execute("SELECT count(*) FROM devices WHERE device != 'site-totals'").fetchone()[0]
        instants = con.execute("SELECT count(DISTINCT ts_ms) FROM readings").fetchone()[0]
        rows = con.execute("SELECT count(*) FROM readings").fetchone()[0]
        per_instant = con.execute("SELECT count(DISTINCT s.device) FROM readings r JOIN series s ON s.id = r.series "
                                  "WHERE s.device != 'site-totals' GROUP BY r.ts_ms").fetchall()
        totals = con.execute("SELECT count(DISTINCT r.ts_ms) FROM readings r JOIN series s ON s.id = r.series "
                             "WHERE s.device = 'site-totals'").fetchone()[0]
    assert devices == 41
    assert instants == int(0.05 * 86400 // 300)
    assert {n for (n,) in per_instant} == {devices}
    assert totals == instants - 1  # the site's totals at every instant but the newest, as ingest would make them
    again = energy_expo(*args)
    assert again.returncode == 0
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM readings").fetchone()[0] >= rows  # idempotent per instant
        assert con.execute("SELECT count(*) FROM readings r GROUP BY r.series, r.ts_ms HAVING count(*) > 1"
                           ).fetchall() == []
    assert "wrote" in first.stderr and "readings" in first.stderr


def test_backfill_into_an_unreachable_influxdb_fails_clearly(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = energy_expo("backfill", "--days", "0.01", "--store", f"influxdb://127.0.0.1:{port}/expo", timeout=120)
    assert result.returncode == 2 and "not reachable" in result.stderr and "Traceback" not in result.stderr
