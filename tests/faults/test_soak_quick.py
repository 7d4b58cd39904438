"""The quick soak: `energy-expo up` at 720x for 45 s; no process's memory keeps growing.

Memory follows simulated time (the day's tables, the store) and the number of
readings, not wall time: 45 s at 720x is the same simulated 9 hours and the
same ~135,000 readings as 90 s at 360x, at about half a core of this machine's
two (measured: ingest 0.27, simulator 0.2, broker and dashboard 0.04), so it
keeps up and no backlog grows a queue.

The long soak (24 simulated hours in about 10 minutes, with a kiosk tab) is
``bench/soak.py``; its figures are in docs/reliability.md.
"""

from __future__ import annotations

import time
from pathlib import Path

from testkit.ports import free_port
from testkit.soak import Soak

SMALL = str(Path(__file__).resolve().parents[1] / "dashboard" / "small.toml")
SPEED = 720.0  # 41 meters every 10 simulated seconds: ~3,000 readings/s
SAMPLES, EVERY_S = 18, 2.5  # 45 s: a simulated 9 hours
WARMUP_S = 15.0  # a simulated 3 hours: the day's tables and the store's caches have their shape


def test_memory_of_every_process_levels_off(tmp_path):
    soak = Soak(tmp_path, free_port(), speed=SPEED, scenario=SMALL).start()
    try:
        for _ in range(SAMPLES):
            soak.sample()
            time.sleep(EVERY_S)
        growth = soak.growth(after_s=WARMUP_S)
    finally:
        assert soak.stop() == 0
    assert set(growth) >= {"up", "broker", "ingest", "dashboard", "simulate"}
    report = {name: f"{a:.0f} -> {b:.0f} MB ({g:+.1f}%)" for name, (a, b, g) in growth.items()}
    assert all(g < 10.0 for _, _, g in growth.values()), report
