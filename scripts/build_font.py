#!/usr/bin/env python3
"""Build the dashboard's own Chinese web font, "Expo Sans SC".

Why this exists: the kiosks run offline and have no CJK font installed, and the
dashboard may not load anything from a CDN, so it has to serve its own font.
The full Noto Sans CJK is about 20 MB per weight, far too much to ship, so this
script cuts a subset of Noto Sans CJK SC (Regular 400 and Bold 700) down to
what the exhibit can show:

* printable ASCII, Latin-1, general punctuation, super/subscripts, currency
  and letterlike symbols, arrows, CJK symbols and punctuation, fullwidth forms;
* the 3,755 level-1 hanzi of GB2312 (the most common characters);
* every CJK character (code point >= U+2E80) used in the project's own labels:
  dashboard/i18n.py, expo/kinds.py, simulators/site.py and
  simulators/scenarios/*.toml (whichever of them exist).

It writes dashboard/assets/fonts/expo-sans-sc-{400,700}.woff2 and OFL.txt
(the fonts are under the SIL Open Font License 1.1).

Noto Sans CJK has no glyph for a few symbols the exhibit shows ("₂" in CO₂,
the badge's "●", "⚠", "▶", the plan's "✕"). Those come from DejaVu Sans
(Debian's fonts-dejavu-core) into expo-symbols-{400,700}.woff2, a second face
of the same CSS family "Expo Sans SC" limited by ``unicode-range`` to exactly
those characters (assets/expo.css), so the page's one font holds every glyph
it shows. ``--symbols-only`` rebuilds just those (it needs no Noto): run it
after adding a symbol anywhere in dashboard/, and paste the range it prints
into expo.css. tests/dashboard/test_font.py checks both.

This is a developer tool, not part of the runtime: it needs Debian's
fonts-noto-cjk package (``apt-get install fonts-noto-cjk``) and fontTools with
WOFF2 support (the ``dev`` extra: ``pip install -e '.[dev]'``). Rebuild after
adding Chinese text to any of the files above:

    .venv/bin/python scripts/build_font.py

The output is reproducible: the same source fonts and text give the same bytes.
"""

from __future__ import annotations

import argparse
import glob
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "dashboard" / "assets" / "fonts"
DEFAULT_SOURCE_DIR = Path("/usr/share/fonts/opentype/noto")
DEBIAN_COPYRIGHT = Path("/usr/share/doc/fonts-noto-cjk/copyright")

FAMILY = "Expo Sans SC"
SOURCE_FAMILY = "Noto Sans CJK SC"
# CSS weight -> (file name part in Debian's .ttc, style name)
WEIGHTS = {400: "Regular", 700: "Bold"}

# Files whose CJK characters must be in the font (relative to the repo root;
# glob patterns allowed; missing files are skipped).
TEXT_SOURCES = (
    "dashboard/i18n.py",
    "expo/kinds.py",
    "simulators/scenarios/*.toml",
    "simulators/site.py",
)
CJK_START = 0x2E80  # CJK Radicals Supplement: everything from here up is "CJK-ish"

# Inclusive code point ranges of the non-hanzi repertoire.
RANGES = (
    (0x0020, 0x007E),  # printable ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement
    (0x2000, 0x206F),  # general punctuation
    (0x2070, 0x209F),  # superscripts and subscripts
    (0x20A0, 0x20CF),  # currency symbols
    (0x2100, 0x214F),  # letterlike symbols
    (0x2190, 0x21FF),  # arrows
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF00, 0xFFEF),  # halfwidth and fullwidth forms
)
EXTRA_CHARS = "°·—…℃"  # degree, middle dot, em dash, ellipsis, degree Celsius

# OpenType layout features kept: enough for Latin and horizontal CJK text.
# Vertical ones ('vert', 'vrt2', 'vkrn', ...) and the glyph-variant features
# ('aalt', 'fwid', 'hwid', ...) are dropped; they only add glyphs.
LAYOUT_FEATURES = ["ccmp", "locl", "kern", "liga", "clig", "calt", "mark", "mkmk", "palt", "halt"]
# The kiosk writes horizontally only: the vertical metrics are dead weight.
DROP_TABLES = ["vhea", "vmtx", "VORG"]
# OpenType language systems kept. The collection's SC face carries 'locl'
# lookups for Japanese, Korean and Traditional Chinese too; kept, they pull in
# those regions' variant of nearly every hanzi (7,564 glyphs and 1 MB a weight
# instead of about 4,300 glyphs and 0.6 MB). A page marked ja/ko/zh-TW simply
# gets the script's default (Simplified Chinese) shapes.
KEEP_LANGUAGES = {"ZHS "}

OFL_HEADER = """\
Expo Sans SC (expo-sans-sc-400.woff2, expo-sans-sc-700.woff2)

These font files are subsets of Noto Sans CJK SC (Regular and Bold), renamed
"Expo Sans SC". They were made by scripts/build_font.py from Debian's
fonts-noto-cjk package and keep only printable Latin, common punctuation and
symbols, the GB2312 level-1 hanzi and the CJK characters the exhibit uses.

Copyright 2014-2021 Adobe (http://www.adobe.com/), with Reserved Font Name 'Source'.
Noto is a trademark of Google Inc.

This Font Software is licensed under the SIL Open Font License, Version 1.1.
This license is copied below (from /usr/share/doc/fonts-noto-cjk/copyright),
and is also available with a FAQ at: https://openfontlicense.org

"""


class BuildError(Exception):
    """A problem the user can fix; reported as one line, exit status 2."""


# The symbols face: every character the app can show (its text sources, and all of dashboard/: Python, the
# browser's JS, the CSS's content strings, the templates) that the CJK subset lacks, drawn by DejaVu Sans.
SHOWN_SOURCES = TEXT_SOURCES + ("dashboard/**/*.py", "dashboard/**/*.js", "dashboard/**/*.css",
                                "dashboard/**/*.html")
SYMBOL_SOURCES = {400: Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                  700: Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")}
DEJAVU_COPYRIGHT = Path("/usr/share/doc/fonts-dejavu-core/copyright")
SYMBOL_FAMILY = "Expo Symbols"  # the Bitstream Vera licence asks a modified font for a name without "Vera"


def shown_chars(repo: Path = REPO) -> str:
    """Every character but whitespace in the files the app's text comes from."""
    found: set[str] = set()
    for pattern in SHOWN_SOURCES:
        for name in sorted(glob.glob(str(repo / pattern), recursive=True)):
            found.update(c for c in Path(name).read_text(encoding="utf-8") if not c.isspace())
    return "".join(sorted(found))


def symbol_chars(out_dir: Path = OUT_DIR, repo: Path = REPO) -> str:
    """What the symbols face must hold: the characters shown that a built CJK face does not map."""
    from fontTools.ttLib import TTFont

    lacking: set[str] = set()
    for weight in WEIGHTS:
        with TTFont(str(out_dir / f"expo-sans-sc-{weight}.woff2")) as font:
            cmap = font.getBestCmap()
            lacking.update(c for c in shown_chars(repo) if ord(c) not in cmap)
    return "".join(sorted(lacking))


def unicode_range(chars: str) -> str:
    return ", ".join(f"U+{ord(c):04X}" for c in sorted(chars))


def build_symbols(out_dir: Path = OUT_DIR) -> str:
    """Write expo-symbols-{400,700}.woff2 and DejaVu-LICENSE.txt; return the faces' CSS unicode-range."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    missing = [str(p) for p in SYMBOL_SOURCES.values() if not p.is_file()]
    if missing:
        raise BuildError(f"DejaVu Sans not found ({', '.join(missing)}): run `apt-get install fonts-dejavu-core`")
    chars = symbol_chars(out_dir)
    for weight, src in SYMBOL_SOURCES.items():
        font = TTFont(str(src), recalcTimestamp=False)
        try:
            absent = "".join(c for c in chars if ord(c) not in font.getBestCmap())
            if absent:
                raise BuildError(f"neither Noto Sans CJK SC nor {src.name} has a glyph for: {absent}")
            options = subset.Options()
            options.flavor = "woff2"
            options.hinting = False
            options.name_IDs = ["*"]
            options.name_languages = [0x409]
            options.notdef_outline = True
            options.recalc_timestamp = False
            options.layout_features = []
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=[ord(c) for c in chars])
            subsetter.subset(font)
            style = WEIGHTS[weight]
            name = font["name"]
            for name_id in (16, 17, 21, 22):
                name.removeNames(nameID=name_id)
            for name_id, value in ((1, SYMBOL_FAMILY), (2, style), (3, f"EXPO;{SYMBOL_FAMILY}-{style}"),
                                   (4, f"{SYMBOL_FAMILY} {style}"), (6, f"ExpoSymbols-{style}")):
                name.removeNames(nameID=name_id)
                name.setName(value, name_id, 3, 1, 0x409)
            out = out_dir / f"expo-symbols-{weight}.woff2"
            subset.save_font(font, str(out), options)
        finally:
            font.close()
        print(f"{out.relative_to(REPO)}: {out.stat().st_size:,} bytes, {len(chars)} characters (from {src.name})")
    if DEJAVU_COPYRIGHT.is_file():
        (out_dir / "DejaVu-LICENSE.txt").write_text(
            "Expo Symbols (expo-symbols-400.woff2, expo-symbols-700.woff2): subsets of DejaVu Sans and DejaVu\n"
            "Sans Bold, renamed, made by scripts/build_font.py from Debian's fonts-dejavu-core package. Its\n"
            "licence, from " + str(DEJAVU_COPYRIGHT) + ":\n\n" + DEJAVU_COPYRIGHT.read_text(encoding="utf-8"),
            encoding="utf-8")
    return unicode_range(chars)


def gb2312_level1() -> str:
    """The 3,755 level-1 hanzi of GB2312: rows 0xB0-0xD7, cells 0xA1-0xFE."""
    chars = []
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.append(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:
                pass  # row 0xD7 ends at 0xF9
    return "".join(chars)


def project_cjk_chars(repo: Path = REPO) -> str:
    """Every character >= U+2E80 in the project's text sources that exist."""
    found: set[str] = set()
    for pattern in TEXT_SOURCES:
        for name in sorted(glob.glob(str(repo / pattern))):
            text = Path(name).read_text(encoding="utf-8")
            found.update(c for c in text if ord(c) >= CJK_START)
    return "".join(sorted(found))


def wanted_codepoints(repo: Path = REPO) -> set[int]:
    cps = {cp for lo, hi in RANGES for cp in range(lo, hi + 1)}
    cps.update(ord(c) for c in EXTRA_CHARS)
    cps.update(ord(c) for c in gb2312_level1())
    cps.update(ord(c) for c in project_cjk_chars(repo))
    return cps


def find_face(path: Path, family: str = SOURCE_FAMILY) -> int:
    """Index of the face named `family` in the font collection at `path`."""
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(path), lazy=True)
    try:
        for index, font in enumerate(collection.fonts):
            if font["name"].getDebugName(1) == family:
                return index
    finally:
        collection.close()
    raise BuildError(f"{path} has no {family!r} face")


def source_fonts(source_dir: Path) -> dict[int, Path]:
    paths = {w: source_dir / f"NotoSansCJK-{style}.ttc" for w, style in WEIGHTS.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise BuildError(
            f"Noto Sans CJK not found ({', '.join(missing)}): "
            "run `apt-get install fonts-noto-cjk` or pass --source-dir"
        )
    return paths


def keep_languages(font, languages: set[str] = KEEP_LANGUAGES) -> None:
    """Drop the GSUB/GPOS language systems not in `languages` (before subsetting,
    so their features become unreferenced and the subsetter prunes them)."""
    for tag in ("GSUB", "GPOS"):
        if tag not in font:
            continue
        for script_record in font[tag].table.ScriptList.ScriptRecord:
            script = script_record.Script
            script.LangSysRecord = [
                r for r in script.LangSysRecord if r.LangSysTag in languages
            ]
            script.LangSysCount = len(script.LangSysRecord)


def rename(font, weight: int) -> None:
    """Give the subset its own family name (OFL: a Modified Version)."""
    style = WEIGHTS[weight]
    ps_name = f"{FAMILY.replace(' ', '')}-{style}"
    full = FAMILY if style == "Regular" else f"{FAMILY} {style}"
    name = font["name"]
    version = name.getDebugName(5) or ""
    number = re.search(r"\d+\.\d+", version)
    unique = f"{number.group(0) if number else '0'};EXPO;{ps_name}"
    for name_id in (16, 17, 21, 22):  # typographic names would repeat "Noto"
        name.removeNames(nameID=name_id)
    for name_id, value in ((1, FAMILY), (2, style), (3, unique), (4, full), (6, ps_name)):
        name.removeNames(nameID=name_id)
        name.setName(value, name_id, 3, 1, 0x409)  # Windows, Unicode BMP, en-US
    cff = font["CFF "].cff
    cff.fontNames = [ps_name]
    top = cff.topDictIndex[0]
    top.FamilyName = FAMILY
    top.FullName = full


def subset_one(src: Path, weight: int, out: Path, codepoints: set[int]) -> tuple[int, int]:
    """Write one woff2; return (size in bytes, glyph count)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = LAYOUT_FEATURES
    options.drop_tables += DROP_TABLES
    options.hinting = False  # browsers hint CFF themselves; saves size
    options.desubroutinize = True  # compresses better under Brotli
    options.name_IDs = ["*"]  # keep copyright, licence, trademark notices
    options.name_languages = [0x409]  # en-US only: drops the Chinese "Noto" names
    options.notdef_outline = True
    options.recalc_timestamp = False
    options.prune_unicode_ranges = True

    font = TTFont(str(src), fontNumber=find_face(src), recalcTimestamp=False)
    try:
        keep_languages(font)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(codepoints))
        subsetter.subset(font)
        rename(font, weight)
        out.parent.mkdir(parents=True, exist_ok=True)
        subset.save_font(font, str(out), options)
        glyphs = font["maxp"].numGlyphs
    finally:
        font.close()
    return out.stat().st_size, glyphs


def ofl_text(copyright_file: Path = DEBIAN_COPYRIGHT) -> str | None:
    """The OFL 1.1 text from Debian's machine-readable copyright file."""
    if not copyright_file.is_file():
        return None
    lines = copyright_file.read_text(encoding="utf-8").splitlines()
    # "License: SIL-1.1" also closes the "Files: *" paragraph; the text is in the
    # stand-alone paragraph, as continuation lines (" ." for a blank line).
    for i, line in enumerate(lines):
        if line.strip() != "License: SIL-1.1":
            continue
        body = []
        for cont in lines[i + 1 :]:
            if not cont.startswith(" "):
                break
            body.append("" if cont.strip() == "." else cont[1:])
        if body:
            return "\n".join(body).rstrip() + "\n"
    return None


def write_license(out_dir: Path) -> str:
    target = out_dir / "OFL.txt"
    text = ofl_text()
    if text is None:
        if target.is_file():
            return f"{target.relative_to(REPO)}: kept (no {DEBIAN_COPYRIGHT} to copy the OFL from)"
        raise BuildError(
            f"cannot write {target}: {DEBIAN_COPYRIGHT} is missing or has no SIL-1.1 text"
        )
    target.write_text(OFL_HEADER + text, encoding="utf-8")
    return f"{target.relative_to(REPO)}: written"


def build(source_dir: Path, out_dir: Path = OUT_DIR) -> None:
    sources = source_fonts(source_dir)
    try:
        import brotli  # noqa: F401  (fontTools needs it for woff2)
        from fontTools import subset  # noqa: F401
    except ImportError as exc:
        raise BuildError(
            f"{exc.name} is not installed: run `pip install 'fonttools[woff]>=4.50'` "
            "(or `pip install -e '.[dev]'`)"
        ) from None

    codepoints = wanted_codepoints()
    print(f"{len(codepoints)} code points requested "
          f"({len(project_cjk_chars())} CJK characters from the project's text)")
    for weight, src in sources.items():
        out = out_dir / f"expo-sans-sc-{weight}.woff2"
        size, glyphs = subset_one(src, weight, out, codepoints)
        print(f"{out.relative_to(REPO)}: {size:,} bytes ({size / 1024 / 1024:.2f} MiB), "
              f"{glyphs} glyphs (from {src.name})")
    missing = _unmapped(out_dir, project_cjk_chars())
    if missing:
        raise BuildError(f"Noto Sans CJK SC has no glyph for: {missing}")
    print(write_license(out_dir))
    print(f"expo.css, the symbols face: unicode-range: {build_symbols(out_dir)};")


def _unmapped(out_dir: Path, chars: str) -> str:
    """Project characters the built fonts do not map (the source font lacks them)."""
    from fontTools.ttLib import TTFont

    missing: set[str] = set()
    for weight in WEIGHTS:
        with TTFont(str(out_dir / f"expo-sans-sc-{weight}.woff2")) as font:
            cmap = font.getBestCmap()
            missing.update(c for c in chars if ord(c) not in cmap)
    return "".join(sorted(missing))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source-dir",
        type=Path,
        default=DEFAULT_SOURCE_DIR,
        help=f"folder holding NotoSansCJK-Regular.ttc and -Bold.ttc (default {DEFAULT_SOURCE_DIR})",
    )
    parser.add_argument("--symbols-only", action="store_true",
                        help="rebuild only the symbols face (from DejaVu Sans), keeping the CJK subset as it is")
    args = parser.parse_args(argv)
    try:
        if args.symbols_only:
            print(f"expo.css, the symbols face: unicode-range: {build_symbols()};")
        else:
            build(args.source_dir)
    except BuildError as exc:
        print(f"build_font: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
