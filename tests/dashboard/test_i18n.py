"""The translation table and number formats: both languages for every key, units always shown."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

import dashboard
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
    assert text("caption.city", "en", share="37%", town="Sino-Singapore Tianjin Eco-City") == (
        "The town: right now the sun and wind supply 37% of Sino-Singapore Tianjin Eco-City's electricity.")
    assert text("caption.city", "zh", share="37%", town="中新天津生态城") == "小镇：此刻，太阳和风为中新天津生态城提供了 37% 的电力。"


SCALE_WORDS = {"building": ("The building: ", "建筑："), "town": ("The town: ", "小镇："),
               "city": ("The whole city: ", "整座城市：")}


def test_every_caption_says_where_on_the_scale_the_visitor_is():
    """The scale marker stands beside each title; the caption's own sentence says it too, in both languages."""
    from dashboard import scenes

    for module in scenes.discover():
        en_start, zh_start = SCALE_WORDS[module.SCENE.scale]
        keys = [k for k in TEXT if k == f"caption.{module.SCENE.id}" or k.startswith(f"caption.{module.SCENE.id}.")]
        assert keys, module.SCENE.id
        for key in keys:
            en, zh = TEXT[key]
            assert en.startswith(en_start) and zh.startswith(zh_start), key


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


KEY = r"[a-z_]+(?:\.[a-z_]+)+"
USES = (  # where the sources use a key by name: the table's helpers, the template's t(), the browser's t[...]
    re.compile(rf"""\b(?:text|bilingual|kpi|t)\(\s*["']({KEY})["']"""),
    re.compile(rf"""\bTEXT\[["']({KEY})["']\]"""),
    re.compile(rf"""\bt\[['"]({KEY})['"]\]"""),
    re.compile(rf"""\bSceneInfo\([^)]*["']({KEY})["']\)"""),
)
from dashboard.model.alarms import KINDS as ALARM_KINDS  # noqa: E402
from dashboard.model.forecast import BASES  # noqa: E402

DYNAMIC = {  # keys built at run time: how the sources build them, and every value they are built from
    "cat.": (re.compile(r"""["']cat\.["']\s*\+"""), "CATEGORIES"),
    "status.": (re.compile(r"""f["']status\.\{"""), ("live", "stale", "offline", "simulated", "meter")),
    "status.age.": (re.compile(r"""f["']status\.age\.\{"""), ("s", "min", "h")),  # expo.timeutil.age_parts
    "zeb.part.": (re.compile(r"""f["']zeb\.part\.\{"""),  # model.balance's slots
                  ("pv_roof", "pv_facade", "grid", "battery", "heat_pump", "lighting", "plugs", "ev")),
    "provenance.": (re.compile(r"""f["']provenance\.\{"""), ("simulated", "mixed")),  # Snapshot.provenance
    "zeb.way.": (re.compile(r"""f["']zeb\.way\.\{"""), ("charging", "discharging", "buying", "selling")),
    "status.alarm.": (re.compile(r"""f["']status\.alarm\.\{"""), ALARM_KINDS),  # dashboard.model.alarms
    "status.forecast.basis.": (re.compile(r"""f["']status\.forecast\.basis\.\{"""), BASES),  # model.forecast
}


def sources() -> dict[str, str]:
    """Every file of dashboard/ that can name a key (Python, the browser's JS, the templates), but the table."""
    root = Path(dashboard.__file__).parent
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*"))
            if p.suffix in (".py", ".js", ".html") and p.name != "i18n.py"}


def used_by_name() -> dict[str, str]:
    """key -> the first file that uses it by name."""
    found = {}
    for name, source in sources().items():
        for pattern in USES:
            for key in pattern.findall(source):
                found.setdefault(key, name)
    return found


def dynamic_keys() -> set[str]:
    from dashboard.categories import CATEGORIES

    out = set()
    everything = "\n".join(sources().values())
    for prefix, (construction, values) in DYNAMIC.items():
        assert construction.search(everything), f"nothing builds {prefix}... keys any more: drop it from DYNAMIC"
        out |= {prefix + v for v in (CATEGORIES if values == "CATEGORIES" else values)}
    return out


def test_the_key_finder_finds_keys_and_only_keys():
    assert USES[0].findall('text("caption.city", lang) bilingual(f"status.{state}") t("status.title")') == [
        "caption.city", "status.title"]
    assert USES[2].findall("t['badge.none'][lang]") == ["badge.none"]
    assert len(used_by_name()) > 50


def test_every_key_is_used():
    """A key no screen shows is dead weight in the table (and in the font, which holds its characters)."""
    everything = "\n".join(sources().values())
    dynamic = dynamic_keys()
    unused = [k for k in TEXT if k not in dynamic and f'"{k}"' not in everything and f"'{k}'" not in everything]
    assert unused == []


def test_every_used_key_exists():
    missing = {key: where for key, where in used_by_name().items() if key not in TEXT}
    missing.update({key: "built at run time" for key in dynamic_keys() if key not in TEXT})
    assert missing == {}


def test_the_browser_is_sent_every_key_it_uses():
    from dashboard.app import _client_text

    browser = set(USES[2].findall(sources()["assets/kiosk.js"]))
    assert browser and browser <= set(_client_text())


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


def test_every_unit_of_an_age_has_its_words():
    """The engineer view words ages from expo.timeutil.age_parts: each unit it can give is in the table."""
    from expo.timeutil import age_parts

    from dashboard.i18n import TEXT

    units = {age_parts(age_s)[1] for age_s in (0, 119, 120, 7199, 7200, 10**7)}
    assert units == {"s", "min", "h"}
    assert {f"status.age.{unit}" for unit in units} <= set(TEXT)
