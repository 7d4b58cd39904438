"""The ingest service: the parts put together, and the one thread that batches, delivers and acknowledges.

Lifecycle: construct (validate the settings, touch nothing), ``start()``
(open the state folder, the store and its spool, bind the counter memory to
the store, then start the writer thread, the health endpoint and the MQTT
session), ``stop()`` (stop taking messages, write and acknowledge what was
taken, save the state, disconnect, close).

Two threads: the collector takes messages from the subscriber's queue and
turns them into a batch (``Processor``); the writer hands each batch to the
``Writer`` (store, else spool) and only then acknowledges its messages to the
broker. While one batch is being written the next is collected, so the
store's time to answer is not lost to decoding; at most two batches are in
hand, and a store slower than the stream holds the collector, then paho's
thread, then the broker.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Callable

from expo.config import Config, broker_address, store_options
from expo.errors import UserError
from expo.store import INGEST_HEARTBEAT_S, Batch, StoreUnavailable, open_store, parse_store
from ingest.checks import Checks, Limits
from ingest.counters import CounterState
from ingest.decoders import is_guess
from ingest.health import HealthServer, figures
from ingest.meter_registry import EMPTY, Registry, RegistryFile, path_of
from ingest.process import Incoming, Processor
from ingest.routes import build_routes, route_for, subscriptions
from ingest.spool import Spool, SpoolFull
from ingest.state import DEFAULT_STATE_DIR, OLD_DEFAULT_STATE_DIR, Saved, StateFolder, resolve_state_dir, store_key
from ingest.subscriber import QUEUE_MAX_MESSAGES, Subscriber, default_client_id
from ingest.survey import TopicSurvey
from ingest.writer import Writer

__all__ = ["IngestService", "QUEUE_MAX_MESSAGES"]

log = logging.getLogger("expo.ingest")

STATE_SAVE_INTERVAL_S = 30.0
# At start, devices that read within this are known (never a flood), whatever their metadata says; a look
# over all of a store's history would grow with it (InfluxDB: a point per device and hour).
KNOWN_WITHIN_S = 86_400.0
IDENTITY_REFRESH_S = 600.0  # asking the store its identity keeps it fresh (InfluxDB: inside even a 1 h retention)
# A broker sends an MQTT 3.1.1 client only so many unacknowledged messages (Mosquitto: 20) and then
# waits; a batch that waited for more would wait for nothing. After this much silence it is written.
IDLE_FLUSH_S = 0.02


class IngestService:
    def __init__(self, cfg: Config, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic):
        """``clock`` stamps messages as received (epoch s); ``monotonic`` paces batches, retries and saves."""
        self.cfg = cfg
        self.broker = broker_address(cfg)
        self.routes = build_routes(cfg.routes, cfg.default_routes, cfg.file or "config", cfg.sites, cfg.site)
        self.meter_file = RegistryFile(path_of(cfg.meters, cfg.origins.get("meters", ""), cfg.file),
                                       cfg.site) if cfg.meters else None
        meters = self.meter_file.load() if self.meter_file else EMPTY  # a broken registry stops the start here
        self.filters = self._filters([*meters.routes, *self.routes])
        if cfg.shared_group and cfg.mqtt_protocol != "5":
            raise UserError("--shared-group needs --mqtt-protocol 5 (shared subscriptions are an MQTT 5 feature)")
        self.store_key = store_key(parse_store(cfg.store))
        client_id = self.client_id = cfg.mqtt_client_id or default_client_id()
        self.state_dir = resolve_state_dir(cfg.state_dir or DEFAULT_STATE_DIR)
        self.folder = StateFolder(self.state_dir, client_id, clock)
        self.subscriber = Subscriber(self.broker, client_id, self.filters, cfg.mqtt_protocol, cfg.mqtt_ca_file,
                                     cfg.session_expiry_s, clock)
        self.checks = Checks(Limits(max_future_s=cfg.max_future_s,
                                    max_new_devices_per_minute=cfg.max_new_devices_per_minute,
                                    sites=frozenset(cfg.sites) if cfg.sites else None), clock)
        self.health_server = HealthServer(cfg.health, self.health, client_id) if cfg.health else None
        self.survey = TopicSurvey(self.broker, client_id, self._taken_by_a_route, cfg.survey_every_s,
                                  cfg.mqtt_protocol, cfg.mqtt_ca_file, clock)
        self.topics_undecoded = 0
        self.store = self.spool = self.processor = self.writer = None
        self._clock = clock
        self._monotonic = monotonic
        self._binding: tuple[str | None, str | None] = (None, None)  # the store the counter memory describes
        self._seen_identity: str | None = None
        self._stop = threading.Event()
        # One batch being written while the next is collected: the store's answer (an InfluxDB write is
        # tens to hundreds of milliseconds) no longer stops the decoding. At most two batches are in hand.
        self._outbox: queue.Queue[tuple[Batch, list[Incoming]] | None] = queue.Queue(maxsize=1)
        self._sender_gone = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-collector", daemon=True)
        self._sender = threading.Thread(target=self._send, name="ingest-writer", daemon=True)

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        self.folder.open()
        by_default = self.cfg.origins.get("state_dir") == "default"
        self.folder.adopt_legacy(self.store_key, *([Path(OLD_DEFAULT_STATE_DIR).absolute()] if by_default else []))
        self.store = open_store(self.cfg.store, **store_options(self.cfg))
        self.spool = Spool(self.folder.spool_path(self.store_key), self.cfg.spool_max_mb * 1024 * 1024,
                           for_store=self.store_key, clock=self._clock)
        if self.spool.batches:
            log.info("the spool for %s holds %d batches (%d readings) from before; they go to the store first",
                     self.store_key, self.spool.batches, self.spool.readings)
        identity, known_metas, latest, known_sites, known_buildings, known_states = None, [], [], [], [], []
        try:  # a store that is down at start is no reason not to start: batches spool until it is back
            identity = self.store.identity()
            known_metas = self.store.devices()
            latest = self.store.latest(since_s=self._clock() - KNOWN_WITHIN_S)
            known_sites, known_buildings = self.store.sites(), self.store.buildings()
            known_states = self.store.states() if hasattr(self.store, "states") else []  # a backend may keep none
        except StoreUnavailable as exc:
            log.warning("store not reachable at start (%s); spooling until it is", exc)
        saved = self.folder.bind(self.folder.load(), self.store_key, identity,
                                 store_has_readings=bool(latest) or self.spool.readings > 0)
        self._binding = (saved.store, saved.identity)
        counters = CounterState.restore(saved.counters)
        self.checks.known.update((site, device) for site, device, _ in counters.counters)
        self.checks.known.update(counters.derived)
        self.checks.known.update((m.site, m.device) for m in known_metas)
        self.checks.known.update((r.site, r.device) for r in latest)
        self.processor = Processor(self.routes, self.cfg.site, self.checks, counters, self.cfg.max_payload_bytes)
        self.processor.metas.update({(m.site, m.device): m for m in known_metas})
        self.processor.told.update((m.site, m.device) for m in known_metas if not is_guess(m))
        self.processor.status.update({(x.site, x.device): x.state for x in known_states})
        self.processor.sites.update({m.site: m for m in known_sites})
        self.processor.buildings.update({(m.site, m.building): m for m in known_buildings})
        for meta in known_metas:
            self.processor.totals.meta(meta)
        self.processor.totals.seed(latest)  # the first totals after a restart count every meter, not the new
        self.writer = Writer(self.store, self.spool, clock=self._monotonic,
                             retry_max_s=self.cfg.store_retry_max_s)
        self.subscriber.previous_filters = saved.filters
        self._save_state()
        if self.health_server:
            self.health_server.start()
        self._sender.start()
        self._thread.start()
        self.subscriber.start()
        self.survey.start()
        log.info("ingesting %s into %s; subscribed filters: %s", self.broker, self.cfg.store, ", ".join(self.filters))

    def stop(self, timeout_s: float = 30.0) -> dict[str, float]:
        """Write and acknowledge what was taken, then close; returns the final counters (empty if never started)."""
        self.subscriber.stop_taking()
        self.survey.stop()
        self._stop.set()
        deadline = self._monotonic() + timeout_s
        for thread in (self._thread, self._sender):
            if thread.is_alive():
                thread.join(max(0.0, deadline - self._monotonic()))
        final = {}
        if self.processor is not None:
            self._save_state()
            final = self.health()
        self.subscriber.close()
        if self.health_server:
            self.health_server.stop()
        if self.spool is not None:
            self.spool.close()
        if self.store is not None:
            self.store.close()
        return final

    # -- the collector and the writer threads -------------------------------------------------------

    def _run(self) -> None:
        """Collect and decode batches; hand each to the writer thread. Owns the processor and its state."""
        flush_s = self.cfg.flush_interval_ms / 1000.0
        last_save = last_health = self._monotonic()
        first = True
        try:
            while not self._sender_gone.is_set():
                stopping = self._stop.is_set()
                batch = Batch()
                self._follow_registry(batch, first)  # before the batch's messages: they are read by it
                first = False
                surveyed = self.survey.take()
                if surveyed is not None:
                    batch.topics, self.topics_undecoded = surveyed, len(surveyed)
                taken = self._collect(batch, flush_s if not stopping else 0.0)
                # the counters go with every batch, and at least every INGEST_HEARTBEAT_S on a quiet broker: a
                # process whose counters stop is silent (the engineer view says since when), not merely idle
                if len(batch) or taken or self._monotonic() - last_health >= INGEST_HEARTBEAT_S:
                    batch.health, batch.health_from = self.health(), self.client_id
                    last_health = self._monotonic()
                    if not self._hand_over((batch, taken)):
                        return
                now = self._monotonic()
                if now - last_save > STATE_SAVE_INTERVAL_S:
                    self._save_state()
                    last_save = now
                if stopping and self.subscriber.queue.empty():
                    return
        finally:
            self._hand_over(None)  # the writer finishes what it was given, then stops

    def _hand_over(self, item) -> bool:
        while not self._sender_gone.is_set():
            try:
                self._outbox.put(item, timeout=0.5)
                return True
            except queue.Full:  # the store is slower than the stream: wait, and so does the broker
                continue
        return False

    def _send(self) -> None:
        """Deliver each batch (store, else spool), then acknowledge its messages; the store's upkeep when idle.
        The only thread that talks to the store once ingest runs."""
        idle_s = max(self.cfg.flush_interval_ms / 1000.0, 0.05)
        last_identity = self._monotonic()
        try:
            while True:
                try:
                    item = self._outbox.get(timeout=idle_s)
                except queue.Empty:
                    self.writer.idle()
                    item = ()
                if item is None:
                    return
                if item:
                    batch, taken = item
                    if not self._deliver(batch, len(taken)):
                        return  # stopping with nowhere to put it: the messages stay with the broker
                    self.subscriber.ack(taken)
                now = self._monotonic()
                if now - last_identity > IDENTITY_REFRESH_S and not self.writer.store_down:
                    self._refresh_identity()
                    last_identity = now
        finally:
            self._sender_gone.set()

    def _deliver(self, batch: Batch, messages: int) -> bool:
        """Deliver, retrying on anything unexpected rather than letting the writer thread die."""
        while True:
            try:
                self.writer.deliver(batch, stop=self._stop)
                return True
            except (SpoolFull, StoreUnavailable) as exc:  # expected: say so in one line
                log.error("could not deliver a batch of %d messages (%s); not acknowledged", messages, exc)
            except Exception:  # a bug: keep its traceback, and keep the messages
                log.exception("could not deliver a batch of %d messages; not acknowledged, retrying", messages)
            if self._stop.wait(1.0):
                return False

    def _collect(self, batch: Batch, wait_s: float) -> list[Incoming]:
        taken = []
        source, add, readings = self.subscriber.queue, self.processor.add, batch.readings
        batch_size, monotonic = self.cfg.batch_size, self._monotonic  # once, not per message
        deadline = monotonic() + wait_s
        while len(readings) < batch_size:
            if not source.empty():  # in a stream the next message is waiting: no clock, no timeout
                message = source.get_nowait()
            else:
                remaining = deadline - monotonic()
                try:
                    if remaining <= 0:
                        break
                    elif taken:  # a pause in the stream ends the batch: the broker may be waiting for our acks
                        message = source.get(timeout=min(remaining, IDLE_FLUSH_S))
                    else:
                        message = source.get(timeout=remaining)
                except queue.Empty:
                    break
            taken.append(message)
            add(message, batch)
        return taken

    def _refresh_identity(self) -> None:
        try:
            identity = self.store.identity()
        except StoreUnavailable:
            return
        if self._binding[1] is not None and identity != self._binding[1] and identity != self._seen_identity:
            self._seen_identity = identity  # said once, not every hour
            log.warning("store %s now has identity %s, not %s: it was re-created while ingest ran; the counter "
                        "memory is checked against it at the next start", self.store_key, identity, self._binding[1])

    def _taken_by_a_route(self, topic: str) -> bool:
        """For the survey (its own thread): whether ingest takes this topic now (the registry may add routes)."""
        routes = self.processor.routes if self.processor is not None else self.routes
        return route_for(topic, routes) is not None

    def _filters(self, routes) -> list[str]:
        filters = subscriptions(routes)
        if self.cfg.shared_group:
            filters = [f"$share/{self.cfg.shared_group}/{f}" for f in filters]
        return filters

    def _follow_registry(self, batch: Batch, first: bool) -> None:
        """The registry's meters into the processor: at the first batch, then whenever the file changed.
        A process given ``sites`` takes its own sites' meters only; new routes are subscribed at once."""
        if self.meter_file is None:
            return
        meters = self.meter_file.current if first else self.meter_file.poll(self._monotonic())
        if meters is None:
            return
        if self.cfg.sites:
            meters = Registry({k: m for k, m in meters.metas.items() if k[0] in self.cfg.sites}, meters.routes)
        self.processor.use_registry(meters, batch)
        filters = self._filters(self.processor.routes)
        if filters != self.filters:
            self.filters = filters
            self.subscriber.follow(filters)

    # -- state and health ----------------------------------------------------------------------------

    def _save_state(self) -> None:
        store, identity = self._binding
        self.folder.save(Saved(self.processor.counters.export(), list(self.subscriber.previous_filters), store,
                               identity))

    def health(self) -> dict[str, float]:
        table = figures(self.subscriber, self.processor, self.writer, self.spool, self._clock())
        table["topics_undecoded"] = self.topics_undecoded  # in the newest survey (the engineer view lists them)
        if self.meter_file is not None:  # the engineer view's line on the registry; its error text is in the log
            table["registry_meters"] = len(self.meter_file.current)
            table["registry_errors"] = self.meter_file.errors
            table["registry_broken"] = float(self.meter_file.error is not None)
        return table
