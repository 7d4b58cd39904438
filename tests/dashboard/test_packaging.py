"""What the dashboard serves from files (CSS, browser JS, the font, the engineer view's template) is in the
installed package too, not only in a checkout: ``pip install .`` and the image get no Python-only dashboard."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_file_the_dashboard_serves_is_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["dashboard"]
    package = ROOT / "dashboard"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    served = {path for folder in ("assets", "templates") for path in (package / folder).rglob("*")
              if path.is_file() and "__pycache__" not in path.parts}
    assert served and sorted(str(p.relative_to(package)) for p in served - shipped) == []
