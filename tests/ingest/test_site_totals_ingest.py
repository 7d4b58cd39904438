"""The site totals end to end: a simulated town through Mosquitto and ingest into each store, and a restart.

What a store holds for device ``site-totals`` must be the sum of the town's counted meters as the
simulator sent them (its jsonl output of the same run is the truth), reachable the way the dashboard
asks for a city: ``latest(site=...)`` and the rollups of one device per site. A forged totals message
is quarantined and counted.
"""

from __future__ import annotations

import json
import time

import pytest

from expo.categories import CATEGORIES, counted_kind, split
from expo.metadata import DeviceMeta
from expo.places import TOTALS_DEVICE
from expo.reading import Reading, format_ts, parse_ts
from expo.store import open_store
from tests.cli import energy_expo
from tests.ingest.harness import Ingest, wait_health, influx_values, stored_values
from tests.mqtt_client import publish_one

SITE = "binhai"
STEPS = 6  # a minute of 10 s steps: readings at +10 s ... +60 s


def run_args(start_s: float, duration: str = "1m") -> list[str]:
    return ["--start", format_ts(start_s).replace("Z", "+00:00"), "--duration", duration, "--step", "10s",
            "--seed", "3"]


def truth(start_s: float) -> tuple[dict[str, DeviceMeta], dict[float, dict[str, float]]]:
    """The simulator's metas, and each instant's power by device, from its jsonl output of the same run."""
    result = energy_expo("simulate", "--output", "jsonl", *run_args(start_s))
    assert result.returncode == 0, result.stderr
    metas, power = {}, {}
    for line in result.stdout.splitlines():
        message = json.loads(line)
        _, site, device, what = (message["topic"].split("/") + [""])[:4]
        if what == "meta":
            metas[device] = DeviceMeta.from_payload(site, device, message["payload"])
        elif what == "reading" and "power_w" in message["payload"]["metrics"]:
            ts_s = parse_ts(message["payload"]["ts"])
            power.setdefault(ts_s, {})[device] = message["payload"]["metrics"]["power_w"]
    return metas, power


def expected_totals(metas: dict[str, DeviceMeta], power: dict[str, float]) -> dict[str, float]:
    parents = {m.parent for m in metas.values() if m.parent}
    sums = {c.metric: 0.0 for c in CATEGORIES.values()}
    for device, meta in metas.items():
        if device in power and counted_kind(meta.kind, device in parents, meta.parent is not None):
            for category, watts in split(meta.kind, power[device]):
                sums[CATEGORIES[category].metric] += watts
    return sums


def stored_totals(backend: str, ingest: Ingest, influxdb) -> dict[float, dict[str, float]]:
    values = (influx_values(influxdb.port, totals=True) if backend == "influxdb"
              else stored_values(ingest.db, totals=True))
    by_ts: dict[float, dict[str, float]] = {}
    for (device, metric, ts_ms), value in values.items():
        if device == TOTALS_DEVICE:
            by_ts.setdefault(ts_ms / 1000.0, {})[metric] = value
    return by_ts


@pytest.mark.parametrize("backend", ["sqlite", "influxdb"])
def test_a_towns_totals_reach_the_store_as_one_device_equal_to_its_meters_and_survive_a_restart(
        backend, mosquitto, tmp_path, request):
    influxdb = request.getfixturevalue("influxdb") if backend == "influxdb" else None
    store_url = influxdb.url() if influxdb else None
    start_s = time.time() // 600 * 600 - 1200  # within the day ingest reads back at start
    metas, power = truth(start_s)
    meters = len(power[min(power)])  # the devices that report power: all but the weather station
    ingest = Ingest(tmp_path, mosquitto.url, store=store_url).start()
    forged = Reading(SITE, TOTALS_DEVICE, start_s + 5, {"households_power_w": 1e9}).to_json().encode()
    publish_one(mosquitto.port, f"expo/{SITE}/{TOTALS_DEVICE}/reading", forged)
    publish_one(mosquitto.port, f"expo/{SITE}/{TOTALS_DEVICE}/meta",
                b'{"v": 1, "kind": "household", "name": {"en": "x", "zh": "x"}}')
    result = energy_expo("simulate", "--broker", mosquitto.url, "--speed", "3000", *run_args(start_s))
    assert result.returncode == 0, result.stderr
    health = wait_health(ingest, lambda h: h.get("totals_written", 0) >= STEPS - 1
                         and h.get("readings_written", 0) >= STEPS * 320)
    assert ingest.stop() == 0
    assert health["rejected_reserved_device"] == 2 and health["totals_written"] == STEPS - 1
    assert health["readings_accepted"] == STEPS * 320  # the totals are not readings taken in

    made = stored_totals(backend, ingest, influxdb)
    instants = sorted(power)
    assert sorted(made) == instants[:-1]  # each made as the next step began; the last waits for one
    for ts_s in instants[:-1]:
        for metric, watts in expected_totals(metas, power[ts_s]).items():
            assert made[ts_s][metric] == pytest.approx(watts, abs=1e-3), (ts_s, metric)  # to the watt, and finer
        assert made[ts_s]["meters_count"] == meters == made[ts_s]["meters_live_count"]
        assert made[ts_s]["readings_count"] == 320  # one step's, the weather station's included; not the forged
    assert made[instants[1]]["households_power_w"] > 0 and made[instants[1]]["grid_import_power_w"] >= 0

    store = open_store(ingest.store)
    try:
        now = {r.device: r for r in store.latest(site=SITE)}
        assert now[TOTALS_DEVICE].ts_s == instants[-2]
        assert now[TOTALS_DEVICE].metrics == pytest.approx(made[instants[-2]])
        [row] = store.rollups("1m", start_s, start_s + 60, "households_power_w", devices=[TOTALS_DEVICE], site=SITE)
        households = [made[t]["households_power_w"] for t in instants[:-1] if t < start_s + 60]
        assert (row.site, row.device, row.count) == (SITE, TOTALS_DEVICE, len(households))
        assert row.mean == pytest.approx(sum(households) / len(households))
        [meta] = [m for m in store.devices(site=SITE) if m.device == TOTALS_DEVICE]
        assert (meta.kind, meta.source, meta.name_zh) == ("site_totals", "derived", "站点合计")  # not the forged
        assert [q.reason for q in store.rejected(limit=10) if TOTALS_DEVICE in q.topic] == ["reserved_device"] * 2
    finally:
        store.close()

    # Restarted, ingest takes every meter's newest power from the store: the totals of the last step, made as
    # the next reading arrives (a weather station's, with no power), count every meter, not only the new.
    again = Ingest(tmp_path, mosquitto.url, store=store_url).start()
    [weather] = [d for d, m in metas.items() if m.kind == "weather_station"]
    late = Reading(SITE, weather, instants[-1] + 10, {"temperature_c": 12.0})
    publish_one(mosquitto.port, f"expo/{SITE}/{weather}/reading", late.to_json().encode())
    wait_health(again, lambda h: h.get("totals_written", 0) >= 1)
    assert again.stop() == 0
    after = stored_totals(backend, again, influxdb)[instants[-1]]
    for metric, watts in expected_totals(metas, power[instants[-1]]).items():
        assert after[metric] == pytest.approx(watts, abs=1e-3), metric
    assert after["meters_count"] == meters and after["readings_count"] == 0
