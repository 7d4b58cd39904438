"""The store interface: the only thing ingest's writer and the dashboard know about storage.

A backend is one public module in ``expo.stores`` and nothing else: adding
one needs no edit anywhere. It declares

- ``SCHEMES``: the URL schemes of its addresses, e.g. ``("influxdb", "influxdbs")``;
- ``ADDRESS``: the form of its address, for help texts and error messages;
- ``SETTINGS``: its own ``expo.setting.Setting`` entries (credentials, CA file);
  ``expo.config`` gathers them, so each is a flag, an environment variable
  and a file key like any other setting;
- ``parse_address(url) -> StoreAddress``, raising ``UserError`` with an example
  when the address is wrong;
- ``open(address, create, **settings) -> Store``, where ``settings`` are its own
  settings by name and ``create=False`` asks it to open only what exists
  (``energy-expo check`` looks, it never creates).

The caller asks ``open_store(address)`` and never names a backend. Backends
live in the shared package because ingest writes through them and the
dashboard reads through them.

Writes are idempotent: a reading is keyed by (site, device, metric, ts), so a
redelivered message overwrites itself instead of adding a duplicate. How a
write fails:

- ``StoreUnavailable``: not now (unreachable, locked, a full disk, 5xx). The
  writer spools the batch and retries, backing off. ``StoreBusy``, its kind for
  a store that answers too slowly, is retried soon: a loaded store is not down.
- what the store refuses for good (InfluxDB: beyond the retention policy, a
  field-type conflict) is not an exception: ``write`` stores the rest, keeps
  each refused item in its own quarantine with reason ``store_refused`` and
  the server's message, and returns them, so ingest counts them. Retrying
  would never help, and an exception would stall the stream.
- ``StoreError``: anything else a store can say went wrong (a file that is not
  a database, a query the server refuses). It is not a ``UserError``: the
  store does not know about command lines; the CLI prints it as one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Protocol

from expo.addresses import StoreAddress, split_url
from expo.errors import UserError
from expo.metadata import DeviceMeta
from expo.places import BuildingMeta, SiteMeta
from expo.whatif import WhatIfSpan
from expo.plugins import discover
from expo.reading import Reading

ROLLUPS_S = {"1m": 60, "1h": 3600}
REFUSED = "store_refused"  # the quarantine reason of what a store refused for good


class StoreError(Exception):
    """The store failed in a way retrying will not fix; the message says what, in one line."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or refused the write for now; worth retrying later.

    ``retry_after_s`` is the server's own word on when (HTTP ``Retry-After``), if it gave one.
    """

    def __init__(self, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StoreBusy(StoreUnavailable):
    """The store is there but answered too slowly (a timeout): it is loaded, not down.

    The writer treats it as back-pressure: the batch waits in the spool and is tried again within a
    second or so, without the long back-off meant for a store that is gone."""


@dataclass(frozen=True)
class Rejected:
    """A message ingest would not store, kept with its raw bytes so an engineer can see why."""

    received_s: float
    topic: str
    reason: str
    detail: str
    payload: bytes


@dataclass
class Batch:
    readings: list[Reading] = field(default_factory=list)
    metas: list[DeviceMeta] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    health: dict[str, float] = field(default_factory=dict)  # ingest's counters at the time of the batch
    health_from: str = ""  # which ingest process's counters they are (its MQTT client id): replicas stay apart
    states: list["DeviceState"] = field(default_factory=list)  # what meters said of themselves (a last will)
    sites: list[SiteMeta] = field(default_factory=list)  # site descriptions (``expo.places``)
    buildings: list[BuildingMeta] = field(default_factory=list)
    discovered: list["Discovered"] = field(default_factory=list)  # meters that announced themselves
    whatifs: list[WhatIfSpan] = field(default_factory=list)  # spans of visitors' what-ifs (expo.whatif)
    # a survey of the topics no route takes, whole (it replaces the one before; [] found none), None: no survey
    topics: list["TopicSeen"] | None = None

    def __len__(self) -> int:
        return (len(self.readings) + len(self.metas) + len(self.rejected) + len(self.sites) + len(self.buildings)
                + len(self.states) + len(self.discovered) + len(self.whatifs)
                + (len(self.topics) or 1 if self.topics is not None else 0))


@dataclass(frozen=True)
class DeviceState:
    """What a meter said of itself (a last will, Tasmota's LWT, a Shelly's ``online``): online or offline, since
    when. Offline is shown at once, not after the minutes of silence a meter's readings alone would take."""

    site: str
    device: str
    state: str  # "online" | "offline"
    since_s: float


@dataclass(frozen=True)
class Discovered:
    """A meter that announced itself (Tasmota's discovery, a Shelly's announce, online or full status), before
    anyone described it: the engineer view lists it as "discovered, not yet placed" with what it said.

    Keyed by (site, family, key): ``key`` is the family's own hardware id (a Tasmota's MAC, a Shelly's id), as
    announcements arrive in parts (Tasmota's ``config`` names the meter, its ``sensors`` what it measures). An
    empty field says nothing, so a later part never blanks what an earlier one said. ``device`` is the id its
    readings carry (their prefix, for a Shelly of several channels: ``<id>-relay0``)."""

    site: str
    family: str  # the decoder that read it
    key: str
    device: str = ""
    name: str = ""
    model: str = ""
    address: str = ""  # its IP address on the hall's network
    measures: str = ""  # what it says it measures (Tasmota's sensors: "ENERGY", "SML")
    seen_s: float = 0.0


@dataclass(frozen=True)
class TopicSeen:
    """A topic on the broker that no route takes, from ingest's survey: how many messages in ``window_s``, and
    the start of the last one, so an engineer sees what is there before writing its route."""

    topic: str
    messages: int
    window_s: float
    seen_s: float
    sample: bytes = b""


UNNAMED_PROCESS = "ingest"  # the process of counters written without a name (an older ingest, a test's batch)
FORGET_PROCESS_S = 7 * 86400  # an ingest process silent this long is forgotten (a replica removed for good)
INGEST_HEARTBEAT_S = 30.0  # an ingest writes its counters with every batch, and at least this often when idle
INGEST_SILENT_S = 3 * INGEST_HEARTBEAT_S  # three heartbeats missed: the engineer view and check say it is silent


@dataclass(frozen=True)
class ProcessHealth:
    """One ingest process's newest counters and when it wrote them: the engineer view tells a silent one."""

    process: str
    written_s: float
    figures: dict


@dataclass(frozen=True)
class RollupRow:
    site: str
    device: str
    metric: str
    bucket_s: float  # start of the bucket
    count: int
    mean: float
    min: float
    max: float
    last: float  # last value in the bucket: for counters, the basis of energy deltas


def refused_reading(received_s: float, reading: Reading, detail: str) -> Rejected:
    """The quarantine entry of a reading the store refused for good: its native topic and payload."""
    return Rejected(received_s, f"expo/{reading.site}/{reading.device}/reading", REFUSED, detail,
                    reading.to_json().encode())


def refused_meta(received_s: float, meta: DeviceMeta, detail: str) -> Rejected:
    return Rejected(received_s, f"expo/{meta.site}/{meta.device}/meta", REFUSED, detail, meta.to_json().encode())


def is_reading(rejected: Rejected) -> bool:
    """Whether a quarantine entry holds a reading (what ingest counts as not written)."""
    return rejected.topic.endswith("/reading")


class Store(Protocol):
    def write(self, batch: Batch) -> list[Rejected]:
        """Store everything in the batch and update the rollups it touches; return what was refused for good.

        What is returned is already in the store's quarantine (reason ``store_refused``); the caller
        counts it and must not retry it. Raises ``StoreUnavailable`` when nothing could be stored now.
        """

    def latest(self, site: str | None = None, since_s: float | None = None,
               devices: list[str] | None = None) -> list[Reading]:
        """The newest reading of every device (all its metrics at their newest instant).

        ``since_s`` leaves out devices silent since then; the dashboard passes it
        so the query's cost does not grow with the years of history behind it.
        ``devices`` narrows it to those device ids (in every site, or in ``site``):
        a city's totals are one ``site-totals`` device per site, not 20,000 meters.
        """

    def rollups(
        self, resolution: str, start_s: float, end_s: float, metric: str, devices: list[str] | None = None,
        site: str | None = None,
    ) -> list[RollupRow]:
        """Aggregates at ``resolution`` ('1m' or '1h') with bucket start in [start_s, end_s); ``devices``
        and ``site`` narrow it (a device is (site, device): two sites may both have a ``home-01``)."""

    def devices(self, site: str | None = None) -> list[DeviceMeta]:
        """Metadata of every known device."""

    def sites(self) -> list[SiteMeta]:
        """The newest description of every site that published one, by site id."""

    def buildings(self, site: str | None = None) -> list[BuildingMeta]:
        """The newest description of every building, by (site, building)."""

    def rejected(self, limit: int = 100) -> list[Rejected]:
        """The newest quarantined messages, newest first."""

    def health(self) -> dict[str, float]:
        """Ingest's newest counters (written with each batch), for the engineer view; empty if none yet."""

    def states(self, site: str | None = None) -> list[DeviceState]:
        """Each device's newest self-reported state, since it changed to it (a state said again keeps its first
        ``since_s``), of ``site`` or of every site."""

    def discovered(self, site: str | None = None) -> list[Discovered]:
        """Every meter that announced itself, each part merged (an empty field keeps what was said before)."""

    def topics_seen(self) -> list[TopicSeen]:
        """The newest survey of topics that no route takes, most messages first."""

    def whatifs(self, site: str | None = None, since_s: float | None = None) -> list[WhatIfSpan]:
        """Every what-if span (that started at or after ``since_s``), by site and start, each as last said (in
        force, or ended): readings in one were made by a visitor's question, not by the town."""

    def ingest_health(self) -> list[ProcessHealth]:
        """Each ingest process's newest counters and when it wrote them (a process writes them with each batch
        and at least every half minute), by process; a process silent for a week is forgotten."""

    def count_readings(self) -> int:
        """How many (device, metric, instant) values are stored: for tests, checks and the engineer view."""

    def describe(self) -> dict[str, object]:
        """What the store is, for ``energy-expo check``: server and version, where the data lives.

        Raises ``StoreUnavailable`` saying so when the database is not there (yet)."""

    def identity(self) -> str:
        """A random id the store keeps inside itself, made on the first call: a new database (a deleted
        expo.db, a recreated InfluxDB database, another server) has another one. Ingest binds its counter
        memory to it. May raise ``StoreUnavailable``."""

    def maintain(self, force: bool = False) -> None:
        """Catch up on deferred work (rollups of recent writes; keeping metadata inside the retention);
        the writer calls it when idle. May raise ``StoreUnavailable``."""

    def close(self) -> None:
        """Flush (``maintain(force=True)``) and release the connection."""


def backends() -> dict[str, ModuleType]:
    """``{scheme: backend module}`` for every module in ``expo.stores``."""
    found: dict[str, ModuleType] = {}
    for name, module in discover("expo.stores").items():
        schemes = getattr(module, "SCHEMES", None)
        if not schemes or not callable(getattr(module, "open", None)) or not callable(getattr(module, "parse_address", None)):
            raise TypeError(f"store backend expo.stores.{name} must declare SCHEMES, parse_address() and open()")
        for scheme in schemes:
            if scheme in found:
                raise TypeError(f"store backends {found[scheme].__name__} and {module.__name__} both claim {scheme}://")
            found[scheme] = module
    return found


def _address_forms(found: dict[str, ModuleType]) -> str:
    forms = dict.fromkeys(getattr(m, "ADDRESS", f"{s}://...") for s, m in found.items())
    return "; ".join(forms)


def address_help() -> str:
    """The forms of every backend's address, for the ``store`` setting's help."""
    return _address_forms(backends())


def parse_store(url: str) -> StoreAddress:
    """The address parsed by the backend its scheme names; a ``UserError`` with the known forms otherwise."""
    return _backend_of(url, backends()).parse_address(url)


def _backend_of(url: str, found: dict[str, ModuleType]) -> ModuleType:
    parts = split_url(url, "store", "sqlite:///energy-expo-data/expo.db")
    backend = found.get(parts.scheme)
    if backend is None:
        schemes = ", ".join(f"{s}://" for s in sorted(found))
        raise UserError(f"store address {url!r} must start with one of {schemes}; e.g. {_address_forms(found)}")
    return backend


def open_store(url: str, create: bool = True, **options) -> Store:
    """The store at ``url``. ``options`` are store settings by name (``expo.config.store_options``): each
    backend is given its own and ignores the others'. ``create=False``: open only what already exists."""
    found = backends()
    backend = _backend_of(url, found)
    address = backend.parse_address(url)
    known = {s.name for module in found.values() for s in getattr(module, "SETTINGS", ())}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"open_store: {unknown[0]!r} is not a setting of any store backend")
    own = {s.name: options[s.name] for s in getattr(backend, "SETTINGS", ()) if options.get(s.name) is not None}
    return backend.open(address, create=create, **own)
