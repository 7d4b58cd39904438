"""Configuration: one table of settings, read from flags, environment and a TOML file, in that order.

A setting has one name in three spellings: ``mqtt_username`` in the file,
``--mqtt-username`` on the command line, ``EXPO_MQTT_USERNAME`` in the
environment. The file is ``--config PATH``, else ``$EXPO_CONFIG``, else
``./energy-expo.toml`` when it exists.

The table is this module's settings plus those every store backend declares
(``SETTINGS`` in ``expo/stores/<name>.py``), gathered when this module is
imported and placed after ``store``: a backend's credentials become flags,
environment variables and file keys with no edit here.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

from expo.addresses import BrokerAddress, parse_broker
from expo.errors import UserError
from expo.setting import Setting
from expo.store import address_help, backends
from expo.topics import is_valid_id

DEFAULT_FILE = "energy-expo.toml"

_OWN = (
        Setting("broker", "mqtt://127.0.0.1:1883", "MQTT broker, mqtt://[user:pass@]host:port or mqtts:// for TLS"),
        Setting("mqtt_username", None, "MQTT user name (overrides one given in the broker address)"),
        Setting("mqtt_password", None, "MQTT password; prefer the environment variable to a flag"),
        Setting("mqtt_ca_file", None, "CA certificate file to verify the broker's TLS certificate"),
        Setting("mqtt_client_id", None, "MQTT client id; a stable one keeps a persistent session"),
        Setting("scenario", "tianjin-demo", "simulation scenario: a bundled name or a path to a .toml file"),
        Setting("seed", 1, "random seed; the same seed gives the same readings", int),
        Setting("publish_queue", 100_000, "readings the simulator holds while the broker is away", int),
        Setting("store", "sqlite:///energy-expo-data/expo.db", "store: " + address_help()),
        Setting("site", "binhai", "the site that meters without one of their own belong to"),
        Setting("sites", None, "ingest: take only these sites' native topics (comma-separated; one process per set "
                "keeps each device's messages in one process, in order); the meter families' topics, which carry no "
                "site, only with default_routes = true, in exactly one process; readings of other sites are "
                "quarantined (other_site)", list),
        Setting("meters", None, "ingest: the meter registry, a TOML file of [[meter]] tables saying each real meter's "
                "kind, names, site, building, parent, place and rating (docs/meters.md); re-read when it changes"),
        Setting("survey_every_s", 600.0, "ingest: how often a survey lists the broker's topics that no route takes, "
                "for the engineer view (a window of up to a minute or 20,000 messages on #, QoS 0); 0 for none", float),
        Setting("state_dir", "$XDG_STATE_HOME/energy-expo/ingest", "ingest's own directory (made absolute at start; "
                "a folder in it per MQTT client id): the counter memory and the spool"),
        Setting("spool_max_mb", 512, "largest the spool may grow while the store is away, in MiB", int),
        Setting("store_retry_max_s", 30.0, "longest wait between two tries of a store that is down, in seconds "
                "(the waits double from 0.5 s up to this, with jitter)", float),
        Setting("mqtt_protocol", "5", "MQTT protocol version of ingest: 5 or 3.1.1"),
        Setting("shared_group", None, "MQTT 5 shared-subscription group, so several ingest processes split one "
                "stream; every reading is stored once, but a broker that hands out messages round-robin (Mosquitto) "
                "splits a device's messages between processes, which breaks derived energy, continued counters and "
                "rollups: use sites there, a shared group only with a broker that hashes by client id or topic"),
        Setting("session_expiry_s", 86_400, "how long the broker keeps ingest's session (and its messages) while "
                "ingest is away, in seconds (MQTT 5)", int),
        Setting("max_payload_bytes", 65_536, "larger messages are quarantined, not parsed", int),
        Setting("max_future_s", 300, "readings further in the future than this are quarantined", int),
        Setting("max_new_devices_per_minute", 1000, "cap on new device ids a minute (cardinality flood guard)", int),
        Setting("batch_size", 2000, "most readings written in one batch", int),
        Setting("flush_interval_ms", 200, "longest a reading waits for its batch to be written, in ms", int),
        Setting("health", None, "address for ingest's health endpoint, e.g. 127.0.0.1:9108 (off when unset)"),
        Setting("dashboard_host", "127.0.0.1", "address the dashboard listens on (0.0.0.0 to serve other machines)"),
        Setting("dashboard_port", 8050, "port the dashboard listens on", int),
        Setting("dashboard_password", None, "password of the engineer view /status (open when unset); the kiosk "
                "scenes stay open", str),
        Setting("whatif", False, "dashboard: offer what-if buttons on the town and building scenes of a touch screen, "
                "sent to the simulator over the broker setting's broker (expo/<site>/control; docs/dashboard.md)",
                bool),
        Setting("whatif_s", 60.0, "dashboard: how long a visitor's what-if lasts before the town returns to normal "
                "by itself, in seconds (10-600)", float),
        Setting("publish_alarms", False, "dashboard: publish the engineer view's alarms, retained, on "
                "expo/<site>/alarms of the broker setting's broker, for other systems to pick up", bool),
        Setting("kiosk", False, "rotate the scenes (also ?kiosk=1 in the page address)", bool),
        Setting("rotate_s", 20.0, "seconds each scene shows in kiosk mode", float),
        Setting("rotation", None, "kiosk: the scenes in rotation order, comma-separated scene ids (e.g. "
                "zeb,city,bigdata); unset: the story, building, town, city and back through the town's details"),
        Setting("home_site", None, "dashboard: the site the town scenes show (unset: the zero-energy building's "
                "site, else the only one)"),
        Setting("idle_s", 60.0, "seconds after a visitor's last touch before rotation resumes", float),
        Setting("alternate_languages", False, "kiosk: switch between Chinese and English at every rotation", bool),
        Setting("language", "zh", "language a page opens in: zh or en"),
        Setting("timezone", "Asia/Shanghai", "the exhibit hall's time zone (IANA name): clock, today, peaks"),
        Setting("demo_speed", 60.0, "energy-expo up: simulated seconds per real second (1 for real time)", float),
        Setting("max_readings_per_s", 2000.0, "energy-expo up: most readings a second its simulated town makes; "
                "above it the step lengthens (to a minute), then the default demo speed is lowered", float),
        Setting("co2_kg_per_kwh", 0.5703, "grid emission factor for CO2 avoided, kg per kWh (China grid average, "
                "MEE 2023)", float),
)


def _gather() -> tuple[dict[str, Setting], tuple[str, ...]]:
    """This module's settings with every store backend's own after ``store``; a name declared twice is a bug."""
    store_settings: list[Setting] = []
    for module in dict.fromkeys(backends().values()):
        store_settings.extend(getattr(module, "SETTINGS", ()))
    table: dict[str, Setting] = {}
    for setting in _OWN:
        for s in [setting, *(store_settings if setting.name == "store" else ())]:
            if s.name in table:
                raise TypeError(f"setting {s.name!r} is declared twice (a store backend's clashes with another)")
            table[s.name] = s
    return table, tuple(s.name for s in store_settings)


SETTINGS, STORE_CREDENTIALS = _gather()
# The groups every command that talks to the broker or opens a store takes, written once.
MQTT_CREDENTIALS = ("mqtt_username", "mqtt_password", "mqtt_ca_file")
FILE_ONLY = {
    "routes": "extra [[routes]] tables: topic filter, decoder and the decoder's options (docs/meters.md)",
    "default_routes": "false to subscribe only to the configured routes, not each decoder's usual topics; with "
                      "sites, true to take the meter families' usual topics as well (in one process only)",
}


class Config:
    """Resolved settings; ``config.broker`` etc. Unknown keys in a file are an error, not a silent no-op."""

    def __init__(self, values: Mapping[str, Any], origins: Mapping[str, str], file_values: Mapping[str, Any] = {}):
        self._values = dict(values)
        self.origins = dict(origins)
        self.routes: list[dict] = list(file_values.get("routes", []))
        # None: not said, so it follows ``sites`` (ingest.routes): all defaults without, only those sites with.
        self.default_routes: bool | None = file_values.get("default_routes")
        self.file = origins.get("_file")

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


def load(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    path: str | os.PathLike | None = None,
) -> Config:
    flags = flags or {}
    environ = os.environ if environ is None else environ
    file_values, file_name = _read_file(path, environ)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for setting in SETTINGS.values():
        for origin, source, key in (
            ("flag " + setting.flag, flags, setting.name),
            ("environment " + setting.env, environ, setting.env),
            ("environment " + setting.env + "_FILE", _FileValues(environ), setting.env + "_FILE"),
            (f"file {file_name}", file_values, setting.name),
        ):
            value = source.get(key)
            if value is not None:
                values[setting.name] = _coerce(setting, value, origin)
                origins[setting.name] = origin
                break
        else:
            values[setting.name] = setting.default
            origins[setting.name] = "default"
    origins["_file"] = file_name
    return Config(values, origins, file_values)


class _FileValues:
    """``EXPO_NAME_FILE=/path``: the setting's value is that file's content (Docker and Kubernetes secrets)."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ

    def get(self, key: str):
        path = self.environ.get(key)
        if not path:
            return None
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UserError(f"{key}={path}: cannot read it: {exc.strerror}") from None


def _read_file(path, environ) -> tuple[dict, str]:
    explicit = path or environ.get("EXPO_CONFIG")
    candidate = Path(explicit) if explicit else Path(DEFAULT_FILE)
    if not candidate.exists():
        if explicit:
            raise UserError(f"config file {candidate} does not exist")
        return {}, str(candidate)
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"config file {candidate}: {exc}") from None
    except OSError as exc:
        raise UserError(f"config file {candidate}: {exc.strerror}") from None
    unknown = sorted(set(data) - set(SETTINGS) - set(FILE_ONLY))
    if unknown:
        known = ", ".join([*SETTINGS, *FILE_ONLY])
        raise UserError(f"config file {candidate}: unknown setting {unknown[0]!r}; known: {known}")
    if not isinstance(data.get("routes", []), list) or not all(isinstance(r, dict) for r in data.get("routes", [])):
        raise UserError(f"config file {candidate}: routes must be [[routes]] tables")
    if not isinstance(data.get("default_routes", True), bool):
        raise UserError(f"config file {candidate}: default_routes must be true or false")
    return data, str(candidate)


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _coerce(setting: Setting, value: Any, origin: str) -> Any:
    if setting.type is list:
        return _ids(setting, value, origin)
    if setting.type is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise UserError(f"{setting.name} from {origin} must be true or false, got {value!r}")
    if setting.type is float:
        if isinstance(value, bool):
            raise UserError(f"{setting.name} from {origin} must be a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UserError(f"{setting.name} from {origin} must be a number, got {value!r}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise UserError(f"{setting.name} from {origin} must be a finite number, got {value!r}")
        return number
    if setting.type is int:
        if isinstance(value, bool):
            raise UserError(f"{setting.name} from {origin} must be an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise UserError(f"{setting.name} from {origin} must be an integer, got {value!r}") from None
    if not isinstance(value, str):
        raise UserError(f"{setting.name} from {origin} must be text, got {value!r}")
    return value


def _ids(setting: Setting, value: Any, origin: str) -> tuple[str, ...]:
    """A list of ids: a TOML array, or comma-separated text (a flag, an environment variable).

    Checked as topic ids here, so a typo ("Port", "eco city") stops the start in one line instead of
    subscribing to a site no meter publishes on."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise UserError(f"{setting.name} from {origin} must be a list of ids, got {value!r}")
    ids = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    bad = next((i for i in ids if not is_valid_id(i)), None)
    if not ids or bad is not None:
        raise UserError(f"{setting.name} from {origin}: {bad or value!r} is not a site id (1-64 of a-z, 0-9, '-', "
                        "'_'); give one or more, e.g. eco-city,port")
    return ids


def add_flags(parser, names) -> None:
    """``--config`` and a flag per named setting, each with its help and default: one spelling everywhere."""
    parser.add_argument("--config", help="TOML settings file (default: $EXPO_CONFIG or ./energy-expo.toml)")
    for name in names:
        setting = SETTINGS[name]
        if setting.type is bool:
            parser.add_argument(setting.flag, dest=name, action="store_const", const=True, help=setting.help)
        else:
            parser.add_argument(setting.flag, dest=name, help=f"{setting.help} (default: {setting.default})")


def from_args(args) -> Config:
    """The settings for a command: its flags, then the environment, then the file, then the defaults."""
    return load({name: getattr(args, name, None) for name in SETTINGS}, path=getattr(args, "config", None))


def broker_address(cfg: Config) -> BrokerAddress:
    """The broker to use: the ``broker`` URL, with user name and password settings taking precedence."""
    broker = parse_broker(cfg.broker)
    return replace(
        broker, username=cfg.mqtt_username or broker.username, password=cfg.mqtt_password or broker.password
    )


def store_options(cfg: Config) -> dict:
    """Every store backend's settings by name, for ``open_store``, which gives each backend its own."""
    return {name: getattr(cfg, name) for name in STORE_CREDENTIALS}
