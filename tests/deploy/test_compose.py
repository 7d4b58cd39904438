"""docker-compose.yml and the Dockerfile, checked without Docker (none runs on these machines).

Where a Docker engine is present, ``docker compose config`` validates the
file too. Otherwise: the structure the stack's promises rest on — every
long-running service has a healthcheck, start order waits on health, no
secret is written into the repository, ingest runs as one process per set
of sites (never a shared group on the stack's Mosquitto), the profiles, and
every file mounted exists.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ONE_SHOT = {"mqtt-init", "influx-init"}


def env_of(service: str) -> dict:
    env = SERVICES[service].get("environment", {})
    return env if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


def test_every_long_running_service_has_a_healthcheck_or_waits_on_one():
    for name, service in SERVICES.items():
        if name in ONE_SHOT or name == "simulators":
            continue
        assert "healthcheck" in service, f"{name} has no healthcheck"
    for name, service in SERVICES.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            expected = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert rule == {"condition": expected}, f"{name} -> {dependency}: {rule}"
            assert dependency in SERVICES


def test_no_secret_is_in_the_repository():
    for name in SERVICES:
        for key, value in env_of(name).items():
            if re.search(r"PASSWORD|TOKEN|SECRET", key) and not key.endswith("_FILE"):
                assert isinstance(value, str) and value.startswith("${"), f"{name}.{key} holds a literal secret"
                assert ":?" in value or key == "EXPO_DASHBOARD_PASSWORD", f"{name}.{key} should be required"
    example = (ROOT / ".env.example").read_text()
    for line in example.splitlines():
        key, _, value = line.partition("=")
        if re.search(r"PASSWORD|TOKEN", key):
            assert value.split("#")[0].strip() == "", f".env.example fills in {key}"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_ingest_keeps_each_meter_on_one_process_with_its_own_identity():
    """Mosquitto deals a shared group's messages round-robin, which splits a meter's readings between
    processes (docs/deploy.md); more than one ingest service must each take sites of their own."""
    services = [s for n, s in SERVICES.items() if n.startswith("ingest")]
    assert services
    ids = set()
    for service in services:
        command = service["command"]
        assert command[0] == "ingest"
        assert "--shared-group" not in command and "EXPO_SHARED_GROUP" not in service["environment"]
        ids.add(command[command.index("--mqtt-client-id") + 1])
        assert service["environment"]["EXPO_INFLUX_TOKEN_FILE"] == "/secrets/ingest.token"
        if len(services) > 1:
            assert "--sites" in command or "EXPO_SITES" in service["environment"]
    assert len(ids) == len(services)


def test_mosquitto_configuration_is_locked_down():
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and "allow_anonymous true" not in conf
    assert re.search(r"^max_queued_messages (\d+)$", conf, re.M) and \
        int(re.search(r"^max_queued_messages (\d+)$", conf, re.M).group(1)) >= 100_000
    acl = (ROOT / "deploy" / "mosquitto" / "acl").read_text()
    users = re.findall(r"^user (\S+)", acl, re.M)
    assert set(users) == {"simulator", "meters", "ingest", "healthcheck", "dashboard"}
    ingest_rules = acl.split("user ingest")[1].split("user ")[0]
    assert "topic write" not in ingest_rules and "topic readwrite" not in ingest_rules
    dashboard_rules = acl.split("user dashboard")[1].split("user ")[0]  # it sends what-ifs and alarms, reads nothing
    assert re.findall(r"^topic .*$", dashboard_rules, re.M) == ["topic write expo/+/control",
                                                               "topic write expo/+/alarms"]


def test_profiles_demo_and_meters():
    assert SERVICES["simulators"]["profiles"] == ["demo"]
    for name, service in SERVICES.items():
        if name != "simulators":
            assert set(service["profiles"]) == {"demo", "meters"}, name


def test_every_mounted_file_exists_and_the_dockerfile_builds_the_package():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install -r requirements.lock" in dockerfile and "pip install --no-deps ." in dockerfile
    assert "USER expo" in dockerfile
    import tomllib

    shipped = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    for package in (pattern.rstrip("*") for pattern in shipped):  # every package the wheel ships is in the image
        assert f"COPY {package} ./{package}" in dockerfile


def test_the_lock_pins_every_runtime_dependency_within_its_range():
    """The image installs requirements.lock: a dependency added to pyproject.toml and not locked would
    be missing from it (``--no-deps``), and a pin outside its range would be a different program."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements.lock"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement.specifier}"


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _compose_available(), reason="no `docker compose` on this machine")
def test_docker_compose_config_accepts_the_file(tmp_path):
    env = (ROOT / ".env.example").read_text()
    env = re.sub(r"^((?:MQTT|INFLUXDB)_\w*(?:PASSWORD|TOKEN))=.*$", r"\1=test-only-value", env, flags=re.M)
    (tmp_path / ".env").write_text(env)
    result = subprocess.run(["docker", "compose", "--env-file", str(tmp_path / ".env"), "-f",
                             str(ROOT / "docker-compose.yml"), "config", "--quiet"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_ingest_reads_the_shipped_meter_registry_through_a_folder_mount():
    """EXPO_METERS names a file inside a mounted folder (an editor's save replaces the file, which a file mount
    would never show), and the shipped registry is valid: ingest starts with it, empty."""
    from ingest.meter_registry import parse

    for name, service in SERVICES.items():
        if "ingest" not in service.get("command", []):
            continue
        meters = env_of(name)["EXPO_METERS"]
        mounts = {target: source for source, target, *_ in (v.split(":") for v in service["volumes"])}
        folder = str(Path(meters).parent)
        assert folder in mounts and mounts[folder].startswith("./"), f"{name}: mount the folder of {meters}"
        shipped = ROOT / mounts[folder] / Path(meters).name
        assert len(parse(shipped.read_text(encoding="utf-8"), str(shipped), "binhai")) == 0
