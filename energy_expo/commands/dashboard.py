"""Serve the kiosk dashboard: rotating scenes for visitors, /status for engineers.

Reads the same store ingest writes (``--store``, SQLite or InfluxDB). Open
http://HOST:PORT/ for the scenes (``?kiosk=1`` rotates them, ``?lang=en``),
and /status for the engineer view (password: ``EXPO_DASHBOARD_PASSWORD``).
Everything the page needs — scripts, styles, the Chinese font — is served by
the app itself, so the kiosk works with no internet.
"""

from __future__ import annotations

import argparse
import errno
import logging
import socket

from expo import config as settings
from expo.errors import UserError

NAME = "dashboard"
HELP = "serve the kiosk dashboard (scenes at /, engineer view at /status)"
log = logging.getLogger("expo.dashboard")

_FLAGS = ("store", *settings.STORE_CREDENTIALS, "dashboard_host", "dashboard_port", "rotate_s", "rotation", "home_site", "idle_s",
          "language", "timezone", "co2_kg_per_kwh", "broker", *settings.MQTT_CREDENTIALS, "whatif_s")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_flags(parser, _FLAGS + ("kiosk", "alternate_languages", "whatif", "publish_alarms"))
    parser.add_argument("--host", dest="dashboard_host", help="same as --dashboard-host")
    parser.add_argument("--port", dest="dashboard_port", help="same as --dashboard-port")


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port_free(host: str, port: int) -> None:
    """Fail with one clear line before Dash starts, rather than a server traceback, when the port is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UserError(f"cannot listen on {host}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"port {port} on {host} is already in use (another dashboard?); "
                                f"choose another with --port") from None
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def kiosk_settings(cfg):
    """The kiosk's settings from the configuration; a rotation naming no scene is one line naming the known ones."""
    from dashboard import scenes
    from dashboard.app import KioskSettings

    try:
        rotation = scenes.rotation(cfg.rotation)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return KioskSettings(kiosk=cfg.kiosk, rotate_s=cfg.rotate_s, idle_s=cfg.idle_s,
                         alternate_languages=cfg.alternate_languages, language=cfg.language, rotation=rotation)


def model_settings(cfg):
    """The model's settings; a home site that is no site id is one line, before anything starts."""
    from dashboard.model import ModelSettings
    from expo.topics import check_id

    if cfg.home_site is not None:
        try:
            check_id(cfg.home_site, "home_site")
        except ValueError as exc:
            raise UserError(str(exc)) from None
    return ModelSettings(timezone=cfg.timezone, co2_kg_per_kwh=cfg.co2_kg_per_kwh, home_site=cfg.home_site)


def commander(cfg):
    """The dashboard's broker: where what-ifs go (``whatif``) and alarms are published (``publish_alarms``)."""
    from dashboard.control import Commander
    from expo.whatif import MAX_DURATION_S, MIN_DURATION_S

    if not cfg.whatif and not cfg.publish_alarms:
        return Commander(None)
    if not MIN_DURATION_S <= cfg.whatif_s <= MAX_DURATION_S:
        raise UserError(f"whatif_s must be from {MIN_DURATION_S:g} to {MAX_DURATION_S:g} seconds, got {cfg.whatif_s:g}")
    return Commander(settings.broker_address(cfg), "energy-expo-dashboard", cfg.mqtt_ca_file, cfg.whatif_s,
                     offer_whatifs=cfg.whatif)


def run(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from dashboard.app import create_app
    from dashboard.model import ExhibitModel
    from expo.store import open_store

    cfg = settings.from_args(args)
    if cfg.language not in ("zh", "en"):
        raise UserError(f"language must be zh or en, got {cfg.language!r}")
    try:
        ZoneInfo(cfg.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"timezone {cfg.timezone!r} is not a known IANA time zone, e.g. Asia/Shanghai") from None
    for name in ("rotate_s", "idle_s"):
        if getattr(cfg, name) <= 0:
            raise UserError(f"{name} must be positive, got {getattr(cfg, name)}")
    kiosk = kiosk_settings(cfg)
    model_settings(cfg)  # a wrong home site is said before the port is taken
    check_port_free(cfg.dashboard_host, cfg.dashboard_port)
    options = settings.store_options(cfg)
    open_store(cfg.store, **options).close()  # a wrong address fails here, with its message; not in the poller
    model = ExhibitModel(lambda: open_store(cfg.store, **options), model_settings(cfg))
    sender = commander(cfg)
    app = create_app(model, kiosk, cfg.dashboard_password, sender)
    if cfg.publish_alarms:
        model.alarm_sink = sender.publish_alarms
    model.start()
    url = f"http://{cfg.dashboard_host}:{cfg.dashboard_port}/"
    log.info("dashboard on %s (kiosk: %s?kiosk=1, engineer view: %sstatus%s) reading %s", url, url, url,
             ", password protected" if cfg.dashboard_password else "", cfg.store)
    if not cfg.dashboard_password and not _loopback(cfg.dashboard_host):
        log.warning("the engineer view (%sstatus) answers only on this machine: set EXPO_DASHBOARD_PASSWORD to "
                    "open it to the network the kiosk pages are served on", url)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request: a kiosk asks every second
    try:
        app.run(host=cfg.dashboard_host, port=cfg.dashboard_port, debug=False, threaded=True)
    finally:
        model.stop()
    return 0
