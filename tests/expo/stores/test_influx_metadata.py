"""InfluxDB keeps a device's metadata as one point with one field, its contract JSON; points of the earlier
layout (a field per part) are still read, and the newest point of a device is its metadata either way."""

from __future__ import annotations

import itertools
import logging

import pytest

from expo.metadata import DeviceMeta
from expo.store import Batch, parse_store
from expo.stores.influxdb import InfluxStore

_names = itertools.count()
HEAT_PUMP = DeviceMeta("binhai", "hp-01", "heat_pump", "Heat pump", "热泵", 12.5, -3.25, 9000.0, "feeder-1", "zeb",
                       "meter")


def open_new(server):
    name = f"meta{next(_names)}"
    return InfluxStore(parse_store(server.url(name))), name


def test_metadata_is_one_field_holding_the_contract_json(influx_server):
    store, name = open_new(influx_server)
    store.write(Batch(metas=[HEAT_PUMP]))
    [series] = store._http.query(name, 'SELECT * FROM "device"')
    assert series["columns"] == ["time", "description", "device", "site"]
    [[_, text, _, _]] = series["values"]
    assert DeviceMeta.from_payload("binhai", "hp-01", text) == HEAT_PUMP
    assert InfluxStore(parse_store(influx_server.url(name))).devices() == [HEAT_PUMP]
    store.close()


def test_points_of_the_earlier_layout_are_read_and_the_newest_point_wins(influx_server):
    store, name = open_new(influx_server)
    earlier = [  # as an older ingest wrote them: a field per part, the strings empty for "none"
        'device,site=binhai,device=home-01 kind="home",name_en="Home 1",name_zh="住宅 1",x_m=1.5,y_m=2.0,'
        'rated_power_w=7000.0,parent="",building="",source="simulated" 1000',
        'device,site=binhai,device=hp-01 kind="plug_load",name_en="Plug",name_zh="插座",x_m=0.0,y_m=0.0,'
        'rated_power_w=0.0,parent="",building="",source="meter" 1000',
    ]
    store._http.write(name, earlier, "ms")
    store.write(Batch(metas=[HEAT_PUMP]))  # now: newer than the earlier layout's point of the same device
    got = {m.device: m for m in InfluxStore(parse_store(influx_server.url(name))).devices()}
    assert got["home-01"] == DeviceMeta("binhai", "home-01", "home", "Home 1", "住宅 1", 1.5, 2.0, 7000.0, None,
                                        None, "simulated")
    assert got["hp-01"] == HEAT_PUMP
    store.close()


def test_a_stored_description_this_version_cannot_read_hides_only_itself(influx_server, caplog):
    store, name = open_new(influx_server)
    store.write(Batch(metas=[HEAT_PUMP]))
    future = '{"v":1,"kind":"fusion_reactor","name":{"en":"F","zh":"F"}}'.replace('"', '\\"')
    store._http.write(name, [f'device,site=binhai,device=future-01 description="{future}" 2000'], "ms")
    with caplog.at_level(logging.WARNING, logger="expo.store"):
        assert [m.device for m in store.devices()] == ["hp-01"]
    assert "binhai/future-01" in caplog.text and "fusion_reactor" in caplog.text
    store.close()
