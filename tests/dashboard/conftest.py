"""A store with a few hours of a small simulated town in it, on each backend the dashboard reads."""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import pytest

from expo.store import Batch, open_store
from simulators import scenario as scenarios
from simulators.backfill import backfill
from simulators.engine import Simulation

SMALL = Path(__file__).with_name("small.toml")
STEP_S = 60.0


class Filled:
    """A store URL holding ``hours`` of the small town up to about now, and the simulation that made it.

    ``site`` puts the town under another site id (same device ids): a second district in the same store."""

    def __init__(self, url: str, hours: float, seed: int = 2, site: str | None = None):
        self.url = url
        end_s = math.floor(time.time() / STEP_S) * STEP_S - STEP_S
        self.start_s = end_s - hours * 3600
        scenario = scenarios.load(str(SMALL))
        if site is not None:
            scenario = dataclasses.replace(scenario, site=dataclasses.replace(scenario.site, site=site))
        self.sim = Simulation(scenario, seed, self.start_s, STEP_S)
        store = self.open()
        try:
            backfill(self.sim, int(hours * 3600 / STEP_S), store)
        finally:
            store.close()

    def open(self):
        return open_store(self.url)

    def write_now(self, offset_s: float = 0.0, now_s: float | None = None) -> float:
        """One more step of every meter, stamped ``offset_s`` from now (``now_s``, or the wall clock); returns
        its instant."""
        from simulators.backfill import frame_readings

        frame = self.sim.advance(1)
        ts = (time.time() if now_s is None else now_s) + offset_s
        readings = [r.__class__(r.site, r.device, ts, r.metrics, r.seq) for r in next(frame_readings(self.sim, frame))]
        store = self.open()
        try:
            store.write(Batch(readings=readings))
        finally:
            store.close()
        return ts


class FakeClock:
    """A wall clock for the model that moves only when told: tests advance it instead of sleeping."""

    def __init__(self, start_s: float | None = None):
        self.now_s = time.time() if start_s is None else start_s

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> float:
        self.now_s += seconds
        return self.now_s


@pytest.fixture(params=["sqlite", "influxdb"])
def filled(request, tmp_path) -> Filled:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'expo.db'}"
    else:
        url = request.getfixturevalue("influxdb").url("dash")
    return Filled(url, hours=3)


@pytest.fixture
def filled_sqlite(tmp_path) -> Filled:
    return Filled(f"sqlite:///{tmp_path / 'expo.db'}", hours=3)


def raw(url: str, metric: str, since_s: float, sites: bool = False) -> list[tuple]:
    """(device, ts_s, value) of every stored raw reading of ``metric`` since then, read around the store
    interface (SQL or InfluxQL straight to the backend): the oracle the dashboard's rollup path is checked
    against. ``sites``: (site, device, ts_s, value), for a store holding several sites."""
    if url.startswith("sqlite:"):
        import sqlite3

        path = url[len("sqlite:///"):]
        with sqlite3.connect(path) as db:
            rows = db.execute(
                "SELECT s.site, s.device, r.ts_ms, r.value FROM readings r JOIN series s ON s.id = r.series "
                "WHERE s.metric = ? AND r.ts_ms >= ?", (metric, round(since_s * 1000))).fetchall()
        return [(site, d, ts / 1000, v) if sites else (d, ts / 1000, v) for site, d, ts, v in rows]
    import json
    import urllib.parse
    import urllib.request

    host, database = url[len("influxdb://"):].split("/", 1)
    q = f'SELECT "{metric}" FROM "reading" WHERE time >= {round(since_s * 1000)}ms GROUP BY "site", "device"'
    with urllib.request.urlopen(f"http://{host}/query?" + urllib.parse.urlencode(
            {"db": database, "q": q, "epoch": "ms"})) as response:
        body = json.loads(response.read())
    out = []
    for series in body["results"][0].get("series", []):
        for ts, value in series["values"]:
            if value is not None:
                tags = series["tags"]
                row = (tags["device"], ts / 1000, value)
                out.append((tags["site"], *row) if sites else row)
    return out


@pytest.fixture(scope="module")
def town(tmp_path_factory, request):
    """A dashboard on six hours of the town with a writer keeping it live: one per browser test module (the
    modules run on different workers), shared by the module's tests."""
    from testkit.dashboard import Dashboard, LiveWriter

    workdir = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    filled = Filled(f"sqlite:///{workdir / 'expo.db'}", hours=6)
    with LiveWriter(filled):
        dash = Dashboard(filled.url, workdir, "--rotate-s", "3", "--idle-s", "6").start()
        yield filled, dash, workdir
        dash.stop()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium at 1920x1080 per module; a module with its own ``browser`` fixture overrides it."""
    from testkit.browser import Browser

    b = Browser(1920, 1080)
    yield b
    b.close()
