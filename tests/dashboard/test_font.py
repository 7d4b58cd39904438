"""The kiosk's own web font (dashboard/assets/fonts, built by scripts/build_font.py).

The kiosks are offline and have no CJK font, so every Chinese character the
exhibit shows must be in the shipped subset. When one of these tests fails after
new Chinese text was added, rebuild the font:

    apt-get install fonts-noto-cjk
    .venv/bin/python scripts/build_font.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fontTools.ttLib import TTFont  # woff2 also needs brotli: both come with the dev extra

REPO = Path(__file__).resolve().parents[2]
FONT_DIR = REPO / "dashboard" / "assets" / "fonts"
FONTS = [FONT_DIR / f"expo-sans-sc-{weight}.woff2" for weight in (400, 700)]
MAX_BYTES = 3 * 1024 * 1024
REBUILD = "rebuild with: .venv/bin/python scripts/build_font.py"


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
