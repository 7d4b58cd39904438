"""An SML script's field names, read by their words: what a meter's own script calls import, export and power."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from ingest.decoders.tasmota import FORWARD, POWER, REVERSE, sml_role

NEUTRAL = st.sampled_from(["Summe", "T1", "T2", "Id", "Zahl", "Wert", "L1", "Temp", "Humidity", "Spannung",
                           "Volt", "Strom", "Frequenz", "Number", "Curr"])


@pytest.mark.parametrize("field, role", [
    ("Total_in", FORWARD), ("Total_out", REVERSE), ("Power_curr", POWER),  # Tasmota's own examples
    ("Verbrauch_Summe", FORWARD), ("Einspeisung_Summe", REVERSE), ("Watt_Summe", POWER), ("Bezug_T1", FORWARD),
    ("Lieferung", REVERSE), ("Leistung_L2", POWER), ("EnergyImport", FORWARD), ("E_out", REVERSE),
    ("Temp_in", None), ("Temp_out", None), ("Meter_Number", None), ("Spannung_L1", None),
])
def test_a_field_is_read_by_its_words(field, role):
    assert sml_role(field) == role


@given(before=st.lists(NEUTRAL, max_size=3), after=st.lists(NEUTRAL, max_size=3),
       word=st.sampled_from(["Verbrauch", "Bezug", "Import", "Einspeisung", "Lieferung", "Export", "Watt", "Leistung"]),
       joiner=st.sampled_from(["_", "-", " "]))
def test_a_word_of_energy_decides_wherever_it_stands(before, after, word, joiner):
    role = {"Verbrauch": FORWARD, "Bezug": FORWARD, "Import": FORWARD, "Einspeisung": REVERSE, "Lieferung": REVERSE,
            "Export": REVERSE, "Watt": POWER, "Leistung": POWER}[word]
    assert sml_role(joiner.join([*before, word, *after])) == role


@given(st.lists(NEUTRAL | st.sampled_from(["in", "out", "In", "Out"]), min_size=1, max_size=4))
def test_in_and_out_alone_say_nothing(words):
    """A thermometer's "Temp_in" is not an energy counter: "in" and "out" count only beside a word of energy."""
    assert sml_role("_".join(words)) is None
