"""Small scenarios and simulations the simulator tests share."""

from __future__ import annotations

import pytest

from simulators.scenario import from_dict

JULY_1_LOCAL_S = 1782835200  # 2026-07-01T00:00+08:00
JAN_1_LOCAL_S = 1767196800  # 2026-01-01T00:00+08:00

BUILDING_ONLY_TOWN = dict(
    feeders=1, households=0, rooftop_pv=0, shops=0, offices=0, street_light_circuits=0,
    public_ev_chargers=0, wind_turbines=0,
)


@pytest.fixture(scope="session")
def demo_scenario():
    from simulators.scenario import load

    return load("tianjin-demo")


@pytest.fixture(scope="session")
def building_only():
    return from_dict({"town": BUILDING_ONLY_TOWN}, "<building only>")
