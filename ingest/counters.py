"""Energy counters that behave: continued across resets and meter replacements, and derived where a meter has none.

A real counter drops to zero when a meter loses its memory. Stored as is,
the series would show a huge negative step, and every "energy today" built
on it would be wrong. Here a reading whose counter is below the last one by
more than ``RESET_FRACTION`` of it is a reset: an offset carries the series
on from where it was.

A smaller drop is a meter misbehaving, or a meter replaced by one that had
already counted something. It is refused (``counter_backwards``) so an
engineer sees it, and the refused values are watched: once
``REPLACEMENT_READINGS`` of them in a row count on consistently (never down,
at a plausible power), the meter is taken as replaced and the series
continues from the first of them with a new offset. A replacement can also be
declared (``replaced_s`` in the device's meta message): the first reading at
or after that instant starts the new meter, whatever its value. Either way
the stored counter never goes backwards, and the energy between the old
meter's last reading and the new one's first is taken as zero rather than
guessed.

Meters that report only power (a plug with no energy register, a value-per-
topic ``power``) get an ``energy_wh`` integrated here, left-rectangle, so the
dashboard can treat every consuming device alike. Gaps longer than
``MAX_INTEGRATION_GAP_S`` are not bridged: nobody knows what flowed while the
meter was silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from expo.errors import Refused
from expo.kinds import ENERGY_COUNTERS, KINDS, Flow
from expo.reading import Reading

RESET_FRACTION = 0.5  # a drop to below half of the last value is a reset, not a glitch
NOISE_WH = 0.01  # counters printed with a few decimals may wobble by a rounding step
MAX_INTEGRATION_GAP_S = 900.0
REPLACEMENT_READINGS = 3  # consistent readings below the old counter that make it a replaced meter
# A replacement counting faster than this many times the device's known power (its rated power, or the
# fastest the old counter ever counted), or than the floor when neither is known, is a glitch, not a meter.
PLAUSIBLE_POWER_FACTOR = 2.0
PLAUSIBLE_POWER_FLOOR_W = 500.0


class CounterBackwards(Refused):
    def __init__(self, metric: str, detail: str):
        super().__init__("counter_backwards", detail)
        self.metric = metric


@dataclass
class _Counter:
    last_raw: float
    last_ts_s: float
    offset: float = 0.0
    peak_w: float = 0.0  # the fastest this counter has counted: a measure of what is plausible for it
    candidate: list[tuple[float, float]] = field(default_factory=list)  # (ts_s, raw) refused since a drop

    @property
    def stored(self) -> float:
        return self.last_raw + self.offset


@dataclass
class _Derived:
    last_ts_s: float
    last_power_w: float
    energy_wh: float


@dataclass
class CounterState:
    """Per-series memory of counters; ``export``/``restore`` keep it across restarts."""

    counters: dict[tuple[str, str, str], _Counter] = field(default_factory=dict)
    derived: dict[tuple[str, str], _Derived] = field(default_factory=dict)
    metered: set[tuple[str, str]] = field(default_factory=set)  # devices that send counters of their own
    replaced: dict[tuple[str, str], float] = field(default_factory=dict)  # declared replacements (meta replaced_s)
    resets: int = 0
    replacements: int = 0
    notes: list[tuple[str, str, str, str]] = field(default_factory=list)  # (site, device, metric, what happened)

    def declare_replaced(self, site: str, device: str, replaced_s: float) -> None:
        self.replaced[(site, device)] = replaced_s

    def take_notes(self) -> list[tuple[str, str, str, str]]:
        """Replacements accepted since the last call, for the log and the inspection record."""
        notes, self.notes = self.notes, []
        return notes

    def apply(self, reading: Reading, kind: str | None = None, rated_power_w: float = 0.0) -> Reading:
        """The reading as it should be stored: continued counters, and a derived ``energy_wh`` if needed.

        Energy is derived only for a device that has never sent a counter of its own (a meter that sends
        power and energy on separate topics has one) and whose kind flows one way.
        """
        metrics = reading.metrics
        changed: dict[str, float] = {}
        for metric in ENERGY_COUNTERS:
            if metric in metrics:
                stored = self._continue(reading, metric, metrics[metric], rated_power_w)
                if stored != metrics[metric]:
                    changed[metric] = stored
                self.metered.add((reading.site, reading.device))
        if "power_w" in metrics and (reading.site, reading.device) not in self.metered and (
                kind not in KINDS or KINDS[kind].flow in (Flow.CONSUMES, Flow.PRODUCES)):
            derived = self._derive(reading, metrics["power_w"])
            if derived is not None:
                changed["energy_wh"] = derived
        if not changed:  # the common case: a counter that just counts on
            return reading
        return Reading(reading.site, reading.device, reading.ts_s, {**metrics, **changed}, reading.seq)

    def _continue(self, reading: Reading, metric: str, raw: float, rated_power_w: float) -> float:
        key = (reading.site, reading.device, metric)
        state = self.counters.get(key)
        ts_s = reading.ts_s
        if state is None:
            self.counters[key] = _Counter(raw, ts_s)
            return raw
        if ts_s < state.last_ts_s:  # a late reading: its value, on the offset of today, if that fits below
            if raw + state.offset > state.stored:
                raise CounterBackwards(metric, f"{metric} of a late reading is {raw + state.offset:g} Wh, above the "
                                               f"{state.stored:g} Wh already stored for a later time")
            return raw + state.offset
        declared = self.replaced.get((reading.site, reading.device))
        if declared is not None and state.last_ts_s < declared <= ts_s:
            return self._replace(key, state, ts_s, raw, raw, f"declared replaced at {declared:g} (meta replaced_s)")
        if raw >= state.last_raw:
            if ts_s > state.last_ts_s:
                state.peak_w = max(state.peak_w, (raw - state.last_raw) * 3600.0 / (ts_s - state.last_ts_s))
            state.last_raw, state.last_ts_s = raw, ts_s
            state.candidate.clear()
            return state.stored
        if state.last_raw - raw <= NOISE_WH:
            state.last_ts_s = ts_s  # rounding wobble: the counter has not moved
            return state.stored
        if raw < state.last_raw * RESET_FRACTION:
            state.offset += state.last_raw  # the meter restarted from zero and has counted `raw` since
            state.last_raw, state.last_ts_s = raw, ts_s
            state.candidate.clear()
            self.resets += 1
            return state.stored
        return self._backwards(key, state, ts_s, raw, rated_power_w)

    def _backwards(self, key, state: _Counter, ts_s: float, raw: float, rated_power_w: float) -> float:
        """Refuse a drop, unless it is the last of enough consistent readings to be a replaced meter."""
        metric = key[2]
        candidate = state.candidate
        if candidate:
            last_ts_s, last_raw = candidate[-1]
            limit_w = PLAUSIBLE_POWER_FACTOR * max(rated_power_w, state.peak_w, PLAUSIBLE_POWER_FLOOR_W)
            consistent = (ts_s > last_ts_s and raw >= last_raw
                          and (raw - last_raw) * 3600.0 / (ts_s - last_ts_s) <= limit_w)
            if not consistent:
                candidate.clear()
        candidate.append((ts_s, raw))
        if len(candidate) >= REPLACEMENT_READINGS:
            first_raw = candidate[0][1]
            return self._replace(key, state, ts_s, raw, first_raw,
                                 f"counted on consistently from {first_raw:g} Wh for {len(candidate)} readings")
        raise CounterBackwards(metric, f"{metric} went backwards from {state.stored:g} to {raw + state.offset:g} Wh "
                                       f"without a reset ({len(candidate)} of {REPLACEMENT_READINGS} consistent "
                                       "readings would make it a replaced meter)")

    def _replace(self, key, state: _Counter, ts_s: float, raw: float, first_raw: float, why: str) -> float:
        """A new meter: its first value ``first_raw`` continues the series where the old meter left it."""
        before = state.stored
        state.offset = before - first_raw
        state.last_raw, state.last_ts_s = raw, ts_s
        state.peak_w = 0.0  # the new meter earns its own
        state.candidate.clear()
        self.replacements += 1
        site, device, metric = key
        self.notes.append((site, device, metric,
                           f"{metric} of {device}: meter replaced ({why}); the old meter stopped at {before:g} Wh, "
                           f"the new one started at {first_raw:g} Wh; the series continues with offset "
                           f"{state.offset:+g} Wh"))
        return state.stored

    def _derive(self, reading: Reading, power_w: float) -> float | None:
        key = (reading.site, reading.device)
        state = self.derived.get(key)
        if state is None:
            self.derived[key] = _Derived(reading.ts_s, power_w, 0.0)
            return 0.0
        gap_s = reading.ts_s - state.last_ts_s
        if gap_s <= 0:
            return None  # a repeat or a late reading: no energy to add, and no counter to send
        if gap_s <= MAX_INTEGRATION_GAP_S:
            state.energy_wh += max(state.last_power_w, 0.0) * gap_s / 3600.0
        state.last_ts_s, state.last_power_w = reading.ts_s, power_w
        return state.energy_wh

    def export(self) -> dict:
        return {
            "counters": [[*k, v.last_raw, v.last_ts_s, v.offset, v.peak_w] for k, v in self.counters.items()],
            "derived": [[*k, v.last_ts_s, v.last_power_w, v.energy_wh] for k, v in self.derived.items()],
            "replaced": [[*k, ts_s] for k, ts_s in self.replaced.items()],
        }

    @classmethod
    def restore(cls, data: dict) -> "CounterState":
        state = cls()
        for site, device, metric, raw, ts_s, offset, *peak in data.get("counters", []):
            state.counters[(site, device, metric)] = _Counter(raw, ts_s, offset, peak[0] if peak else 0.0)
            state.metered.add((site, device))
        for site, device, ts_s, power_w, energy_wh in data.get("derived", []):
            state.derived[(site, device)] = _Derived(ts_s, power_w, energy_wh)
        for site, device, ts_s in data.get("replaced", []):
            state.replaced[(site, device)] = ts_s
        return state
