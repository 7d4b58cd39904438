import json
import math

import pytest
from hypothesis import given, strategies as st

from expo.reading import ContractError, Reading, format_ts, parse_ts, unit_of

metric_names = st.sampled_from(
    ["power_w", "energy_wh", "voltage_v", "current_a", "soc_pct", "temperature_c", "irradiance_wm2", "cop"]
)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e12, max_value=1e12)
instants = st.integers(min_value=946_684_800_000, max_value=4_102_444_799_999).map(lambda ms: ms / 1000)


@given(instants, st.dictionaries(metric_names, finite, min_size=1), st.one_of(st.none(), st.integers(0, 2**40)))
def test_payload_round_trips(ts_s, metrics, seq):
    reading = Reading("binhai", "home-001", ts_s, metrics, seq)
    back = Reading.from_payload("binhai", "home-001", reading.to_json().encode())
    assert back.metrics == pytest.approx(metrics)
    assert back.seq == seq
    assert back.ts_s == pytest.approx(ts_s, abs=1e-3)


@given(st.binary(max_size=300))
def test_any_bytes_either_decode_or_raise_contract_error(payload):
    try:
        reading = Reading.from_payload("s", "d", payload)
    except ContractError:
        return
    assert reading.metrics and all(math.isfinite(v) for v in reading.metrics.values())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.sampled_from(["v", "ts", "seq", "metrics", "x"]), json_values))
def test_any_json_object_either_decodes_or_raises_contract_error(body):
    try:
        Reading.from_payload("s", "d", json.dumps(body))
    except ContractError as exc:
        assert str(exc)


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"v":1,"ts":"2026-11-25T04:00:00Z"', "not JSON"),
        (b"[1,2]", "must be a JSON object"),
        (b'{"v":2,"ts":"2026-11-25T04:00:00Z","metrics":{"power_w":1}}', "version 2"),
        (b'{"v":1,"metrics":{"power_w":1}}', "no ts"),
        (b'{"v":1,"ts":"2026-11-25T04:00:00","metrics":{"power_w":1}}', "no UTC offset"),
        (b'{"v":1,"ts":"yesterday","metrics":{"power_w":1}}', "not RFC 3339"),
        (b'{"v":1,"ts":"2026-11-25T04:00:00Z","metrics":{"power":1}}', "end in a unit"),
        (b'{"v":1,"ts":"2026-11-25T04:00:00Z","metrics":{"power_kw":1}}', "not a known unit"),
        (b'{"v":1,"ts":"2026-11-25T04:00:00Z","metrics":{"power_w":"1"}}', "must be a number"),
        (b'{"v":1,"ts":"2026-11-25T04:00:00Z","metrics":{"power_w":NaN}}', "not finite"),
        (b'{"v":1,"ts":"2026-11-25T04:00:00Z","metrics":{"power_w":1' + b"0" * 400 + b"}}", "not finite"),
        (b'{"v":1,"ts":"2026-11-25T04:00:00Z","metrics":{}}', "non-empty metrics"),
        (b'{"v":1,"ts":"2026-11-25T04:00:00Z","seq":-1,"metrics":{"power_w":1}}', "seq"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"v":1,"ts":0,"metrics":{"power_w":1}}', "between 2000 and 2100"),
        (b'{"v":1,"ts":"2300-01-01T00:00:00Z","metrics":{"power_w":1}}', "between 2000 and 2100"),
    ],
)
def test_each_broken_payload_names_what_is_wrong(payload, message):
    with pytest.raises(ContractError, match=message):
        Reading.from_payload("binhai", "home-001", payload)


def test_timestamps_accept_offsets_and_epoch_milliseconds():
    assert parse_ts("2026-11-25T12:00:00+08:00") == parse_ts("2026-11-25T04:00:00Z") == 1795579200.0
    assert parse_ts(1795579200123) == 1795579200.123
    assert format_ts(1795579200.0) == "2026-11-25T04:00:00Z"
    assert format_ts(1795579200.25) == "2026-11-25T04:00:00.250Z"


def test_units_come_from_the_metric_name():
    assert unit_of("power_w") == "W"
    assert unit_of("energy_import_wh") == "Wh"
    assert unit_of("irradiance_wm2") == "W/m²"
    assert unit_of("cop") == "1"


def test_the_first_spelling_of_metres_per_second_is_accepted_and_stored_as_mps():
    """``wind_speed_ms`` (version 1's first spelling) keeps working; what is stored says ``_mps``."""
    from expo.reading import canonical_metric

    reading = Reading.from_payload("binhai", "wt-01", {"v": 1, "ts": 1_780_000_000_000,
                                                       "metrics": {"wind_speed_ms": 7.5, "power_w": 1.0}})
    assert reading.metrics == {"wind_speed_mps": 7.5, "power_w": 1.0}
    assert unit_of("wind_speed_mps") == unit_of("wind_speed_ms") == "m/s"
    assert canonical_metric("power_w") == "power_w"


def _outcome(decode, payload):
    try:
        r = decode("s", "d", payload)
    except ContractError as exc:
        return ("refused", exc.reason)
    return ("reading", r.ts_s, r.metrics, r.seq)


metric_names = st.sampled_from(["power_w", "energy_wh", "voltage_v", "wind_speed_ms", "power", "x_kw", "temp_c"])
native_like = st.fixed_dictionaries(
    {"v": st.sampled_from([1, 2, 1.0, True, "1"]),
     "ts": st.sampled_from(["2026-11-25T04:00:00Z", "2026-11-25T04:00:00", 1795579200000, 1.5e12, True, None, "x"]),
     "metrics": st.dictionaries(metric_names, json_values | st.floats(), max_size=5)},
    optional={"seq": st.integers(-3, 3) | st.booleans() | st.floats(0, 3) | st.none(), "x": json_values},
)


@given(native_like)
def test_the_fast_path_and_the_checked_path_agree_on_every_payload(body):
    """msgspec's decode is only a shortcut: whatever it takes, the checked path takes the same way, and
    whatever it does not, the checked path refuses with its own reason (or accepts it the long way)."""
    payload = json.dumps(body).encode()  # Python's json writes NaN and Infinity too: the fast path must refuse them
    assert _outcome(Reading.from_payload, payload) == _outcome(Reading._from_payload_checked, payload)


def test_a_well_formed_payload_takes_the_fast_path():
    from expo.reading import _decode_fast

    payload = b'{"v":1,"ts":"2026-11-25T04:00:00Z","seq":3,"metrics":{"power_w":1,"wind_speed_ms":2.5}}'
    assert _decode_fast("s", "d", payload) == ("s", "d", 1795579200.0, {"power_w": 1.0, "wind_speed_mps": 2.5}, 3)
