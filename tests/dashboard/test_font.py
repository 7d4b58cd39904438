"""The kiosk's own web font (dashboard/assets/fonts, built by scripts/build_font.py).

The kiosks are offline and have no CJK font, so every character the exhibit
shows — Chinese, and the symbols below U+2E80 too ("₂" in CO₂, the badge's
marks) — must be in the shipped family "Expo Sans SC": the Noto Sans CJK SC
subset, plus a symbols face from DejaVu Sans for what Noto lacks. When one of
these tests fails after new text was added, rebuild the font:

    apt-get install fonts-noto-cjk fonts-dejavu-core
    .venv/bin/python scripts/build_font.py            # or --symbols-only for a new symbol
"""

from __future__ import annotations

from pathlib import Path

import importlib.util
import re

import pytest

from fontTools.ttLib import TTFont  # woff2 also needs brotli: both come with the dev extra

REPO = Path(__file__).resolve().parents[2]
FONT_DIR = REPO / "dashboard" / "assets" / "fonts"
FONTS = [FONT_DIR / f"expo-sans-sc-{weight}.woff2" for weight in (400, 700)]
MAX_BYTES = 3 * 1024 * 1024
SYMBOLS = {weight: FONT_DIR / f"expo-symbols-{weight}.woff2" for weight in (400, 700)}
REBUILD = "rebuild with: .venv/bin/python scripts/build_font.py"
CSS = REPO / "dashboard" / "assets" / "expo.css"


def build_script():
    spec = importlib.util.spec_from_file_location("build_font", REPO / "scripts" / "build_font.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def text_sources() -> list[Path]:
    sources = [REPO / "expo" / "kinds.py", REPO / "simulators" / "site.py"]
    sources += sorted((REPO / "simulators" / "scenarios").glob("*.toml"))
    i18n = REPO / "dashboard" / "i18n.py"
    if i18n.exists():
        sources.append(i18n)
    return sources


def cjk_chars(path: Path) -> set[str]:
    return {c for c in path.read_text(encoding="utf-8") if ord(c) >= 0x2E80 and not c.isspace()}


def gb2312_level1() -> set[str]:
    chars = set()
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.add(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


@pytest.fixture(scope="module", params=FONTS, ids=lambda p: p.name)
def font(request):
    path = request.param
    assert path.is_file(), f"{path.relative_to(REPO)} is missing; {REBUILD}"
    with TTFont(path) as f:
        yield f


def test_family_name(font):
    assert font.flavor == "woff2"
    assert font["name"].getDebugName(1) == "Expo Sans SC"


def test_maps_every_cjk_character_the_project_uses(font):
    cmap = font.getBestCmap()
    missing = {}
    for path in text_sources():
        absent = sorted(c for c in cjk_chars(path) if ord(c) not in cmap)
        if absent:
            missing[str(path.relative_to(REPO))] = "".join(absent)
    assert not missing, f"characters missing from the font: {missing}; {REBUILD}"


def test_maps_gb2312_level1_and_digits(font):
    chars = gb2312_level1()
    assert len(chars) == 3755
    cmap = font.getBestCmap()
    absent = "".join(sorted(c for c in chars | set("0123456789%.,-:°℃") if ord(c) not in cmap))
    assert not absent, f"missing: {absent}"


@pytest.mark.parametrize("path", FONTS, ids=lambda p: p.name)
def test_under_3_mb(path):
    assert path.stat().st_size < MAX_BYTES, f"{path.name}: {path.stat().st_size:,} bytes"


def test_licence_ships_with_the_fonts():
    text = (FONT_DIR / "OFL.txt").read_text(encoding="utf-8")
    assert "Noto Sans CJK SC" in text and "SIL OPEN FONT LICENSE Version 1.1" in text
    dejavu = (FONT_DIR / "DejaVu-LICENSE.txt").read_text(encoding="utf-8")
    assert "Bitstream" in dejavu and "DejaVu" in dejavu


def family_cmap(weight: int) -> set[int]:
    """What the page's family "Expo Sans SC" maps at one weight: the CJK face and the symbols face."""
    with TTFont(FONT_DIR / f"expo-sans-sc-{weight}.woff2") as cjk, TTFont(SYMBOLS[weight]) as symbols:
        return set(cjk.getBestCmap()) | set(symbols.getBestCmap())


def test_the_sources_of_shown_text_are_found():
    shown = build_script().shown_chars()
    assert "₂" in shown and "●" in shown and "小" in shown and "A" in shown  # i18n.py, the CSS's content, ASCII
    assert "₂" not in build_script().project_cjk_chars()  # below U+2E80: the CJK-only check could not see it


@pytest.mark.parametrize("weight", [400, 700])
def test_every_character_the_app_shows_is_in_the_family(weight):
    cmap = family_cmap(weight)
    absent = "".join(c for c in build_script().shown_chars() if ord(c) not in cmap)
    assert not absent, f"characters the app shows that no face of the font maps: {absent!r}; {REBUILD} --symbols-only"
    for c in "CO₂ ●⚠✕▶—·…×÷›%℃°":
        assert ord(c) in cmap, c


def test_the_symbols_face_is_declared_for_exactly_its_characters():
    """The CSS's unicode-range is the symbols face's cmap: a symbol added to the face but not the range (or the
    other way round) would render from a system font or not at all."""
    css = CSS.read_text(encoding="utf-8")
    faces = re.findall(r"@font-face\s*{([^}]*)}", css)
    symbol_faces = [f for f in faces if "expo-symbols" in f]
    assert len(symbol_faces) == 2 and all('font-family: "Expo Sans SC"' in f for f in symbol_faces)
    assert css.index("expo-symbols-400") > css.index("expo-sans-sc-700")  # declared after: tried first for its range
    for weight, path in SYMBOLS.items():
        face = next(f for f in symbol_faces if f"expo-symbols-{weight}" in f)
        declared = {int(cp, 16) for cp in re.findall(r"U\+([0-9A-F]+)", face)}
        with TTFont(path) as font:
            assert font["name"].getDebugName(1) == "Expo Symbols"
            mapped = {cp for cp in font.getBestCmap() if cp > 0x20}
        assert declared == mapped, f"{path.name}: css {sorted(declared)} vs font {sorted(mapped)}"
        assert f"font-weight: {weight}" in face
