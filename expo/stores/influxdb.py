"""InfluxDB store, for 1.x, 2.x and 3 Core, through the one API all three answer: v1 ``/write`` and InfluxQL ``/query``.

InfluxDB 1.x serves these natively; 2.x through its v1-compatibility API once
a DBRP mapping points the database name at a bucket (the compose bootstrap
creates it); 3 Core serves both as well. The generation is read from
``/ping`` at connect and decides only how to authenticate (1.x: user and
password; 2.x and 3.x: a token) and whether ``CREATE DATABASE`` is ours to
run. The data model is in docs/data-model.md.

This module puts the parts in ``_influx/`` together: what a write stores,
what it refuses for good and where that goes (the quarantine, reason
``store_refused``), and the upkeep that keeps device metadata inside a finite
retention policy.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Callable
from urllib.parse import unquote

from expo.addresses import StoreAddress, password_of, port_of, split_url, user_of
from expo.errors import UserError
from expo.metadata import DeviceMeta
from expo.places import BuildingMeta, SiteMeta
from expo.reading import Reading, format_ts
from expo.setting import Setting
from expo.whatif import WhatIfSpan
from expo.store import (
    Batch, DeviceState, Discovered, ProcessHealth, Rejected, RollupRow, StoreError, StoreUnavailable, TopicSeen,
    refused_meta, refused_reading,
)
from expo.stores._influx import discovery, last_values, places, reads
from expo.stores._influx.line_protocol import health_line, meta_line, reading_line, rejected_line, state_line
from expo.stores._influx.refusals import write_isolating
from expo.stores._influx.rollups import Rollups
from expo.stores._influx.held import Held
from expo.stores._influx.latest_owed import LatestOwed
from expo.stores._influx.transport import DatabaseNotFound, NotAuthorised, Transport

SCHEMES = ("influxdb", "influxdbs")
ADDRESS = "influxdb://host:port/<bucket or database> (influxdbs:// for TLS)"
SETTINGS = (
    Setting("influx_token", None, "InfluxDB 2.x/3.x API token (prefer the environment variable)"),
    Setting("influx_username", None, "InfluxDB 1.x user name (overrides one in the store address)"),
    Setting("influx_password", None, "InfluxDB 1.x password (prefer the environment variable)"),
    Setting("influx_ca_file", None, "CA certificate file to verify an influxdbs:// server"),
)
DEFAULT_PORT = 8086

# Metadata is written when it arrives; a device whose metadata is older than this is written again at
# "now", so a finite retention policy never ages it out (1.x: a quarter of the policy, if shorter).
META_REFRESH_S = 86_400.0
META_CHECK_S = 3_600.0
META_FIRST_CHECK_S = 600.0
LINES_PER_REQUEST = 20_000  # rollup lines are ~130 bytes: a request stays near 3 MB

log = logging.getLogger("expo.store.influxdb")


def parse_address(url: str) -> StoreAddress:
    parts = split_url(url, "store", "influxdb://127.0.0.1:8086/expo")
    if not parts.hostname:
        raise UserError(f"store address {url!r} has no host; e.g. influxdb://127.0.0.1:8086/expo")
    database = unquote(parts.path.strip("/"))
    if not database or "/" in database:
        raise UserError(f"store address {url!r} must name one bucket or database, e.g. influxdb://host:8086/expo")
    return StoreAddress(parts.scheme, host=parts.hostname, port=port_of(parts, url, DEFAULT_PORT), database=database,
                        username=user_of(parts), password=password_of(parts), tls=parts.scheme == "influxdbs")


def open(address: StoreAddress, create: bool = True, influx_token: str | None = None,  # noqa: A001 (the backend's verb)
         influx_username: str | None = None, influx_password: str | None = None,
         influx_ca_file: str | None = None) -> "InfluxStore":
    return InfluxStore(address, token=influx_token, username=influx_username, password=influx_password,
                       ca_file=influx_ca_file, create=create)


def _ms(epoch_s: float) -> int:
    return round(epoch_s * 1000)


class InfluxStore:
    def __init__(self, address: StoreAddress, token: str | None = None, username: str | None = None,
                 password: str | None = None, ca_file: str | None = None, create: bool = True,
                 clock: Callable[[], float] = time.time):
        self.address = address
        self.database = address.database
        self._http = Transport(address.host, address.port, address.tls, ca_file, token,
                               username or address.username, password or address.password)
        self._create = create
        self._clock = clock  # wall clock: when metadata, counters and quarantine entries are stored
        self._rollups = Rollups(self._query, self._write_derived)
        self._held: Held | None = None  # what the store holds of each device (known to a writer after its first write)
        self._latest_owed = LatestOwed(clock)
        self._has_latest = False  # whether the ``latest`` measurement exists (readers; once true, stays)
        self._wrote = False  # only a process that writes keeps metadata fresh; readers never write
        # The first look at stale metadata waits a while: it groups over every device, and a writer's first
        # minutes (a district coming up, a spool replayed) are its busiest.
        self._next_meta_check_s = clock() + META_FIRST_CHECK_S
        self._meta_refresh_s: float | None = None
        self.version: str | None = None
        self.generation: str | None = None
        try:
            self._connect()
        except StoreUnavailable as exc:  # ingest starts anyway and spools until the server answers
            log.warning("%s; will keep trying", exc)

    def _connect(self) -> None:
        """Learn the server's generation once it answers; on 1.x, make sure the database exists."""
        if self.version is not None:
            return
        version = self._http.ping()
        generation = version.lstrip("v").split(".")[0] if version else "1"
        if generation == "1" and self._create:
            try:
                self._http.query(self.database, f"CREATE DATABASE {reads.quote_identifier(self.database)}", write=True)
            except NotAuthorised as exc:  # a user without admin rights: an admin made the database, or writes say so
                log.info("not creating database %r (%s); using it as it is", self.database, exc)
        self.version, self.generation = version, generation
        log.info("InfluxDB %s at %s, database %r", version or "(version not given)", self._http.where, self.database)

    def _query(self, q: str) -> list[dict]:
        self._connect()
        return self._http.query(self.database, q)

    def _write_points(self, lines: list[str], precision: str) -> list[tuple[int, str]]:
        """Write; ``(index, server's message)`` of each line refused for good (``refusals``)."""
        if not lines:
            return []
        self._connect()

        def write(chunk: list[str]) -> str | None:
            return self._http.write(self.database, chunk, precision)

        refused = []
        for start in range(0, len(lines), LINES_PER_REQUEST):  # a bound on the body (InfluxDB: 25 MB)
            chunk = lines[start:start + LINES_PER_REQUEST]
            try:
                found = write_isolating(write, chunk)
            except DatabaseNotFound:
                if not (self._create and self.generation == "1"):
                    raise
                log.warning("database %r is gone (dropped?); creating it again", self.database)
                self.version = None  # connect again, which creates it; the writes are idempotent, so all go again
                self._connect()
                found = write_isolating(write, chunk)
            refused += [(start + index, message) for index, message in found]
        return refused

    def _write_derived(self, lines: list[str]) -> None:
        """Rollups and refreshed metadata: computed from what is stored, so a refusal is logged, not quarantined."""
        refused = self._write_points(lines, "ms")
        if refused:
            log.warning("InfluxDB refused %d derived points (rollups or metadata): %s", len(refused), refused[0][1])

    # -- writing -----------------------------------------------------------------------------------

    def write(self, batch: Batch) -> list[Rejected]:
        now_s = self._clock()
        held = self._held_by_store()
        newest, since = self._latest_owed.plan(batch.readings, held)
        lines: list[str] = [reading_line(r) for r in batch.readings]
        sources: list[Reading | DeviceMeta | SiteMeta | BuildingMeta | str | None] = list(batch.readings)
        latest = last_values.lines(newest, since, held)
        lines += latest
        sources += ["latest"] * len(latest)
        for m in batch.metas:
            lines.append(meta_line(m, _ms(now_s)))
            sources.append(m)
        for place in (*batch.sites, *batch.buildings):  # a point each: of two of one site, the later is stored
            lines.append(places.place_line(place, _ms(now_s)))
            sources.append(place)
        for x in batch.states:
            lines.append(state_line(x.site, x.device, x.state, _ms(x.since_s)))
            sources.append(None)
        for w in batch.whatifs:
            lines.append(places.whatif_line(w))
            sources.append(None)
        for d in batch.discovered:
            lines.append(discovery.discovered_line(d))
            sources.append(None)
        survey = discovery.topic_lines(batch.topics, now_s)
        lines += survey
        sources += [None] * len(survey)
        if batch.health:
            lines.append(health_line(batch.health, _ms(now_s), batch.health_from))
            sources.append(None)
        refused: list[Rejected] = []
        refused_at: set[int] = set()
        derived: list[str] = []
        for index, message in self._write_points(lines, "ms"):
            source = sources[index]
            if isinstance(source, Reading):
                refused.append(refused_reading(now_s, source, message))
                refused_at.add(index)
            elif isinstance(source, DeviceMeta):
                refused.append(refused_meta(now_s, source, message))
            elif isinstance(source, (SiteMeta, BuildingMeta)):
                refused.append(places.refused_place(now_s, source, message))
            else:  # derived from the rest, and the next batch brings newer ones
                derived.append(message)
        self._latest_owed.wrote(newest)
        if derived:
            log.warning("InfluxDB refused %d of ingest's latest values or counters: %s", len(derived), derived[0])
        self._quarantine(batch.rejected, refused, now_s)
        if batch.readings:
            taken = [r for i, r in enumerate(batch.readings) if i not in refused_at] if refused_at else batch.readings
            self._rollups.stored(taken, held)
            held.extend(taken)
        self._wrote = True
        try:  # the batch is stored: a server gone between two requests only postpones the upkeep
            self._upkeep(busy=True)
        except StoreUnavailable as exc:
            log.warning("rollups postponed: %s", exc)
        return refused

    def _quarantine(self, rejected: list[Rejected], refused: list[Rejected], now_s: float) -> None:
        """Ingest's rejections at their arrival, the store's refusals now. A rejection older than the
        retention (a spool replayed after a long outage) is kept at the time it is stored instead."""
        lines = [rejected_line(q, i) for i, q in enumerate(rejected)]
        lines += [rejected_line(q, len(rejected) + i) for i, q in enumerate(refused)]
        late = []
        for index, message in self._write_points(lines, "ns"):
            if index >= len(rejected):
                log.error("InfluxDB refused to quarantine what it refused: %s", message)
                continue
            q = rejected[index]
            late.append(rejected_line(Rejected(q.received_s, q.topic, q.reason,
                                               f"{q.detail} (arrived {format_ts(q.received_s)})", q.payload),
                                      index, at_s=now_s))
        for _, message in self._write_points(late, "ns"):
            log.error("InfluxDB refused a quarantined message even at the present time: %s", message)

    def maintain(self, force: bool = False) -> None:
        """Rollups of recent writes when due (all of them with ``force``); metadata kept inside the retention.

        Raises only ``StoreUnavailable`` (what is owed stays owed); any other failure of the upkeep is logged,
        since retrying it with every idle moment would only repeat it."""
        self._upkeep(force=force)

    def _upkeep(self, force: bool = False, busy: bool = False) -> None:
        """``busy``: called between two writes of a stream, when the rollups wait unless they are owed long
        (``Rollups.maintain``); the writer's idle moments (``maintain``) are theirs."""
        try:
            if self._held is not None:
                if force or (not busy and self._latest_owed.due):
                    self._write_latest_owed()
                self._rollups.maintain(self._held, force, busy)
            if self._wrote and self._clock() >= self._next_meta_check_s:
                self._refresh_metadata()
        except StoreUnavailable:
            raise
        except StoreError as exc:
            log.error("store upkeep failed: %s", exc)

    def _write_latest_owed(self) -> None:
        owed = self._latest_owed.plan_all()
        if owed:
            self._write_derived(last_values.lines(owed, {}, self._held))
            self._latest_owed.wrote(owed)

    def _refresh_metadata(self) -> None:
        now_s = self._clock()
        self._next_meta_check_s = now_s + 60.0  # if this fails, try again in a minute
        if self._meta_refresh_s is None:
            retention_s = None
            if self.generation == "1":
                try:
                    retention_s = reads.default_retention_s(self._query, self.database)
                except StoreError:  # not ours to see (a user without admin rights): keep the daily refresh
                    pass
            self._meta_refresh_s = min(META_REFRESH_S, retention_s / 4) if retention_s else META_REFRESH_S
        stale = [m for m, stored_s in reads.devices_stored(self._query) if now_s - stored_s >= self._meta_refresh_s]
        if stale:
            self._write_derived([meta_line(m, _ms(now_s)) for m in stale])
            log.info("stored the metadata of %d devices again, so the retention policy keeps it", len(stale))
        described = [*places.sites_stored(self._query), *places.buildings_stored(self._query)]
        stale_places = [m for m, stored_s in described if now_s - stored_s >= self._meta_refresh_s]
        if stale_places:
            self._write_derived([places.place_line(m, _ms(now_s)) for m in stale_places])
            log.info("stored %d site and building descriptions again, so the retention policy keeps them",
                     len(stale_places))
        self._next_meta_check_s = now_s + min(META_CHECK_S, self._meta_refresh_s / 4)

    # -- reading -----------------------------------------------------------------------------------

    def _held_by_store(self) -> Held:
        """What the store holds of each device: read once (at the first write), kept up to date after.

        A store written before the ``latest`` measurement existed has it made from the raw points, once; its
        oldest readings are not known, so every bucket up to the newest counts as possibly held."""
        if self._held is None:
            held = last_values.held(self._query)
            if held.empty:
                from_raw = reads.latest(self._query)
                held = Held({(r.site, r.device): [-math.inf, r.ts_s] for r in from_raw})
                if from_raw:
                    self._write_derived(last_values.lines({(r.site, r.device): (r.ts_s, r.metrics) for r in from_raw},
                                                          {}, held))
            self._held = held
        return self._held

    def latest(self, site: str | None = None, since_s: float | None = None,
               devices: list[str] | None = None) -> list[Reading]:
        """From the ``latest`` measurement ingest keeps; from the raw points while a store has none yet."""
        if not self._has_latest:
            self._has_latest = last_values.exists(self._query)
            if not self._has_latest:
                return reads.latest(self._query, site, since_s, devices)
        return last_values.overlay(last_values.read(self._query, site, since_s, self._clock(), devices),
                                   self._latest_owed.pending(),
                                   site, since_s, devices)

    def rollups(self, resolution, start_s, end_s, metric, devices=None, site=None) -> list[RollupRow]:
        return reads.rollups(self._query, resolution, start_s, end_s, metric, devices, site)

    def devices(self, site: str | None = None) -> list[DeviceMeta]:
        return reads.devices(self._query, site)

    def sites(self) -> list[SiteMeta]:
        return [m for m, _ in places.sites_stored(self._query)]

    def buildings(self, site: str | None = None) -> list[BuildingMeta]:
        return [m for m, _ in places.buildings_stored(self._query, site)]

    def rejected(self, limit: int = 100) -> list[Rejected]:
        return reads.rejected(self._query, limit)

    def health(self) -> dict[str, float]:
        return reads.health(self._query)

    def ingest_health(self) -> list[ProcessHealth]:
        return reads.ingest_health(self._query)

    def states(self, site: str | None = None) -> list[DeviceState]:
        return reads.states(self._query, site)

    def discovered(self, site: str | None = None) -> list[Discovered]:
        return discovery.discovered(self._query, site)

    def topics_seen(self) -> list[TopicSeen]:
        return discovery.topics_seen(self._query)

    def whatifs(self, site: str | None = None, since_s: float | None = None) -> list[WhatIfSpan]:
        return places.whatifs_stored(self._query, site, since_s)

    def identity(self) -> str:
        """A random id kept in the database itself (measurement ``store_identity``): a new or re-created
        database has a new one. Re-written at "now" on every call, so a retention policy cannot age it out."""
        import uuid

        def stored() -> str | None:
            series = self._query('SELECT last("id") FROM "store_identity"')
            return series[0]["values"][0][1] if series and series[0].get("values") else None

        found = stored()
        self._write_derived([f'store_identity id="{found or uuid.uuid4().hex}" {round(self._clock() * 1000)}'])
        return found or stored()  # a new id read back: of two processes making one at once, both see the last

    def count_readings(self) -> int:
        return reads.count_readings(self._query)

    def describe(self) -> dict[str, object]:
        self._connect()
        databases = reads.databases(self._query)
        if self.generation == "1" and self.database not in databases:
            raise StoreUnavailable(f"InfluxDB at {self._http.where} has no database {self.database!r} yet "
                                   "(ingest or up creates it)")
        return {"server": f"InfluxDB {self.version or '(version not given)'} (generation {self.generation})",
                "address": self._http.where, "database": self.database, "databases": ", ".join(databases)}

    def close(self) -> None:
        try:
            self.maintain(force=True)
        except StoreUnavailable as exc:
            log.warning("rollups of the last few seconds not recomputed at close: %s", exc)
        self._http.close()
