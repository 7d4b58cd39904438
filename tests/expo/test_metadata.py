import pytest

from expo.kinds import KINDS, Flow
from expo.metadata import DeviceMeta
from expo.reading import ContractError


def test_meta_round_trips_with_both_languages():
    meta = DeviceMeta("binhai", "home-001", "household", "Home 1", "住户 1", 1.5, -2.0, 9000.0, "feeder-01", None)
    assert "住户" in meta.to_json()  # readable UTF-8, not \\u escapes
    assert DeviceMeta.from_payload("binhai", "home-001", meta.to_json().encode()) == meta


@pytest.mark.parametrize(
    "body, message",
    [
        ({"v": 1, "kind": "toaster", "name": {"en": "a", "zh": "b"}}, "unknown device kind"),
        ({"v": 1, "kind": "pv", "name": "PV"}, "name"),
        ({"v": 1, "kind": "pv", "name": {"en": "a", "zh": "b"}, "parent": "Feeder 1"}, "invalid parent"),
        ({"v": 1, "kind": "pv", "name": {"en": "a", "zh": "b"}, "position": {"x_m": "east"}}, "position"),
        ({"v": 1, "kind": "pv", "name": {"en": "a", "zh": "b"}, "source": "guess"}, "source"),
    ],
)
def test_bad_meta_is_refused_with_reason(body, message):
    with pytest.raises(ContractError, match=message):
        DeviceMeta.from_payload("binhai", "x", body)


def test_every_kind_declares_counters_that_match_its_flow():
    for kind in KINDS.values():
        if kind.flow is Flow.BIDIRECTIONAL:
            assert {"energy_import_wh", "energy_export_wh"} <= set(kind.metrics)
        elif kind.flow is Flow.NONE:
            assert "power_w" not in kind.metrics
        else:
            assert "energy_wh" in kind.metrics and "power_w" in kind.metrics
