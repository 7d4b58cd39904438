"""Simulated history written straight into a store, so a new exhibit has yesterday and last month to show.

Backfill skips MQTT and ingest on purpose: history is wanted in minutes, and
the broker path is built for live rates, not for a month in one go. The
readings are the simulator's own (the same seed gives the same values as a
live run over the same instants), written in batches through the store
interface, so rollups are kept exactly as ingest keeps them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from expo.store import Batch, Store, StoreBusy
from simulators.engine import Frame, Simulation

READINGS_PER_BATCH = 20_000
BUSY_PATIENCE_S = 180.0  # how long a backfill waits out a busy store (InfluxDB digesting a city's week)


@dataclass
class BackfillStats:
    steps: int = 0
    readings: int = 0


def frame_readings(sim: Simulation, frame: Frame) -> Iterator[list]:
    """Readings of a frame, one list per step, each device with the metrics its kind reports (NaN left out).

    Each reading is stamped at its row's own instant: a city's districts report at their phase of the step.
    """
    from expo.reading import Reading

    metas = sim.metas
    names = list(frame.metrics)
    for step in range(frame.steps):
        times = frame.row_times_s(step)  # a city's districts each at their own phase of the step
        stamps = [times] * len(metas) if isinstance(times, float) else times.tolist()
        seq = frame.first_seq + step
        columns = [frame.metrics[m][:, step].tolist() for m in names]
        out = []
        for row, meta in enumerate(metas):
            metrics = {m: col[row] for m, col in zip(names, columns) if not math.isnan(col[row])}
            if metrics:
                out.append(Reading(meta.site, meta.device, stamps[row], metrics, seq))
        yield out


def patiently(call: Callable[[], object], patience_s: float = BUSY_PATIENCE_S, sleep: Callable[[float], None] = time.sleep,
              clock: Callable[[], float] = time.monotonic):
    """``call()``, waited out while the store is busy (``StoreBusy``: it answered too slowly, a server digesting
    what it was just sent): back-pressure, not an outage, so a backfill slows down instead of failing half-way.
    Past ``patience_s`` the store's word stands (one line from the command, no traceback)."""
    wait_s, deadline = 0.5, clock() + patience_s
    while True:
        try:
            return call()
        except StoreBusy:
            if clock() + wait_s > deadline:
                raise
            sleep(wait_s)
            wait_s = min(wait_s * 2, 10.0)


def backfill(sim: Simulation, steps: int, store: Store,
             progress: Callable[[BackfillStats], None] | None = None, sleep: Callable[[float], None] = time.sleep
             ) -> BackfillStats:
    """Write ``steps`` steps of every device, descriptions and metadata first; ``progress`` is called after each batch.
    A busy store is waited out (``patiently``)."""
    stats = BackfillStats()
    sites, buildings = sim.places()
    patiently(lambda: store.write(Batch(metas=list(sim.metas), sites=sites, buildings=buildings)), sleep=sleep)
    chunk = max(1, READINGS_PER_BATCH // max(1, sim.count))
    while stats.steps < steps:
        frame = sim.advance(min(chunk, steps - stats.steps))
        batch = Batch()
        for readings in frame_readings(sim, frame):
            batch.readings.extend(readings)
        patiently(lambda: store.write(batch), sleep=sleep)
        stats.steps += frame.steps
        stats.readings += len(batch.readings)
        if progress:
            progress(stats)
    patiently(lambda: store.maintain(force=True), sleep=sleep)
    return stats


def steps_between(start_s: float, end_s: float, step_s: float) -> int:
    return max(0, int(np.floor((end_s - start_s) / step_s)))
