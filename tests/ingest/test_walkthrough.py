"""docs/meters.md's walk-through, followed step by step: its commands and files are taken from the page itself.

Two meters that are not here (a Shelly Plus Plug S, a Tasmota SML reader) speak through the page's own
``mosquitto_pub`` lines to a real Mosquitto; a real ingest takes them into a store that holds the default town;
the engineer view lists them as discovered, the page's ``meters.toml`` places them, ``check`` says so in the
page's words, and the town plan shows them under feeder 3 with their Chinese names.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from expo import config as settings
from expo.store import Batch, open_store
from ingest.service import IngestService
from simulators import scenario as scenarios
from simulators.site import build_site
from tests.cli import energy_expo

DOC = Path(__file__).resolve().parents[2] / "docs" / "meters.md"
PLUG, SML = "shellyplusplugs-e8db84d0c2a4-switch0", "bakery-meter-sml"


def walkthrough() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Walk-through:")
    return text[start:text.index("\n## ", start + 1)]


def blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def publish_lines(section: str, port: int) -> list[list[str]]:
    """The page's mosquitto_pub lines, sent to the test's broker: its host and port, no user (the test broker
    takes anyone), everything else (topics, payloads, QoS, retain) as written."""
    commands = []
    for line in blocks(section, "sh")[0].strip().splitlines():
        args = shlex.split(line)
        assert args[0] == "mosquitto_pub"
        kept, skip = [], False
        for arg in args[1:]:
            if skip:
                skip = False
            elif arg in ("-h", "-u", "-P"):
                skip = True
            else:
                kept.append(arg)
        commands.append(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), *kept])
    return commands


def test_the_walkthrough_puts_both_meters_on_the_town_plan_under_feeder_3(mosquitto, tmp_path):
    from dashboard.app import KioskSettings, create_app
    from dashboard.model import ExhibitModel, ModelSettings
    from dashboard.scenes import city

    section = walkthrough()
    url = f"sqlite:///{tmp_path / 'expo.db'}"
    town = build_site(scenarios.load("tianjin-demo"), 1)
    store = open_store(url)
    store.write(Batch(metas=list(town.metas.values()) if isinstance(town.metas, dict) else list(town.metas)))
    store.close()
    config = tmp_path / "energy-expo.toml"
    config.write_text(f'broker = "{mosquitto.url}"\nstore = "{url}"\nstate_dir = "{tmp_path / "state"}"\n'
                      'mqtt_client_id = "walkthrough"\n', encoding="utf-8")

    def ingest():
        service = IngestService(settings.load({}, environ={}, path=config))
        service.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not service.subscriber.connected.is_set():
            time.sleep(0.05)
        return service

    def send():
        for command in publish_lines(section, mosquitto.port):
            subprocess.run(command, check=True, timeout=10, capture_output=True)

    def engineer_view():
        model = ExhibitModel(lambda: open_store(url), ModelSettings())
        model.poll()
        return model, create_app(model, KioskSettings()).server.test_client().get("/status.json").get_json()

    def until(done, what, timeout_s=15):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not done():
            time.sleep(0.2)
        assert done(), what

    # 1-2: plugged in, nothing configured: both announced, their readings stored, nothing placed
    service = ingest()
    try:
        send()
        until(lambda: {d["device"] for d in engineer_view()[1]["discovered"]} == {
            "shellyplusplugs-e8db84d0c2a4", "bakery-meter"}, "both meters discovered")
        until(lambda: {PLUG, SML} <= {d["device"] for d in engineer_view()[1]["devices"]}, "their readings stored")
        listed = {d["device"]: d for d in engineer_view()[1]["discovered"]}
        assert not any(d["placed"] for d in listed.values())
        # the ids to put in the registry, as step 2 says: the plug's relay, the SML meter
        assert listed["shellyplusplugs-e8db84d0c2a4"]["readings_as"] == [PLUG]
        assert listed["bakery-meter"]["readings_as"] == [SML]
        assert f"`{PLUG.rsplit('-', 1)[0]}`" in section and "`bakery-meter-sml`" in section
    finally:
        service.stop()

    # 3: the page's registry beside the page's setting; the page's check says the page's words
    (registry,) = [b for b in blocks(section, "toml") if b.startswith("# meters.toml")]
    (tmp_path / "meters.toml").write_text(registry, encoding="utf-8")
    (setting,) = [b for b in blocks(section, "toml") if b.startswith("meters =")]
    config.write_text(config.read_text(encoding="utf-8") + setting, encoding="utf-8")
    check_line = re.search(r"check --meters (\S+) --no-broker --no-store", section)
    checked = energy_expo("check", "--meters", check_line.group(1), "--no-broker", "--no-store", cwd=tmp_path)
    promised = re.search(r"It answers `(ok +meter registry[^`]*)`", section).group(1)
    assert checked.returncode == 0 and promised in checked.stdout, checked.stdout
    service = ingest()  # restarted once, for the new setting
    try:
        send()  # the meters go on speaking
        until(lambda: all(d["placed"] for d in engineer_view()[1]["discovered"]), "both placed")
    finally:
        service.stop()

    # 4: the engineer view and the town plan
    said = {m["id"]: m for m in tomllib.loads(registry)["meter"]}
    assert set(said) == {PLUG, SML}
    model, data = engineer_view()
    devices = {d["device"]: d for d in data["devices"]}
    shown = {d.device: d for d in model.snapshot.devices}
    plan = city.make_figure(model.snapshot, "zh").data[0]
    marks = {(x, y): text for x, y, text in zip(plan.x, plan.y, plan.text)}
    feeder = shown["feeder-03"]
    for device, meter in said.items():
        assert devices[device]["state"] == "live" and devices[device]["name_zh"] == meter["name"]["zh"]
        assert not meter["name"]["zh"].isascii()  # a Chinese name, as the page promises
        assert shown[device].parent == meter["parent"] == "feeder-03"
        where = (meter["position"]["x_m"], meter["position"]["y_m"])
        assert meter["name"]["zh"] in marks[where]  # on the plan, where the page put it
        assert abs(where[0] - feeder.x_m) < 150 and abs(where[1] - feeder.y_m) < 150  # by feeder 3, not across town


@pytest.fixture(autouse=True)
def _clear_retained(mosquitto):
    """The page's retained messages (a will, a discovery) leave the broker as they found it."""
    yield
    for topic in ("shellyplusplugs-e8db84d0c2a4/online", "tasmota/discovery/A4CF12B3C4D5/config"):
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(mosquitto.port), "-r", "-n", "-t", topic],
                       check=False, timeout=10, capture_output=True)
