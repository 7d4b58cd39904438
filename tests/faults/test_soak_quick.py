"""The quick soak: `energy-expo up` at 360x for a minute and a half; no process's memory keeps growing.

The long soak (24 simulated hours in about 10 minutes, with a kiosk tab) is
``bench/soak.py``; its figures are in docs/reliability.md.
"""

from __future__ import annotations

import time

from pathlib import Path

from testkit.ports import free_port
from testkit.soak import Soak

SMALL = str(Path(__file__).resolve().parents[1] / "dashboard" / "small.toml")


def test_memory_of_every_process_levels_off(tmp_path):
    soak = Soak(tmp_path, free_port(), speed=360.0, scenario=SMALL).start()  # 41 meters: ~1,500 readings/s
    try:
        for _ in range(18):  # 90 s: a simulated 9 hours
            soak.sample()
            time.sleep(5)
        growth = soak.growth(after_s=30.0)
    finally:
        assert soak.stop() == 0
    assert set(growth) >= {"up", "broker", "ingest", "dashboard", "simulate"}
    report = {name: f"{a:.0f} -> {b:.0f} MB ({g:+.1f}%)" for name, (a, b, g) in growth.items()}
    assert all(g < 10.0 for _, _, g in growth.values()), report
