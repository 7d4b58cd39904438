"""Property tests over every decoder in ``registry()``: whatever arrives, a Decoded or a Refused.

A decoder that raises anything else costs ingest a message as "decoder_error"
and hides the real reason; one that returns a reading the contract refuses
poisons every consumer downstream. So for any topic and any bytes, and for
near-valid messages built in each family's own shape with hostile values
(text, NaN, 400-digit numbers, booleans, lists, deep nesting), every result
must be something the native contract itself accepts.
"""

from __future__ import annotations

import json
import math
import re
from random import Random

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from expo.kinds import KINDS
from expo.metadata import DeviceMeta
from expo.places import BUILDING_KINDS, BUILDING_ROLES, SITE_KINDS, BuildingMeta, SiteMeta
from expo.reading import EARLIEST_TS_S, LATEST_TS_S, MAX_METRICS, Reading, unit_of
from expo.topics import is_valid_id
from expo.errors import Refused
from ingest.decoders import DecodeContext, Decoded, registry
from tests.ingest.decoders.test_golden import TESTDATA

DECODERS = sorted(registry())
SITE = "binhai"
RECEIVED_S = 1795579200.0
GUARD_SEED = 2026  # the near-valid guards' own random: the same draws in every run
REASON = re.compile(r"^[a-z][a-z0-9_]{2,31}$")  # a countable code, not a sentence
FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

# Route options each decoder is fuzzed with: none, and what real routes give it.
OPTIONS = {
    "generic": [
        {"topic": "+/+/+", "device": "{2}", "metric": "power", "unit": "kW"},
        {"topic": "+/+/+", "device": "meter-{1}", "metric": "energy", "unit": "kWh", "field": "ENERGY.Total"},
        {"topic": "#", "device": "{1}", "metric": "voltage", "unit": "V"},
        {},
    ],
    "line_protocol": [{"topic": "telegraf/+"}, {"topic": "lp", "precision": "s", "kind": "meter"}],
    "tasmota": [{}, {"kind": "heat_pump", "sml_kind": "battery"},
                {"sml_fields": {"Power": "ignore", "Total": "import", "Verbrauch_Summe": "export"}}],
    "shelly_gen1": [{}, {"kind": "household"}],
    "shelly_gen2": [{}, {"kind": "pv"}],
    "emonhub": [{}, {"kind": "grid_connection"}],
}


def options_for(name: str) -> st.SearchStrategy[dict]:
    return st.sampled_from(OPTIONS.get(name, [{}]))


# ---- hostile values --------------------------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([10**400, -(10**400), 1e308, -1e308, 0, 1795579190.5, 1795579195420, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["NotifyStatus", "Online", "1.5", "nan", "shellypro3em-a1", "{}"]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=30,
)
# Mostly plausible numbers, so that messages get past their first field; sometimes anything at all.
VALUES = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6), st.integers(-10**6, 10**6),
    st.lists(st.floats(min_value=0, max_value=1e4), min_size=0, max_size=10),
    SCALARS, JSON_VALUES,
)
NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers().map(str),
    st.sampled_from(["1" * 5000, "-0", " 42\n", "1_000", "0x10", "1e999", "", "on", "٣", "1,5"]),
)
ID_LEVEL = st.one_of(
    st.sampled_from(["tasmota_5A9AE8", "shellyem-B9F1E0", "shellypro3em-a8032ab12345", "emonTx4_17", "home-017"]),
    st.text(alphabet=st.sampled_from("abcXYZ019_-:+#/ .,=\"'\\é\x00"), max_size=12),
    st.just("x" * 70),
)


def objects(keys: list[str], values=VALUES, max_size: int = 8) -> st.SearchStrategy[dict]:
    """JSON objects with a family's own keys (and a stray one) holding hostile values."""
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=6), values, max_size=max_size)


def as_json(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


# ---- near-valid messages, family by family ------------------------------------------------------------------

ENERGY_KEYS = ["Total", "Today", "Yesterday", "Power", "ApparentPower", "ReactivePower", "Factor", "Voltage",
               "Current", "Frequency", "ExportActive", "TotalStartTime", "Period"]
SML_KEYS = ["Total_in", "Total_out", "Power_curr", "Meter_Number"]
TASMOTA = st.tuples(
    st.tuples(ID_LEVEL, st.sampled_from(["SENSOR", "SENSOR", "LWT", "STATE"])).map(lambda t: f"tele/{t[0]}/{t[1]}"),
    st.one_of(
        st.fixed_dictionaries({"Time": SCALARS, "ENERGY": objects(ENERGY_KEYS)},
                              optional={"SML": objects(SML_KEYS), "Haus Zähler": objects(SML_KEYS),
                                        "DS18B20": objects(["Temperature"])}).map(as_json),
        st.sampled_from([b"Online", b"Offline", b"online\n", b"", b"\xff"]),
    ),
)
GEN1 = st.tuples(
    st.tuples(ID_LEVEL, st.sampled_from(["emeter", "relay"]), st.sampled_from(["0", "1", "2", "99", "x", ""]),
              st.sampled_from(["power", "reactive_power", "voltage", "current", "pf", "energy", "returned_energy",
                               "total", "total_returned", "command", "temperature"]))
    .map(lambda t: f"shellies/{t[0]}/{t[1]}/{t[2]}/{t[3]}"),
    NUMBER_TEXT.map(str.encode),
)
GEN2_FIELDS = ["id", "a_current", "a_voltage", "a_act_power", "a_aprt_power", "a_pf", "a_freq", "b_act_power",
               "c_voltage", "n_current", "total_current", "total_act_power", "total_aprt_power", "total_act",
               "total_act_ret", "a_total_act_energy", "c_total_act_ret_energy", "act_power", "voltage", "current",
               "freq", "pf", "total_act_energy", "total_act_ret_energy", "apower", "aenergy", "ret_aenergy",
               "temperature"]
GEN2_STATUS = st.dictionaries(
    st.sampled_from(GEN2_FIELDS), VALUES | st.fixed_dictionaries({"total": VALUES, "tC": VALUES}), max_size=10)
GEN2_COMPONENTS = ["em:0", "emdata:0", "em1:0", "em1data:1", "pm1:0", "switch:0", "switch:12", "sys", "input:0",
                   "em:x", "online"]
GEN2 = st.one_of(
    st.tuples(
        ID_LEVEL.map(lambda prefix: f"{prefix}/events/rpc"),
        st.fixed_dictionaries({
            "src": ID_LEVEL | SCALARS,
            "method": st.sampled_from(["NotifyStatus", "NotifyFullStatus", "NotifyEvent"]) | SCALARS,
            "params": st.fixed_dictionaries({}, optional={"ts": VALUES, **{c: GEN2_STATUS | VALUES for c in
                                                                            GEN2_COMPONENTS}}) | VALUES,
        }).map(as_json),
    ),
    st.tuples(
        st.tuples(ID_LEVEL, st.sampled_from(GEN2_COMPONENTS)).map(lambda t: f"{t[0]}/status/{t[1]}"),
        (GEN2_STATUS | VALUES).map(as_json),
    ),
)
EMON_KEYS = ["P1", "power2", "E3", "energy4", "Vrms", "V", "V2", "T1", "temp2", "MSG", "rssi", "pulse", "analog",
             "pulsecount", "flow", "p100"]
EMONHUB = st.one_of(
    st.tuples(st.tuples(ID_LEVEL, st.sampled_from(EMON_KEYS)).map(lambda t: f"emon/{t[0]}/{t[1]}"),
              NUMBER_TEXT.map(str.encode)),
    st.tuples(ID_LEVEL.map(lambda node: f"emon/{node}"),
              st.fixed_dictionaries({}, optional={"time": VALUES}).flatmap(
                  lambda time: objects(EMON_KEYS).map(lambda body: {**body, **time})).map(as_json)),
)
LP_PIECE = st.text(alphabet=st.sampled_from("abdevic-_01 ,=\"\\\n"), max_size=10)
LP_TAG = st.tuples(st.sampled_from(["device", "site", "host"]) | LP_PIECE,
                   st.sampled_from(["meter-1", "Meter 1", "a\\,b", ""]) | LP_PIECE).map("=".join)
LP_FIELD = st.tuples(st.sampled_from(["power_w", "energy_wh", "cop", "power", "x_c"]) | LP_PIECE,
                     NUMBER_TEXT | st.sampled_from(["3i", "-4u", "t", "FALSE", '"s p,a=ce"'])).map("=".join)
LP_LINE = st.builds(
    lambda measurement, tags, fields, stamp: f"{','.join([measurement, *tags])} {','.join(fields)}{stamp}",
    st.sampled_from(["energy", "m\\ x"]) | LP_PIECE, st.lists(LP_TAG, max_size=3), st.lists(LP_FIELD, max_size=3),
    st.sampled_from(["", " 1795579200000000000", " 1795579200", " -1", " 99999999999999999999"]),
)
LINE_PROTOCOL = st.tuples(st.sampled_from(["telegraf/energy", "lp"]),
                          st.lists(LP_LINE, min_size=1, max_size=3).map(lambda lines: "\n".join(lines).encode()))
GENERIC = st.tuples(
    st.lists(ID_LEVEL, min_size=1, max_size=4).map("/".join),
    NUMBER_TEXT.map(str.encode) | st.fixed_dictionaries({"ENERGY": objects(["Total", "Power"])}).map(as_json),
)
NATIVE_ID = st.one_of(st.sampled_from(["binhai", "home-017", "zeb-pv-roof"]), ID_LEVEL)  # native ids are lower-case
NATIVE_DEVICE = st.tuples(
    st.tuples(NATIVE_ID, NATIVE_ID, st.sampled_from(["reading", "reading", "reading", "meta", "status", "x"]))
    .map(lambda t: f"expo/{t[0]}/{t[1]}/{t[2]}"),
    st.fixed_dictionaries({"v": st.just(1) | VALUES, "ts": st.sampled_from(["2026-11-25T04:00:00Z", 1795579200000])
                           | VALUES, "metrics": objects(["power_w", "energy_wh", "power", "cop"])},
                          optional={"seq": VALUES, "state": st.sampled_from(["online", "offline"]) | VALUES,
                                    "kind": st.sampled_from(sorted(KINDS)) | VALUES}).map(as_json),
)
NAMES = st.just({"en": "Eco-City", "zh": "生态城"}) | objects(["en", "zh"]) | VALUES
ZONES = st.sampled_from(["Asia/Shanghai", "UTC", "America", "Mars/Olympus", "a" * 300, "../../etc/passwd", ""])
SITE_BODY = st.fixed_dictionaries(
    {"v": st.just(1) | VALUES, "kind": st.sampled_from(SITE_KINDS) | VALUES, "name": NAMES},
    optional={"place": objects(["x_km", "y_km"]) | VALUES, "timezone": ZONES | VALUES, "city": NAMES,
              "outline_km": st.lists(st.lists(st.floats(-50, 50) | VALUES, max_size=3), max_size=5) | VALUES},
).map(as_json)
BUILDING_BODY = st.fixed_dictionaries(
    {"v": st.just(1) | VALUES, "kind": st.sampled_from(BUILDING_KINDS) | VALUES, "name": NAMES},
    optional={"role": st.sampled_from(BUILDING_ROLES) | VALUES, "position": objects(["x_m", "y_m"]) | VALUES},
).map(as_json)
NATIVE_PLACES = st.one_of(  # the descriptions: expo/<site>/site and expo/<site>/<building>/building
    st.tuples(NATIVE_ID.map(lambda site: f"expo/{site}/site"), SITE_BODY),
    st.tuples(st.tuples(NATIVE_ID, NATIVE_ID).map(lambda t: f"expo/{t[0]}/{t[1]}/building"), BUILDING_BODY),
)
NATIVE = st.one_of(NATIVE_DEVICE, NATIVE_DEVICE, NATIVE_PLACES)
FAMILY_MESSAGES = {"tasmota": TASMOTA, "shelly_gen1": GEN1, "shelly_gen2": GEN2, "emonhub": EMONHUB,
                   "line_protocol": LINE_PROTOCOL, "generic": GENERIC, "native": NATIVE}
ANY_FAMILY = st.one_of(*FAMILY_MESSAGES.values())


# ---- the properties -----------------------------------------------------------------------------------------

def assert_contract(result) -> None:
    """What ingest may store: every reading, meta and status the native contract accepts as is."""
    assert isinstance(result, Decoded)
    for reading in result.readings:
        assert isinstance(reading, Reading)
        assert is_valid_id(reading.site) and is_valid_id(reading.device), (reading.site, reading.device)
        assert 1 <= len(reading.metrics) <= MAX_METRICS
        for metric, value in reading.metrics.items():
            unit_of(metric)
            assert type(value) is float and math.isfinite(value), (metric, value)
        assert type(reading.ts_s) is float and EARLIEST_TS_S <= reading.ts_s < LATEST_TS_S, reading.ts_s
        assert Reading.from_payload(reading.site, reading.device, reading.to_json()).metrics == reading.metrics
    for meta in result.metas:
        assert is_valid_id(meta.site) and is_valid_id(meta.device) and meta.kind in KINDS
        assert DeviceMeta.from_payload(meta.site, meta.device, meta.to_json()) == meta
    for device, state in result.status.items():
        assert is_valid_id(device) and state in ("online", "offline")
    for site in result.sites:
        assert is_valid_id(site.site) and SiteMeta.from_payload(site.site, site.to_json()) == site
    for building in result.buildings:
        assert is_valid_id(building.site) and is_valid_id(building.building)
        assert BuildingMeta.from_payload(building.site, building.building, building.to_json()) == building


def decode_or_refuse(name: str, topic: str, payload: bytes, options: dict) -> Decoded | None:
    try:
        result = registry()[name].decode(topic, payload, DecodeContext(SITE, RECEIVED_S, options))
    except Refused as exc:
        assert REASON.match(exc.reason), exc.reason
        assert isinstance(exc.detail, str) and exc.detail
        return None
    assert_contract(result)
    return result


@pytest.mark.parametrize("name", DECODERS)
@given(topic=st.text(max_size=80), payload=st.binary(max_size=400), data=st.data())
@FUZZ
def test_any_topic_and_bytes_decode_or_raise_decode_error(name, topic, payload, data):
    decode_or_refuse(name, topic, payload, data.draw(options_for(name)))


@pytest.mark.parametrize("name", DECODERS)
@given(data=st.data())
@FUZZ
def test_near_valid_messages_decode_or_raise_decode_error(name, data):
    """Each decoder gets its own family's shapes most of the time, and the other families' too."""
    family = FAMILY_MESSAGES[name] if name in FAMILY_MESSAGES else ANY_FAMILY
    topic, payload = data.draw(st.one_of(family, family, ANY_FAMILY))
    decode_or_refuse(name, topic, payload, data.draw(options_for(name)))


def golden(name: str) -> list[tuple[str, bytes, dict]]:
    """The decoder's golden cases as (topic, payload, options): real messages to start mutating from."""
    found = []
    for folder in sorted((TESTDATA / name).glob("*")):
        options_file = folder / "options.json"
        options = json.loads(options_file.read_text()) if options_file.exists() else {}
        found.append(((folder / "topic").read_text().strip("\n"), (folder / "payload").read_bytes(), options))
    return found


@pytest.mark.parametrize("name", DECODERS)
@given(data=st.data())
@FUZZ
def test_mutated_real_messages_decode_or_raise_decode_error(name, data):
    """Real messages with a byte changed, cut short or spliced: what a flaky link or firmware delivers."""
    topic, payload, options = data.draw(st.sampled_from(golden(name)))
    payload = bytearray(payload)
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, len(payload)))
        if action == "flip" and at < len(payload):
            payload[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del payload[at:]
        else:
            payload[at:at] = data.draw(st.sampled_from([b"-", b"e999", b"9" * 400, b'"', b"\\", b",", b"NaN", b"[["]))
    decode_or_refuse(name, topic, bytes(payload), options)


DEEP = [b"[" * 100_000, b'{"ENERGY":' * 50_000 + b"1" + b"}" * 50_000, b'{"a":' * 3000 + b"{}" + b"}" * 3000]


@pytest.mark.parametrize("name", DECODERS)
@pytest.mark.parametrize("payload", DEEP, ids=["open-brackets", "deep-energy", "deep-object"])
def test_deeply_nested_json_is_refused_not_crashed(name, payload):
    for topic, _, options in golden(name):
        assert decode_or_refuse(name, topic, payload, options) in (None, Decoded())


def test_native_refuses_a_ts_with_hundreds_of_digits():
    """Found by the mutation fuzz above: the division into seconds overflowed."""
    payload = b'{"v":1,"ts":' + b"9" * 400 + b',"metrics":{"power_w":1}}'
    with pytest.raises(Refused) as caught:
        registry()["native"].decode("expo/binhai/home-017/reading", payload, DecodeContext(SITE, RECEIVED_S))
    assert caught.value.reason == "bad_timestamp"


@pytest.mark.parametrize("topic, payload", [
    ("expo/binhai/home-017/reading", b'{"v":1,"ts":"2026-11-25T04:00:00Z","metrics":{"power_w":' + b"9" * 5000 + b"}}"),
    ("expo/binhai/home-017/meta", b'{"v":1,"kind":"household","name":{"en":"a","zh":"a"},"rated_power_w":'
     + b"9" * 400 + b"}"),
    ("expo/eco/site", b'{"v":1,"kind":"port","name":{"en":"a","zh":"a"},"place":{"x_km":' + b"9" * 400 + b"}}"),
    ("expo/eco/site", b'{"v":1,"kind":"port","name":{"en":"a","zh":"a"},"timezone":"America"}'),
])
def test_native_refuses_numbers_no_float_holds_and_zone_folders(topic, payload):
    """Python refuses to convert an integer of over 4,300 digits (ValueError), ``float()`` of a 400-digit one
    overflows, and a zone name that is a folder raises IsADirectoryError: each is a refusal, not a decoder bug."""
    with pytest.raises(Refused) as caught:
        registry()["native"].decode(topic, payload, DecodeContext(SITE, RECEIVED_S))
    assert caught.value.reason in ("malformed", "wrong_type", "invalid")


@pytest.mark.parametrize("name", DECODERS)
def test_near_valid_messages_do_reach_readings(name):
    """Guards the guard: were every fuzzed message refused, the properties would test only refusals. The search
    has its own seeded random, so it draws the same messages in every run and on every worker (with ``derandomize``
    it ended in NoSuchExample in two loaded full runs, never alone), and no deadline."""
    options = OPTIONS.get(name, [{}])

    def accepted(example) -> bool:
        (topic, payload), which = example
        return bool((decode_or_refuse(name, topic, payload, options[which]) or Decoded()).readings)

    find(st.tuples(FAMILY_MESSAGES[name], st.integers(0, len(options) - 1)), accepted, random=Random(GUARD_SEED),
         settings=settings(max_examples=3_000, database=None, deadline=None, suppress_health_check=list(HealthCheck)))


@pytest.mark.parametrize("field", ["sites", "buildings"])
def test_near_valid_descriptions_do_reach_sites_and_buildings(field):
    """The same guard for the descriptions: some of the fuzzed ones are accepted."""
    def accepted(example) -> bool:
        return bool(getattr(decode_or_refuse("native", *example, {}) or Decoded(), field))

    find(NATIVE_PLACES, accepted, random=Random(GUARD_SEED),
         settings=settings(max_examples=3_000, database=None, deadline=None, suppress_health_check=list(HealthCheck)))
