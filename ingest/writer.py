"""Delivery of batches: to the store when it takes them, to the spool when it does not, in order.

The writer is the only code that writes to the store (the service only asks
it who it is and, at start, what it holds). While the spool holds
anything, new batches join the end of it, so the store always receives
readings in the order they arrived. Retries back off exponentially from
``RETRY_MIN_S`` to ``retry_max_s`` (the ``store_retry_max_s`` setting, 30 s) with full
jitter, so a fleet of ingest processes does not hammer a store that is coming
back; a server's ``Retry-After`` (up to ``retry_max_s``) is honoured. A store
that is there but slow to answer (``StoreBusy``) is not down: the batch waits
in the spool and is tried again within ``RETRY_MIN_S``, without backing off. Retries and replay
progress are timed by the injected ``clock``, so tests advance it instead of sleeping.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass

from expo.logthrottle import LogThrottle
from expo.places import TOTALS_DEVICE
from expo.store import Batch, Store, StoreBusy, StoreUnavailable, is_reading
from ingest.spool import Spool, SpoolFull

REPLAY_PROGRESS_S = 5.0
log = logging.getLogger("expo.ingest.writer")

RETRY_MIN_S = 0.5
RETRY_MAX_S = 30.0


@dataclass
class WriterStats:
    batches_written: int = 0
    readings_written: int = 0  # the meters' readings; the site totals ingest made are totals_written
    totals_written: int = 0
    batches_spooled: int = 0
    readings_spooled: int = 0
    batches_replayed: int = 0
    store_failures: int = 0
    store_busy: int = 0  # answers slower than the store's timeout: back-pressure, not an outage
    spool_full_waits: int = 0
    store_refused: int = 0  # refused for good by the store (e.g. beyond its retention), kept in its quarantine
    last_batch_ms: float = 0.0
    max_batch_ms: float = 0.0


class Writer:
    def __init__(self, store: Store, spool: Spool, clock=time.monotonic, sleep=time.sleep,
                 retry_max_s: float = RETRY_MAX_S):
        self.retry_max_s = retry_max_s
        self.store = store
        self.spool = spool
        self.stats = WriterStats()
        self._clock = clock
        self._sleep = sleep
        self._retry_s = RETRY_MIN_S
        self._next_try = 0.0
        self._store_down = False
        self._spool_full_log = LogThrottle()
        self._refused_log = LogThrottle()
        self._busy_log = LogThrottle()

    @property
    def store_down(self) -> bool:
        return self._store_down

    def deliver(self, batch: Batch, stop=None) -> None:
        """Return once the batch is in the store or in the spool; block (never drop) while the spool is full."""
        self.replay()
        if not self.spool.batches and self._try_store(batch):
            return
        while True:
            try:
                self.spool.push(batch)
                self.stats.batches_spooled += 1
                self.stats.readings_spooled += len(batch.readings) - _totals(batch)
                return
            except SpoolFull as exc:
                self.stats.spool_full_waits += 1
                if n := self._spool_full_log.count():
                    log.error("%s (x%d); no longer taking messages from the broker until the store is back", exc, n)
                self._sleep(min(self._retry_s, 1.0))
                self.replay(force=True)
                if stop is not None and stop.is_set():
                    raise SpoolFull("stopping with a full spool; unacknowledged messages stay with the broker")

    def idle(self) -> None:
        """Between batches: replay the spool when due, and let the store catch up on deferred rollups."""
        self.replay()
        if not self._store_down:
            try:
                self.store.maintain()
            except StoreUnavailable as exc:
                log.warning("store maintenance postponed: %s", exc)

    def replay(self, force: bool = False) -> int:
        """Move spooled batches into the store, oldest first, if it is time to try; how many went."""
        moved = 0
        if not self.spool.batches or (not force and self._clock() < self._next_try):
            return 0
        total = self.spool.batches
        reported = self._clock()
        while self.spool.batches:
            head = self.spool.peek()
            if head is None:
                break
            batch_id, batch = head
            if not self._try_store(batch):
                break
            self.spool.remove(batch_id)
            self.stats.batches_replayed += 1
            moved += 1
            if self._clock() - reported >= REPLAY_PROGRESS_S:  # a long outage takes a while to replay
                reported = self._clock()
                log.info("replaying the spool: %d of %d batches (%.0f%%)", moved, total, 100.0 * moved / total)
        if moved:
            log.info("replayed %d spooled batches; %d left", moved, self.spool.batches)
        return moved

    def _try_store(self, batch: Batch) -> bool:
        started = time.perf_counter()
        try:
            refused = self.store.write(batch) or []
        except StoreBusy as exc:  # loaded, not gone: try again soon, and keep taking messages into the spool
            self.stats.store_busy += 1
            if n := self._busy_log.count():
                log.warning("%s (x%d); the batch waits in the spool and is tried again within a second", exc, n)
            self._next_try = self._clock() + random.uniform(0, RETRY_MIN_S)
            return False
        except StoreUnavailable as exc:
            self.stats.store_failures += 1
            if not self._store_down:
                log.error("store unavailable (%s); spooling to %s and retrying", exc, self.spool.path)
            self._store_down = True
            wait_s = random.uniform(0, self._retry_s)
            if exc.retry_after_s is not None:  # the server knows best when it can take more
                wait_s = max(wait_s, min(exc.retry_after_s, self.retry_max_s))
            self._next_try = self._clock() + wait_s
            self._retry_s = min(self._retry_s * 2, self.retry_max_s)
            return False
        if self._store_down:
            log.info("store is back")
        self._store_down = False
        self._retry_s = RETRY_MIN_S
        self._next_try = 0.0  # it is back: what is still spooled goes next, not after the old backoff
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.stats.batches_written += 1
        totals = _totals(batch)
        refused_readings = [r for r in refused if is_reading(r)]
        refused_totals = sum(1 for r in refused_readings if r.topic.split("/")[2:3] == [TOTALS_DEVICE])
        self.stats.readings_written += len(batch.readings) - totals - (len(refused_readings) - refused_totals)
        self.stats.totals_written += totals - refused_totals
        if refused:  # stored the rest; retrying these would never help, so they are counted and acknowledged
            self.stats.store_refused += len(refused)
            if n := self._refused_log.count():
                log.error("the store refused %d messages for good (x%d batches), quarantined as %s: %s",
                          len(refused), n, refused[0].reason, refused[0].detail)
        self.stats.last_batch_ms = elapsed_ms
        self.stats.max_batch_ms = max(self.stats.max_batch_ms, elapsed_ms)
        return True


def _totals(batch: Batch) -> int:
    """The site totals in a batch: counted apart from the meters' readings (``totals_written``)."""
    return sum(1 for r in batch.readings if r.device == TOTALS_DEVICE)
