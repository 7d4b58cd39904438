"""The Node-RED baseline: what a user would build instead of us, run on the same burst.

`mqtt in` (QoS 1) -> `json` -> `function` (the InfluxDB point from topic and payload) -> `join` of 1,000 ->
`influxdb batch` (node-red-contrib-influxdb, InfluxDB 1.x). The flow and settings live in bench/node-red/;
each run writes the flow with this run's broker and InfluxDB ports into a temporary user dir, starts Node-RED
on a free loopback port and stops it by its PID.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from burst.watch import Progress, watch_store
from energy_expo.children import stop_process
from testkit.ports import free_port
from testkit.procfs import cpu_s, peak_rss_mb

HERE = Path(__file__).resolve().parents[1] / "node-red"
RED_JS = HERE / "node_modules" / "node-red" / "red.js"
DATABASE = "nodered"


@dataclass
class NodeRedRun:
    progress: Progress
    cpu_s: float
    peak_rss_mb: float
    version: str


def node_binary() -> str | None:
    return shutil.which("node") or ("/usr/bin/node" if Path("/usr/bin/node").exists() else None)


def ensure_installed() -> str | None:
    """None when Node-RED can run; otherwise why not, in one line (the baseline is then skipped)."""
    if not node_binary():
        return "Node.js is not installed"
    if RED_JS.exists() and (HERE / "node_modules" / "node-red-contrib-influxdb").exists():
        return None
    npm = shutil.which("npm")
    if not npm:
        return "npm is not installed"
    command = [npm, "ci" if (HERE / "package-lock.json").exists() else "install", "--no-audit", "--no-fund"]
    print(f"  installing Node-RED into bench/node-red/node_modules (npm {command[1]}, once)", flush=True)
    try:
        done = subprocess.run(command, cwd=HERE, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return "npm did not finish installing Node-RED within 10 minutes"
    if done.returncode != 0 or not RED_JS.exists():
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"npm could not install Node-RED: {last[0]}"
    return None


def version() -> str:
    import json

    return json.loads((HERE / "node_modules" / "node-red" / "package.json").read_text())["version"]


def write_flow(userdir: Path, mqtt_port: int, influx_port: int) -> Path:
    text = (HERE / "flow.json").read_text()
    text = (text.replace("__MQTT_PORT__", str(mqtt_port)).replace("__INFLUX_PORT__", str(influx_port))
            .replace("__DATABASE__", DATABASE))
    userdir.mkdir(parents=True, exist_ok=True)
    flow = userdir / "flows.json"
    flow.write_text(text)
    (userdir / "flows_cred.json").write_text('{"bench-influxdb": {"username": "", "password": ""}}\n')
    return flow


def run(burst, broker, influx, workdir: Path, publish, fields: tuple[str, ...], timeout_s: float,
        stall_s: float) -> NodeRedRun:
    userdir = workdir / "node-red-user"
    flow = write_flow(userdir, broker.port, influx.port)
    log_path = workdir / "node-red.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [node_binary(), str(RED_JS), "--settings", str(HERE / "settings.js"), "--userDir", str(userdir),
             "--port", str(free_port()), str(flow)],
            cwd=userdir, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "Connected to broker" not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace").splitlines()[-5:]
                raise RuntimeError("Node-RED did not connect to the broker: " + " | ".join(tail))
            time.sleep(0.1)
        time.sleep(1.0)  # its subscription follows the connection
        cpu_before = cpu_s(process.pid) or 0.0
        first_wall = time.time()
        publish(broker.port, burst.messages)
        progress = watch_store(influx.port, DATABASE, fields, len(burst.readings), first_wall, timeout_s, stall_s)
        result = NodeRedRun(progress, (cpu_s(process.pid) or 0.0) - cpu_before, peak_rss_mb(process.pid) or 0.0,
                            version())
    finally:
        stop_process(process, timeout_s=15, name="node-red")
    return result
