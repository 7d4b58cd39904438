"""Docs are part of the product: what they list must match what the code has."""

from pathlib import Path

from expo.config import SETTINGS
from expo.kinds import KINDS

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_documented_with_all_three_spellings():
    text = (DOCS / "configuration.md").read_text()
    for setting in SETTINGS.values():
        row = f"| `{setting.name}` | `{setting.flag}` | `{setting.env}` |"
        assert row in text, f"docs/configuration.md lacks {setting.name}"


def test_every_device_kind_is_in_the_contract_with_its_metrics():
    text = (DOCS / "telemetry.md").read_text()
    for kind in KINDS.values():
        line = next((l for l in text.splitlines() if l.startswith(f"| `{kind.name}` |")), None)
        assert line, f"docs/telemetry.md lacks kind {kind.name}"
        for metric in kind.metrics:
            assert f"`{metric}`" in line, f"{kind.name}: {metric} undocumented"
        assert kind.label_en in line and kind.label_zh in line
