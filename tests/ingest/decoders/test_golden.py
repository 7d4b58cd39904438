"""Golden cases: real meters' messages (testdata/<decoder>/<case>/) and what each must decode to.

A case folder holds ``topic`` (one line), ``payload`` (the exact bytes),
optional ``options.json`` (the route's options) and ``expected.json``: either
``{"error": "<reason>"}`` or ``{"readings": [...], "metas": [...], "status": {...}}``
and, for an announcement, ``"discovered": [...]``, where a meta or an announcement lists only the fields
the case is about. Adding a case is adding
a folder; no code changes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from expo.errors import Refused
from ingest.decoders import DecodeContext, registry

TESTDATA = Path(__file__).parent / "testdata"
SITE = "binhai"
RECEIVED_S = 1795579200.0  # 2026-11-25T04:00:00Z
CASES = sorted(p for p in TESTDATA.glob("*/*") if p.is_dir())


def _decode(folder: Path):
    decoder = registry()[folder.parent.name]
    topic = (folder / "topic").read_text().strip("\n")
    options_file = folder / "options.json"
    options = json.loads(options_file.read_text()) if options_file.exists() else {}
    return decoder.decode(topic, (folder / "payload").read_bytes(), DecodeContext(SITE, RECEIVED_S, options))


@pytest.mark.parametrize("folder", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_decodes_as_expected(folder: Path):
    expected = json.loads((folder / "expected.json").read_text())
    if "error" in expected:
        with pytest.raises(Refused) as caught:
            _decode(folder)
        assert caught.value.reason == expected["error"], caught.value.detail
        return
    decoded = _decode(folder)

    readings = sorted(decoded.readings, key=lambda r: (r.device, r.ts_s))
    wanted = sorted(expected["readings"], key=lambda r: (r["device"], r["ts_s"]))
    assert [(r.site, r.device) for r in readings] == [(w["site"], w["device"]) for w in wanted]
    for reading, want in zip(readings, wanted):
        assert reading.ts_s == pytest.approx(want["ts_s"], abs=1e-6), reading.device
        assert reading.metrics == pytest.approx(want["metrics"], rel=1e-12), reading.device
        assert reading.seq == want.get("seq")

    metas = sorted(decoded.metas, key=lambda m: m.device)
    wanted_metas = sorted(expected["metas"], key=lambda m: m["device"])
    assert [m.device for m in metas] == [w["device"] for w in wanted_metas]
    for meta, want in zip(metas, wanted_metas):
        assert {key: getattr(meta, key) for key in want} == want

    assert decoded.status == expected["status"]
    found = sorted(decoded.discovered, key=lambda d: d.key)
    wanted_found = sorted(expected.get("discovered", []), key=lambda d: d["key"])
    assert [{key: getattr(d, key) for key in want} for d, want in zip(found, wanted_found)] == wanted_found
    assert len(found) == len(wanted_found)


def test_every_decoder_has_accepted_and_rejected_cases():
    for name in registry():
        folders = [p for p in CASES if p.parent.name == name]
        errors = [p for p in folders if "error" in json.loads((p / "expected.json").read_text())]
        assert len(folders) >= 3, f"{name}: at least 3 golden cases"
        assert errors, f"{name}: at least one rejected case"
        assert len(errors) < len(folders), f"{name}: at least one accepted case"


def test_every_case_folder_is_complete_and_names_a_decoder():
    for folder in CASES:
        assert folder.parent.name in registry(), folder
        for part in ("topic", "payload", "expected.json"):
            assert (folder / part).is_file(), f"{folder} lacks {part}"


def test_docs_list_every_decoder_with_its_default_routes():
    """docs/meters.md is where an engineer looks first; a decoder missing there does not exist for them."""
    text = (Path(__file__).resolve().parents[3] / "docs" / "meters.md").read_text()
    for name, module in registry().items():
        row = next((line for line in text.splitlines() if f"| `{name}` |" in line), None)
        assert row, f"docs/meters.md has no table row for decoder {name}"
        for topic in module.DEFAULT_TOPICS:
            assert f"`{topic}`" in row, f"docs/meters.md: {name} row lacks default route {topic}"
