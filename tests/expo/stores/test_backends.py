"""A store backend is one file: its schemes, its address parsing and its settings come with it, and nothing
else in the project needs an edit. Shown with a backend written into a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from expo.errors import UserError
from expo.store import open_store, parse_store

ROOT = Path(__file__).resolve().parents[3]
MEMTEST = '''
"""An in-memory store: the whole backend."""
from expo.addresses import StoreAddress, split_url
from expo.errors import UserError
from expo.setting import Setting

SCHEMES = ("memtest",)
ADDRESS = "memtest://<box>"
SETTINGS = (Setting("memtest_colour", None, "the colour of the test store"),)


def parse_address(url):
    parts = split_url(url, "store", "memtest://box")
    if not parts.hostname:
        raise UserError(f"store address {url!r} names no box; e.g. memtest://box")
    return StoreAddress("memtest", host=parts.hostname)


class MemStore:
    def __init__(self, address, colour):
        self.address, self.colour, self.batches = address, colour, []

    def write(self, batch):
        self.batches.append(batch)
        return []

    def latest(self, site=None, since_s=None):
        return [r for b in self.batches for r in b.readings]

    def devices(self, site=None):
        return []

    def describe(self):
        return {"server": "memtest", "colour": self.colour}

    def maintain(self, force=False):
        pass

    def close(self):
        pass


def open(address, create=True, memtest_colour=None):
    return MemStore(address, memtest_colour or "grey")
'''
# Puts the folder into expo.stores before anything else is imported, then runs the energy-expo command.
DRIVER = ("import sys, expo.stores; expo.stores.__path__.append(sys.argv.pop(1)); "
          "from energy_expo.cli import main; sys.exit(main(sys.argv[1:]))")


@pytest.fixture
def backend_folder(tmp_path):
    (tmp_path / "memtest.py").write_text(MEMTEST)
    return tmp_path


def test_a_backend_in_its_own_file_opens_with_its_scheme_and_its_own_settings(backend_folder, monkeypatch):
    import expo.stores

    monkeypatch.setattr(expo.stores, "__path__", [*expo.stores.__path__, str(backend_folder)])
    try:
        store = open_store("memtest://box", memtest_colour="blue", influx_token="another backend's")
        assert store.describe() == {"server": "memtest", "colour": "blue"}
        assert parse_store("memtest://box").host == "box"
        with pytest.raises(UserError, match="names no box"):
            parse_store("memtest:///")
        with pytest.raises(UserError, match="memtest://"):  # the known schemes, the new one among them
            parse_store("postgres://host/db")
        with pytest.raises(TypeError, match="memtest_color"):  # a misspelt setting is no silent no-op
            open_store("memtest://box", memtest_color="blue")
    finally:
        sys.modules.pop("expo.stores.memtest", None)


def run(folder: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", DRIVER, str(folder), *args], capture_output=True, text=True,
                          timeout=60, cwd=folder, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_its_setting_is_a_flag_an_environment_variable_and_a_file_key(backend_folder):
    for command in ("check", "ingest", "dashboard", "backfill", "up"):
        shown = run(backend_folder, command, "--help")
        assert shown.returncode == 0, shown.stderr
        assert "--memtest-colour" in shown.stdout, command
    flag = run(backend_folder, "check", "--no-broker", "--store", "memtest://box", "--memtest-colour", "red")
    assert flag.returncode == 0, flag.stdout + flag.stderr
    assert "ok   store memtest://box: server memtest; colour red" in flag.stdout
    env = run(backend_folder, "check", "--no-broker", "--store", "memtest://box", env={"EXPO_MEMTEST_COLOUR": "green"})
    assert "colour green" in env.stdout, env.stdout + env.stderr
    (backend_folder / "energy-expo.toml").write_text('store = "memtest://box"\nmemtest_colour = "blue"\n')
    file = run(backend_folder, "check", "--no-broker")
    assert "colour blue" in file.stdout and "0 devices known" in file.stdout, file.stdout + file.stderr
    bad = run(backend_folder, "check", "--no-broker", "--store", "memtest:///")
    assert bad.returncode == 1 and "FAIL store memtest:///: store address 'memtest:///' names no box" in bad.stdout
