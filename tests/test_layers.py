"""The house's floors hold: the import contract in pyproject.toml, and commands that start light."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("testkit", "energy_expo", "simulators", "ingest", "dashboard", "physics", "expo")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=tree,
                          capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin"})


def test_every_import_runs_down_the_layers():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The check is real: the contract reaching up to the application, or one service into another, fails it."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "assets"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    kinds = tmp_path / "expo" / "kinds.py"
    kinds.write_text(kinds.read_text() + "\nfrom energy_expo import cli  # noqa\n")
    writer = tmp_path / "ingest" / "writer.py"
    writer.write_text(writer.read_text() + "\nimport dashboard.i18n  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "expo.kinds -> energy_expo.cli" in result.stdout
    assert "ingest.writer -> dashboard.i18n" in result.stdout


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_help_and_check_start_without_numpy_the_services_or_dash(tmp_path):
    heavy = {"numpy", "dash", "plotly", "simulators.engine", "ingest.service", "dashboard.app", "physics"}
    loaded = _modules_after("from energy_expo.cli import build_parser; build_parser().format_help()")
    assert not heavy & loaded, heavy & loaded
    loaded = _modules_after(
        "from energy_expo.cli import main\n"
        f"assert main(['check', '--no-broker', '--store', 'sqlite:///{tmp_path}/none.db']) == 1")
    assert "energy_expo.commands.check" in loaded
    assert not heavy & loaded, heavy & loaded


def _imported_top_level_names(packages) -> set[str]:
    import ast

    names = set()
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
    return names


def test_every_runtime_dependency_is_imported_by_the_product():
    """A dependency declared and never imported is dead weight every install pays for."""
    import re
    import tomllib
    from importlib.metadata import packages_distributions

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    distributions = {re.split(r"[<>=!~ \[;]", spec, 1)[0].lower().replace("_", "-") for spec in declared}
    imported = _imported_top_level_names(PACKAGES)
    providers = {dist.lower().replace("_", "-") for name, dists in packages_distributions().items()
                 if name in imported for dist in dists}
    assert distributions <= providers, f"declared but never imported: {sorted(distributions - providers)}"
