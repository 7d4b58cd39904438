"""The translation table and number formats: both languages for every key, units always shown."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, strategies as st

from dashboard import numbers
from dashboard.i18n import TEXT, bilingual, text


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(TEXT))
def test_every_key_has_both_languages_with_the_same_fields(key):
    en, zh = TEXT[key]
    assert en.strip() and zh.strip()
    assert fields(en) == fields(zh)
    if key.startswith(("scene.", "caption.", "kpi.", "cat.")):
        assert re.search(r"[\u4e00-\u9fff]", zh), f"{key}: the Chinese text has no Chinese in it"


def test_text_fills_fields_in_the_chosen_language():
    assert text("caption.city", "en", share="37%") == "Right now the sun and wind supply 37% of the town's electricity."
    assert text("caption.city", "zh", share="37%") == "此刻，太阳和风为小镇提供了 37% 的电力。"


def test_bilingual_renders_one_span_per_language():
    span = bilingual("caption.zeb", pct={"en": "104%", "zh": "104%"})
    languages = {child.className: child.children for child in span.children}
    assert languages == {"t-zh": text("caption.zeb", "zh", pct="104%"), "t-en": text("caption.zeb", "en", pct="104%")}


def test_every_scene_and_category_is_translated():
    from dashboard import scenes
    from dashboard.categories import CATEGORIES

    for module in scenes.discover():
        assert module.SCENE.title in TEXT
        assert f"caption.{module.SCENE.id}" in TEXT
    for key in CATEGORIES:
        assert f"cat.{key}" in TEXT


@pytest.mark.parametrize("n, en, zh", [(999, "999", "999"), (12_345, "12,345", "1.2 万"),
                                       (123_456_789, "123,456,789", "1.23 亿")])
def test_counts_use_wan_and_yi_in_chinese(n, en, zh):
    assert numbers.count(n) == {"en": en, "zh": zh}


@pytest.mark.parametrize("w, shown", [(42_150.0, "42.1 kW"), (150_400.0, "150 kW"), (12_500_000.0, "12.5 MW")])
def test_power_rounding(w, shown):
    assert numbers.power(w)["en"] == shown


@given(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
def test_formats_never_raise_and_always_carry_a_unit_or_a_dash(value):
    for fmt, units in ((numbers.power, ("W",)), (numbers.energy, ("Wh",)), (numbers.percent, ("%",)),
                       (numbers.mass_kg, ("kg", "t"))):
        out = fmt(value)
        assert set(out) == {"en", "zh"}
        assert out["en"] == "—" or any(u in out["en"] for u in units)
