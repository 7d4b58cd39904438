"""Backfill into a store that is busy for a while: it waits (back-pressure), then goes on; past its patience the
store's own word stands."""

from __future__ import annotations

import pytest

from expo.store import Batch, StoreBusy
from simulators import scenario as scenarios
from simulators.backfill import backfill, patiently
from simulators.engine import Simulation

from .conftest import JULY_1_LOCAL_S


class BusyAtFirst:
    """A store whose every call is refused as busy ``busy`` times before it takes it (InfluxDB digesting a city)."""

    def __init__(self, busy: int):
        self.busy, self.refused, self.batches, self.maintained = busy, 0, [], 0

    def _maybe_busy(self):
        if self.refused < self.busy:
            self.refused += 1
            raise StoreBusy("InfluxDB at 127.0.0.1:1 did not answer within 10 s (POST /write): the server is busy")

    def write(self, batch: Batch):
        self._maybe_busy()
        self.batches.append(batch)
        return []

    def maintain(self, force: bool = False):
        self._maybe_busy()
        self.maintained += 1


def test_a_busy_store_is_waited_out_and_nothing_is_lost():
    sim = Simulation(scenarios.load("tianjin-demo"), 1, JULY_1_LOCAL_S, 60)
    store, slept = BusyAtFirst(busy=3), []
    stats = backfill(sim, 5, store, sleep=slept.append)
    assert stats.steps == 5 and store.maintained == 1
    assert sum(len(b.readings) for b in store.batches) == stats.readings > 0
    assert store.batches[0].metas  # the metadata went first, after the store came back
    assert slept == [0.5, 1.0, 2.0]  # backing off while it was busy


def test_past_its_patience_the_store_is_said_to_be_busy():
    clock = [0.0]

    def sleep(s):
        clock[0] += s

    with pytest.raises(StoreBusy, match="busy"):
        patiently(BusyAtFirst(busy=10**6).maintain, patience_s=30.0, sleep=sleep, clock=lambda: clock[0])
    assert 20.0 <= clock[0] <= 30.0
