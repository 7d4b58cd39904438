"""Site and building descriptions end to end: retained on a real Mosquitto before ingest starts, stored by
ingest in either store; a wrong one quarantined with the contract's reason and counted on /health."""

from __future__ import annotations

import json
import time

import pytest

from expo.places import TOTALS_DEVICE, BuildingMeta, SiteMeta
from expo.reading import ContractError
from expo.store import open_store
from tests.ingest.harness import Ingest
from tests.mqtt_client import publish_one

ECO = SiteMeta("eco", "eco_city", "Sino-Singapore Eco-City", "中新生态城", 12.0, 20.5,
               ((9.0, 18.0), (15.0, 18.0), (15.0, 23.0), (9.0, 23.0)), "Asia/Shanghai", "Binhai New Area", "滨海新区")
ZEB = BuildingMeta("eco", "zeb", "office", "Zero-Energy Smart Building", "零能耗智慧建筑", "zero_energy", 0.0, 0.0)
BAD_SITE = json.dumps({"v": 1, "kind": "moon_base", "name": {"en": "Port", "zh": "港口"}}).encode()
BAD_BUILDING = b'{"v": 1, "kind": "office", "name": '


def reason_of(parse, *args) -> tuple[str, str]:
    """What the contract itself says of a payload: the reason and detail ingest must keep."""
    with pytest.raises(ContractError) as caught:
        parse(*args)
    return caught.value.reason, caught.value.detail


@pytest.mark.parametrize("backend", ["sqlite", "influxdb"])
def test_retained_descriptions_published_before_ingest_starts_are_stored_and_bad_ones_quarantined(
        backend, mosquitto, tmp_path, request):
    store_url = request.getfixturevalue("influxdb").url() if backend == "influxdb" else None
    for topic, payload in (("expo/eco/site", ECO.to_json().encode()),
                           ("expo/eco/zeb/building", ZEB.to_json().encode()),
                           ("expo/port/site", BAD_SITE), ("expo/port/depot/building", BAD_BUILDING)):
        publish_one(mosquitto.port, topic, payload, retain=True)
    ingest = Ingest(tmp_path, mosquitto.url, store=store_url).start()
    store = open_store(ingest.store)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            health = ingest.health() or {}
            if health.get("rejected", 0) >= 2 and health.get("batches_written", 0) and store.sites():
                break
            time.sleep(0.2)
        health = ingest.health()
        assert ingest.stop() == 0
        assert store.sites() == [ECO] and store.buildings() == [ZEB] and store.buildings("port") == []
        site_reason = reason_of(SiteMeta.from_payload, "port", BAD_SITE)
        building_reason = reason_of(BuildingMeta.from_payload, "port", "depot", BAD_BUILDING)
        kept = {q.topic: (q.reason, q.detail, q.payload) for q in store.rejected()}
        assert kept == {"expo/port/site": (*site_reason, BAD_SITE),
                        "expo/port/depot/building": (*building_reason, BAD_BUILDING)}
        assert site_reason[0] == "invalid" and building_reason[0] == "malformed"
        assert health["rejected"] == 2 and health["rejected_invalid"] == 1 and health["rejected_malformed"] == 1
        assert "Traceback" not in ingest.log.read_text()
    finally:
        store.close()
        if ingest.process is not None:
            ingest.kill()


@pytest.mark.parametrize("backend", ["sqlite", "influxdb"])
def test_two_sites_home_01_stay_two_devices_through_ingest(backend, mosquitto, tmp_path, request):
    """The issue's first symptom: two scenarios' home-01 at 1,000 W and 3,000 W merged into one."""
    store_url = request.getfixturevalue("influxdb").url() if backend == "influxdb" else None
    ingest = Ingest(tmp_path, mosquitto.url, store=store_url).start()
    start_s = (time.time() // 60 - 2) * 60  # a whole minute, two minutes ago
    for i in range(6):
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_s + 10 * i))
        for site, power_w in (("a", 1000.0), ("b", 3000.0)):
            payload = json.dumps({"v": 1, "ts": ts, "metrics": {"power_w": power_w}}).encode()
            publish_one(mosquitto.port, f"expo/{site}/home-01/reading", payload)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (ingest.health() or {}).get("readings_written", 0) < 12:
        time.sleep(0.2)
    assert ingest.stop() == 0  # closing the store writes its rollups
    store = open_store(ingest.store)
    try:
        for site, power_w in (("a", 1000.0), ("b", 3000.0)):
            [row] = store.rollups("1m", start_s, start_s + 60, "power_w", site=site)
            assert (row.site, row.device, row.count, row.mean) == (site, "home-01", 6, power_w)
            now = {r.device: r for r in store.latest(site)}
            assert now["home-01"].metrics["power_w"] == power_w and set(now) == {"home-01", TOTALS_DEVICE}
            assert now[TOTALS_DEVICE].metrics["meters_count"] == 1.0  # each site's totals are its own
        both = store.rollups("1m", start_s, start_s + 60, "power_w", ["home-01"])
        assert sum(r.mean for r in both) == 4000.0  # the town's load: 4,000 W, not 3,000
    finally:
        store.close()
