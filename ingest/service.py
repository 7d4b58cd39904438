"""The ingest service: subscribe, batch, deliver, and only then acknowledge.

Lifecycle: construct (validate everything, open store and spool), ``start()``
(connect, threads), ``stop()`` (stop taking messages, write and acknowledge
what was taken, save state, disconnect).

Acknowledgements are manual: paho holds each QoS 1 message's PUBACK until the
writer thread has the batch containing it in the store or the spool. A crash
before that leaves the message with the broker, which delivers it again to
our persistent session (stable client id, no clean start), and idempotent
writes make the redelivery harmless.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
from pathlib import Path

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from expo.config import Config, broker_address, store_options
from expo.errors import UserError
from expo.mqtt import make_client, report_connect_failure
from expo.store import Batch, StoreUnavailable, open_store
from ingest.checks import Checks, Limits
from ingest.counters import CounterState
from ingest.health import HealthServer
from ingest.process import Incoming, Processor
from ingest.routes import build_routes, subscriptions
from ingest.spool import Spool, SpoolFull
from ingest.writer import Writer

log = logging.getLogger("expo.ingest")

RECEIVE_MAXIMUM = 5000  # QoS 1 messages the broker may send before our acknowledgements (MQTT 5)
# Messages waiting for the writer. When it is full, paho's network thread waits, the socket is not read,
# and TCP holds the broker back: the flow control for MQTT 3.1.1 (which has no Receive Maximum) and a
# guard for MQTT 5 (a soak at overload saw a broker send far past it), so memory stays bounded.
QUEUE_MAX_MESSAGES = 2 * RECEIVE_MAXIMUM
STATE_SAVE_INTERVAL_S = 30.0
# A broker sends an MQTT 3.1.1 client only so many unacknowledged messages (Mosquitto: 20) and then
# waits; a batch that waited for more would wait for nothing. After this much silence it is written.
IDLE_FLUSH_S = 0.02


def default_client_id() -> str:
    return f"energy-expo-ingest-{socket.gethostname().lower()}"[:64]


class IngestService:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.broker = broker_address(cfg)
        self.routes = build_routes(cfg.routes, cfg.default_routes, cfg.file or "config")
        self.filters = subscriptions(self.routes)
        if cfg.shared_group:
            if cfg.mqtt_protocol != "5":
                raise UserError("--shared-group needs --mqtt-protocol 5 (shared subscriptions are an MQTT 5 feature)")
            self.filters = [f"$share/{cfg.shared_group}/{f}" for f in self.filters]
        self.state_dir = Path(cfg.state_dir)
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create state directory {self.state_dir}: {exc.strerror}") from None
        self.store = open_store(cfg.store, **store_options(cfg))
        self.spool = Spool(self.state_dir / "spool.db", cfg.spool_max_mb * 1024 * 1024)
        state = self._load_state()
        checks = Checks(Limits(max_future_s=cfg.max_future_s, max_new_devices_per_minute=cfg.max_new_devices_per_minute))
        counters = CounterState.restore(state.get("counters", {}))
        checks.known.update((site, device) for site, device, _ in counters.counters)
        checks.known.update(counters.derived)
        known_metas = []
        try:  # a store that is down at start is no reason not to start: batches spool until it is back
            known_metas = self.store.devices()
            checks.known.update((m.site, m.device) for m in known_metas)
            checks.known.update((r.site, r.device) for r in self.store.latest())
        except StoreUnavailable as exc:
            log.warning("store not reachable at start (%s); spooling until it is", exc)
        self.processor = Processor(self.routes, cfg.site, checks, counters, cfg.max_payload_bytes)
        self.processor.metas.update({(m.site, m.device): m for m in known_metas})
        self.writer = Writer(self.store, self.spool)
        self._previous_filters = state.get("filters", [])
        self._queue: queue.Queue[Incoming] = queue.Queue(maxsize=QUEUE_MAX_MESSAGES)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self.received = 0
        self.queue_full_waits = 0
        self.connected = threading.Event()
        self._client = make_client(
            self.broker, cfg.mqtt_client_id or default_client_id(), cfg.mqtt_ca_file,
            clean_session=False, protocol=cfg.mqtt_protocol,
        )
        self._client.manual_ack_set(True)
        self._client.reconnect_delay_set(min_delay=1, max_delay=60)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._failed_connects = 0
        self.health_server = HealthServer(cfg.health, self.health) if cfg.health else None

    # -- MQTT ----------------------------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker %s refused ingest: %s", self.broker, reason_code)
            return
        resumed = bool(getattr(flags, "session_present", False))
        log.info("connected to %s as %s (%s session)", self.broker, client._client_id.decode(),
                 "resumed persistent" if resumed else "new persistent")
        stale = [f for f in self._previous_filters if f not in self.filters]
        if stale and resumed:  # routes removed from the config must not keep delivering into this session
            client.unsubscribe(stale)
            log.info("unsubscribed from filters no longer configured: %s", ", ".join(stale))
        client.subscribe([(f, 1) for f in self.filters])
        self._previous_filters = list(self.filters)
        self.connected.set()

    def _on_connect_fail(self, client, userdata) -> None:
        self._failed_connects += 1
        report_connect_failure(log, self.broker, self._failed_connects, self.cfg.mqtt_ca_file, "")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("disconnected from %s (%s); reconnecting", self.broker, reason_code)

    def _on_message(self, client, userdata, message) -> None:
        incoming = Incoming(message.topic, bytes(message.payload), time.time(), message.mid, message.qos)
        while not self._stop.is_set():
            try:
                self._queue.put(incoming, timeout=0.5)
            except queue.Full:  # the writer is behind: wait here, so the broker waits too
                self.queue_full_waits += 1
                continue
            self.received += 1
            return
        # stopping: not queued, so never acknowledged; the broker sends it again next session

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        props = None
        if self.cfg.mqtt_protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.cfg.session_expiry_s
            props.ReceiveMaximum = RECEIVE_MAXIMUM
        try:
            if self.cfg.mqtt_protocol == "5":
                self._client.connect_async(self.broker.host, self.broker.port, keepalive=30, clean_start=False,
                                           properties=props)
            else:
                self._client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot connect to broker {self.broker}: {exc}") from None
        if self.health_server:
            self.health_server.start()
        self._thread.start()
        self._client.loop_start()
        log.info("ingesting %s into %s; subscribed filters: %s", self.broker, self.cfg.store, ", ".join(self.filters))

    def stop(self, timeout_s: float = 30.0) -> dict[str, float]:
        """Write and acknowledge what was taken, then close; returns the final counters."""
        self._stop.set()
        self._thread.join(timeout_s)
        self._save_state()
        final = self.health()
        self._client.disconnect()
        self._client.loop_stop()
        if self.health_server:
            self.health_server.stop()
        self.spool.close()
        self.store.close()
        return final

    # -- the writer thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        flush_s = self.cfg.flush_interval_ms / 1000.0
        last_save = time.monotonic()
        while True:
            stopping = self._stop.is_set()
            batch, taken = self._collect(flush_s if not stopping else 0.0)
            if len(batch) or taken:
                batch.health = self.health()
                if not self._deliver(batch, len(taken)):
                    return  # stopping with nowhere to put it: the messages stay with the broker
                for message in taken:
                    if message.qos > 0:
                        self._client.ack(message.mid, message.qos)
            else:
                self.writer.idle()
            if time.monotonic() - last_save > STATE_SAVE_INTERVAL_S:
                self._save_state()
                last_save = time.monotonic()
            if stopping and self._queue.empty():
                return

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

    def _collect(self, wait_s: float) -> tuple[Batch, list[Incoming]]:
        batch, taken = Batch(), []
        deadline = time.monotonic() + wait_s
        while len(batch.readings) < self.cfg.batch_size:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    message = self._queue.get_nowait()
                elif taken:  # a pause in the stream ends the batch: the broker may be waiting for our acks
                    message = self._queue.get(timeout=min(remaining, IDLE_FLUSH_S))
                else:
                    message = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            taken.append(message)
            self.processor.add(message, batch)
        return batch, taken

    # -- state and health ----------------------------------------------------------------------------

    def _load_state(self) -> dict:
        path = self.state_dir / "state.json"
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable ingest state %s (%s): counters continue from the next readings", path, exc)
            return {}

    def _save_state(self) -> None:
        path = self.state_dir / "state.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"counters": self.processor.counters.export(), "filters": self._previous_filters}))
        os.replace(tmp, path)

    def health(self) -> dict[str, float]:
        w = self.writer.stats
        oldest = self.spool.oldest_reading_s()
        figures = {
            "received": self.received,
            "readings_accepted": self.processor.readings,
            "readings_written": w.readings_written,
            "readings_spooled": w.readings_spooled,
            "spool_batches": self.spool.batches,
            "spool_readings": self.spool.readings,
            "spool_bytes": self.spool.size_bytes,
            "spool_oldest_reading_age_s": (time.time() - oldest) if oldest else 0.0,
            "batches_replayed": w.batches_replayed,
            "store_failures": w.store_failures,
            "store_down": float(self.writer.store_down),
            "spool_full_waits": w.spool_full_waits,
            "batch_ms_last": round(w.last_batch_ms, 2),
            "batch_ms_max": round(w.max_batch_ms, 2),
            "queue_length": self._queue.qsize(),
            "queue_full_waits": self.queue_full_waits,
            "counter_resets": self.processor.counters.resets,
            "connected": float(self.connected.is_set()),
            "rejected": sum(self.processor.rejected_by_reason.values()),
        }
        figures.update({f"rejected_{reason}": n for reason, n in self.processor.rejected_by_reason.items()})
        return figures
