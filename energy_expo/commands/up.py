"""Run the whole exhibit on this machine: broker, simulated town, ingest, store and kiosk, in one command.

With nothing configured, ``energy-expo up`` starts an MQTT broker on
127.0.0.1 (Mosquitto if installed, else the built-in Python broker), the
scenario's simulators (60x real time by default, so a visitor sees a day go
by in 24 minutes; the simulated clock starts a week back and never runs
ahead of the real one), ingest into the embedded SQLite store, and the kiosk
dashboard, then prints its address. Ctrl-C (or SIGTERM) stops them in order —
simulator, then ingest once it has everything, then dashboard and broker —
so nothing published is lost. Run it again and it resumes the simulated
clock where the store's newest reading left off.

Give ``--broker`` to use your own broker, ``--store influxdb://...`` for
InfluxDB, ``--no-simulate`` for real meters only.
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import threading
import time
from pathlib import Path

from expo import config as settings
from energy_expo import demo_pace
from energy_expo.children import Child, child_env, energy_expo_args
from energy_expo.commands.dashboard import check_port_free
from energy_expo.embedded_broker import EmbeddedBroker, free_port, start_broker
from expo.errors import UserError
from expo.reading import format_ts
from expo.store import StoreUnavailable, open_store

NAME = "up"
HELP = "run everything: broker, simulated town, ingest, store and kiosk dashboard (Ctrl-C stops cleanly)"
log = logging.getLogger("expo.up")
RESTART_BACKOFF_S = (1, 2, 5, 10, 30)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_flags(parser, (
        "broker", *settings.MQTT_CREDENTIALS, "store", *settings.STORE_CREDENTIALS, "scenario", "seed",
        "dashboard_host", "dashboard_port",
        "dashboard_password", "demo_speed", "max_readings_per_s", "rotate_s", "language", "timezone"))
    parser.add_argument("--port", dest="dashboard_port", help="same as --dashboard-port")
    parser.add_argument("--host", dest="dashboard_host", help="same as --dashboard-host")
    parser.add_argument("--no-simulate", action="store_true", help="no simulated town: real meters only")
    parser.add_argument("--embedded-broker", choices=["auto", "mosquitto", "amqtt"], default="auto",
                        help="which broker to start when --broker is not given (default: Mosquitto if installed)")
    parser.add_argument("--data-dir", default="energy-expo-data",
                        help="where the broker, ingest and logs keep their files (default ./energy-expo-data)")
    parser.add_argument("--duration", help="stop by itself after this long, e.g. 10m (default: until Ctrl-C)")


class Exhibit:
    """The children of one ``up``, started and stopped in order."""

    def __init__(self, args: argparse.Namespace, cfg):
        self.args, self.cfg = args, cfg
        self.data_dir = Path(args.data_dir)
        self.log_dir = self.data_dir / "logs"
        self.broker: EmbeddedBroker | None = None
        self.children: dict[str, Child] = {}
        self.health_port = free_port()
        # 0 asks for any free port: chosen here, so that the address printed is the one the kiosk serves
        self.dashboard_port = int(cfg.dashboard_port) or free_port()
        self.broker_url = cfg.broker if cfg.origins.get("broker") != "default" else None
        self.mqtt_protocol = "5"
        self.notes: list[str] = []  # said to the user with the address once everything is up

    def _whatif_args(self) -> list[str]:
        """The dashboard's alarms go to up's broker, and the simulated town takes visitors' what-ifs through it."""
        return ["--publish-alarms", "--broker", self.broker_url] + ([] if self.args.no_simulate else ["--whatif"])

    # -- start -------------------------------------------------------------------------------------

    def start(self) -> None:
        cfg = self.cfg
        check_port_free(cfg.dashboard_host, self.dashboard_port)  # before anything starts: fail clearly and early
        self.data_dir.mkdir(parents=True, exist_ok=True)
        resume_s = self._newest_reading_s()
        if self.broker_url is None:
            self.broker = start_broker(self.args.embedded_broker, self.data_dir / "broker", self.log_dir)
            self.broker_url = self.broker.url
            self.mqtt_protocol = self.broker.mqtt_protocol
            log.info("started the %s broker on %s", self.broker.kind, self.broker_url)
        env = child_env()
        for name in (*settings.MQTT_CREDENTIALS, *settings.STORE_CREDENTIALS, "dashboard_password"):
            if getattr(cfg, name):
                env[settings.SETTINGS[name].env] = str(getattr(cfg, name))
        common = ["--log-level", "info"]
        # Every child reads the same file, so its routes, site, limits and CO2 factor reach ingest and the
        # dashboard too; flags below only carry what up itself decided (addresses, ports).
        config = ["--config", str(Path(cfg.file).resolve())] if cfg.file and Path(cfg.file).is_file() else []
        self.children["ingest"] = Child("ingest", energy_expo_args(
            *common, "ingest", *config, "--broker", self.broker_url, "--store", cfg.store, "--mqtt-protocol", self.mqtt_protocol,
            "--state-dir", str((self.data_dir / "ingest").absolute()), "--mqtt-client-id", "energy-expo-up-ingest",
            "--health", f"127.0.0.1:{self.health_port}"), self.log_dir, env)
        self.children["dashboard"] = Child("dashboard", energy_expo_args(
            *common, "dashboard", *config, "--store", cfg.store, "--host", cfg.dashboard_host, "--port",
            str(self.dashboard_port), "--kiosk", "--rotate-s", str(cfg.rotate_s), "--language", cfg.language,
            "--timezone", cfg.timezone, *self._whatif_args()), self.log_dir, env)
        if not self.args.no_simulate:
            pace = self.pace()
            sim = ["simulate", *config, "--broker", self.broker_url, "--scenario", cfg.scenario, "--seed", str(cfg.seed),
                   "--speed", f"{pace.speed:g}", "--step", f"{pace.step_s}s", "--report-every", "60s"]
            if resume_s is not None:
                sim += ["--continue-from", cfg.store]  # the clock, counters and battery carry on
                log.info("resuming the simulated town after the store's newest reading, %s", format_ts(resume_s))
            self.children["simulate"] = Child("simulate", energy_expo_args(*common, *sim), self.log_dir, env)
        self.children["ingest"].start()
        self._wait_ingest_connected()
        self.children["dashboard"].start()
        if "simulate" in self.children:
            self.children["simulate"].start()

    def pace(self) -> demo_pace.Pace:
        """The simulated town's speed and step within ``max_readings_per_s`` (``demo_pace``), said once."""
        from simulators import load as scenarios

        cfg = self.cfg
        if not (cfg.max_readings_per_s > 0 and math.isfinite(cfg.max_readings_per_s)):
            raise UserError(f"max_readings_per_s must be a positive number, got {cfg.max_readings_per_s}")
        meters = scenarios.meter_count(scenarios.load(cfg.scenario), int(cfg.seed))  # a city: all its districts
        pace = demo_pace.choose(meters, cfg.demo_speed, cfg.origins.get("demo_speed") != "default",
                                cfg.max_readings_per_s)
        if pace.note:
            (log.warning if pace.readings_per_s > cfg.max_readings_per_s else log.info)("%s", pace.note)
            self.notes.append(pace.note)
        return pace

    def _newest_reading_s(self) -> float | None:
        try:
            store = open_store(self.cfg.store, **settings.store_options(self.cfg))
        except StoreUnavailable:
            return None
        try:
            newest = max((r.ts_s for r in store.latest()), default=None)
        except StoreUnavailable:
            newest = None
        finally:
            store.close()
        return newest

    def health(self) -> dict | None:
        from ingest.health import read_health

        return read_health(f"127.0.0.1:{self.health_port}")

    def _wait_ingest_connected(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        ingest = self.children["ingest"]
        while time.monotonic() < deadline:
            if not ingest.alive:
                raise UserError(f"ingest stopped at start:\n{ingest.tail(10)}")
            health = self.health()
            if health and health.get("connected") == 1.0:
                return
            time.sleep(0.2)
        raise UserError(f"ingest did not connect to {self.broker_url} within {timeout_s:.0f} s:\n{ingest.tail(10)}")

    # -- run ---------------------------------------------------------------------------------------

    def watch(self, stop: threading.Event, duration_s: float | None) -> None:
        """Until stopped: restart any child that dies, with backoff, and say so."""
        deadline = None if duration_s is None else time.monotonic() + duration_s
        due: dict[str, float] = {}
        while not stop.wait(0.5):
            if deadline is not None and time.monotonic() >= deadline:
                return
            everyone = list(self.children.values()) + ([self.broker.child] if self.broker else [])
            for child in everyone:
                if child.alive or child.name in due:
                    continue
                if child.name == "simulate" and child.process is not None and child.process.returncode == 0:
                    continue  # it finished its --duration
                delay = RESTART_BACKOFF_S[min(child.restarts, len(RESTART_BACKOFF_S) - 1)]
                log.warning("%s stopped (exit %s); restarting in %d s. Its last words:\n%s", child.name,
                            child.process.returncode if child.process else "?", delay, child.tail())
                due[child.name] = time.monotonic() + delay
            for name, when in list(due.items()):
                if time.monotonic() >= when:
                    child = self.children.get(name) or self.broker.child
                    child.restarts += 1
                    child.start()
                    del due[name]

    # -- stop --------------------------------------------------------------------------------------

    def stop(self) -> int:
        """Simulator first (it drains to the broker), then ingest once it has all, dashboard, broker."""
        problems = 0
        simulate = self.children.get("simulate")
        if simulate is not None and simulate.process is not None:
            code = simulate.stop(signal.SIGINT, timeout_s=30)
            if code not in (0, None, -signal.SIGINT, 130):
                log.error("the simulator reported undelivered readings (exit %s):\n%s", code, simulate.tail())
                problems += 1
        ingest = self.children.get("ingest")
        if ingest is not None and ingest.alive:
            self._wait_ingest_caught_up()
            ingest.stop(signal.SIGTERM, timeout_s=60)
        dashboard = self.children.get("dashboard")
        if dashboard is not None:
            dashboard.stop(signal.SIGTERM, timeout_s=15)
        if self.broker is not None:
            self.broker.child.stop(signal.SIGTERM, timeout_s=15)
        return 1 if problems else 0

    def _wait_ingest_caught_up(self, quiet_s: float = 1.5, timeout_s: float = 30.0) -> None:
        """Until ingest has received nothing new for ``quiet_s`` and has nothing waiting."""
        deadline = time.monotonic() + timeout_s
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            health = self.health() or {}
            received = health.get("received")
            if received != last:
                last, since = received, time.monotonic()
            elif time.monotonic() - since >= quiet_s and not health.get("queue_length"):
                return
            time.sleep(0.2)
        log.warning("ingest was still receiving after %.0f s; stopping it anyway (the broker keeps the rest)",
                    timeout_s)


def run(args: argparse.Namespace) -> int:
    from expo.timeutil import parse_duration_s

    cfg = settings.from_args(args)
    if not (cfg.demo_speed > 0 and math.isfinite(cfg.demo_speed)):
        raise UserError(f"demo_speed must be a positive number, got {cfg.demo_speed}")
    duration_s = parse_duration_s(args.duration, "--duration") if args.duration else None
    exhibit = Exhibit(args, cfg)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            exhibit.start()
        except BaseException:
            exhibit.stop()
            raise
        url = f"http://{'127.0.0.1' if cfg.dashboard_host in ('0.0.0.0', '::') else cfg.dashboard_host}:" \
              f"{exhibit.dashboard_port}/"
        print(f"energy-expo is up: open {url} (engineer view {url}status). "
              f"Logs in {exhibit.log_dir}/. Ctrl-C stops everything.", flush=True)
        for note in exhibit.notes:
            print(f"  {note}", flush=True)
        exhibit.watch(stop, duration_s)
        log.info("stopping: simulator, ingest, dashboard, broker")
        return exhibit.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
