"""Which what-ifs a scene offers: one about the sun or the wind only while it would change what is on screen."""

from __future__ import annotations

from hypothesis import given, strategies as st

from dashboard.model.views import DeviceNow, Snapshot
from dashboard.scenes._whatif import AT_WORK, NEEDS, OFFERED, meaningful


def meter(kind: str, power_w: float | None, rated_w: float, site: str = "binhai", state: str = "live") -> DeviceNow:
    return DeviceNow(site, f"{kind}-{power_w}-{site}", kind, kind, kind, 0.0, 0.0, rated_w, "simulated", None, True,
                     power_w, 0.0, state)


def town(*devices: DeviceNow) -> Snapshot:
    return Snapshot(1, 0.0, 0.0, 0.0, "Asia/Shanghai", True, "", 0.0, None, devices=devices, home_site="binhai")


@given(st.floats(0, 10_000), st.floats(0, 10_000), st.floats(100, 10_000))
def test_a_sun_or_wind_what_if_shows_only_while_that_power_is_made(pv_w, wind_w, rated_w):
    snapshot = town(meter("pv", pv_w, rated_w), meter("wind", wind_w, rated_w), meter("household", 900.0, 5000.0))
    assert meaningful(snapshot, "cloud") == meaningful(snapshot, "double_pv") == (pv_w >= AT_WORK * rated_w)
    assert meaningful(snapshot, "calm") == (wind_w >= AT_WORK * rated_w)
    for action in {a for actions in OFFERED.values() for a in actions} - set(NEEDS):
        assert meaningful(snapshot, action)  # the chargers, the heat, the battery: at any hour


def test_the_night_hides_the_cloud_and_only_the_home_towns_live_arrays_count():
    night = town(meter("pv", 0.0, 8000.0), meter("pv", 5000.0, 8000.0, site="port"),
                 meter("pv", 5000.0, 8000.0, state="offline"))
    assert not meaningful(night, "cloud")  # another district's sun, or a silent array's last word, is not ours
    assert not meaningful(town(meter("household", 900.0, 5000.0)), "double_pv")  # a town without arrays
    assert meaningful(town(meter("pv", 0.0, 8000.0), meter("pv", 400.0, 8000.0)), "cloud")
